"""Runs actions in warm worker processes that speak the OpenWhisk action-loop protocol."""

from .activation import Activation
from .invoker import Invoker, InvokerSettings
from .pool import ActionPool, PoolSettings

__all__ = ["ActionPool", "Activation", "Invoker", "InvokerSettings", "PoolSettings"]

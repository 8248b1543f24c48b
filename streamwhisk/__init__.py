"""streamwhisk: run, stream, test and deploy OpenServerless-style LLM chat actions.

Importing the package does no work; the pieces live in their own modules.
"""

from .errors import (
    ActionCrashed,
    ActionNotFound,
    ActionTimedOut,
    ConfigError,
    ListenError,
    Overloaded,
    ProjectError,
    RequestError,
    RuntimeFailure,
    RuntimeUnavailable,
    StreamError,
    StreamwhiskError,
    UnsetVariableError,
)

__all__ = [
    "ActionCrashed",
    "ActionNotFound",
    "ActionTimedOut",
    "ConfigError",
    "ListenError",
    "Overloaded",
    "ProjectError",
    "RequestError",
    "RuntimeFailure",
    "RuntimeUnavailable",
    "StreamError",
    "StreamwhiskError",
    "UnsetVariableError",
]

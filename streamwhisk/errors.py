"""The errors streamwhisk raises, one small tree by layer.

    StreamwhiskError
    ├── ConfigError            a setting, `.env` file or annotation is wrong
    │   └── UnsetVariableError a ${VAR:?} annotation names a variable no layer sets
    ├── ProjectError           an action cannot be found or its name is invalid
    │   ├── InvalidName        a package or action name OpenWhisk refuses
    │   └── ActionNotFound
    ├── RuntimeFailure         an activation could not produce a result
    │   ├── ActionCrashed      exception, exit, bad result: the developer's error
    │   ├── ActionTimedOut     ran past `limits.timeout`
    │   ├── Overloaded         every worker busy and the queue full
    │   ├── RuntimeUnavailable no interpreter for the kind, or its libraries do not install
    │   └── RuntimePreparing   its runtime environment is still being built
    ├── DeployRefused          what the REST API is asked to keep cannot be kept
    │   ├── NotDeployed        there is no such deployed package or action
    │   ├── DeployConflict     it exists (and no overwrite was asked), or is not empty
    │   └── TooLargeToDeploy   a zip past OpenWhisk's limits
    ├── ServiceUnavailable     a platform service (Redis, ...) cannot start or has stopped
    │   ├── DataInUse          another run serves its data folder
    │   ├── PortTaken          a port it was given was taken
    │   └── NotReadyInTime     it did not answer within its wait
    ├── StreamError            the relay between an action and a client failed
    ├── RequestError           an HTTP request the server refuses (carries its status)
    ├── ListenError            a server cannot bind its address
    ├── ClusterError           an OpenWhisk API (a cluster's, or a running up's) refused or failed
    │   └── ServerUnreachable  the running `up` a learner's command looked for did not answer
    ├── ChatError              `streamwhisk chat` cannot send what was typed
    └── LoaderError            `streamwhisk loader` cannot read a file or its action refused

Every message says what went wrong and, where it can, what to do next. None carries an HTTP
status but RequestError (what the edge itself refuses); `hosting/primitives.py` translates the
rest at the edge (a RuntimeFailure is OpenWhisk's 502, a 503 when waiting is the remedy).
"""

from __future__ import annotations

from pathlib import Path


class StreamwhiskError(Exception):
    """Base of every error streamwhisk raises on purpose."""


class ConfigError(StreamwhiskError):
    """Configuration is missing or malformed."""


class UnsetVariableError(ConfigError):
    """A `${VAR:?message}` whose variable no layer sets (or sets empty)."""

    def __init__(self, variable: str, where: Path | str, message: str = "") -> None:
        self.variable = variable
        self.where = str(where)
        because = f" ({message})" if message else ""
        super().__init__(
            f"{self.where} requires ${variable}{because}, but no configuration layer sets it: "
            f"add {variable}=... to .env or packages/.env, export it, or run "
            f"'streamwhisk login' if it is a credential."
        )


class ProjectError(StreamwhiskError):
    """The project layout does not hold what was asked for."""


class InvalidName(ProjectError):
    """A package or action name that breaks OpenWhisk's rule (`names.py`)."""


class ActionNotFound(ProjectError):
    def __init__(self, name: str, project: Path, close: list[str] | None = None) -> None:
        self.name = name
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        super().__init__(
            f"no action {name!r} in {project / 'packages'}: expected "
            f"packages/{name}.py or packages/{name}/__main__.py{hint}"
        )


class RuntimeFailure(StreamwhiskError):
    """An activation ended without a usable result."""

    retry_after: int | None = None  # seconds, when trying again later is the remedy


class ActionCrashed(RuntimeFailure):
    """The action raised, exited, or returned something that is not a dict."""


class ActionTimedOut(RuntimeFailure):
    def __init__(self, timeout_ms: int) -> None:
        self.timeout_ms = timeout_ms
        super().__init__(f"The action exceeded its time limits of {timeout_ms} milliseconds.")


class Overloaded(RuntimeFailure):
    def __init__(self, action: str, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(
            f"Too many activations of {action} are running or waiting; retry in {retry_after} s "
            f"or raise --max-workers / --queue-size."
        )


class RuntimeUnavailable(RuntimeFailure):
    """The action's kind has no interpreter here, or its runtime environment cannot be built."""


class RuntimePreparing(RuntimeFailure):
    retry_after = 5

    def __init__(self, action: str, step: str = "") -> None:
        doing = f" (now: {step})" if step else ""
        super().__init__(
            f"{action}'s runtime environment is still being prepared{doing}; the activation "
            f"waited for it as long as its time limit allows. Try again in a few seconds: "
            f"the build goes on, and `streamwhisk up` says when it is ready.")


class DeployRefused(StreamwhiskError):
    """A package or action the REST API cannot keep as it was sent (a bad body, a bad zip)."""


class NotDeployed(DeployRefused):
    """No deployed package or action of that name."""


class DeployConflict(DeployRefused):
    """It exists and the request did not ask to overwrite it, or a package is not empty."""


class TooLargeToDeploy(DeployRefused):
    """A zip that unpacks past OpenWhisk's limits."""


class ServiceUnavailable(StreamwhiskError):
    """A platform service cannot start (its program is missing, its port is taken) or
    stopped; the message names the service and the fix."""


class StreamError(StreamwhiskError):
    """The stream between an action and a client broke."""


class RequestError(StreamwhiskError):
    """An HTTP request the server refuses; `status_code` is the answer's status."""

    def __init__(self, message: str, status_code: int = 400) -> None:
        self.status_code = status_code
        super().__init__(message)


class ListenError(StreamwhiskError):
    """A server cannot bind its address."""


class DataInUse(ServiceUnavailable):
    """Another run serves this data folder."""


class PortTaken(ServiceUnavailable):
    """The service exited at start because a port it was given was taken."""


class NotReadyInTime(ServiceUnavailable):
    """The service did not answer within its wait."""


class ClusterError(StreamwhiskError):
    """An OpenWhisk API refused or failed; the message names the artifact and what to do."""

    def __init__(self, message: str, status_code: int = 0, reason: str = "") -> None:
        self.status_code = status_code
        self.reason = reason or message  # what the other side said, alone
        super().__init__(message)


class ServerUnreachable(ClusterError):
    """No running `streamwhisk up` answers where a learner's command looked."""


class ChatError(StreamwhiskError):
    """What was typed in `streamwhisk chat` cannot be sent (two files, say)."""


class LoaderError(StreamwhiskError):
    """`streamwhisk loader` cannot read a file, or its loader action refused a chunk."""

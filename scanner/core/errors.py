"""orgscan's exception tree.

Every error orgscan raises on purpose is an ``OrgscanError``. ``ConfigError`` names the file a
user wrote; the ``AwsError`` branch is a failed AWS call that becomes data (ERROR or
NOT_ASSESSED) for one account. Which AWS failure is which kind is decided in one place,
``scanner.aws.errors.classify``; everything else catches these types, never botocore's.

    OrgscanError
    +-- ConfigError          a config, rule, scenario, exceptions or bundle file is wrong
    +-- ReadOnlyViolation    the scanner tried to send a write (never caught as data)
    +-- ScopeError           a shared client was used outside an account scope
    +-- OutputError          an output could not be written (disk full, permissions, ...)
    +-- AwsError             a failed call, data for one account
        +-- AccessDenied, Throttled, NotFound, RegionDisabled, Unavailable, Unsupported
"""

from __future__ import annotations


class OrgscanError(Exception):
    """Base of every error orgscan raises on purpose."""


class ConfigError(OrgscanError):
    """A config, rule, scenario or exceptions file is wrong. Always names the file."""

    def __init__(self, path: str, message: str, *, yaml_path: str = "", hint: str = "",
                 line: int | None = None) -> None:
        self.path = path
        self.yaml_path = yaml_path
        self.message = message
        self.hint = hint
        self.line = line
        where = path if line is None else f"{path}:{line}"
        text = f"{where}: {yaml_path + ': ' if yaml_path else ''}{message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class OutputError(OrgscanError):
    """An output could not be written; ``path`` is the file or directory that failed (raised
    by ``scanner.report.files``, the one place outputs are written)."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"cannot write {path}: {reason}")
        self.path = path
        self.reason = reason


class ReadOnlyViolation(OrgscanError):
    """The scanner tried to send an operation that is not a read. Never caught as data."""

    def __init__(self, service: str, operation: str) -> None:
        self.service = service
        self.operation = operation
        super().__init__(
            f"refused {service}:{operation}: orgscan only sends read operations"
        )


class ScopeError(OrgscanError):
    """A shared client was used outside an account scope (no credentials chosen)."""


class AwsError(OrgscanError):
    """An AWS call failed in a way that becomes data (ERROR / NOT_ASSESSED) for one account."""

    def __init__(self, code: str, message: str, *, service: str = "", operation: str = "",
                 account_id: str = "") -> None:
        self.code = code
        self.message = message
        self.service = service
        self.operation = operation
        self.account_id = account_id
        call = f"{service}:{operation} " if service else ""
        who = f"in {account_id} " if account_id else ""
        super().__init__(f"{call}{who}failed: {code}: {message}")


class AccessDenied(AwsError):
    """Not authorised: missing audit role, SCP, missing permission."""


class Throttled(AwsError):
    """Still throttled after every retry."""


class NotFound(AwsError):
    """The thing asked for does not exist (NoSuchEntity and friends)."""


class RegionDisabled(AwsError):
    """The region is not enabled for the account (opt-in regions answer with auth errors)."""


class Unavailable(AwsError):
    """Connection failures, timeouts and 5xx after every retry."""


class Unsupported(AwsError):
    """The endpoint does not implement the operation."""


class ConfigErrors(ConfigError):
    """Every problem in one file at once, so a user fixes them in one pass."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.path, first.message, yaml_path=first.yaml_path,
                         hint=first.hint, line=first.line)
        self.args = ("\n".join(str(e) for e in errors),)

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)

"""orgscan's exception tree, and the ONE place that maps botocore errors onto it.

Collectors and the orchestrator catch these types, never botocore's, so that "what kind of
failure was this" is decided once and consistently (an AccessDenied is data, a throttle that
outlived the retries is data, a bug is a bug).
"""

from __future__ import annotations

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)


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


_ACCESS_DENIED = {
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "AWSOrganizationsNotInUseException", "AccountNotManagementAccountException",
}
_THROTTLED = {
    "Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
    "SlowDown", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException",
}
_NOT_FOUND = {
    "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NoSuchBucket",
    "NoSuchKey", "TrailNotFoundException", "NotFoundException", "NotFound",
}
# An opt-in region that is not enabled rejects the signature instead of naming the region.
_REGION_DISABLED = {"InvalidClientTokenId", "UnrecognizedClientException", "AuthFailure"}
_UNAVAILABLE = {"InternalFailure", "InternalError", "ServiceUnavailable",
                "ServiceUnavailableException",
                "InternalServerError", "ServiceException"}


def translate(exc: BaseException, *, service: str = "", operation: str = "",
              account_id: str = "") -> AwsError:
    """Map a botocore/aiohttp/asyncio failure to the orgscan exception tree."""
    if isinstance(exc, AwsError):
        return exc
    kw = {"service": service, "operation": operation, "account_id": account_id}
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        message = str(err.get("Message", "")) or str(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        kw["operation"] = kw["operation"] or getattr(exc, "operation_name", "")
        if code in _ACCESS_DENIED:
            return AccessDenied(code, message, **kw)
        if code in _THROTTLED:
            return Throttled(code, message, **kw)
        if code in _NOT_FOUND:
            return NotFound(code, message, **kw)
        if code in _REGION_DISABLED:
            return RegionDisabled(code, message, **kw)
        if code in _UNAVAILABLE or status >= 500:
            # An endpoint that does not implement an operation answers 500 too; callers that
            # care tell the two apart by the operation they asked for.
            return Unavailable(code, message, **kw)
        return AwsError(code, message, **kw)
    if isinstance(exc, NoCredentialsError):
        return AccessDenied("NoCredentials", str(exc), **kw)
    if isinstance(exc, (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError,
                        ReadTimeoutError)):
        return Unavailable(type(exc).__name__, str(exc), **kw)
    if isinstance(exc, TimeoutError):  # asyncio.TimeoutError is this builtin since 3.11
        return Unavailable("Timeout", str(exc) or "timed out", **kw)
    if isinstance(exc, BotoCoreError):
        return AwsError(type(exc).__name__, str(exc), **kw)
    if isinstance(exc, OSError):
        return Unavailable(type(exc).__name__, str(exc), **kw)
    # botocore raises a bare RuntimeError when a refresh returns credentials already inside
    # the refresh margin (STS answered too slowly for a very short session): a credential
    # failure of that account, not a bug.
    if isinstance(exc, RuntimeError) and "refreshed credentials" in str(exc):
        return AccessDenied("CredentialRefresh", str(exc), **kw)
    # aiohttp's errors are not botocore's; import lazily to keep this module light.
    import aiohttp

    if isinstance(exc, aiohttp.ClientError):
        return Unavailable(type(exc).__name__, str(exc), **kw)
    raise TypeError(f"not an AWS failure: {exc!r}") from exc

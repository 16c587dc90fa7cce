"""The one place that decides what kind of failure an AWS call had.

``classify`` maps a botocore, aiohttp or asyncio failure onto orgscan's exception tree
(``scanner.core.errors``) and answers ``None`` for anything that is not an AWS failure: that is
a bug and must stay one (callers re-raise it). The throttle codes live here too, so counting
throttled answers and classifying a throttle that outlived the retries agree.
"""

from __future__ import annotations

from typing import NoReturn

import aiohttp
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from scanner.core.errors import (
    AccessDenied,
    AwsError,
    NotFound,
    RegionDisabled,
    Throttled,
    Unavailable,
)

ACCESS_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError",
    "AWSOrganizationsNotInUseException", "AccountNotManagementAccountException",
})
THROTTLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "SlowDown", "RequestThrottled", "RequestThrottledException",
    "ProvisionedThroughputExceededException", "PriorRequestNotComplete",
    "BandwidthLimitExceeded", "EC2ThrottledException", "TransactionInProgressException",
})
NOT_FOUND_CODES = frozenset({
    "NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException", "NoSuchBucket",
    "NoSuchKey", "TrailNotFoundException", "NotFoundException", "NotFound",
})
# An opt-in region that is not enabled rejects the signature instead of naming the region.
REGION_DISABLED_CODES = frozenset({"InvalidClientTokenId", "UnrecognizedClientException",
                                   "AuthFailure"})
UNAVAILABLE_CODES = frozenset({"InternalFailure", "InternalError", "ServiceUnavailable",
                               "ServiceUnavailableException", "InternalServerError",
                               "ServiceException"})


def is_throttle(code: str) -> bool:
    """Whether an AWS error code means "slow down" (botocore retries these)."""
    return code in THROTTLE_CODES


def classify(exc: BaseException, *, service: str = "", operation: str = "",
             account_id: str = "") -> AwsError | None:
    """The orgscan error for an AWS failure, or ``None`` when ``exc`` is not one (a bug)."""
    if isinstance(exc, AwsError):
        return exc
    kw = {"service": service, "operation": operation, "account_id": account_id}
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        code = str(err.get("Code", "Unknown"))
        message = str(err.get("Message", "")) or str(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        kw["operation"] = kw["operation"] or getattr(exc, "operation_name", "")
        if code in ACCESS_DENIED_CODES:
            return AccessDenied(code, message, **kw)
        if code in THROTTLE_CODES:
            return Throttled(code, message, **kw)
        if code in NOT_FOUND_CODES:
            return NotFound(code, message, **kw)
        if code in REGION_DISABLED_CODES:
            return RegionDisabled(code, message, **kw)
        if code in UNAVAILABLE_CODES or status >= 500:
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
    if isinstance(exc, aiohttp.ClientError):
        return Unavailable(type(exc).__name__, str(exc), **kw)
    return None


def raise_classified(exc: BaseException, *, service: str = "", operation: str = "",
                     account_id: str = "") -> NoReturn:
    """Re-raise ``exc`` as its orgscan error, chained to it; a bug is re-raised as itself."""
    err = classify(exc, service=service, operation=operation, account_id=account_id)
    if err is None or err is exc:
        raise exc
    raise err from exc

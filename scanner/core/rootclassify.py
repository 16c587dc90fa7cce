"""What one raw CloudTrail record is, for root use (PURE: no I/O, no AWS, no asyncio): whether it
involves the root user, its class (sign-in, API call, AssumeRoot, password recovery, ...), the
account it is attributed to, and a stable id for records AWS wrote without one.

The definitions are docs/semantics.md's; docs/root-usage.md says where public detection content
disagrees and why orgscan decides as it does."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

_ACCOUNT_IN = re.compile(r"(?<!\d)(\d{12})(?!\d)")


# AWS writes the sign-in event type both `AwsConsoleSignIn` and `AwsConsoleSignin`: event
# types are compared folded to lower case, everywhere.
SIGNIN_TYPE = "awsconsolesignin"


SERVICE_EVENT_TYPE = "awsserviceevent"


API_CALL_TYPE = "awsapicall"


CONSOLE_ACTION_TYPE = "awsconsoleaction"


# Sign-in events recognised by source and name whatever their event type (AWS may write the
# recovery events as service events).
PASSWORD_RECOVERY_EVENTS = frozenset({"PasswordRecoveryRequested", "PasswordRecoveryCompleted"})


_SIGNIN_EVENTS = frozenset({"ConsoleLogin"}) | PASSWORD_RECOVERY_EVENTS


# A record without eventID gets this prefix and a digest of the fields below: every source
# (Athena rebuilds records from these columns only) derives the same id for the same record.
DERIVED_ID_PREFIX = "derived:"


_IDENTITY_PATHS = (
    ("eventTime",), ("eventSource",), ("eventName",), ("eventType",), ("awsRegion",),
    ("sourceIPAddress",), ("userAgent",), ("errorCode",), ("recipientAccountId",),
    ("userIdentity", "type"), ("userIdentity", "accountId"), ("userIdentity", "accessKeyId"),
    ("userIdentity", "invokedBy"), ("requestParameters", "targetPrincipal"),
    ("requestParameters", "userName"), ("responseElements", "ConsoleLogin"),
    ("responseElements", "credentials", "accessKeyId"),
)


# User agents of calls the AWS console makes on a signed-in user's behalf.
_CONSOLE_AGENTS = frozenset({"console.amazonaws.com", "signin.amazonaws.com"})


class Kind(StrEnum):
    """What a root-related event is. Only CONSOLE_LOGIN and API_CALL are *use*."""

    CONSOLE_LOGIN = "console_login"  # successful root ConsoleLogin
    FAILED_LOGIN = "failed_login"  # responseElements.ConsoleLogin == "Failure"
    PASSWORD_RECOVERY = "password_recovery"  # noqa: S105 - PasswordRecoveryRequested
    SIGNIN_OTHER = "signin_other"  # other root AwsConsoleSignIn events (PasswordUpdated, ...)
    API_CALL = "api_call"  # root AwsApiCall, successful or not, read-only included
    INVOKED_BY_SERVICE = "invoked_by_service"  # root call with userIdentity.invokedBy
    SERVICE_EVENT = "service_event"  # eventType AwsServiceEvent
    ASSUME_ROOT = "assume_root"  # sts:AssumeRoot, or a call made in an AssumeRoot session
    CONSOLE_ACTION = "console_action"  # eventType AwsConsoleAction
    OTHER = "other"  # any other root event type

    @property
    def is_use(self) -> bool:
        return self in (Kind.CONSOLE_LOGIN, Kind.API_CALL)


def field_at(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def as_text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def as_bool(value: Any) -> bool | None:
    """CloudTrail spells booleans as JSON booleans, "true"/"false" or "Yes"/"No"."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in ("true", "yes"):
        return True
    if text in ("false", "no"):
        return False
    return None


def parse_time(value: Any) -> datetime | None:
    """CloudTrail's ``2018-08-29T16:24:34Z`` (or a datetime) as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    if not text:
        return None
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def is_assumed_root(raw: Mapping[str, Any]) -> bool:
    """A call made with AssumeRoot credentials: ``sessionContext.assumedRoot == "true"``."""
    return as_bool(field_at(raw, "userIdentity", "sessionContext", "assumedRoot")) is True


def _is_assume_root_call(raw: Mapping[str, Any]) -> bool:
    source = str(raw.get("eventSource") or "")
    return raw.get("eventName") == "AssumeRoot" and source.startswith("sts.")


def event_type(raw: Mapping[str, Any]) -> str | None:
    """``eventType`` folded to lower case (AWS spells the sign-in type two ways)."""
    value = as_text(raw.get("eventType"))
    return value.lower() if value is not None else None


def _is_signin(raw: Mapping[str, Any], kind_of_event: str | None) -> bool:
    """A sign-in event: the sign-in event type, or a sign-in source with no event type, or a
    sign-in source and one of the sign-in event names whatever the type."""
    if kind_of_event == SIGNIN_TYPE:
        return True
    if not str(raw.get("eventSource") or "").startswith("signin."):
        return False
    return kind_of_event is None or raw.get("eventName") in _SIGNIN_EVENTS


def _from_console(raw: Mapping[str, Any]) -> bool:
    """Made by the AWS console for a signed-in user: invoked by sign-in, marked as a console
    session's credential, or sent with the console's user agent."""
    invoker = str(field_at(raw, "userIdentity", "invokedBy") or "")
    agent = str(raw.get("userAgent") or "").strip().lower()
    return (invoker.startswith("signin.")
            or as_bool(raw.get("sessionCredentialFromConsole")) is True
            or agent in _CONSOLE_AGENTS)


def _root_key_creation(raw: Mapping[str, Any]) -> bool:
    """Root creating an access key for itself (``iam:CreateAccessKey`` with no userName)."""
    return (raw.get("eventName") == "CreateAccessKey"
            and str(raw.get("eventSource") or "").startswith("iam.")
            and not field_at(raw.get("requestParameters"), "userName"))


def derived_event_id(raw: Mapping[str, Any]) -> str:
    """A stable id for a record that has no ``eventID`` (AWS's own AssumeRoot example has
    none): a digest of the fields every source carries, so de-duplication still works."""
    values = []
    for path in _IDENTITY_PATHS:
        value = field_at(raw, *path)
        if isinstance(value, bool):
            value = "true" if value else "false"
        values.append(as_text(value))
    digest = hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()
    return DERIVED_ID_PREFIX + digest[:32]


def classify(raw: Mapping[str, Any]) -> Kind | None:
    """The kind of a raw CloudTrail record, or None when it does not involve the root user."""
    if _is_assume_root_call(raw) or is_assumed_root(raw):
        # The AssumeRoot call (by a principal of the management account or the delegated
        # administrator) and the calls made with its credentials in the member account: the
        # sanctioned short privileged sessions of centralized root access. Never "use".
        return Kind.ASSUME_ROOT
    if field_at(raw, "userIdentity", "type") != "Root":
        return None
    etype = event_type(raw)
    name = raw.get("eventName")
    # Sign-in events first: the recovery events are sign-in events whatever their type.
    if _is_signin(raw, etype):
        if name == "ConsoleLogin":
            result = field_at(raw, "responseElements", "ConsoleLogin")
            if result == "Failure" or (result is None and raw.get("errorMessage")):
                return Kind.FAILED_LOGIN
            return Kind.CONSOLE_LOGIN
        if name == "PasswordRecoveryRequested":
            return Kind.PASSWORD_RECOVERY
        return Kind.SIGNIN_OTHER
    if etype == SERVICE_EVENT_TYPE:
        return Kind.SERVICE_EVENT
    if etype in (API_CALL_TYPE, CONSOLE_ACTION_TYPE, None) and _root_key_creation(raw) \
            and _from_console(raw):
        # A root key created in the console: console use (RootEvent.is_use), not an API call.
        return Kind.CONSOLE_ACTION
    if as_text(field_at(raw, "userIdentity", "invokedBy")):
        return Kind.INVOKED_BY_SERVICE
    if etype in (API_CALL_TYPE, None):
        return Kind.API_CALL
    if etype == CONSOLE_ACTION_TYPE:
        return Kind.CONSOLE_ACTION
    return Kind.OTHER


def _account_from(value: Any) -> str | None:
    if value is None:
        return None
    m = _ACCOUNT_IN.search(str(value))
    return m.group(1) if m else None


def attributed_account(raw: Mapping[str, Any], kind: Kind) -> str | None:
    """The account whose root the event is about.

    The AssumeRoot call is logged by the caller (management or delegated-admin account) but is
    about the target member account (``requestParameters.targetPrincipal``)."""
    if kind is Kind.ASSUME_ROOT and _is_assume_root_call(raw):
        target = _account_from(field_at(raw, "requestParameters", "targetPrincipal"))
        if target:
            return target
    return (
        as_text(raw.get("recipientAccountId"))
        or as_text(field_at(raw, "userIdentity", "accountId"))
    )


__all__ = [
    "DERIVED_ID_PREFIX", "Kind", "as_bool", "as_text", "attributed_account", "classify",
    "derived_event_id", "event_type", "field_at", "is_assumed_root", "parse_time",
]

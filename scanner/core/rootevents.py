"""Classify CloudTrail events involving the root user (PURE: no I/O, no AWS, no asyncio).

The definitions are docs/semantics.md's; docs/root-usage.md says where public detection content
disagrees and why orgscan decides as it does. Every source (event history, the organization
trail's logs, Athena) hands its raw records to ``RootEvent.from_cloudtrail`` so that one function
decides what an event is, whichever way it was read.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from scanner.core.models import JSON
from scanner.core.timefmt import iso

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


def _get(obj: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(obj, Mapping):
            return None
        obj = obj.get(key)
    return obj


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _bool(value: Any) -> bool | None:
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
    return _bool(_get(raw, "userIdentity", "sessionContext", "assumedRoot")) is True


def _is_assume_root_call(raw: Mapping[str, Any]) -> bool:
    source = str(raw.get("eventSource") or "")
    return raw.get("eventName") == "AssumeRoot" and source.startswith("sts.")


def event_type(raw: Mapping[str, Any]) -> str | None:
    """``eventType`` folded to lower case (AWS spells the sign-in type two ways)."""
    value = _text(raw.get("eventType"))
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
    invoker = str(_get(raw, "userIdentity", "invokedBy") or "")
    agent = str(raw.get("userAgent") or "").strip().lower()
    return (invoker.startswith("signin.")
            or _bool(raw.get("sessionCredentialFromConsole")) is True
            or agent in _CONSOLE_AGENTS)


def _root_key_creation(raw: Mapping[str, Any]) -> bool:
    """Root creating an access key for itself (``iam:CreateAccessKey`` with no userName)."""
    return (raw.get("eventName") == "CreateAccessKey"
            and str(raw.get("eventSource") or "").startswith("iam.")
            and not _get(raw.get("requestParameters"), "userName"))


def derived_event_id(raw: Mapping[str, Any]) -> str:
    """A stable id for a record that has no ``eventID`` (AWS's own AssumeRoot example has
    none): a digest of the fields every source carries, so de-duplication still works."""
    values = []
    for path in _IDENTITY_PATHS:
        value = _get(raw, *path)
        if isinstance(value, bool):
            value = "true" if value else "false"
        values.append(_text(value))
    digest = hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()
    return DERIVED_ID_PREFIX + digest[:32]


def classify(raw: Mapping[str, Any]) -> Kind | None:
    """The kind of a raw CloudTrail record, or None when it does not involve the root user."""
    if _is_assume_root_call(raw) or is_assumed_root(raw):
        # The AssumeRoot call (by a principal of the management account or the delegated
        # administrator) and the calls made with its credentials in the member account: the
        # sanctioned short privileged sessions of centralized root access. Never "use".
        return Kind.ASSUME_ROOT
    if _get(raw, "userIdentity", "type") != "Root":
        return None
    etype = event_type(raw)
    name = raw.get("eventName")
    # Sign-in events first: the recovery events are sign-in events whatever their type.
    if _is_signin(raw, etype):
        if name == "ConsoleLogin":
            result = _get(raw, "responseElements", "ConsoleLogin")
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
    if _text(_get(raw, "userIdentity", "invokedBy")):
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
        target = _account_from(_get(raw, "requestParameters", "targetPrincipal"))
        if target:
            return target
    return (
        _text(raw.get("recipientAccountId"))
        or _text(_get(raw, "userIdentity", "accountId"))
    )


@dataclass(frozen=True)
class RootEvent:
    """One root-related event, trimmed to what an auditor needs, with its classification."""

    event_id: str
    event_time: datetime
    kind: Kind
    account_id: str | None
    event_name: str | None = None
    event_source: str | None = None
    event_type: str | None = None
    aws_region: str | None = None
    source_ip: str | None = None
    user_agent: str | None = None
    error_code: str | None = None
    mfa_used: bool | None = None  # additionalEventData.MFAUsed, sign-ins only
    console_login: str | None = None  # responseElements.ConsoleLogin: Success | Failure
    access_key_id: str | None = None
    invoked_by: str | None = None
    read_only: bool | None = None
    root_key_created: bool = False  # CreateAccessKey by root for itself (no userName)
    session_id: str | None = None  # AssumeRoot sessions: the session's access key id
    sources: tuple[str, ...] = ()

    @property
    def event_id_derived(self) -> bool:
        """The record had no eventID; ``event_id`` is ``derived_event_id``'s digest."""
        return self.event_id.startswith(DERIVED_ID_PREFIX)

    @property
    def console_key_created(self) -> bool:
        """Root created its own access key from the console (classed as a console action)."""
        return self.kind is Kind.CONSOLE_ACTION and self.root_key_created

    @property
    def is_use(self) -> bool:
        # A root key created from the console proves a root console session: console use.
        return self.kind.is_use or self.console_key_created

    @property
    def signed_with_root_key(self) -> bool:
        """Long-term root access keys start with AKIA; sessions (console, AssumeRoot) ASIA."""
        return bool(self.access_key_id and self.access_key_id.startswith("AKIA"))

    @property
    def channel(self) -> str | None:
        """console | api | keys for events that are use; None otherwise."""
        if self.kind is Kind.CONSOLE_LOGIN or self.console_key_created:
            return "console"
        if self.kind is Kind.API_CALL:
            return "keys" if self.signed_with_root_key else "api"
        return None

    @classmethod
    def from_cloudtrail(cls, raw: Mapping[str, Any], source: str) -> RootEvent | None:
        """Classify and trim a raw CloudTrail record; None if it does not involve root."""
        kind = classify(raw)
        if kind is None:
            return None
        when = parse_time(raw.get("eventTime"))
        if when is None:
            return None
        event_id = _text(raw.get("eventID")) or derived_event_id(raw)
        name = _text(raw.get("eventName"))
        key = _text(_get(raw, "userIdentity", "accessKeyId"))
        session = None
        if kind is Kind.ASSUME_ROOT:
            if _is_assume_root_call(raw):
                session = _text(_get(raw, "responseElements", "credentials", "accessKeyId"))
            else:
                session = key
            session = session or event_id
        created_key = (
            kind in (Kind.API_CALL, Kind.INVOKED_BY_SERVICE, Kind.CONSOLE_ACTION)
            and _root_key_creation(raw)
        )
        return cls(
            event_id=event_id,
            event_time=when,
            kind=kind,
            account_id=attributed_account(raw, kind),
            event_name=name,
            event_source=_text(raw.get("eventSource")),
            event_type=_text(raw.get("eventType")),
            aws_region=_text(raw.get("awsRegion")),
            source_ip=_text(raw.get("sourceIPAddress")),
            user_agent=_text(raw.get("userAgent")),
            error_code=_text(raw.get("errorCode")),
            mfa_used=_bool(_get(raw, "additionalEventData", "MFAUsed")),
            console_login=_text(_get(raw, "responseElements", "ConsoleLogin")),
            access_key_id=key,
            invoked_by=_text(_get(raw, "userIdentity", "invokedBy")),
            read_only=_bool(raw.get("readOnly")),
            root_key_created=created_key,
            session_id=session,
            sources=(source,),
        )

    def with_sources(self, sources: tuple[str, ...]) -> RootEvent:
        return replace(self, sources=tuple(sorted(set(sources))))

    def to_json(self) -> dict[str, JSON]:
        """CloudTrail's own field names (what an auditor searches for), plus orgscan's verdict."""
        return {
            "eventID": self.event_id,
            "eventTime": iso(self.event_time),
            "eventName": self.event_name,
            "eventSource": self.event_source,
            "eventType": self.event_type,
            "awsRegion": self.aws_region,
            "sourceIPAddress": self.source_ip,
            "userAgent": self.user_agent,
            "errorCode": self.error_code,
            "MFAUsed": self.mfa_used,
            "ConsoleLogin": self.console_login,
            "accessKeyId": self.access_key_id,
            "invokedBy": self.invoked_by,
            "readOnly": self.read_only,
            "recipientAccountId": self.account_id,
            "class": self.kind.value,
            "counted_as_use": self.is_use,
            "channel": self.channel,
            "root_key_created": self.root_key_created,
            "session_id": self.session_id,
            "sources": list(self.sources),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RootEvent:
        """The inverse of ``to_json`` (facts travel as JSON between collectors)."""
        when = parse_time(data.get("eventTime"))
        if when is None:
            raise ValueError(f"event without eventTime: {data!r}")
        return cls(
            event_id=str(data["eventID"]),
            event_time=when,
            kind=Kind(data["class"]),
            account_id=_text(data.get("recipientAccountId")),
            event_name=_text(data.get("eventName")),
            event_source=_text(data.get("eventSource")),
            event_type=_text(data.get("eventType")),
            aws_region=_text(data.get("awsRegion")),
            source_ip=_text(data.get("sourceIPAddress")),
            user_agent=_text(data.get("userAgent")),
            error_code=_text(data.get("errorCode")),
            mfa_used=data.get("MFAUsed"),
            console_login=_text(data.get("ConsoleLogin")),
            access_key_id=_text(data.get("accessKeyId")),
            invoked_by=_text(data.get("invokedBy")),
            read_only=data.get("readOnly"),
            root_key_created=bool(data.get("root_key_created")),
            session_id=_text(data.get("session_id")),
            sources=tuple(data.get("sources") or ()),
        )


def link_assume_root_sessions(events: Iterable[RootEvent]) -> list[RootEvent]:
    """Calls signed with a key that an AssumeRoot call among ``events`` issued are that
    session's, even without ``sessionContext.assumedRoot`` (AWS's way to trace a session is
    its key). A root call whose issuing AssumeRoot call was not seen keeps its class."""
    events = list(events)
    issued = {e.session_id for e in events
              if e.kind is Kind.ASSUME_ROOT and e.event_name == "AssumeRoot" and e.session_id}
    return [
        replace(e, kind=Kind.ASSUME_ROOT, session_id=e.access_key_id, root_key_created=False)
        if e.kind is not Kind.ASSUME_ROOT and e.access_key_id in issued else e
        for e in events
    ]


def merge_events(*groups: Any) -> list[RootEvent]:
    """Union of events from several sources: one per eventID, with every source that saw it,
    with AssumeRoot sessions linked by their keys (``link_assume_root_sessions``).

    Event history and the organization trail deliver the same record with the same eventID;
    it counts once."""
    by_id: dict[str, RootEvent] = {}
    for group in groups:
        for ev in group:
            seen = by_id.get(ev.event_id)
            if seen is None:
                by_id[ev.event_id] = ev.with_sources(ev.sources)
            else:
                by_id[ev.event_id] = seen.with_sources(seen.sources + ev.sources)
    return sorted(link_assume_root_sessions(by_id.values()),
                  key=lambda e: (e.event_time, e.event_id))


__all__ = [
    "DERIVED_ID_PREFIX", "Kind", "RootEvent", "attributed_account", "classify",
    "derived_event_id", "event_type", "is_assumed_root", "link_assume_root_sessions",
    "merge_events", "parse_time",
]

"""Classify CloudTrail events involving the root user (PURE: no I/O, no AWS, no asyncio).

The definitions are docs/semantics.md's; docs/root-usage.md says where public detection content
disagrees and why orgscan decides as it does. Every source (event history, the organization
trail's logs, Athena) hands its raw records to ``RootEvent.from_cloudtrail`` so that one function
decides what an event is, whichever way it was read.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from scanner.core.models import JSON
from scanner.core.timefmt import iso

_ACCOUNT_IN = re.compile(r"(?<!\d)(\d{12})(?!\d)")


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


def classify(raw: Mapping[str, Any]) -> Kind | None:
    """The kind of a raw CloudTrail record, or None when it does not involve the root user."""
    if _is_assume_root_call(raw) or is_assumed_root(raw):
        # The AssumeRoot call (by a principal of the management account or the delegated
        # administrator) and the calls made with its credentials in the member account: the
        # sanctioned short privileged sessions of centralized root access. Never "use".
        return Kind.ASSUME_ROOT
    if _get(raw, "userIdentity", "type") != "Root":
        return None
    event_type = raw.get("eventType")
    name = raw.get("eventName")
    if event_type == "AwsServiceEvent":
        return Kind.SERVICE_EVENT
    if event_type == "AwsConsoleSignIn" or (
        event_type is None and str(raw.get("eventSource") or "").startswith("signin.")
    ):
        if name == "ConsoleLogin":
            result = _get(raw, "responseElements", "ConsoleLogin")
            if result == "Failure" or (result is None and raw.get("errorMessage")):
                return Kind.FAILED_LOGIN
            return Kind.CONSOLE_LOGIN
        if name == "PasswordRecoveryRequested":
            return Kind.PASSWORD_RECOVERY
        return Kind.SIGNIN_OTHER
    if _text(_get(raw, "userIdentity", "invokedBy")):
        return Kind.INVOKED_BY_SERVICE
    if event_type in ("AwsApiCall", None):
        return Kind.API_CALL
    if event_type == "AwsConsoleAction":
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
    def is_use(self) -> bool:
        return self.kind.is_use

    @property
    def signed_with_root_key(self) -> bool:
        """Long-term root access keys start with AKIA; sessions (console, AssumeRoot) ASIA."""
        return bool(self.access_key_id and self.access_key_id.startswith("AKIA"))

    @property
    def channel(self) -> str | None:
        """console | api | keys for events that are use; None otherwise."""
        if self.kind is Kind.CONSOLE_LOGIN:
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
        event_id = _text(raw.get("eventID"))
        if when is None or event_id is None:
            return None
        name = _text(raw.get("eventName"))
        key = _text(_get(raw, "userIdentity", "accessKeyId"))
        session = None
        if kind is Kind.ASSUME_ROOT:
            if _is_assume_root_call(raw):
                session = _text(_get(raw, "responseElements", "credentials", "accessKeyId"))
            else:
                session = key
            session = session or event_id
        params = raw.get("requestParameters")
        created_key = (
            kind in (Kind.API_CALL, Kind.INVOKED_BY_SERVICE)
            and name == "CreateAccessKey"
            and str(raw.get("eventSource") or "").startswith("iam.")
            and not _get(params, "userName")
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


def merge_events(*groups: Any) -> list[RootEvent]:
    """Union of events from several sources: one per eventID, with every source that saw it.

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
    return sorted(by_id.values(), key=lambda e: (e.event_time, e.event_id))


__all__ = [
    "Kind", "RootEvent", "attributed_account", "classify", "is_assumed_root", "merge_events",
    "parse_time",
]

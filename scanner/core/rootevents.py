"""One root event as orgscan records it (PURE: no I/O, no AWS, no asyncio), and merging them.

The definitions are docs/semantics.md's; docs/root-usage.md says where public detection content
disagrees and why orgscan decides as it does. Every source (event history, the organization
trail's logs, Athena) hands its raw records to ``RootEvent.from_cloudtrail`` so that one function
decides what an event is, whichever way it was read.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from scanner.core.models import JSON
from scanner.core.rootclassify import (
    DERIVED_ID_PREFIX,
    Kind,
    _is_assume_root_call,
    _root_key_creation,
    as_bool,
    as_text,
    attributed_account,
    classify,
    derived_event_id,
    field_at,
    parse_time,
)
from scanner.core.timefmt import iso


def _shared(text: str | None) -> str | None:
    """One copy of a value many events repeat (account, names, region, IP, user agent): a
    log holds many root events of few such values, and each parsed record has its own."""
    return None if text is None else sys.intern(text)


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
        event_id = as_text(raw.get("eventID")) or derived_event_id(raw)
        name = as_text(raw.get("eventName"))
        key = as_text(field_at(raw, "userIdentity", "accessKeyId"))
        session = None
        if kind is Kind.ASSUME_ROOT:
            if _is_assume_root_call(raw):
                session = as_text(field_at(raw, "responseElements", "credentials", "accessKeyId"))
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
            account_id=_shared(attributed_account(raw, kind)),
            event_name=_shared(name),
            event_source=_shared(as_text(raw.get("eventSource"))),
            event_type=_shared(as_text(raw.get("eventType"))),
            aws_region=_shared(as_text(raw.get("awsRegion"))),
            source_ip=_shared(as_text(raw.get("sourceIPAddress"))),
            user_agent=_shared(as_text(raw.get("userAgent"))),
            error_code=as_text(raw.get("errorCode")),
            mfa_used=as_bool(field_at(raw, "additionalEventData", "MFAUsed")),
            console_login=as_text(field_at(raw, "responseElements", "ConsoleLogin")),
            access_key_id=key,
            invoked_by=as_text(field_at(raw, "userIdentity", "invokedBy")),
            read_only=as_bool(raw.get("readOnly")),
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
            account_id=as_text(data.get("recipientAccountId")),
            event_name=as_text(data.get("eventName")),
            event_source=as_text(data.get("eventSource")),
            event_type=as_text(data.get("eventType")),
            aws_region=as_text(data.get("awsRegion")),
            source_ip=as_text(data.get("sourceIPAddress")),
            user_agent=as_text(data.get("userAgent")),
            error_code=as_text(data.get("errorCode")),
            mfa_used=data.get("MFAUsed"),
            console_login=as_text(data.get("ConsoleLogin")),
            access_key_id=as_text(data.get("accessKeyId")),
            invoked_by=as_text(data.get("invokedBy")),
            read_only=data.get("readOnly"),
            root_key_created=bool(data.get("root_key_created")),
            session_id=as_text(data.get("session_id")),
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


__all__ = ["RootEvent", "link_assume_root_sessions", "merge_events"]

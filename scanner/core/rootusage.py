"""Build one RootUsage record per account (PURE: no I/O, no AWS, no asyncio).

Input: root events already classified by ``scanner.core.rootevents`` (from any number of sources),
what each source covered, the credential report's root row and, when available, the ``root.mfa``
and ``iam.organizations_features`` facts. Output: the ``root.usage`` fact rules read and the
root-usage report's rows. Root credential state (keys, MFA, credentials present) comes from
``scanner.core.rootcreds``. Definitions: docs/semantics.md; choices: docs/root-usage.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.core.models import JSON, FactError
from scanner.core.rootclassify import Kind, parse_time
from scanner.core.rootcreds import (
    KEY_NUMBERS,
    RootCredentials,
    RootKey,
    derive_root_credentials,
    report_uses,
    root_keys,
    root_row,
)
from scanner.core.rootevents import RootEvent, merge_events
from scanner.core.timefmt import iso

DEFAULT_LOOKBACK_DAYS = 90
DEFAULT_MAX_EVIDENCE_EVENTS = 1000
# On equal times, the more specific channel names the use.
_CHANNEL_RANK = {"keys": 2, "console": 1, "api": 0}

# Source names, as configured under root_usage.sources and recorded in the evidence.
CREDENTIAL_REPORT = "credential_report"
EVENT_HISTORY = "event_history"
ORG_TRAIL = "org_trail"
ATHENA = "athena"
CLOUDTRAIL_LAKE = "cloudtrail_lake"
EVENT_SOURCES = (EVENT_HISTORY, ORG_TRAIL, ATHENA, CLOUDTRAIL_LAKE)
# The sources read once for the whole organization, and the facts that hold their events.
ORG_SOURCES = ((ORG_TRAIL, "orgtrail.root_events"), (ATHENA, "athena.root_events"),
               (CLOUDTRAIL_LAKE, "lake.root_events"))


@dataclass(frozen=True)
class Window:
    """The lookback: ``days`` ending at the scan's start. Both ends are inclusive."""

    start: datetime
    end: datetime
    days: int

    @classmethod
    def ending(cls, now: datetime, days: int = DEFAULT_LOOKBACK_DAYS) -> Window:
        if days <= 0:
            raise ValueError("lookback_days must be positive")
        # A naive time is taken as UTC, as parse_time takes event times.
        end = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return cls(start=end - timedelta(days=days), end=end, days=days)

    def contains(self, when: datetime | None) -> bool:
        return when is not None and self.start <= when <= self.end


@dataclass(frozen=True)
class SourceCoverage:
    """What one source covered for one account; part of every record's evidence."""

    name: str  # credential_report | event_history | org_trail | athena
    window_start: str | None
    window_end: str | None
    complete: bool  # covered the whole window with no gap or error
    detail: str = ""
    error: str | None = None  # error code when the source failed
    regions: tuple[str, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "name": self.name,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "complete": self.complete,
            "detail": self.detail,
            "error": self.error,
            "regions": list(self.regions),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SourceCoverage:
        return cls(
            name=str(data["name"]),
            window_start=data.get("window_start"),
            window_end=data.get("window_end"),
            complete=bool(data.get("complete")),
            detail=str(data.get("detail") or ""),
            error=data.get("error"),
            regions=tuple(data.get("regions") or ()),
        )

    @classmethod
    def failed(cls, name: str, window: Window, code: str, message: str) -> SourceCoverage:
        return cls(name, iso(window.start), iso(window.end), False, message, code)


@dataclass(frozen=True)
class ConsoleSignIn:
    """A successful root console sign-in and whether MFA was used for it."""

    event_id: str
    time: str
    mfa_used: bool | None
    source_ip: str | None

    def to_json(self) -> dict[str, JSON]:
        return {"eventID": self.event_id, "eventTime": self.time, "MFAUsed": self.mfa_used,
                "sourceIPAddress": self.source_ip}


@dataclass(frozen=True)
class RootUsage:
    """How the root user of one account was used in the lookback window."""

    account_id: str
    window_days: int
    window_start: str
    window_end: str
    used_in_window: bool | None  # None: no use seen, but some selected source was incomplete
    last_used: str | None  # latest use inside the window
    last_used_channel: str | None  # console | api | keys (on a tie: keys, console, api)
    last_used_any: str | None  # latest known use of any age (the credential report's may be older)
    channels: tuple[str, ...]  # channels used inside the window
    # Counts are within the window. None when the count is 0 but no event source covered the
    # whole window (a zero would then be a guess); a positive count is always a lower bound.
    console_logins: int | None
    failed_logins: int | None
    api_calls: int | None
    invoked_by_service_calls: int | None
    service_events: int | None
    assume_root_sessions: int | None
    password_recovery_requests: int | None
    console_logins_without_mfa: int | None
    root_access_keys_created: int | None
    console_actions: int | None
    other_signin_events: int | None
    source_ips: tuple[str, ...]
    user_agents: tuple[str, ...]
    console_sign_ins: tuple[ConsoleSignIn, ...]
    password_last_used: str | None
    keys: tuple[RootKey, ...]
    active_access_keys: int | None
    mfa_active: bool | None
    mfa_kind: str | None  # hardware | virtual | none (from root.mfa), None if unknown
    credentials_present: bool | None  # False: no password and no active key
    credentials_centrally_removed: bool | None  # centralized root access on, no credentials
    assessed: bool  # False: built from organization-trail evidence only (NOT_ASSESSED account)
    sources: tuple[SourceCoverage, ...]
    events: tuple[RootEvent, ...]
    events_omitted: int = 0  # evidence beyond max_events (counts stay exact)
    notes: tuple[str, ...] = field(default=())
    # What proves the use (events and their sources, the credential report's dates); None
    # when not used. A credential-report-only use says no event matched.
    use_basis: str | None = None

    def to_json(self) -> dict[str, JSON]:
        return {
            "account_id": self.account_id,
            "assessed": self.assessed,
            "used_in_window": self.used_in_window,
            "window_days": self.window_days,
            "window_start": self.window_start,
            "window_end": self.window_end,
            "last_used": self.last_used,
            "last_used_channel": self.last_used_channel,
            "last_used_any": self.last_used_any,
            "channels": list(self.channels),
            "console_logins": self.console_logins,
            "failed_logins": self.failed_logins,
            "api_calls": self.api_calls,
            "invoked_by_service_calls": self.invoked_by_service_calls,
            "service_events": self.service_events,
            "assume_root_sessions": self.assume_root_sessions,
            "password_recovery_requests": self.password_recovery_requests,
            "console_logins_without_mfa": self.console_logins_without_mfa,
            "root_access_keys_created": self.root_access_keys_created,
            "console_actions": self.console_actions,
            "other_signin_events": self.other_signin_events,
            "source_ips": list(self.source_ips),
            "user_agents": list(self.user_agents),
            "console_sign_ins": [s.to_json() for s in self.console_sign_ins],
            "password_last_used": self.password_last_used,
            "access_keys": [k.to_json() for k in self.keys],
            "active_access_keys": self.active_access_keys,
            "mfa_active": self.mfa_active,
            "mfa_kind": self.mfa_kind,
            "credentials_present": self.credentials_present,
            "credentials_centrally_removed": self.credentials_centrally_removed,
            "sources": [s.to_json() for s in self.sources],
            "events": [e.to_json() for e in self.events],
            "events_omitted": self.events_omitted,
            "notes": list(self.notes),
            "use_basis": self.use_basis,
        }


def build_root_usage(
    account_id: str,
    window: Window,
    events: Iterable[RootEvent],
    sources: Sequence[SourceCoverage],
    *,
    credential_row: Mapping[str, Any] | None = None,
    root_mfa: Mapping[str, Any] | None = None,
    organizations_features: Mapping[str, Any] | None = None,
    assessed: bool = True,
    max_events: int = DEFAULT_MAX_EVIDENCE_EVENTS,
    notes: Sequence[str] = (),
) -> RootUsage:
    """The record for one account from everything known about its root user.

    ``events`` may repeat across sources (merged by eventID) and may include events of other
    accounts or outside the window: both are dropped here, so every caller gets the same rules.
    The credential fields are the ``root.mfa`` fact's when there is one (the same derivation,
    with the account summary and MFA devices), else derived from ``credential_row`` alone.
    """
    mine = [
        e for e in merge_events(events)
        if (e.account_id in (None, account_id)) and window.contains(e.event_time)
    ]
    by_kind: dict[Kind, list[RootEvent]] = {k: [] for k in Kind}
    for e in mine:
        by_kind[e.kind].append(e)

    uses: list[tuple[datetime, str]] = []  # (when, channel), any age
    channels: set[str] = set()
    for e in mine:
        ch = e.channel
        if ch is not None:
            uses.append((e.event_time, ch))
            channels.add("console" if ch == "console" else "api")
            if ch == "keys":
                channels.add("keys")

    row = credential_row
    for when, ch in report_uses(row):
        uses.append((when, ch))
        if window.contains(when):
            channels.add(ch)

    # Counts come from events: an event source that covered the window makes a zero a zero.
    covered = any(s.complete and s.name in EVENT_SOURCES for s in sources)
    # "Not used" needs more: every selected source complete. A failed credential report hides
    # key and password use in every region; a gap in the trail may hide the one event.
    # An account not assessed never reads "not used": its credential report and event
    # history were not read, so no organization-level source can prove non-use.
    used_in_window: bool | None = bool(channels) or (
        False if assessed and covered and all(s.complete for s in sources) else None)

    def latest(items: list[tuple[datetime, str]]) -> tuple[str | None, str | None]:
        if not items:
            return None, None
        when, ch = max(items, key=lambda u: (u[0], _CHANNEL_RANK[u[1]]))
        return iso(when), ch

    basis = use_basis(mine, row, window, sources) if channels else None
    last_used, last_channel = latest([u for u in uses if window.contains(u[0])])
    last_known, _ = latest(uses)

    def count(n: int) -> int | None:
        return n if (n or covered) else None

    sessions = {e.session_id or e.event_id for e in by_kind[Kind.ASSUME_ROOT]}
    logins = by_kind[Kind.CONSOLE_LOGIN]
    people = [e for e in mine if e.kind in (
        Kind.CONSOLE_LOGIN, Kind.FAILED_LOGIN, Kind.API_CALL, Kind.PASSWORD_RECOVERY,
        Kind.SIGNIN_OTHER, Kind.CONSOLE_ACTION)]
    creds = (RootCredentials.from_fact(root_mfa) if root_mfa is not None
             else derive_root_credentials(row))

    # Evidence: what counts first, newest first within a kind order, then the rest.
    evidence = sorted(mine, key=lambda e: (not e.is_use, -e.event_time.timestamp(), e.event_id))
    kept = tuple(sorted(evidence[:max_events], key=lambda e: (e.event_time, e.event_id)))
    return RootUsage(
        account_id=account_id,
        window_days=window.days,
        window_start=iso(window.start),
        window_end=iso(window.end),
        used_in_window=used_in_window,
        last_used=last_used,
        last_used_channel=last_channel,
        last_used_any=last_known,
        channels=tuple(sorted(channels)),
        console_logins=count(len(logins)),
        failed_logins=count(len(by_kind[Kind.FAILED_LOGIN])),
        api_calls=count(len(by_kind[Kind.API_CALL])),
        invoked_by_service_calls=count(len(by_kind[Kind.INVOKED_BY_SERVICE])),
        service_events=count(len(by_kind[Kind.SERVICE_EVENT])),
        assume_root_sessions=count(len(sessions)),
        password_recovery_requests=count(len(by_kind[Kind.PASSWORD_RECOVERY])),
        console_logins_without_mfa=count(sum(1 for e in logins if e.mfa_used is False)),
        root_access_keys_created=count(sum(1 for e in mine if e.root_key_created)),
        console_actions=count(len(by_kind[Kind.CONSOLE_ACTION])),
        other_signin_events=count(len(by_kind[Kind.SIGNIN_OTHER])),
        source_ips=tuple(sorted({e.source_ip for e in people if e.source_ip})),
        user_agents=tuple(sorted({e.user_agent for e in people if e.user_agent})),
        console_sign_ins=tuple(
            ConsoleSignIn(e.event_id, iso(e.event_time), e.mfa_used, e.source_ip)
            for e in logins
        ),
        password_last_used=row.get("password_last_used") if row else None,
        keys=root_keys(row, window.end),
        active_access_keys=creds.active_access_keys,
        mfa_active=creds.mfa_active,
        mfa_kind=creds.mfa_kind,
        credentials_present=creds.credentials_present,
        credentials_centrally_removed=creds.centrally_removed(organizations_features),
        assessed=assessed,
        sources=tuple(sources),
        events=kept,
        events_omitted=max(0, len(evidence) - max_events),
        notes=tuple(notes),
        use_basis=basis,
    )


def use_basis(events: Sequence[RootEvent], row: Mapping[str, Any] | None, window: Window,
              sources: Sequence[SourceCoverage]) -> str:
    """What proves the use in the window, in words: the events and the sources that saw them,
    and the credential report's dates. A use the credential report alone shows says which
    event sources were searched and found nothing matching (a password used outside the
    searched regions, say, or an event the sources missed)."""
    used = [e for e in events if e.is_use]
    parts = []
    if used:
        seen = sorted({s for e in used for s in e.sources})
        parts.append(f"{len(used)} event(s) counted as use in {', '.join(seen) or 'the events'}")
    dated = [("password_last_used", (row or {}).get("password_last_used"))] + [
        (f"access_key_{n}_last_used_date", (row or {}).get(f"access_key_{n}_last_used_date"))
        for n in KEY_NUMBERS]
    in_window = [(name, iso(when)) for name, text in dated
                 if (when := parse_time(text)) is not None and window.contains(when)]
    if in_window:
        parts.append("the credential report's " + ", ".join(f"{n} {t}" for n, t in in_window))
        if not used:
            searched = [s.name + ("" if s.complete else " (incomplete)")
                        for s in sources if s.name in EVENT_SOURCES]
            parts.append("no matching event found in " + ", ".join(searched)
                         + " for the window" if searched
                         else "no event source was selected to corroborate it")
    return "; ".join(parts)


# -- organization-trail slices ---------------------------------------------------------------


def events_from_json(items: Iterable[Mapping[str, Any]]) -> list[RootEvent]:
    return [RootEvent.from_json(i) for i in items]


def org_slice(org_fact: Any, account_id: str, source: str = ORG_TRAIL,
              window: Window | None = None) -> tuple[list[RootEvent], SourceCoverage]:
    """This account's events and coverage from an organization-scope events fact
    (one of ``ORG_SOURCES``' facts; shape in docs/facts.md)."""
    if not isinstance(org_fact, Mapping):
        raise TypeError("organization events fact must be an object")
    acct = (org_fact.get("accounts") or {}).get(account_id)
    start, end = org_fact.get("window_start"), org_fact.get("window_end")
    if org_fact.get("selected") is False:
        return [], SourceCoverage(source, None, None, False, "source not selected in the config")
    if acct is None:
        complete = bool(org_fact.get("complete_without_events"))
        detail = "no log files for this account in the window"
        if not complete and org_fact.get("detail"):
            detail += f"; {org_fact['detail']}"
        return [], SourceCoverage(source, start, end, complete, detail,
                                  regions=tuple(org_fact.get("regions") or ()))
    events = events_from_json(acct.get("events") or ())
    coverage = SourceCoverage(
        name=source,
        window_start=start,
        window_end=end,
        complete=bool(acct.get("complete")),
        detail=str(acct.get("detail") or ""),
        error=acct.get("error"),
        regions=tuple(acct.get("regions") or org_fact.get("regions") or ()),
    )
    if window is not None and (parse_time(start) or window.end) > window.start:
        # The source did not reach back to the window's start.
        coverage = SourceCoverage(coverage.name, coverage.window_start, coverage.window_end,
                                  False, (coverage.detail + "; " if coverage.detail else "")
                                  + "started after the window's start", coverage.error,
                                  coverage.regions)
    return events, coverage


def record_from_org_trail(account_id: str, org_fact: Any, window: Window, *,
                          source: str = ORG_TRAIL, notes: Sequence[str] = ()) -> RootUsage:
    """A record from the organization trail's evidence alone, for an account that could not be
    assessed (role not assumable, suspended): its root use is still reported."""
    events, coverage = org_slice(org_fact, account_id, source, window)
    return build_root_usage(account_id, window, events, [coverage], assessed=False,
                            notes=(*notes, "not assessed: organization-trail evidence only"))


def record_without_account_facts(account_id: str, org_facts: Mapping[str, Any], window: Window,
                                 reason: str) -> RootUsage:
    """The record for an account whose own facts could not be read (not assessed): from every
    selected organization-level source (the organization trail's logs, Athena, CloudTrail
    Lake), merged, each failed one recorded as incomplete; unknown with the reason when none was
    selected. Use they prove is use; no use seen is unknown, never "not used"
    (docs/semantics.md)."""
    events: list[RootEvent] = []
    coverage: list[SourceCoverage] = []
    for source, fact_name in ORG_SOURCES:
        fact = org_facts.get(fact_name)
        if isinstance(fact, Mapping) and fact.get("selected") is not False:
            evs, cov = org_slice(fact, account_id, source, window)
            events += evs
            coverage.append(cov)
        elif isinstance(fact, FactError):  # selected, and failed
            coverage.append(SourceCoverage.failed(source, window, fact.code, fact.message))
    if not coverage:
        return build_root_usage(account_id, window, [],
                                [SourceCoverage.failed("account", window, "NotAssessed", reason)],
                                assessed=False, notes=(reason,))
    names = ", ".join(c.name for c in coverage)
    return build_root_usage(account_id, window, events, coverage, assessed=False,
                            notes=(reason, f"not assessed: organization-level evidence only "
                                           f"({names}); no use seen there proves nothing"))


__all__ = [
    "ATHENA",
    "CLOUDTRAIL_LAKE",
    "CREDENTIAL_REPORT",
    "DEFAULT_LOOKBACK_DAYS",
    "EVENT_HISTORY",
    "EVENT_SOURCES",
    "ORG_SOURCES",
    "ORG_TRAIL",
    "ConsoleSignIn",
    "RootKey",
    "RootUsage",
    "SourceCoverage",
    "Window",
    "build_root_usage",
    "events_from_json",
    "org_slice",
    "record_from_org_trail",
    "record_without_account_facts",
    "root_row",
]

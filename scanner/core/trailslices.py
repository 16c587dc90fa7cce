"""One account's part of a trail's log files, whoever read them (PURE: no I/O, no AWS).

The organization-trail source (S3) and ``orgscan trail-report`` (files on disk) both file each
log file they read under its account (``AccountSlice``), hand its root events to the account
they name (``by_named_account``) and state what was read as the organization-scope events fact
(``account_json``) that ``scanner.core.rootusage.org_slice`` turns into a record's coverage.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from scanner.core.models import JSON
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import ORG_TRAIL, RootUsage, Window, build_root_usage, org_slice
from scanner.core.timefmt import iso
from scanner.core.trailparse import FileScan

MAX_GAPS_LISTED = 20


@dataclass
class AccountSlice:
    account_id: str
    regions: list[str] = field(default_factory=list)
    files: int = 0
    compressed_bytes: int = 0
    matched_files: int = 0
    gaps: list[dict[str, str]] = field(default_factory=list)
    events: list[RootEvent] = field(default_factory=list)
    listing_errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.files > 0 and not self.gaps and not self.listing_errors

    def add_gap(self, key: str, code: str, detail: str) -> None:
        self.gaps.append({"key": key, "error": code, "detail": detail})

    def add(self, result: FileScan) -> None:
        """A file that was read (``files`` counts it when it is taken up, read or not)."""
        self.compressed_bytes += result.compressed_bytes
        if result.matched:
            self.matched_files += 1
        if result.is_gap:
            self.add_gap(result.key, result.error or "", result.detail)
        self.events.extend(result.events)

    def detail(self) -> str:
        parts = [f"{self.files} files ({self.compressed_bytes} bytes) in "
                 f"{len(self.regions)} regions, {self.matched_files} with root records"]
        if self.files == 0:
            parts.append("no log files for this account in the window")
        if self.gaps:
            parts.append(f"{len(self.gaps)} unreadable files")
        if self.listing_errors:
            parts.append(f"listing failed: {self.listing_errors[0]}")
        return "; ".join(parts)


def by_named_account(slices: Iterable[AccountSlice],
                     accounts: Iterable[str]) -> dict[str, list[RootEvent]]:
    """Each slice's events under the account the event names when that is one of
    ``accounts``, else under the slice's own account (the folder it was found in)."""
    out: dict[str, list[RootEvent]] = {a: [] for a in accounts}
    for sl in slices:
        for ev in sl.events:
            target = ev.account_id if ev.account_id in out else sl.account_id
            out.setdefault(target, []).append(ev)
    return out


def account_json(sl: AccountSlice, events: Iterable[RootEvent]) -> JSON:
    """One account's entry in an organization-scope events fact (docs/facts.md)."""
    return {
        "events": [e.to_json() for e in sorted(events, key=lambda e: (e.event_time, e.event_id))],
        "files": sl.files,
        "matched_files": sl.matched_files,
        "compressed_bytes": sl.compressed_bytes,
        "regions": sl.regions,
        "gap_count": len(sl.gaps),
        "gaps": sl.gaps[:MAX_GAPS_LISTED],
        "listing_errors": sl.listing_errors[:5],
        "complete": sl.complete,
        "detail": sl.detail(),
    }


_ACCOUNT_ID = re.compile(r"\d{12}")


def window_between(start: datetime, end: datetime) -> Window:
    """The window [start, end] (both inclusive), its length in whole days rounded up."""
    if end < start:
        raise ValueError(f"the window ends ({iso(end)}) before it starts ({iso(start)})")
    return Window(start, end, max(1, math.ceil((end - start).total_seconds() / 86400)))


def slice_records(slices: Mapping[str, AccountSlice], window: Window, *,
                  unattributed_gaps: int = 0, source: str = ORG_TRAIL) -> list[RootUsage]:
    """One record per account (the slices' and those their events name), built as a scan
    builds the organization-trail source's: the account's fact entry, its coverage
    (``org_slice``), the record (``build_root_usage``). ``unattributed_gaps``: unreadable
    files no account could be charged with; any of them could hold any account's events."""
    accounts = sorted({*slices, *(e.account_id for sl in slices.values() for e in sl.events
                                  if e.account_id and _ACCOUNT_ID.fullmatch(e.account_id))})
    by_account = by_named_account(slices.values(), accounts)
    regions = sorted({r for sl in slices.values() for r in sl.regions})
    records = []
    for account in accounts:
        sl = slices.get(account) or AccountSlice(account)
        fact = {"window_start": iso(window.start), "window_end": iso(window.end),
                "regions": regions, "accounts": {account: account_json(sl, by_account[account])}}
        events, coverage = org_slice(fact, account, source, window)
        if unattributed_gaps:
            coverage = replace(coverage, complete=False, detail=(
                f"{coverage.detail}; {unattributed_gaps} unreadable files not attributable to "
                "an account"))
        records.append(build_root_usage(account, window, events, [coverage]))
        by_account[account] = []  # the account's events are in its record now
    return records


__all__ = ["MAX_GAPS_LISTED", "AccountSlice", "account_json", "by_named_account",
           "slice_records", "window_between"]

"""CloudTrail log files on disk -> per-account slices, with no AWS access at all.

Paths are files or directories; a directory is walked recursively in name order, one directory
listing at a time, as a copy of a trail's bucket is laid out
(``AWSLogs/[<org-id>/]<account>/CloudTrail/<region>/YYYY/MM/DD/<file>.json[.gz]``). Each file
is read from disk in chunks, twice at most (the prefilter, then the records of a file that
holds a root token: ``scanner.core.trailparse.scan_log``, the organization-trail source's own
reader), by a few threads with a bounded number of files in flight, and folded into its
account's ``AccountSlice`` as it comes: memory holds the root events found and a few counters
per account, never the list of files or of records.

A file that cannot be read (unreadable, not gzip, truncated, not JSON, no records) is a gap:
named, counted, and charged to its folder's account; outside a bucket folder the accounts whose
records were lost are unknown, so such a gap leaves every account's coverage incomplete. A
later bad file never loses what was read before it.
"""

from __future__ import annotations

import os
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import ORG_TRAIL
from scanner.core.trailparse import IN_CHUNK, FileScan, Span, inflate_stream, scan_log
from scanner.core.trailslices import AccountSlice

GZIP_MAGIC = b"\x1f\x8b"
DIGEST_MARK = "CloudTrail-Digest"  # integrity digests sit beside the logs: not logs
ACCOUNT_ID = re.compile(r"\d{12}")
MAX_GAPS_LISTED = 1000  # gaps named in the output beyond this are counted only
_LAYOUT = re.compile(r"(?:^|/)AWSLogs/(?:(o-[a-z0-9]+)/)?(\d{12})/CloudTrail/([a-z0-9-]+)/"
                     r"(?:(\d{4}/\d{2}/\d{2})/)?")


@dataclass(frozen=True)
class LogFile:
    """One file to read, with what its place in a bucket copy says about it."""

    path: Path
    org_id: str | None = None
    account_id: str | None = None
    region: str | None = None
    day: str | None = None  # YYYY/MM/DD, the delivery day folder

    @classmethod
    def at(cls, path: Path) -> LogFile:
        m = _LAYOUT.search(path.as_posix())
        if m is None:
            return cls(path)
        return cls(path, m.group(1), m.group(2), m.group(3), m.group(4))


def is_log_name(name: str) -> bool:
    low = name.lower()
    return (low.endswith((".json", ".json.gz"))) and DIGEST_MARK.lower() not in low


@dataclass
class Walk:
    """What the walk passed over, and the directories it could not list."""

    skipped: Counter[str] = field(default_factory=Counter)
    unreadable_dirs: list[tuple[str, str]] = field(default_factory=list)


def walk(paths: Sequence[Path], seen: Walk) -> Iterator[Path]:
    """Every log file under ``paths`` (a file named outright is read whatever its name), each
    once: a path given twice, or inside a directory also given, is passed over."""
    given = [p.resolve() for p in paths]
    dirs = [r for r in given if r.is_dir()]
    for i, (p, real) in enumerate(zip(paths, given, strict=True)):
        if real in given[:i] or any(d != real and real.is_relative_to(d) for d in dirs):
            seen.skipped["path_given_twice"] += 1
            continue
        if p.is_dir():
            yield from _walk_dir(p, seen)
        else:
            yield p


def _walk_dir(directory: Path, seen: Walk) -> Iterator[Path]:
    try:
        with os.scandir(directory) as it:
            entries = sorted((e.name, e.is_dir(follow_symlinks=False)) for e in it)
    except OSError as exc:
        seen.unreadable_dirs.append((str(directory), exc.strerror or str(exc)))
        return
    for name, is_dir in entries:
        path = directory / name
        if is_dir:
            yield from _walk_dir(path, seen)
        elif DIGEST_MARK.lower() in name.lower():
            seen.skipped["digest"] += 1
        elif is_log_name(name):
            yield path
        else:
            seen.skipped["not_a_log_name"] += 1


def file_chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as f:
        while chunk := f.read(IN_CHUNK):
            yield chunk


def is_gzip(path: Path) -> bool:
    """By content (gzip's magic, or JSON's first character), else by name: a damaged ``.gz``
    is then reported as damaged gzip, and plain JSON named ``.gz`` is still read."""
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(GZIP_MAGIC):
        return True
    if head.lstrip(b" \t\r\n")[:1] in (b"{", b"["):
        return False
    return path.name.lower().endswith(".gz")


def scan_file(path: Path, keep: Callable[[RootEvent], bool] | None = None) -> FileScan:
    """One file read from disk, as the organization-trail source reads an S3 object, with its
    outline checked and its records' times and accounts noted."""
    try:
        size = path.stat().st_size
        gz = is_gzip(path)
    except OSError as exc:
        return FileScan(str(path), 0, error="unreadable", detail=exc.strerror or str(exc))

    def content() -> Iterable[bytes]:
        return inflate_stream(file_chunks(path)) if gz else file_chunks(path)

    try:
        # A bucket folder names the account: the records' accounts need not be looked for.
        return scan_log(content, str(path), size, source=ORG_TRAIL, keep=keep, shape=True,
                        span=True, span_accounts=LogFile.at(path).account_id is None)
    except OSError as exc:  # the file went away or became unreadable between the passes
        return FileScan(str(path), size, error="unreadable", detail=exc.strerror or str(exc))


def scan_paths(paths: Iterable[Path], *, workers: int = 2,
               scan: Callable[[Path], FileScan] = scan_file) -> Iterator[FileScan]:
    """Scan files with a thread pool (zlib releases the GIL while inflating), in order, with
    at most ``2 * workers`` files in flight: the paths are never all held."""
    in_flight: deque[Future[FileScan]] = deque()
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for path in paths:
            in_flight.append(pool.submit(scan, path))
            if len(in_flight) >= 2 * max(1, workers):
                yield in_flight.popleft().result()
        while in_flight:
            yield in_flight.popleft().result()


@dataclass
class FilesRead:
    """Everything reading the files found, folded as it came."""

    slices: dict[str, AccountSlice] = field(default_factory=dict)
    span: Span = field(default_factory=Span)  # every record read, in or out of the window
    org_ids: set[str] = field(default_factory=set)
    files: int = 0
    compressed_bytes: int = 0
    inflated_bytes: int = 0
    matched_files: int = 0
    records_parsed: int = 0
    gap_count: int = 0
    gaps: list[dict[str, str]] = field(default_factory=list)  # the first MAX_GAPS_LISTED
    unattributed_gaps: int = 0  # gaps no account could be charged with
    unattributed_events: int = 0  # root events naming no account, in files outside a folder
    skipped: Counter[str] = field(default_factory=Counter)

    def slice(self, account_id: str) -> AccountSlice:
        sl = self.slices.get(account_id)
        if sl is None:
            sl = self.slices[account_id] = AccountSlice(account_id)
        return sl

    def note_place(self, f: LogFile) -> None:
        """The account, region and organization a bucket folder names."""
        if f.org_id:
            self.org_ids.add(f.org_id)
        if f.account_id:
            sl = self.slice(f.account_id)
            if f.region and f.region not in sl.regions:
                sl.regions.append(f.region)
                sl.regions.sort()

    def add_gap(self, key: str, error: str, detail: str, account: str | None) -> None:
        self.gap_count += 1
        if account is None:
            self.unattributed_gaps += 1
        if len(self.gaps) < MAX_GAPS_LISTED:
            self.gaps.append({"path": key, "error": error, "detail": detail,
                              "account_id": account or ""})

    def add(self, f: LogFile, result: FileScan) -> None:
        self.files += 1
        self.compressed_bytes += result.compressed_bytes
        self.inflated_bytes += result.inflated_bytes
        self.matched_files += result.matched
        self.records_parsed += result.records
        named = result.span.accounts if result.span else set()
        if result.span:
            self.span.merge(result.span)
        # The folder's account, else every account the file's records name.
        targets = [f.account_id] if f.account_id else sorted(
            a for a in named if ACCOUNT_ID.fullmatch(a))
        # A file handed over that holds no records is not a log either (the S3 source lists
        # only CloudTrail's own files and passes over one without Records).
        gap = result.error is not None
        for i, account in enumerate(targets):
            sl = self.slice(account)
            sl.files += 1
            sl.add(result if i == 0 else replace(result, events=[]))
            if gap and not result.is_gap:
                sl.add_gap(result.key, result.error or "", result.detail)
        if not targets:
            if gap:
                self.add_gap(result.key, result.error or "", result.detail, None)
            for ev in result.events:  # no folder and no account: the events name theirs
                if ev.account_id and ACCOUNT_ID.fullmatch(ev.account_id):
                    self.slice(ev.account_id).events.append(ev)
                else:
                    self.unattributed_events += 1
            return
        if gap:
            # Outside a folder, the accounts whose records were lost are not known: the gap is
            # every account's (charged to the ones seen as well).
            self.add_gap(result.key, result.error or "", result.detail, f.account_id)


@dataclass(frozen=True)
class Bounds:
    """--since/--until: either may be open (then the records' span closes it)."""

    since: datetime | None = None
    until: datetime | None = None

    def keep(self, ev: RootEvent) -> bool:
        return ((self.since is None or ev.event_time >= self.since)
                and (self.until is None or ev.event_time <= self.until))

    def outside(self, day: str | None) -> bool:
        """A delivery-day folder entirely outside the bounds (read as the S3 source does:
        from the first day's folder to the last day's)."""
        if day is None:
            return False
        return bool((self.since and day < f"{self.since:%Y/%m/%d}")
                    or (self.until and day > f"{self.until:%Y/%m/%d}"))


def read_files(paths: Sequence[Path], bounds: Bounds = Bounds(), *, workers: int = 2,
               progress: Callable[[FilesRead], None] | None = None) -> FilesRead:
    """Read every log file under ``paths``; root events outside ``bounds`` are dropped."""
    read = FilesRead()
    seen = Walk()

    def to_read() -> Iterator[Path]:
        for path in walk(paths, seen):
            f = LogFile.at(path)
            read.note_place(f)
            if bounds.outside(f.day):
                read.skipped["outside_window"] += 1
                continue
            yield path

    def one(path: Path) -> FileScan:
        return scan_file(path, bounds.keep)

    for result in scan_paths(to_read(), workers=workers, scan=one):
        read.add(LogFile.at(Path(result.key)), result)
        if progress is not None:
            progress(read)
    for directory, reason in seen.unreadable_dirs:
        read.add_gap(directory, "unreadable", reason, None)
    read.skipped.update(seen.skipped)
    return read


__all__ = ["Bounds", "FilesRead", "LogFile", "Walk", "file_chunks", "is_gzip", "is_log_name",
           "read_files", "scan_file", "scan_paths", "walk"]

"""Read CloudTrail log files: pure, streaming decoding, and the async walk of an S3 log bucket.

A CloudTrail log file is a gzipped ``{"Records": [...]}``. Root events are rare, so each file
is first inflated chunk by chunk (``zlib.decompressobj``, gzip wbits) and searched for one byte
token; only a file that contains it is inflated again and its records parsed one at a time.
A file without a root event therefore costs little more than its decompression, and memory
stays bounded by the files in flight (compressed bytes + one output chunk + one record), never
by a file's decompressed size.

Damaged files never stop a scan: each is reported as a gap (corrupt, truncated, empty, not
JSON) with its key, and the records read before the damage still count.
"""

from __future__ import annotations

import asyncio
import codecs
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from scanner.aws.tasks import run_workers, task_group
from scanner.core.rootevents import RootEvent

# One token finds every record orgscan wants: `"type":"Root"` (any spacing), the eventName
# `"AssumeRoot"` and the key `"assumedRoot"` all contain `Root"`. It is a necessary condition
# only; records are classified after parsing.
TOKEN = b'Root"'
IN_CHUNK = 1 << 18  # compressed bytes fed per decompress call
OUT_CHUNK = 1 << 21  # at most this many inflated bytes held at once
GZIP_WBITS = 16 + zlib.MAX_WBITS
MAX_RECORD_CHARS = 64 << 20  # a single record larger than this is treated as corrupt

_WS = re.compile(r"[ \t\n\r]*")


class TrailFileError(Exception):
    """A log file that cannot be (fully) read. ``kind``: corrupt | truncated | empty | not_json."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def inflate(data: bytes | bytearray | memoryview, out_chunk: int = OUT_CHUNK) -> Iterator[bytes]:
    """Yield the decompressed content of gzip ``data`` in chunks of at most ``out_chunk``.

    Concatenated gzip members are read in turn, as gzip(1) does."""
    view = memoryview(data)
    if len(view) == 0:
        raise TrailFileError("empty", "zero-length object")
    pos = 0
    d = zlib.decompressobj(GZIP_WBITS)
    produced = 0
    while True:
        if d.unconsumed_tail:
            src: bytes | memoryview = d.unconsumed_tail
        elif pos < len(view):
            src = view[pos:pos + IN_CHUNK]
            pos += len(src)
        else:
            break
        try:
            out = d.decompress(src, out_chunk)
        except zlib.error as exc:
            raise TrailFileError("corrupt", f"at compressed byte {pos}: {exc}") from exc
        if out:
            produced += len(out)
            yield out
        if d.eof:
            rest = d.unused_data + bytes(view[pos:])
            if not rest.strip(b"\x00"):
                return
            # Another gzip member follows.
            view, pos, d = memoryview(rest), 0, zlib.decompressobj(GZIP_WBITS)
    try:
        out = d.flush()
    except zlib.error as exc:  # pragma: no cover - flush rarely raises after decompress
        raise TrailFileError("corrupt", str(exc)) from exc
    if out:
        yield out
    if not d.eof:
        raise TrailFileError("truncated", f"gzip stream ends early after {produced} bytes")


def contains_token(data: bytes | bytearray | memoryview, token: bytes = TOKEN) -> tuple[bool, int]:
    """(whether the inflated content contains ``token``, inflated bytes read). Stops at the
    first hit; the search also covers tokens that straddle two chunks."""
    keep = len(token) - 1
    tail = b""
    total = 0
    for chunk in inflate(data):
        total += len(chunk)
        if token in chunk or (tail and token in tail + chunk[:keep]):
            return True, total
        tail = chunk[-keep:]
    if total == 0:
        raise TrailFileError("empty", "no content after decompression")
    return False, total


class _Text:
    """Incrementally decoded UTF-8 text with a read position (for the record parser)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._dec = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        """Read one more chunk; False at the end of input."""
        if self.eof:
            return False
        try:
            raw = next(self._chunks)
        except StopIteration:
            self.eof = True
            text = self._dec.decode(b"", final=True)
        else:
            try:
                text = self._dec.decode(raw)
            except UnicodeDecodeError as exc:
                raise TrailFileError("not_json", f"invalid UTF-8: {exc}") from exc
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        return bool(text) or not self.eof

    def peek(self) -> str:
        """The next non-blank character ('' at the end of input), position left on it."""
        while True:
            m = _WS.match(self.buf, self.pos)
            assert m is not None
            self.pos = m.end()
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.fill():
                return ""

    def expect(self, chars: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            where = "end of file" if not c else repr(c)
            raise TrailFileError("not_json", f"expected one of {chars!r}, found {where}")
        self.pos += 1
        return c

    def value(self, decoder: json.JSONDecoder) -> Any:
        """Decode one complete JSON value at the position, reading more input as needed."""
        self.peek()
        while True:
            try:
                obj, end = decoder.raw_decode(self.buf, self.pos)
            except RecursionError as exc:
                # Nesting deeper than Python's stack (no CloudTrail record is): a damaged or
                # hostile file, reported as a gap like any other that is not a log.
                raise TrailFileError("not_json", "record nested too deeply") from exc
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_RECORD_CHARS:
                    raise TrailFileError("not_json", "record too large") from exc
                # A truncated gzip stream raises from fill(); a JSON error at the end of a
                # complete stream means the content itself is not a log file.
                if not self.fill():
                    raise TrailFileError("not_json", f"JSON: {exc.msg}") from exc
                continue
            self.pos = end
            return obj


def iter_records(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Yield each element of the top-level ``Records`` array without holding the whole file.

    Raises TrailFileError (after yielding what was readable) for damaged content, and
    ``not_json`` with detail "no Records" for a JSON object that has no Records array."""
    text = _Text(iter(chunks))
    decoder = json.JSONDecoder()
    text.expect("{")
    seen_records = False
    if text.peek() == "}":
        text.pos += 1
    else:
        while True:
            key = text.value(decoder)
            text.expect(":")
            if key == "Records" and text.peek() == "[":
                seen_records = True
                text.pos += 1
                if text.peek() == "]":
                    text.pos += 1
                else:
                    while True:
                        yield text.value(decoder)
                        if text.expect(",]") == "]":
                            break
            else:
                text.value(decoder)
            if text.expect(",}") == "}":
                break
    if not seen_records:
        raise TrailFileError("no_records", "the object has no Records array")


@dataclass
class FileScan:
    """What reading one log file found."""

    key: str
    compressed_bytes: int
    inflated_bytes: int = 0
    matched: bool = False  # the prefilter token was present (the records were parsed)
    records: int = 0  # records parsed (matched files only)
    events: list[RootEvent] = field(default_factory=list)
    error: str | None = None  # corrupt | truncated | empty | not_json | no_records | <AWS code>
    detail: str = ""

    @property
    def is_gap(self) -> bool:
        """Events may have been lost. A JSON file with no Records array holds none to lose."""
        return self.error is not None and self.error != "no_records"


def scan_log_file(data: bytes | bytearray | memoryview, key: str = "", *,
                  source: str = "org_trail",
                  keep: Callable[[RootEvent], bool] | None = None) -> FileScan:
    """Prefilter, then (if the token is present) parse and classify one gzipped log file."""
    result = FileScan(key=key, compressed_bytes=len(data))
    try:
        matched, result.inflated_bytes = contains_token(data)
    except TrailFileError as exc:
        result.error, result.detail = exc.kind, exc.detail
        return result
    if not matched:
        return result
    result.matched = True
    try:
        for raw in iter_records(inflate(data)):
            result.records += 1
            if not isinstance(raw, dict):
                continue
            ev = RootEvent.from_cloudtrail(raw, source)
            if ev is not None and (keep is None or keep(ev)):
                result.events.append(ev)
    except TrailFileError as exc:
        result.error, result.detail = exc.kind, exc.detail
    return result


def scan_paths(paths: Sequence[Path], *, workers: int = 2) -> Iterator[FileScan]:
    """Scan local log files with a thread pool (zlib releases the GIL while inflating)."""

    def one(path: Path) -> FileScan:
        return scan_log_file(path.read_bytes(), str(path))

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(one, paths)


# -- the organization trail in S3 -----------------------------------------------------------


@dataclass(frozen=True)
class TrailLocation:
    bucket: str
    prefix: str  # S3KeyPrefix without trailing slash ("" when none)
    organization_id: str

    def account_root(self, account_id: str) -> str:
        lead = f"{self.prefix}/" if self.prefix else ""
        return f"{lead}AWSLogs/{self.organization_id}/{account_id}/CloudTrail/"


def days(start: datetime, end: datetime) -> list[date]:
    """Every UTC day the window touches (CloudTrail files are foldered by delivery day)."""
    first, last = start.date(), end.date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def day_prefix(loc: TrailLocation, account_id: str, region: str, day: date) -> str:
    return f"{loc.account_root(account_id)}{region}/{day:%Y/%m/%d}/"


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


@dataclass
class OrgTrailScan:
    accounts: dict[str, AccountSlice]
    files: int = 0
    compressed_bytes: int = 0
    inflated_bytes: int = 0
    matched_files: int = 0
    list_calls: int = 0


async def _bounded(items: Iterable[Any], limit: int, func: Callable[[Any], Any]) -> None:
    """Run ``await func(item)`` for every item with at most ``limit`` running at once, without
    creating one task per item (a 90-day org scan has hundreds of thousands of prefixes)."""
    it = iter(items)

    async def worker() -> None:
        for item in it:  # next() is atomic between awaits: workers share the iterator
            await func(item)

    await run_workers(limit, worker)


async def list_keys(s3: Any, bucket: str, prefix: str) -> list[tuple[str, int]]:
    keys: list[tuple[str, int]] = []
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        keys.extend((o["Key"], int(o.get("Size", 0))) for o in page.get("Contents", []))
    return keys


async def list_regions(s3: Any, loc: TrailLocation, account_id: str) -> list[str]:
    root = loc.account_root(account_id)
    regions = []
    paginator = s3.get_paginator("list_objects_v2")
    async for page in paginator.paginate(Bucket=loc.bucket, Prefix=root, Delimiter="/"):
        for cp in page.get("CommonPrefixes", []):
            regions.append(cp["Prefix"][len(root):].strip("/"))
    return sorted(regions)


async def read_object(s3: Any, bucket: str, key: str) -> bytes:
    resp = await s3.get_object(Bucket=bucket, Key=key)
    async with resp["Body"] as body:
        data: bytes = await body.read()
    return data


async def read_org_trail(
    s3: Any,
    loc: TrailLocation,
    accounts: Sequence[str],
    start: datetime,
    end: datetime,
    *,
    regions: Sequence[str] | None = None,
    list_concurrency: int = 16,
    files_in_flight: int = 8,
    executor: Executor | None = None,
    on_error: Callable[[BaseException], tuple[str, str]] | None = None,
) -> OrgTrailScan:
    """Stream the organization trail's logs for ``accounts`` over [start, end].

    ``s3`` signs as whoever can read the bucket (the caller enters that scope). Listings per
    (account, region) run ``list_concurrency`` at a time; at most
    ``files_in_flight`` objects are downloaded or scanned at once (the memory bound)."""
    scan = OrgTrailScan(accounts={a: AccountSlice(a) for a in accounts})
    describe = on_error or (lambda exc: (type(exc).__name__, str(exc)))
    in_window = days(start, end)

    def keep(ev: RootEvent) -> bool:
        return start <= ev.event_time <= end

    async def discover(account_id: str) -> None:
        sl = scan.accounts[account_id]
        if regions is not None:
            sl.regions = list(regions)
            return
        try:
            scan.list_calls += 1
            sl.regions = await list_regions(s3, loc, account_id)
        except Exception as exc:  # recorded as this account's gap
            sl.listing_errors.append(": ".join(describe(exc)))

    await _bounded(accounts, list_concurrency, discover)

    queue: asyncio.Queue[tuple[str, str, int] | None] = asyncio.Queue(maxsize=files_in_flight * 4)
    loop = asyncio.get_running_loop()
    own_pool = executor is None
    pool = executor or ThreadPoolExecutor(max_workers=max(1, files_in_flight))

    first_day, last_day = f"{in_window[0]:%Y/%m/%d}", f"{in_window[-1]:%Y/%m/%d}"

    def region_prefixes() -> Iterator[tuple[str, str]]:
        for a in accounts:
            for r in scan.accounts[a].regions:
                yield a, f"{loc.account_root(a)}{r}/"

    async def lister(item: tuple[str, str]) -> None:
        # One listing per (account, region), starting after the day folder before the window:
        # keys sort by YYYY/MM/DD, so the listing stops at the first key past the window. A
        # listing per day would cost accounts x regions x days requests even for empty days.
        account_id, prefix = item
        start_after = f"{prefix}{in_window[0] - timedelta(days=1):%Y/%m/%d}/~"
        try:
            paginator = s3.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=loc.bucket, Prefix=prefix, StartAfter=start_after)
            async for page in pages:
                scan.list_calls += 1
                for obj in page.get("Contents", []):
                    key = str(obj["Key"])
                    day = key[len(prefix):len(prefix) + 10]
                    if day > last_day:
                        return
                    if day >= first_day:
                        await queue.put((account_id, key, int(obj.get("Size", 0))))
        except Exception as exc:  # recorded as this account's gap
            error = ": ".join(describe(exc))
            scan.accounts[account_id].listing_errors.append(f"{prefix}: {error}")

    async def reader() -> None:
        while (item := await queue.get()) is not None:
            account_id, key, _size = item
            sl = scan.accounts[account_id]
            sl.files += 1
            scan.files += 1
            try:
                data = await read_object(s3, loc.bucket, key)
            except Exception as exc:  # an unreadable object is a gap
                code, message = describe(exc)
                sl.gaps.append({"key": key, "error": code, "detail": message})
                continue
            result = await loop.run_in_executor(pool, _scan_for, data, key, keep)
            del data
            sl.compressed_bytes += result.compressed_bytes
            scan.compressed_bytes += result.compressed_bytes
            scan.inflated_bytes += result.inflated_bytes
            if result.matched:
                sl.matched_files += 1
                scan.matched_files += 1
            if result.is_gap:
                sl.gaps.append({"key": key, "error": result.error or "", "detail": result.detail})
            sl.events.extend(result.events)

    try:
        async with task_group() as tg:
            readers = [tg.spawn(reader()) for _ in range(max(1, files_in_flight))]
            await _bounded(region_prefixes(), list_concurrency, lister)
            for _ in readers:
                await queue.put(None)
    finally:
        if own_pool:
            pool.shutdown(wait=False, cancel_futures=True)
    return scan


def _scan_for(data: bytes, key: str, keep: Callable[[RootEvent], bool]) -> FileScan:
    return scan_log_file(data, key, source="org_trail", keep=keep)


__all__ = [
    "TOKEN", "AccountSlice", "FileScan", "OrgTrailScan", "TrailFileError", "TrailLocation",
    "contains_token", "day_prefix", "days", "inflate", "iter_records", "list_keys",
    "list_regions", "read_object", "read_org_trail", "scan_log_file", "scan_paths",
]

"""Read the organization trail's CloudTrail logs from S3, for every account of the window.

Lists each account's region folders, then each (account, region) once from the day before the
window, and reads every file whose day folder lies in the window; ``scanner.core.trailparse``
finds the root events in it. A file or listing that cannot be read is a gap in that account's
coverage: an AWS failure (``scanner.aws.errors.classify``) or a damaged file. Anything else is
a bug and fails the read, as a bug must.
"""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from scanner.aws.errors import classify
from scanner.aws.tasks import run_workers, task_group
from scanner.core.rootevents import RootEvent
from scanner.core.trailparse import FileScan, TrailFileError, scan_log_file
from scanner.core.trailslices import AccountSlice


def gap_reason(exc: BaseException) -> tuple[str, str] | None:
    """(code, detail) when ``exc`` leaves a hole in the logs read: an AWS failure or a damaged
    file. None for anything else, which is a bug and must not pass for a gap."""
    if isinstance(exc, TrailFileError):
        return exc.kind, exc.detail
    if isinstance(exc, zlib.error):
        return "corrupt", str(exc)
    if isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError)):
        return "not_json", str(exc)
    err = classify(exc, service="s3")
    return None if err is None else (err.code, err.message)


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
) -> OrgTrailScan:
    """Stream the organization trail's logs for ``accounts`` over [start, end].

    ``s3`` signs as whoever can read the bucket (the caller enters that scope). Listings per
    (account, region) run ``list_concurrency`` at a time; at most
    ``files_in_flight`` objects are downloaded or scanned at once (the memory bound). What
    could not be listed or read is recorded as the account's gap (``gap_reason``); any other
    failure is raised."""
    scan = OrgTrailScan(accounts={a: AccountSlice(a) for a in accounts})
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
        except Exception as exc:
            reason = gap_reason(exc)
            if reason is None:
                raise  # a bug, not a gap in the logs
            sl.listing_errors.append(": ".join(reason))

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
        except Exception as exc:
            reason = gap_reason(exc)
            if reason is None:
                raise  # a bug, not a gap in the logs
            scan.accounts[account_id].listing_errors.append(f"{prefix}: {': '.join(reason)}")

    async def read_and_scan(key: str) -> FileScan:
        data = await read_object(s3, loc.bucket, key)  # released when this returns
        return await loop.run_in_executor(pool, _scan_for, data, key, keep)

    async def reader() -> None:
        while (item := await queue.get()) is not None:
            account_id, key, _size = item
            sl = scan.accounts[account_id]
            sl.files += 1
            scan.files += 1
            try:
                result = await read_and_scan(key)
            except Exception as exc:
                reason = gap_reason(exc)
                if reason is None:
                    raise  # a bug, not a gap in the logs
                sl.add_gap(key, *reason)
                continue
            sl.add(result)
            scan.compressed_bytes += result.compressed_bytes
            scan.inflated_bytes += result.inflated_bytes
            scan.matched_files += result.matched

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


__all__ = ["AccountSlice", "OrgTrailScan", "TrailLocation", "days", "gap_reason",
           "list_regions", "read_object", "read_org_trail"]

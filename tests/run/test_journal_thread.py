"""The journal is written off the event loop (``Journal.record_async``): its writes and fsyncs
wait on the disk in the journal's own thread, in order, while the loop goes on."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import threading
import time
from pathlib import Path

import pytest

from scanner.core.models import Account, AccountState
from scanner.core.results import AccountResult, Coverage
from scanner.run import journal as journal_mod
from scanner.run.journal import Journal


def result(i: int) -> AccountResult:
    a = Account(f"{i:012d}", f"acct-{i}", f"{i}@x", f"arn:{i}", AccountState.ACTIVE, "CREATED",
                "", "r-1", "Root", {}, is_management=False)
    return AccountResult(a, Coverage.ASSESSED, "", {"iam.summary": {"AccountMFAEnabled": 1}},
                         (), "2026-11-01T00:00:00+00:00", 1.0)


async def test_record_async_waits_on_the_disk_off_the_loop(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal_mod, "FSYNC_INTERVAL_S", 0.0)  # every line fsynced
    fsync_threads: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:  # a slow disk
        fsync_threads.append(threading.get_ident())
        time.sleep(0.2)
        real_fsync(fd)

    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    path = tmp_path / "journal.jsonl"
    with Journal(path, {"scan_id": "s"}, resume=False) as j:
        monkeypatch.setattr(os, "fsync", slow_fsync)
        tick = asyncio.create_task(ticker())
        await asyncio.gather(*(j.record_async(result(i)) for i in range(3)))
        tick.cancel()
        monkeypatch.setattr(os, "fsync", real_fsync)
    loop_thread = threading.get_ident()
    assert len(fsync_threads) == 3 and loop_thread not in fsync_threads
    assert ticks >= 20  # the loop ran on through 0.6 s of fsyncs
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    # In order, each line chained to the one before it.
    assert [x["account"]["account"]["id"] for x in lines[1:]] == [f"{i:012d}" for i in range(3)]
    assert all(b["prev"] == a["chain"] for a, b in itertools.pairwise(lines))
    assert sorted(j.done) == [f"{i:012d}" for i in range(3)]

"""Giving up promptly: with the endpoint gone (the simulator killed mid-scan) the scan stops
retrying after a bounded time, reports every remaining account NOT_ASSESSED with the reason and
exits 3; `orgscan sim serve` takes its server down with it however it dies."""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .conftest import cli
from .simserve import sim_serve

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="finds the server child through /proc")


def _refuses(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=2).close()
    except OSError:
        return True
    return False


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for its new parent to reap it has exited too)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def test_sigkill_of_sim_serve_takes_its_server_down() -> None:
    with sim_serve("--scenario", "minimal") as served:
        child = served.server_pid()
        assert not _refuses(served.endpoint)
        os.kill(served.proc.pid, signal.SIGKILL)
        served.proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not (_gone(child) and _refuses(served.endpoint)):
            time.sleep(0.2)
        gone = _gone(child)
        if not gone:  # do not leave it running whatever the verdict
            os.kill(child, signal.SIGKILL)
    assert gone, "the server child outlived orgscan sim serve"
    assert _refuses(served.endpoint)


def _journaled(out: Path) -> int:
    try:
        lines = (out / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return 0
    return max(0, len(lines) - 1)  # the header


def test_a_dead_endpoint_ends_the_scan_promptly(tmp_path: Path) -> None:
    """The simulator is killed after a few accounts: the scan ends well within a minute (it
    took 177 s: 8 attempts per call inside the 300 s account deadline), exit 3, every account
    listed, those it gave up on NOT_ASSESSED (or PARTIAL, when caught mid-collection) with the
    circuit's reason, and none of them journaled, so that --resume scans them again."""
    out = tmp_path / "out"
    with sim_serve("--scenario", "demo") as served:
        proc = cli(["scan", "--out", str(out), "--no-bundle", "--region", "us-east-1",
                    "--concurrency", "2"], served.env)
        deadline = time.monotonic() + 300
        while _journaled(out) < 4 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert proc.poll() is None, "the scan ended before the simulator could be killed"
        # The server itself, then `sim serve`: the endpoint is gone, whatever else holds.
        os.kill(served.server_pid(), signal.SIGKILL)
        os.kill(served.proc.pid, signal.SIGKILL)
        killed = time.monotonic()
        try:
            stdout, stderr = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
        took = time.monotonic() - killed
    assert "Traceback" not in stderr, stderr
    assert took < 60, f"the scan took {took:.0f} s to give up"
    assert proc.returncode == 3, stdout
    coverage = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    inventory = json.loads((out / "inventory.json").read_text(encoding="utf-8"))
    in_scope = {a["id"] for a in inventory["accounts"]} - set(coverage["out_of_scope"])
    assert {a["account_id"] for a in coverage["accounts"]} == in_scope
    gave_up = [a for a in coverage["accounts"] if "refused every connection" in a["reason"]]
    assert len(gave_up) >= 10, coverage["accounts"]
    for a in gave_up:
        assert a["coverage"] in ("not_assessed", "partial"), a
        assert a["coverage"] == "partial" or a["reason"].endswith(
            "; not scanned (rerun with --resume once it answers)"), a
        assert "rerun with --resume" in a["reason"], a
    assert any(a["coverage"] == "not_assessed" and a["reason"].startswith("endpoint http")
               for a in gave_up), gave_up
    assert not {a["account_id"] for a in gave_up} & _journaled_ids(out)


def _journaled_ids(out: Path) -> set[str]:
    ids = set()
    for line in (out / "journal.jsonl").read_text(encoding="utf-8").splitlines()[1:]:
        record = json.loads(line).get("account")
        if isinstance(record, dict):
            ids.add(record["account"]["id"])
    return ids

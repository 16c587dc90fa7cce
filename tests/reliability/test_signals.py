"""Signals tell the truth at every stage: SIGTERM (schedulers, CI time-outs) is handled like
SIGINT; during the fan-out the reports are marked incomplete, during report writing every
report is finished marked interrupted (during the walk: test_resume.py). Each test sends the
signal to a real `orgscan scan` process scanning the simulator."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.sim import SimServer

from .conftest import cli
from .test_resume import SCAN, journaled, run_until_journaled, slow_demo

__all__ = ["slow_demo"]  # the fixture, shared with test_resume

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143}


def interrupted_flags(value: Any) -> list[Any]:
    """Every value of an ``interrupted`` key anywhere in a JSON document."""
    if isinstance(value, dict):
        return [v for k, v in value.items() if k == "interrupted"] + [
            f for v in value.values() for f in interrupted_flags(v)]
    if isinstance(value, list):
        return [f for v in value for f in interrupted_flags(v)]
    return []


def leftovers(out: Path) -> list[str]:
    """Temporary files or directories of an atomic write left behind."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.name.endswith(".tmp"))


def test_sigterm_mid_scan_marks_reports_incomplete(slow_demo: SimServer, tmp_path: Path) -> None:
    sim = slow_demo
    total = len(sim.scenario["accounts"])
    out = tmp_path / "terminated"
    proc, _ = run_until_journaled(sim, out, 5, signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "Traceback" not in stderr
    done = journaled(out)
    assert 5 <= len(done) < total
    assert (f"orgscan: interrupted (SIGTERM): {len(done)} of {total} account(s) scanned; "
            "reports marked incomplete") in stderr
    assert "INCOMPLETE" in stdout
    for name in ("findings.json", "coverage.json"):
        flags = interrupted_flags(json.loads((out / name).read_text("utf-8")))
        assert flags and all(f is True for f in flags), name
    coverage = json.loads((out / "coverage.json").read_text("utf-8"))
    assert {a["account_id"] for a in coverage["accounts"]} == {
        a["id"] for a in sim.scenario["accounts"]}
    assert not leftovers(out)

    # --resume finishes it, and counts on from what was journaled.
    resumed = cli([*SCAN, "--out", str(out), "--resume"], sim.env)
    _stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 3, stderr
    assert sorted(journaled(out)) == sorted(a["id"] for a in sim.scenario["accounts"])


@pytest.fixture(scope="module")
def minimal() -> Iterator[SimServer]:
    with SimServer("minimal") as sim:
        yield sim


def _wait_for_tmp(proc: subprocess.Popen[str], out: Path, name: str,
                  not_this: Path | None = None) -> Path:
    deadline = time.monotonic() + 120
    while True:
        found = [p for p in out.glob(f".{name}.*.tmp") if p != not_this]
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{name} was never being written"
        time.sleep(0.02)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_while_writing_reports_finishes_them_marked_interrupted(
        minimal: SimServer, tmp_path: Path, sig: signal.Signals) -> None:
    """The scan is complete; the signal lands while findings.json is being written (the
    documented test hook pauses before its rename). Every report, the evidence bundle's copies
    and manifest included, ends up whole and says interrupted; a second signal while they are
    written again is recorded, not obeyed; no temporary file is left."""
    sim = minimal
    total = len(sim.scenario["accounts"])
    out = tmp_path / "writing"
    env = {**sim.env, "ORGSCAN_TEST_WRITE": "3:findings.json"}
    proc = cli(["scan", "--quiet", "--region", "us-east-1", "--format", "json", "--format",
                "csv", "--format", "html", "--format", "junit", "--out", str(out)], env)
    first = _wait_for_tmp(proc, out, "findings.json")
    proc.send_signal(sig)
    _wait_for_tmp(proc, out, "findings.json", not_this=first)  # being written again
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == EXIT[sig], stderr
    assert "Traceback" not in stderr
    assert (f"orgscan: interrupted ({sig.name}) while writing the reports: all {total} "
            "account(s) were scanned; every report was written again, marked incomplete") in stderr
    assert "INCOMPLETE" in stdout
    assert len(journaled(out)) == total
    reports = [p for p in out.rglob("*.json") if p.is_file()]
    assert {"findings.json", "coverage.json", "manifest.json"} <= {p.name for p in reports}
    for path in reports:
        flags = interrupted_flags(json.loads(path.read_text("utf-8")))
        assert all(f is True for f in flags), f"{path} says interrupted: {flags}"
    assert interrupted_flags(json.loads((out / "findings.json").read_text("utf-8"))) == [True]
    assert (out / "evidence-bundle.zip").is_file() and (out / "report.html").is_file()
    assert not leftovers(out)

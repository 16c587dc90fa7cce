"""Journal and resume: every finished account is in journal.jsonl at once; a scan killed
outright (SIGKILL) resumes without rescanning what it finished and ends with the same reports
as an uninterrupted scan; Ctrl-C (SIGINT) writes partial reports marked incomplete."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scanner.sim import SimServer

from .conftest import cli, strip_timing

SLOW = {"rules": [{"kind": "latency", "service": s, "latency_ms": 150}
                  for s in ("iam", "account", "cloudtrail")]}
SCAN = ["scan", "--concurrency", "3", "--quiet", "--format", "json", "--format", "csv",
        "--region", "us-east-1", "--no-bundle"]


@pytest.fixture(scope="module")
def slow_demo() -> Iterator[SimServer]:
    with SimServer("demo", faults=SLOW) as sim:
        yield sim


def journaled(out: Path) -> list[str]:
    """Account ids in the journal, in order (a torn last line is ignored)."""
    path = out / "journal.jsonl"
    if not path.exists():
        return []
    ids: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        with contextlib.suppress(ValueError, KeyError):
            ids.append(json.loads(line)["account"]["account"]["id"])
    return ids


def run_until_journaled(sim: SimServer, out: Path, at_least: int,
                        sig: signal.Signals) -> tuple[subprocess.Popen[str], list[str]]:
    proc = cli([*SCAN, "--out", str(out)], sim.env)
    deadline = time.monotonic() + 120
    while len(journaled(out)) < at_least:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the scan made no progress"
        time.sleep(0.05)
    proc.send_signal(sig)
    return proc, journaled(out)


def wait_for_walk(sim: SimServer, proc: subprocess.Popen[str]) -> None:
    """Until the scan has called Organizations (the walk has begun; each call is slowed)."""
    deadline = time.monotonic() + 60
    while not any(k.startswith("organizations:") for k in sim.counters()["by_action"]):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the scan never began the walk"
        time.sleep(0.05)


def comparable(out: Path) -> dict[str, Any]:
    """What must not differ between a resumed and an uninterrupted scan: everything but the
    scan's own id and times (its window bounds appear inside messages too)."""
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    start = datetime.fromisoformat(findings["scan"]["started"])
    bounds = [start.isoformat(),
              (start - timedelta(days=findings["scan"]["lookback_days"])).isoformat()]

    def mask(text: str) -> str:
        for b in bounds:
            text = text.replace(b, "<window>")
        return text

    coverage = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    accounts = [{k: v for k, v in a.items() if k not in ("duration_s", "api_calls")}
                for a in coverage["accounts"]]
    return {
        "findings": sorted(mask(json.dumps(strip_timing(f), sort_keys=True))
                           for f in findings["findings"]),
        "complete": findings["scan"]["complete"],
        "coverage_counts": coverage["counts"],
        "accounts": accounts,
    }


def test_sigkill_then_resume_rescans_nothing_finished(slow_demo: SimServer,
                                                      tmp_path: Path) -> None:
    sim = slow_demo
    total = len(sim.scenario["accounts"])
    out = tmp_path / "killed"
    proc, _ = run_until_journaled(sim, out, 8, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_before = journaled(out)
    assert 8 <= len(done_before) < total, "kill the scan halfway, not at an end"
    # Every journaled line is whole (flushed per account, fsynced at least once a second).
    assert len(set(done_before)) == len(done_before)

    sim.reset_counters()
    resumed = cli([*SCAN, "--out", str(out), "--resume"], sim.env)
    _stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 3, stderr  # the demo has unassessable accounts: partial
    by_account = sim.counters()["by_account"]
    mgmt = sim.management_account_id
    rescanned = [a for a in done_before if a != mgmt and by_account.get(a, 0)]
    assert not rescanned, f"accounts scanned again after --resume: {rescanned}"
    after = journaled(out)
    assert sorted(after) == sorted({a["id"] for a in sim.scenario["accounts"]})
    assert len(after) == total, "an account was journaled twice"

    full = tmp_path / "full"
    straight = cli([*SCAN, "--out", str(full)], sim.env)
    straight.communicate(timeout=300)
    assert straight.returncode == 3
    assert comparable(out) == comparable(full)


def test_sigint_writes_partial_reports_marked_incomplete(slow_demo: SimServer,
                                                         tmp_path: Path) -> None:
    sim = slow_demo
    total = len(sim.scenario["accounts"])
    out = tmp_path / "interrupted"
    proc, _ = run_until_journaled(sim, out, 5, signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert findings["scan"]["complete"] is False
    assert findings["scan"]["interrupted"] is True
    coverage = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    assert coverage["complete"] is False and coverage["interrupted"] is True
    assert "INCOMPLETE" in stdout
    done = set(journaled(out))
    assert 5 <= len(done) < total
    # No account silently disappears from a partial report: the unscanned ones are listed as
    # not assessed, with the reason, and never pass.
    listed = {a["account_id"]: a for a in coverage["accounts"]}
    assert set(listed) == {a["id"] for a in sim.scenario["accounts"]}
    for account_id, row in listed.items():
        if account_id not in done:
            assert row["coverage"] == "not_assessed" and "interrupted" in row["reason"]
    passes = {f["account_id"] for f in findings["findings"] if f["status"] == "PASS"}
    assert passes <= done

    # The interrupted scan resumes to completion.
    resumed = cli([*SCAN, "--out", str(out), "--resume"], sim.env)
    resumed.communicate(timeout=300)
    assert resumed.returncode == 3
    assert len(journaled(out)) == total


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)],
                         ids=["SIGINT", "SIGTERM"])
def test_signal_before_any_account_writes_nothing(tmp_path: Path, sig: signal.Signals,
                                                  code: int) -> None:
    """A signal during the organization walk: its exit code, one line saying nothing was
    scanned, no traceback, no journal entry, no report."""
    slow_walk = {"rules": [{"kind": "latency", "service": "organizations", "latency_ms": 600}]}
    with SimServer("minimal", faults=slow_walk) as sim:
        proc = cli(["scan", "--out", str(tmp_path), "--quiet"], sim.env)
        wait_for_walk(sim, proc)
        proc.send_signal(sig)
        _stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stderr == (f"orgscan: interrupted ({sig.name}) during the organization walk: no "
                      "account was scanned by this run and no reports were written\n")
    assert not journaled(tmp_path)
    assert not list(tmp_path.glob("*.json"))


def _journal_copy(src: Path, dst: Path, mangle: Any) -> Path:
    lines = (src / "journal.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    dst.mkdir(parents=True)
    (dst / "journal.jsonl").write_text("".join(mangle(lines)), encoding="utf-8")
    return dst / "journal.jsonl"


def test_damaged_journal_lines(tmp_path: Path) -> None:
    """A line torn by a kill (the last) is scanned again; a damaged line in the middle, or a
    journal of another organization or rule set, is refused with the file and line."""
    from scanner.core.errors import ConfigError
    from scanner.run.journal import Journal

    with SimServer("minimal") as sim:
        proc = cli([*SCAN, "--out", str(tmp_path / "src")], sim.env)
        proc.communicate(timeout=120)
    header = json.loads((tmp_path / "src" / "journal.jsonl").read_text().splitlines()[0])
    header = dict(header["header"])
    total = len(journaled(tmp_path / "src"))

    torn = _journal_copy(tmp_path / "src", tmp_path / "torn",
                         lambda ls: [*ls[:-1], ls[-1][: len(ls[-1]) // 2]])
    with Journal(torn, dict(header), resume=True) as j:
        assert len(j.done) == total - 1

    middle = _journal_copy(tmp_path / "src", tmp_path / "middle",
                           lambda ls: [ls[0], ls[1][:20] + "\n", *ls[2:]])
    with pytest.raises(ConfigError) as info, Journal(middle, dict(header), resume=True):
        pass
    assert str(middle) in str(info.value) and "line 2" in str(info.value)

    other = dict(header, organization_id="o-someoneelse")
    with pytest.raises(ConfigError) as info, Journal(torn, other, resume=True):
        pass
    assert "another scan" in str(info.value)

"""Outputs: every report is written atomically, a failure to write is a one-line error with its
own exit code (6) that leaves the journal whole and no partial report, and one output
directory takes one run at a time (exit 7, naming the holder). Each test runs the real
`orgscan scan` against the simulator."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.sim import SimServer

from .conftest import cli
from .test_resume import journaled

SCAN = ["scan", "--quiet", "--concurrency", "2", "--region", "us-east-1", "--format", "json",
        "--format", "csv", "--format", "html"]
SLOW = {"rules": [{"kind": "latency", "service": s, "latency_ms": 1000}
                  for s in ("iam", "account", "cloudtrail")]}


@pytest.fixture(scope="module")
def minimal() -> Iterator[SimServer]:
    with SimServer("minimal") as sim:
        yield sim


def scan(sim: SimServer, out: Path, *extra: str,
         env: dict[str, str] | None = None) -> tuple[int, str, str]:
    proc = cli([*SCAN, "--out", str(out), *extra], {**sim.env, **(env or {})})
    stdout, stderr = proc.communicate(timeout=300)
    return proc.returncode, stdout, stderr


def accounts(sim: SimServer) -> list[str]:
    return sorted(a["id"] for a in sim.scenario["accounts"])


def leftovers(out: Path) -> list[str]:
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.name.endswith(".tmp"))


def assert_whole(out: Path) -> None:
    """Every JSON file under ``out`` parses (no report was left half written)."""
    for path in out.rglob("*.json"):
        json.loads(path.read_text("utf-8"))


def test_out_naming_a_regular_file_is_one_line_and_exit_6(minimal: SimServer,
                                                          tmp_path: Path) -> None:
    target = tmp_path / "not-a-dir"
    target.write_text("keep me\n")
    code, _stdout, stderr = scan(minimal, target)
    assert code == 6, stderr
    assert stderr == f"orgscan: cannot write {target}: it exists and is not a directory\n"
    assert target.read_text() == "keep me\n"


def test_disk_full_on_a_report_injected(minimal: SimServer, tmp_path: Path) -> None:
    """ENOSPC while findings.json is written (the documented test hook of the atomic-write
    helper): one line naming the file, exit 6, no findings.json and no temporary file, the
    reports written before it whole, the journal holding every account; --resume then
    writes the reports without scanning anything again."""
    out = tmp_path / "full"
    code, _stdout, stderr = scan(minimal, out, env={"ORGSCAN_TEST_WRITE": "ENOSPC:findings.json"})
    assert code == 6, stderr
    assert stderr == (f"orgscan: cannot write {out / 'findings.json'}: No space left on device; "
                      "the journal keeps every account scanned (fix it and rerun with "
                      "--resume)\n")
    assert not (out / "findings.json").exists()
    assert not leftovers(out)
    assert_whole(out)
    assert sorted(journaled(out)) == accounts(minimal)

    minimal.reset_counters()
    code, _stdout, stderr = scan(minimal, out, "--resume")
    assert code == 3, stderr
    assert not minimal.counters()["by_account"].get("333333333333"), "an account was rescanned"
    findings = json.loads((out / "findings.json").read_text("utf-8"))
    assert findings["scan"]["interrupted"] is False


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (root may mount one; skipped where the machine does not allow it)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(disk: Path, leave: int) -> Path:
    """A file taking all of ``disk`` but ``leave`` bytes."""
    st = os.statvfs(disk)
    filler = disk / "filler"
    with filler.open("wb") as fh:
        fh.truncate(0)
        fh.write(b"\0" * max(0, st.f_bavail * st.f_frsize - leave))
    return filler


def test_disk_full_on_a_real_small_file_system(minimal: SimServer, tmp_path: Path,
                                               small_disk: Path) -> None:
    """A file system with room for the journal but not the reports: exit 6 with one line
    naming the report, the journal whole with every account, every report present whole
    (or absent), no temporary file; with room again, --resume finishes."""
    reference = tmp_path / "reference"
    code, _stdout, stderr = scan(minimal, reference)
    assert code == 3, stderr
    journal_size = (reference / "journal.jsonl").stat().st_size
    reports = sum(p.stat().st_size for p in reference.rglob("*")
                  if p.is_file() and p.name != "journal.jsonl")
    room = journal_size + 64 * 1024  # the journal (and lock file), and a little
    assert reports > 2 * (room - journal_size), "the reports would fit: fill more"

    out = small_disk / "out"
    filler = _fill(small_disk, room)
    code, _stdout, stderr = scan(minimal, out)
    assert code == 6, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert lines[0].startswith(f"orgscan: cannot write {out}/")
    assert "No space left on device" in lines[0]
    assert sorted(journaled(out)) == accounts(minimal)
    assert (out / "journal.jsonl").read_bytes().endswith(b"\n")
    assert not leftovers(out)
    assert_whole(out)

    filler.unlink()
    code, _stdout, stderr = scan(minimal, out, "--resume")
    assert code == 3, stderr
    assert (out / "findings.json").is_file() and (out / "report.html").is_file()
    assert_whole(out)


def test_a_second_scan_into_the_same_out_is_refused_naming_the_holder(tmp_path: Path) -> None:
    out = tmp_path / "shared"
    with SimServer("minimal", faults=SLOW) as sim:
        first = cli([*SCAN, "--concurrency", "1", "--out", str(out)], sim.env)
        deadline = time.monotonic() + 120
        while not journaled(out):
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        t0 = time.monotonic()
        code, _stdout, stderr = scan(sim, out)
        assert code == 7, stderr
        assert time.monotonic() - t0 < 30, "the second scan did not refuse at once"
        assert stderr.startswith(f"orgscan: {out} is in use by another orgscan run (pid "
                                 f"{first.pid} on ")
        assert "wait for it to end or choose another --out" in stderr
        assert len(stderr.strip().splitlines()) == 1

        # The first scan is undisturbed: its journal holds every account once.
        _out, err = first.communicate(timeout=300)
        assert first.returncode == 3, err
        ids = journaled(out)
        assert sorted(ids) == accounts(sim) and len(ids) == len(set(ids))

        # A holder killed outright releases the lock with its process.
        again = cli([*SCAN, "--out", str(out)], sim.env)
        deadline = time.monotonic() + 120
        while "pid" not in (out / ".orgscan.lock").read_text():
            assert again.poll() is None
            assert time.monotonic() < deadline
            time.sleep(0.05)
        again.send_signal(signal.SIGKILL)
        again.communicate(timeout=60)
        code, _stdout, stderr = scan(sim, out, "--resume")
        assert code == 3, stderr


def test_disk_full_while_journaling_then_resume(minimal: SimServer, small_disk: Path) -> None:
    """Room for the journal's header and hardly more: the scan stops with exit 6 naming the
    journal; with room again, --resume cuts back what reached the disk of the last line and
    ends with every account journaled exactly once."""
    out = small_disk / "out"
    filler = _fill(small_disk, 12 * 1024)
    code, _stdout, stderr = scan(minimal, out)
    assert code == 6, stderr
    assert stderr.startswith(f"orgscan: cannot write {out / 'journal.jsonl'}: No space left on "
                             "device"), stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not leftovers(out)
    assert not (out / "findings.json").exists()

    filler.unlink()
    code, _stdout, stderr = scan(minimal, out, "--resume")
    assert code == 3, stderr
    ids = journaled(out)
    assert sorted(ids) == accounts(minimal) and len(ids) == len(set(ids))
    assert_whole(out)


def test_read_only_file_system(minimal: SimServer, small_disk: Path) -> None:
    """The output directory's file system turned read-only after a scan: --resume fails at
    once with one line naming the path and EROFS, exit 6, and the reports stay as they were."""
    out = small_disk / "out"
    code, _stdout, stderr = scan(minimal, out)
    assert code == 3, stderr
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    done = subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot remount read-only here: {done.stderr.strip()}")
    code, _stdout, stderr = scan(minimal, out, "--resume")
    assert code == 6, stderr
    assert stderr.startswith(f"orgscan: cannot write {out}/"), stderr
    assert "Read-only file system" in stderr and len(stderr.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before

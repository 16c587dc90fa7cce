"""A journal you can trust: `orgscan scan --resume` against the simulator on journals that were
torn, damaged, edited or written with other options, each through the real command."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scanner.sim import SimServer

from .conftest import cli
from .test_resume import journaled

SCAN = ["scan", "--concurrency", "2", "--format", "json", "--region", "us-east-1",
        "--no-bundle"]


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("minimal") as server:
        yield server


@pytest.fixture(scope="module")
def finished(sim: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete scan's output directory (copied, never changed, by each test)."""
    out = tmp_path_factory.mktemp("journal") / "src"
    proc = cli([*SCAN, "--quiet", "--out", str(out)], sim.env)
    _stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 3, stderr  # minimal holds unassessable accounts
    return out


def scan(sim: SimServer, out: Path, *extra: str) -> tuple[int, str, str]:
    proc = cli([*SCAN, "--out", str(out), *extra], sim.env)
    stdout, stderr = proc.communicate(timeout=300)
    return proc.returncode, stdout, stderr


def copy_with(src: Path, dst: Path, mangle: Callable[[list[bytes]], list[bytes]]) -> Path:
    """``src``'s output directory with its journal's lines (bytes, newline kept) mangled."""
    shutil.copytree(src, dst)
    path = dst / "journal.jsonl"
    path.write_bytes(b"".join(mangle(path.read_bytes().splitlines(keepends=True))))
    return path


def accounts(sim: SimServer) -> list[str]:
    return sorted(a["id"] for a in sim.scenario["accounts"])


def test_torn_last_line_then_two_resumes_keep_every_account(sim: SimServer, finished: Path,
                                                             tmp_path: Path) -> None:
    """A kill (or a full disk) mid-write leaves half a line without its newline: the first
    --resume cuts it back and scans that account again, and a second --resume still reads
    every record (the resumed record was once appended to the fragment, which broke the
    journal after one resume)."""
    out = tmp_path / "torn"
    copy_with(finished, out, lambda ls: [*ls[:-2], ls[-2][: len(ls[-2]) // 2]])
    code, _out, stderr = scan(sim, out, "--resume", "--quiet")
    assert code == 3, stderr
    assert "cut back a torn last line" not in stderr  # --quiet
    assert sorted(journaled(out)) == accounts(sim)
    code, _out, stderr = scan(sim, out, "--resume", "--quiet")
    assert code == 3, stderr
    assert "damaged" not in stderr
    assert sorted(journaled(out)) == accounts(sim)
    assert len(journaled(out)) == len(accounts(sim)), "an account was journaled twice"
    findings = json.loads((out / "findings.json").read_text("utf-8"))
    assert {f["account_id"] for f in findings["findings"]} >= set(accounts(sim))


def test_non_utf8_line_is_refused_by_line(sim: SimServer, finished: Path,
                                          tmp_path: Path) -> None:
    out = tmp_path / "bytes"
    journal = copy_with(finished, out,
                        lambda ls: [*ls[:2], ls[2][:40] + b"\xff\xfe" + ls[2][42:], *ls[3:]])
    before = journal.read_bytes()
    code, _out, stderr = scan(sim, out, "--resume", "--quiet")
    assert code == 2, stderr
    assert "Traceback" not in stderr and "UnicodeDecodeError" not in stderr
    assert f"{journal}: line 3 is damaged: not UTF-8" in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert journal.read_bytes() == before, "a refused journal must be left as it was"


def _fail_to_pass(line: bytes) -> bytes:
    """The line with one FAIL finding turned PASS, still valid JSON, nothing else touched."""
    text = line.decode()
    assert '"status":"FAIL"' in text
    return text.replace('"status":"FAIL"', '"status":"PASS"', 1).encode()


def test_edited_fail_to_pass_line_is_refused_by_line(sim: SimServer, finished: Path,
                                                     tmp_path: Path) -> None:
    lines = (finished / "journal.jsonl").read_bytes().splitlines(keepends=True)
    n = next(i for i, line in enumerate(lines) if b'"status":"FAIL"' in line)
    out = tmp_path / "edited"
    journal = copy_with(finished, out,
                        lambda ls: [*ls[:n], _fail_to_pass(ls[n]), *ls[n + 1:]])
    json.loads(journal.read_bytes().splitlines()[n])  # still valid JSON
    code, _out, stderr = scan(sim, out, "--resume", "--quiet")
    assert code == 2, stderr
    assert f"{journal}: line {n + 1} was changed after it was written" in stderr
    # Even with the hash recomputed by someone who knows the format, the next line's link to
    # it breaks (when the edited line is not the last).
    if n + 1 < len(lines):
        from scanner.run.journal import _chain, _line_text

        obj = json.loads(_fail_to_pass(lines[n]))
        obj["chain"] = _chain(obj["prev"], "account", _line_text(obj["account"]))
        forged = (json.dumps(obj, separators=(",", ":")) + "\n").encode()
        out2 = tmp_path / "forged"
        journal2 = copy_with(finished, out2, lambda ls: [*ls[:n], forged, *ls[n + 1:]])
        code, _out, stderr = scan(sim, out2, "--resume", "--quiet")
        assert code == 2, stderr
        assert f"{journal2}: line {n + 2} does not follow line {n + 1}" in stderr


@pytest.mark.parametrize(("extra", "says"), [
    (["--lookback-days", "7"], "lookback_days: journal 90, now 7"),
    (["--region", "eu-west-1"], "regions: journal us-east-1, now us-east-1,eu-west-1"),
])
def test_resume_with_other_options_is_refused_saying_what_differs(
        sim: SimServer, finished: Path, tmp_path: Path, extra: list[str], says: str) -> None:
    out = tmp_path / "other"
    journal = copy_with(finished, out, lambda ls: ls[:-2])  # two accounts left to scan
    before = journal.read_bytes()
    code, _out, stderr = scan(sim, out, "--resume", "--quiet", *extra)
    assert code == 2, stderr
    assert "journal was written with other options" in stderr and says in stderr
    assert journal.read_bytes() == before
    assert (out / "findings.json").read_bytes() == (finished / "findings.json").read_bytes()


def test_resume_without_a_journal_is_refused(sim: SimServer, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    code, _out, stderr = scan(sim, out, "--resume", "--quiet")
    assert code == 2, stderr
    assert f"{out}: no journal to resume (journal.jsonl is missing)" in stderr
    assert not out.exists(), "a refused resume created the output directory"


def test_resumed_progress_counts_on_from_the_journal(sim: SimServer, finished: Path,
                                                     tmp_path: Path) -> None:
    total = len(accounts(sim))
    out = tmp_path / "progress"
    copy_with(finished, out, lambda ls: ls[:-1])  # the last account is scanned again
    code, _out, stderr = scan(sim, out, "--resume")
    assert code == 3, stderr
    assert f"resuming: {total - 1} of {total} account(s) already scanned" in stderr
    # Off a terminal the last account always prints its line, numbered on from the journal.
    assert f"[{total}/{total}]" in stderr
    assert "[1/" not in stderr

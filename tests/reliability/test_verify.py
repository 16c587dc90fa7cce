"""`orgscan verify` as an attacker or a damaged disk would try it, on the evidence bundle of a
real scan of the simulated demo organization (with exceptions, so some findings are MUTED).

Findings must follow from the bundled rules and evidence even when every hash was recomputed;
zip members outside the bundle, symlinks, damaged and truncated zips, a gigabyte of zeros and
a million-entry manifest are each reported or refused with one line, in bounded memory and
time, never with a traceback."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scanner.sim import SimServer

from ..report._demo import SANDBOX_MFA_EXCEPTION

GIB = 1 << 30


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("demo") as s:
        yield s


def scan(sim: SimServer, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    exc = out.parent / "exceptions.yaml"
    exc.write_text(SANDBOX_MFA_EXCEPTION, encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "scanner.cli.main", "scan", "--out", str(out), "--quiet",
         "--exceptions", str(exc), "--region", "us-east-1", *extra],
        capture_output=True, text=True, env={**os.environ, **sim.env}, timeout=600)


@pytest.fixture(scope="module")
def scanned(sim: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The output directory of one real `orgscan scan` of the demo organization."""
    out = tmp_path_factory.mktemp("verify-scan") / "scan"
    proc = scan(sim, out)
    assert proc.returncode == 3, proc.stderr  # two demo accounts cannot be assessed
    return out


@pytest.fixture
def bundle(scanned: Path, tmp_path: Path) -> Path:
    """A private copy of the bundle directory, to tamper with."""
    dest = tmp_path / "evidence-bundle"
    shutil.copytree(scanned / "evidence-bundle", dest, symlinks=True)
    return dest


class Run:
    def __init__(self, returncode: int, stdout: str, stderr: str, seconds: float,
                 peak_rss: int) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.seconds, self.peak_rss = seconds, peak_rss

    @property
    def text(self) -> str:
        return self.stdout + self.stderr


# Runs one command and writes the peak RSS of that child alone. A child forked straight from
# the test process would inherit the test's own high-water mark (Linux keeps it across exec).
_LAUNCHER = """\
import resource, subprocess, sys
try:
    code = subprocess.run(sys.argv[3:], timeout=float(sys.argv[2])).returncode
except subprocess.TimeoutExpired:
    code = -9
with open(sys.argv[1], "w") as fh:
    fh.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(0 if code == -9 else code)
"""


def verify(path: Path, *extra: str, timeout: float = 120) -> Run:
    """The real `orgscan verify`, with its own peak RSS."""
    peak = path.parent / f"{path.name}.peak"
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _LAUNCHER, str(peak), str(timeout),
                           sys.executable, "-m", "scanner.cli.main", "verify", str(path), *extra],
                          capture_output=True, text=True, timeout=timeout + 30)
    seconds = time.monotonic() - t0
    assert seconds < timeout, f"orgscan verify {path.name} ran past {timeout}s"
    run = Run(proc.returncode, proc.stdout, proc.stderr, seconds,
              int(peak.read_text()) * 1024)
    assert "Traceback" not in run.text, run.stderr
    return run


def rehash(root: Path) -> None:
    """What a careful forger does after an edit: every file's hash and size written again."""
    m = json.loads((root / "manifest.json").read_text())
    m["files"] = [{"path": p.relative_to(root).as_posix(),
                   "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
                   "size": p.stat().st_size}
                  for p in sorted(root.rglob("*")) if p.is_file() and p.name != "manifest.json"]
    (root / "manifest.json").write_text(json.dumps(m, indent=2))


def zip_dir(root: Path, dest: Path) -> Path:
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(root.rglob("*")):
            if p.is_file():
                z.write(p, f"evidence-bundle/{p.relative_to(root).as_posix()}")
    return dest


def edit_json(path: Path, change: Any) -> None:
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc, indent=2))


def first_fail(root: Path, rule: str = "root-account-used") -> dict[str, Any]:
    findings = json.loads((root / "reports" / "findings.json").read_text())["findings"]
    return next(f for f in findings if f["status"] == "FAIL" and f["rule_id"] == rule)


def set_status(root: Path, account: str, rule: str, status: str, evidence: str = "",
               **more: Any) -> None:
    def change(findings: list[dict[str, Any]]) -> None:
        for f in findings:
            if f["account_id"] == account and f["rule_id"] == rule:
                f.update(status=status, **more)

    edit_json(root / "reports" / "findings.json", lambda d: change(d["findings"]))
    edit_json(root / "evidence" / (evidence or f"{account}.json"),
              lambda d: change(d["findings"]))


# --- the findings follow from the evidence ---------------------------------------------------

def test_the_real_bundle_verifies(bundle: Path, scanned: Path) -> None:
    for path in (bundle, scanned / "evidence-bundle.zip"):
        run = verify(path, "--json")
        print(f"\nverify {path.name}: {run.seconds:.1f} s, peak RSS {run.peak_rss >> 20} MiB")
        assert run.returncode == 0, run.text
        result = json.loads(run.stdout)
        assert result["ok"] and not result["not_following"]
        findings = json.loads((bundle / "reports" / "findings.json").read_text())["findings"]
        # Every finding of the report and of the per-account evidence was compared.
        assert result["findings_checked"] == 2 * len(findings)
        assert any(f["status"] == "MUTED" for f in findings)  # exceptions are checked too


def test_a_fail_turned_pass_is_caught_though_every_hash_was_recomputed(
        bundle: Path, tmp_path: Path) -> None:
    fail = first_fail(bundle)
    set_status(bundle, fail["account_id"], "root-account-used", "PASS")
    rehash(bundle)
    for path in (bundle, zip_dir(bundle, tmp_path / "forged.zip")):
        run = verify(path)
        assert run.returncode == 1, run.text
        assert "TAMPERED" not in run.stdout  # the hashes are right: only re-evaluation sees it
        for where in ("reports/findings.json", f"evidence/{fail['account_id']}.json"):
            assert (f"DOES NOT FOLLOW {where}: account {fail['account_id']} rule "
                    f"root-account-used: bundled PASS, re-evaluated FAIL") in run.stdout


def test_an_organization_finding_edited_is_caught(bundle: Path) -> None:
    org = json.loads((bundle / "evidence" / "organization.json").read_text())
    f = next(f for f in org["findings"] if f["status"] == "PASS")
    set_status(bundle, f["account_id"], f["rule_id"], "FAIL", evidence="organization.json")
    rehash(bundle)
    run = verify(bundle)
    assert run.returncode == 1
    assert (f"evidence/organization.json: account {f['account_id']} rule {f['rule_id']}: "
            f"bundled FAIL, re-evaluated PASS") in run.stdout


def test_a_fail_muted_by_no_exception_or_dropped_is_caught(bundle: Path) -> None:
    fail = first_fail(bundle)
    set_status(bundle, fail["account_id"], fail["rule_id"], "MUTED", muted_by="RISK-1")
    other = first_fail(bundle, "root-console-login-without-mfa")
    edit_json(bundle / "reports" / "findings.json", lambda d: d.update(findings=[
        f for f in d["findings"] if not (f["account_id"] == other["account_id"]
                                         and f["rule_id"] == other["rule_id"])]))
    rehash(bundle)
    run = verify(bundle)
    assert run.returncode == 1
    assert (f"account {fail['account_id']} rule {fail['rule_id']}: bundled MUTED, "
            f"re-evaluated FAIL") in run.stdout  # RISK-1 muted no such finding
    assert (f"reports/findings.json: account {other['account_id']} rule "
            f"root-console-login-without-mfa: bundled absent, re-evaluated FAIL") in run.stdout


def test_rules_missing_from_the_bundle_fail_verification(bundle: Path) -> None:
    shutil.rmtree(bundle / "rules")
    rehash(bundle)
    run = verify(bundle)
    assert run.returncode == 1
    assert ("PROBLEM  rule root-account-used: rules/root-account-used.yaml: not in the bundle"
            in run.stdout)
    assert "findings not re-evaluated: the rules cannot all be loaded" in run.stdout


def test_coverage_claimed_complete_is_caught(bundle: Path) -> None:
    """The scan's exit 3 (partial coverage) turned into a complete scan in every summary."""
    def assessed(doc: dict[str, Any]) -> None:
        doc.update(complete=True, counts={"assessed": len(doc["accounts"]), "partial": 0,
                                          "not_assessed": 0})
        for a in doc["accounts"]:
            a.update(coverage="assessed", reason="")

    cov = json.loads((bundle / "reports" / "coverage.json").read_text())
    hidden = [a["account_id"] for a in cov["accounts"] if a["coverage"] != "assessed"]
    assert hidden
    edit_json(bundle / "reports" / "coverage.json", assessed)
    edit_json(bundle / "manifest.json", lambda m: m["coverage"].update(
        counts={"assessed": len(cov["accounts"]), "partial": 0, "not_assessed": 0},
        complete=True, not_assessed=[]))
    rehash(bundle)
    run = verify(bundle)
    assert run.returncode == 1, run.text
    assert "manifest.json: coverage counts" in run.stdout
    for account in hidden:
        assert (f"reports/coverage.json: account {account} is assessed, its evidence says "
                f"not_assessed") in run.stdout
    assert "reports/coverage.json: says complete" in run.stdout


@pytest.mark.parametrize("content", [
    "[]", '{"account": 5}', '{"account": {"id": ["x"]}, "coverage": "assessed"}',
    "[" * 100_000 + "]" * 100_000, '{"account": null, "facts": [], "findings": {}}'])
def test_evidence_of_the_wrong_shape_is_a_problem_not_a_crash(bundle: Path,
                                                             content: str) -> None:
    victim = next(p for p in sorted((bundle / "evidence").glob("*.json"))
                  if p.name != "organization.json")
    victim.write_text(content)
    rehash(bundle)
    run = verify(bundle)  # asserts no traceback
    assert run.returncode == 1, run.text
    assert f"evidence/{victim.name}: " in run.stdout


def test_a_journal_line_edited_never_reaches_a_bundle_that_verifies(
        sim: SimServer, scanned: Path, tmp_path: Path) -> None:
    """A FAIL turned PASS in journal.jsonl (still valid JSON), then `--resume`: either the
    resume refuses the journal, or the bundle it seals fails verify, naming the finding."""
    out = tmp_path / "scan"
    shutil.copytree(scanned, out)
    fail = first_fail(out / "evidence-bundle")
    lines = (out / "journal.jsonl").read_text().splitlines()
    for i, line in enumerate(lines):
        record = json.loads(line).get("account")
        if record and record["account"]["id"] == fail["account_id"]:
            for f in record["findings"]:
                if f["rule_id"] == "root-account-used":
                    f["status"] = "PASS"
            lines[i] = json.dumps({"account": record}, separators=(",", ":"))
    (out / "journal.jsonl").write_text("\n".join(lines) + "\n")
    resumed = scan(sim, out, "--resume")
    if resumed.returncode == 2:  # the journal itself was refused
        assert "journal.jsonl" in resumed.stderr, resumed.stderr
        return
    assert resumed.returncode == 3, resumed.stderr
    run = verify(out / "evidence-bundle.zip")
    assert run.returncode == 1, run.text
    assert (f"DOES NOT FOLLOW reports/findings.json: account {fail['account_id']} rule "
            f"root-account-used: bundled PASS, re-evaluated FAIL") in run.stdout


# --- safe on anything ------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../../x", "/abs/x", "other/thing.sh",
                                  "evidence-bundle/../../y", "\x1b[2J\x1b]0;owned\x07.sh"])
def test_zip_members_outside_the_bundle_are_reported(scanned: Path, tmp_path: Path,
                                                     name: str) -> None:
    path = tmp_path / "b.zip"
    shutil.copyfile(scanned / "evidence-bundle.zip", path)
    with zipfile.ZipFile(path, "a") as z:
        z.writestr(name, "#!/bin/sh\necho owned\n")
    run = verify(path)
    assert run.returncode == 1, run.text
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in name)
    assert f"OUTSIDE  {shown} (a zip member outside the bundle; not read)" in run.stdout
    assert "\x1b" not in run.stdout  # a name never drives the terminal
    assert not (tmp_path / "x").exists() and not Path("/abs/x").exists()


def test_a_second_member_of_the_same_name_is_reported(scanned: Path, tmp_path: Path) -> None:
    """Two members named reports/findings.json: a reader might show either; verify hashes the
    first and names the second."""
    path = tmp_path / "twice.zip"
    shutil.copyfile(scanned / "evidence-bundle.zip", path)
    with pytest.warns(UserWarning), zipfile.ZipFile(path, "a") as z:
        z.writestr("evidence-bundle/reports/findings.json", '{"findings": []}')
    run = verify(path)
    assert run.returncode == 1, run.text
    assert "PROBLEM  reports/findings.json: more than one zip member of this name" in run.stdout


def _zip_with_zeros(bundle: Path, dest: Path, victim: str, size: int) -> Path:
    """The bundle zipped with ``victim`` replaced by ``size`` zero bytes (deflated: ~1 MB a
    GiB)."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for p in sorted(bundle.rglob("*")):
            name = p.relative_to(bundle).as_posix()
            if not p.is_file() or name == victim:
                continue
            z.write(p, f"evidence-bundle/{name}")
        with z.open(f"evidence-bundle/{victim}", "w", force_zip64=True) as fh:
            block = bytes(1 << 20)
            for _ in range(size >> 20):
                fh.write(block)
    return dest


@pytest.mark.parametrize("listed", ["as-before", "rehashed"])
def test_a_gigabyte_of_zeros_is_read_in_bounded_memory(bundle: Path, tmp_path: Path,
                                                       listed: str) -> None:
    victim = next(p for p in sorted((bundle / "evidence").glob("*.json"))
                  if p.name != "organization.json")
    name = victim.relative_to(bundle).as_posix()
    size = victim.stat().st_size
    if listed == "rehashed":  # the manifest gives the gigabyte's own hash and size
        h = hashlib.sha256()
        block = bytes(1 << 20)
        for _ in range(GIB >> 20):
            h.update(block)
        edit_json(bundle / "manifest.json", lambda m: [
            f.update(sha256=h.hexdigest(), size=GIB) for f in m["files"] if f["path"] == name])
    path = _zip_with_zeros(bundle, tmp_path / "bomb.zip", name, GIB)
    assert path.stat().st_size < 8 << 20
    run = verify(path)
    print(f"\nverify, a GiB of zeros ({listed}): {run.seconds:.1f} s, peak RSS "
          f"{run.peak_rss >> 20} MiB")
    assert run.returncode == 1, run.text
    assert run.peak_rss < 200 << 20, run.peak_rss
    assert run.seconds < 60, run.seconds
    if listed == "as-before":
        # Read stopped one byte past the manifest's size.
        assert f"TAMPERED {name}" in run.stdout
        assert f"{name}: larger than the {size:,} bytes the manifest gives" in run.stdout
    else:
        # Every byte hashed as a stream (it matches); the re-evaluation refuses to load it.
        assert f"TAMPERED {name}" not in run.stdout
        assert f"{name}: larger than the limit of" in run.stdout


def _manifest_zip(bundle: Path, dest: Path, entries: int) -> Path:
    m = json.loads((bundle / "manifest.json").read_text())
    entry = '{"path":"evidence/f%d.json","sha256":"' + "0" * 64 + '","size":1}'
    files = ",".join(entry % i for i in range(entries))
    text = json.dumps({**m, "files": []}).replace('"files": []', f'"files": [{files}]')
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("evidence-bundle/manifest.json", text)
    return dest


def test_a_million_entry_manifest_is_refused_quickly(bundle: Path, tmp_path: Path) -> None:
    run = verify(_manifest_zip(bundle, tmp_path / "million.zip", 1_000_000))
    print(f"\nverify, a 10^6-entry manifest: {run.seconds:.1f} s, peak RSS "
          f"{run.peak_rss >> 20} MiB")
    assert run.returncode == 2, run.text
    assert "manifest.json: larger than the limit of 64 MiB: refusing to check" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert run.seconds < 30 and run.peak_rss < 300 << 20, (run.seconds, run.peak_rss)
    run = verify(_manifest_zip(bundle, tmp_path / "many.zip", 200_001))
    assert run.returncode == 2, run.text
    assert "lists 200,001 files, more than the limit of 200,000" in run.stderr


def test_a_zip_declaring_a_huge_directory_is_refused(scanned: Path, tmp_path: Path) -> None:
    """zipfile reads the whole central directory into memory: its declared size is checked
    first (here 40 MiB, the limit 32)."""
    data = bytearray((scanned / "evidence-bundle.zip").read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 12:eocd + 16] = struct.pack("<I", 40 << 20)
    path = tmp_path / "directory.zip"
    path.write_bytes(data)
    run = verify(path)
    assert run.returncode == 2, run.text
    assert "-byte directory; the limits are 250,000 members and 32 MiB" in run.stderr


def test_symlinks_in_a_directory_bundle_are_reported_never_followed(bundle: Path,
                                                                    tmp_path: Path) -> None:
    # A file replaced by a link to an identical copy outside the bundle: the hashes would match.
    victim = bundle / "reports" / "coverage.json"
    outside = tmp_path / "outside-coverage.json"
    shutil.copyfile(victim, outside)
    victim.unlink()
    victim.symlink_to(outside)
    # A directory replaced by a link to an identical copy outside.
    shutil.copytree(bundle / "rules", tmp_path / "outside-rules")
    shutil.rmtree(bundle / "rules")
    (bundle / "rules").symlink_to(tmp_path / "outside-rules")
    os.mkfifo(bundle / "evidence" / "fifo")  # opening it would block: never opened
    run = verify(bundle)
    assert run.returncode == 1, run.text
    assert (f"UNSAFE   reports/coverage.json: symbolic link to {str(outside)!r} "
            f"(not followed)") in run.stdout
    assert "UNSAFE   rules: symbolic link" in run.stdout
    assert "UNSAFE   evidence/fifo: not a regular file (not read)" in run.stdout
    assert "rule root-account-used" in run.stdout  # the linked rules were not loaded


def _flip(data: bytearray, info: zipfile.ZipInfo, at: int) -> None:
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    data[start + at] ^= 0x5A


@pytest.mark.parametrize("member", ["reports/findings.json", "manifest.json"])
def test_a_flipped_byte_names_the_damaged_member(scanned: Path, tmp_path: Path,
                                                 member: str) -> None:
    src = scanned / "evidence-bundle.zip"
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = z.getinfo(f"evidence-bundle/{member}")
    _flip(data, info, info.compress_size // 2)
    path = tmp_path / "flipped.zip"
    path.write_bytes(data)
    run = verify(path)
    assert run.returncode == 1, run.text
    assert f"DAMAGED  {member}: damaged, cannot be read: " in run.stdout


@pytest.mark.parametrize("cut", ["half", "last-10", "empty", "not-a-zip", "central-directory"])
def test_truncated_or_non_zip_is_one_line(scanned: Path, tmp_path: Path, cut: str) -> None:
    data = bytearray((scanned / "evidence-bundle.zip").read_bytes())
    if cut == "half":
        data = data[: len(data) // 2]
    elif cut == "last-10":
        data = data[:-10]
    elif cut == "empty":
        data = bytearray()
    elif cut == "not-a-zip":
        data = bytearray(b"%PDF-1.7\n" + bytes(range(256)) * 100)
    else:  # the central directory's first entry loses its signature
        eocd = data.rfind(b"PK\x05\x06")
        data[struct.unpack("<I", data[eocd + 16:eocd + 20])[0]] ^= 0xFF
    path = tmp_path / "cut.zip"
    path.write_bytes(data)
    run = verify(path)
    assert run.returncode == 2, run.text
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"orgscan: {path}: "), run.stderr

"""The auditor's path through the real CLI against the simulated demo organization:
exceptions, --ou, the evidence bundle and verify, a baseline diff, --fail-on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from scanner.sim import SimServer

EXCEPTIONS = """\
version: 1
exceptions:
  - id: RISK-1
    rule: root-hardware-mfa
    ous: [Root/Sandbox]
    justification: Sandbox roots use a virtual MFA device by policy.
    owner: security@example.com
    expires: 2099-12-31
  - id: RISK-OLD
    rule: root-access-keys-present
    accounts: ["999999999999"]
    justification: An account that no longer exists.
    owner: security@example.com
    expires: 2099-12-31
"""


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    with SimServer("demo") as s:
        yield s


def orgscan(sim: SimServer, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True,
                          text=True, env={**os.environ, **sim.env}, timeout=600)


@pytest.fixture(scope="module")
def first(sim: SimServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("q3")
    exc = out / "exceptions.yaml"
    exc.write_text(EXCEPTIONS, encoding="utf-8")
    proc = orgscan(sim, "scan", "--out", str(out / "scan"), "--quiet", "--exceptions", str(exc),
                   "--region", "us-east-1", "--region", "eu-west-1")
    assert proc.returncode == 3, proc.stderr  # two demo accounts cannot be assessed
    assert "Root used in the last 90 days" in proc.stdout
    return out / "scan"


def test_exceptions_mute_only_matching_fails(first: Path) -> None:
    findings = json.loads((first / "findings.json").read_text())["findings"]
    muted = [f for f in findings if f["status"] == "MUTED"]
    assert muted and all(f["rule_id"] == "root-hardware-mfa" and
                         f["ou_path"].startswith("Root/Sandbox") and
                         f["muted_by"] == "RISK-1" for f in muted)
    # Nothing but FAIL is ever muted: other Sandbox verdicts keep their status.
    assert not [f for f in findings if f["muted_by"] and f["status"] != "MUTED"]
    report = json.loads((first / "exceptions-report.json").read_text())
    assert report["stale"] == ["RISK-OLD"]


def test_bundle_verifies_and_names_a_tampered_file(first: Path, sim: SimServer) -> None:
    bundle = first / "evidence-bundle"
    ok = orgscan(sim, "verify", str(bundle))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    zipped = orgscan(sim, "verify", str(first / "evidence-bundle.zip"))
    assert zipped.returncode == 0, zipped.stdout + zipped.stderr
    evidence = sorted((bundle / "evidence").glob("*.json"))[0]
    evidence.write_text(evidence.read_text().replace("PASS", "FAIL", 1))
    bad = orgscan(sim, "verify", str(bundle))
    assert bad.returncode == 1
    assert f"evidence/{evidence.name}" in bad.stdout + bad.stderr


def test_ou_limits_every_report(sim: SimServer, tmp_path: Path) -> None:
    out = tmp_path / "prod"
    proc = orgscan(sim, "scan", "--out", str(out), "--quiet", "--ou", "Root/Workloads/Prod",
                   "--region", "us-east-1", "--no-bundle")
    assert proc.returncode == 0, proc.stderr  # every Prod account was assessed
    coverage = json.loads((out / "coverage.json").read_text())
    assert {a["ou_path"] for a in coverage["accounts"]} == {"Root/Workloads/Prod"}
    usage = json.loads((out / "root-usage.json").read_text())
    assert {a["ou_path"] for a in usage["accounts"]} == {"Root/Workloads/Prod"}
    assert not (out / "evidence-bundle").exists()
    unknown = orgscan(sim, "scan", "--out", str(tmp_path / "x"), "--quiet", "--ou", "Root/Nope")
    assert unknown.returncode == 2 and "Root/Workloads/Prod" in unknown.stderr


def test_baseline_diff_and_fail_on(first: Path, sim: SimServer, tmp_path: Path) -> None:
    out = tmp_path / "q4"
    proc = orgscan(sim, "scan", "--out", str(out), "--quiet", "--baseline", str(first),
                   "--region", "us-east-1", "--region", "eu-west-1", "--no-bundle",
                   "--fail-on", "critical")
    assert proc.returncode == 3, proc.stderr  # partial coverage outranks findings
    diff = json.loads((out / "diff.json").read_text())
    # The same organization scanned again without the exceptions: the findings the first
    # scan muted come back as new FAILs, and nothing else changes.
    new = diff["findings"]["new"]
    assert new and all(f["old_status"] == "MUTED" and f["new_status"] == "FAIL"
                       and f["old_muted_by"] == "RISK-1" for f in new)
    assert not diff["findings"]["changed"] and not diff["findings"]["resolved"]
    assert (out / "diff.md").read_text().startswith("#")
    cli = orgscan(sim, "diff", str(first), str(out), "--format", "json")
    assert cli.returncode == 0
    assert json.loads(cli.stdout)["findings"]["new"] == new

"""Coverage says what was seen: an account is assessed only when every fact its selected rules
need was collected, otherwise PARTIAL with the failed facts named (console, coverage.json,
every report); a scan with any partial account or any ERROR verdict never exits 0. Each test
runs the real `orgscan scan` against the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner.sim import SimServer

from .conftest import cli
from .simserve import sim_serve

PROD = "333333333333"
MGMT = "111111111111"
LOG_ARCHIVE = "222222222222"
# Fewer attempts per call than the default 8: the injected errors answer every attempt, and
# the verdicts do not depend on how often they are retried.
FAST = "aws:\n  max_attempts: 2\n"


def _config(tmp_path: Path, rules: list[str] | None = None) -> Path:
    text = FAST
    if rules:
        text += "rules:\n  include: [" + ", ".join(rules) + "]\n"
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _scan(env: dict[str, str], out: Path, config: Path, *extra: str) -> tuple[int, str, str]:
    proc = cli(["scan", "--config", str(config), "--out", str(out), "--no-bundle",
                "--region", "us-east-1", *extra], env)
    stdout, stderr = proc.communicate(timeout=600)
    assert "Traceback" not in stderr, stderr
    return proc.returncode, stdout, stderr


def _coverage(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    return data


def _account(coverage: dict[str, Any], account_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(a for a in coverage["accounts"]
                                 if a["account_id"] == account_id)
    return found


def test_failed_facts_make_the_account_partial_and_the_scan_exit_3(tmp_path: Path) -> None:
    """The issue's scenario: GetCredentialReport answers 500 and DescribeTrails is dropped,
    every time. The Prod account is PARTIAL, both facts named with their error on the console,
    in coverage.json (structured) and in the Markdown and JUnit reports; exit 3."""
    faults = tmp_path / "faults.json"
    faults.write_text(json.dumps({"rules": [
        {"kind": "error", "service": "iam", "action": "GetCredentialReport",
         "probability": 1.0, "status": 500, "code": "InternalError"},
        {"kind": "drop", "service": "cloudtrail", "action": "DescribeTrails",
         "probability": 1.0}]}), encoding="utf-8")
    out = tmp_path / "out"
    with sim_serve("--scenario", "minimal", "--faults", str(faults)) as served:
        code, stdout, _ = _scan(served.env, out, _config(tmp_path), "--ou", "Root/Workloads/Prod",
                                "--format", "json", "--format", "markdown", "--format", "junit")
    assert code == 3, stdout
    coverage = _coverage(out)
    assert coverage["complete"] is False
    assert coverage["counts"] == {"assessed": 0, "partial": 1, "not_assessed": 0}
    prod = _account(coverage, PROD)
    assert prod["coverage"] == "partial"
    failed = {f["fact"]: f for f in prod["failed_facts"]}
    assert set(failed) == {"iam.credential_report", "cloudtrail.trails"}, failed
    assert failed["iam.credential_report"]["code"] == "InternalError"
    assert failed["cloudtrail.trails"]["code"] == "ConnectionClosedError"
    assert prod["reason"].startswith("facts not collected: ")
    for fact in failed:
        assert fact in prod["reason"]
        assert f"{PROD} prod-app" in stdout and fact in stdout
    assert "1 account(s) partial" in coverage["incomplete_reasons"][0]
    assert "INCOMPLETE" in stdout
    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    assert findings["scan"]["complete"] is False
    for name in ("report.md", "junit.xml"):
        text = (out / name).read_text(encoding="utf-8").replace("\\_", "_")
        assert "iam.credential_report" in text and "cloudtrail.trails" in text, name


def test_a_failed_root_usage_source_makes_the_account_partial(tmp_path: Path) -> None:
    """Event history fails for the Prod account in every region: its root use is still proven
    (the credential report), but what event history would have shown was not seen, so the
    account is PARTIAL naming the source; exit 3."""
    out = tmp_path / "out"
    with SimServer("minimal", faults={"rules": [
            {"kind": "error", "service": "cloudtrail", "action": "LookupEvents",
             "account": PROD, "status": 500, "code": "InternalError"}]}) as sim:
        code, stdout, _ = _scan(sim.env, out, _config(tmp_path, ["root-account-used"]),
                                "--ou", "Root/Workloads/Prod")
    assert code == 3, stdout
    prod = _account(_coverage(out), PROD)
    assert prod["coverage"] == "partial"
    assert prod["failed_facts"] == [{"fact": "root.usage", "source": "event_history",
                                     "code": "InternalError",
                                     "message": prod["failed_facts"][0]["message"]}]
    assert "root.usage source event_history (InternalError" in prod["reason"]


def test_a_fact_a_rule_does_not_apply_to_is_not_needed(tmp_path: Path) -> None:
    """ListOrganizationsFeatures fails: the members, whose centralized-root-access rule reads
    it, are PARTIAL naming it; the management account, to which the rule does not apply, is
    assessed (it lacks nothing its verdicts need)."""
    out = tmp_path / "out"
    with SimServer("minimal", faults={"rules": [
            {"kind": "error", "service": "iam", "action": "ListOrganizationsFeatures",
             "status": 500, "code": "InternalError"}]}) as sim:
        code, stdout, _ = _scan(sim.env, out,
                                _config(tmp_path, ["root-centralized-access-effective"]))
    assert code == 3, stdout
    coverage = _coverage(out)
    assert _account(coverage, MGMT)["coverage"] == "assessed", _account(coverage, MGMT)
    for member in (PROD, LOG_ARCHIVE):
        entry = _account(coverage, member)
        assert entry["coverage"] == "partial", entry
        assert [f["fact"] for f in entry["failed_facts"]] == ["iam.organizations_features"]


def test_an_error_verdict_alone_never_exits_0(tmp_path: Path) -> None:
    """Every fact collected, but GetTrailStatus answers without IsLogging: the account is
    assessed, its logging rule is ERROR (unknown), so the scan is not complete and exits 3.
    The same scan without the fault decides every verdict and exits 0."""
    rules = ["cloudtrail-multi-region-logging"]
    codes = {}
    for name, faults in (("clean", None), ("stripped", {"rules": [
            {"kind": "strip", "service": "cloudtrail", "action": "GetTrailStatus",
             "fields": ["IsLogging"]}]})):
        out = tmp_path / name
        with SimServer("minimal", faults=faults) as sim:
            codes[name], _out, _ = _scan(sim.env, out, _config(tmp_path, rules),
                                           "--ou", "Root/Workloads/Prod")
        coverage = _coverage(out)
        assert _account(coverage, PROD)["coverage"] == "assessed"
        findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))
        statuses = {f["status"] for f in findings["findings"]}
        if name == "stripped":
            assert statuses == {"ERROR"}, findings
            assert coverage["complete"] is False
            assert coverage["incomplete_reasons"] == ["1 ERROR verdict(s)"]
        else:
            assert "ERROR" not in statuses, findings
            assert coverage["complete"] is True and coverage["incomplete_reasons"] == []
    assert codes == {"clean": 0, "stripped": 3}

"""The scan end to end: every account accounted for, failures as data, exit codes, outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scanner.core.results import Coverage
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from tests.conftest import DENIED, MGMT, SUSPENDED, settings_for, walk_scenario


async def test_scan_accounts_for_every_account(walk_sim: SimServer, tmp_path: Path) -> None:
    from dataclasses import replace

    config = replace(load_config(None), aws=settings_for(walk_sim))
    rules = [r for r in load_rules() if r.id == "root-access-keys-present"]
    assert len(rules) == 1
    result = await scan(config, rules, out_dir=tmp_path)
    ids = {r.account.id for r in result.accounts}
    assert ids == {a["id"] for a in walk_scenario()["accounts"]} | {MGMT}
    by_id = {r.account.id: r for r in result.accounts}
    assert by_id[DENIED].coverage is Coverage.NOT_ASSESSED
    assert "AccessDenied" in by_id[DENIED].reason
    assert by_id[SUSPENDED].coverage is Coverage.NOT_ASSESSED
    assert "SUSPENDED" in by_id[SUSPENDED].reason
    assessed = [r for r in result.accounts if r.coverage is Coverage.ASSESSED]
    assert len(assessed) == len(ids) - 2
    # Not assessed is never a pass: every rule is NOT_ASSESSED there, with the reason.
    assert {f.status.value for f in by_id[DENIED].findings} == {"NOT_ASSESSED"}
    # The management account is scanned with the base credentials, members through the role.
    assert "sts:AssumeRole" not in by_id[MGMT].calls
    assert by_id[MGMT].calls.get("iam:GetCredentialReport", 0) >= 1
    members = [a for a in walk_scenario()["accounts"] if a["id"] != SUSPENDED]
    # One AssumeRole per member account (the suspended one is not tried), made by the
    # organization-level scope; none into the management account.
    assert result.org_calls["sts:AssumeRole"] == len(members)
    assert not result.complete
    # Each finished account is in the journal, one line each plus the header.
    lines = (tmp_path / "journal.jsonl").read_text().splitlines()
    assert len(lines) == len(ids) + 1


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scanner.cli.main", *args], capture_output=True,
                          text=True, env={**os.environ, **env}, timeout=300)


def test_cli_scan_writes_outputs_and_exits_partial(walk_sim: SimServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = run_cli(["scan", "--out", str(out), "--concurrency", "8",
                    "--format", "json", "--format", "graph"], walk_sim.env)
    assert proc.returncode == 3, proc.stderr  # partial coverage
    coverage = json.loads((out / "coverage.json").read_text())
    assert coverage["counts"] == {"assessed": 30, "partial": 0, "not_assessed": 2}
    reasons = {a["account_id"]: a["reason"] for a in coverage["accounts"]}
    assert "AccessDenied" in reasons[DENIED]
    inventory = json.loads((out / "inventory.json").read_text())
    assert len(inventory["accounts"]) == 32
    findings = json.loads((out / "findings.json").read_text())
    assert findings["scan"]["complete"] is False
    assert {f["account_id"] for f in findings["findings"]} >= {DENIED, SUSPENDED, MGMT}
    assert (out / "org-graph.graphml").exists()
    assert "Root/Workloads/Prod" in proc.stdout and "not assessed" in proc.stdout


def test_cli_scope_filter_and_clean_exit(walk_sim: SimServer, tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scope:\n  include: {ous: [Root/Workloads/Prod]}\n"
                   "rules: {include: [root-access-keys-present]}\n", encoding="utf-8")
    proc = run_cli(["scan", "--config", str(cfg), "--out", str(tmp_path / "o"), "--quiet"],
                   walk_sim.env)
    assert proc.returncode == 0, proc.stderr
    coverage = json.loads((tmp_path / "o" / "coverage.json").read_text())
    assert coverage["counts"]["assessed"] == 25
    assert len(coverage["out_of_scope"]) == 7


def test_cli_config_error_exit_code(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("scann: {}\n", encoding="utf-8")
    proc = run_cli(["scan", "--config", str(cfg)], {})
    assert proc.returncode == 2
    assert f"{cfg}:1: scann: unknown key 'scann' (did you mean 'scan'?)" in proc.stderr


def test_cli_unreachable_endpoint_is_an_aws_error(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("aws: {max_attempts: 1, connect_timeout: 2}\n", encoding="utf-8")
    proc = run_cli(["scan", "--config", str(cfg), "--endpoint-url", "http://127.0.0.1:9",
                    "--out", str(tmp_path)],
                   {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert proc.returncode == 4, proc.stderr
    assert "cannot scan" in proc.stderr


def test_cli_framework_summary(walk_sim: SimServer, tmp_path: Path) -> None:
    out = tmp_path / "o"
    proc = run_cli(["scan", "--out", str(out), "--quiet", "--framework",
                    "cis-aws-foundations-5.0"], walk_sim.env)
    assert proc.returncode == 3, proc.stderr
    assert "cis-aws-foundations-5.0:" in proc.stdout
    controls = json.loads((out / "framework-cis-aws-foundations-5.0.json").read_text())
    by_control = {c["control"]: c for c in controls}
    assert {"1.3", "1.4", "1.5", "1.6"} <= set(by_control)
    # Two accounts were not assessed: no control over all accounts can be a clean PASS.
    assert by_control["1.3"]["status"] != "PASS"


def test_cli_unknown_framework_is_rejected_before_scanning(tmp_path: Path) -> None:
    proc = run_cli(["scan", "--framework", "cis-5", "--endpoint-url", "http://127.0.0.1:9"], {})
    assert proc.returncode == 2
    assert "unknown framework 'cis-5'" in proc.stderr

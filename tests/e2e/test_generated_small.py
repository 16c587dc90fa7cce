"""Generated organizations of every small size (`orgscan sim generate --accounts 1..9`): the
simulator serves them and a scan's root verdicts equal their ground truth. The DenyRootUser SCP
is attached only to the OUs that exist; fewer than one member account is refused."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from scanner.sim.generate import SCP_TARGETS, generate

from .test_generated_truth import root_verdict_mismatches


@pytest.mark.parametrize("accounts", [1, 4, 9])
def test_small_generated_organizations_scan_as_their_truth(accounts: int,
                                                           tmp_path: Path) -> None:
    scenario, _ = generate(accounts, seed=3)
    ous = {a["ou"] for a in scenario["accounts"]}
    for scp in scenario["scps"]:
        assert scp["targets"], scp
        assert all(any(ou == t or ou.startswith(t + "/") for ou in ous) for t in scp["targets"])
    with SimServer(scenario) as sim:
        c = sim.credentials
        config = replace(load_config(None, regions=list(scenario["regions"])),
                         aws=AwsSettings(endpoint_url=sim.endpoint, credentials=(
                             c["aws_access_key_id"], c["aws_secret_access_key"])))
        result = asyncio.run(scan(config, load_rules(), out_dir=tmp_path, now=sim.now))
        truth = sim.ground_truth
    assert len(result.accounts) == accounts + 1  # and the management account
    assert not root_verdict_mismatches(result, truth)


def test_the_scp_keeps_its_targets_in_a_large_organization() -> None:
    scenario, _ = generate(50, seed=7)
    assert scenario["scps"][0]["targets"] == list(SCP_TARGETS)


@pytest.mark.parametrize(("value", "message"), [
    ("0", "at least 1 member account, not 0"), ("-3", "at least 1 member account, not -3"),
    ("many", "not a whole number: 'many'")])
def test_sim_generate_refuses_what_is_not_an_organization(value: str, message: str,
                                                          tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "sim", "generate",
                           "--accounts", value, "--out", str(tmp_path / "gen")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert f"argument --accounts: {message}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "gen").exists()

"""A scan with the default ``regions: all`` searches each account's own enabled regions: AWS's
default ones, plus the opt-in regions that account enabled, and no others."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from scanner.sim.regions import DEFAULT_REGIONS, enabled_regions
from tests.sim.test_regions import OPTED, scenario


def test_default_scan_searches_each_accounts_enabled_regions(tmp_path: Path) -> None:
    with SimServer(scenario()) as sim:
        c = sim.credentials
        config = load_config(None)
        assert config.regions is None  # the default: every enabled region
        config = replace(config, aws=AwsSettings(
            endpoint_url=sim.endpoint,
            credentials=(c["aws_access_key_id"], c["aws_secret_access_key"])))
        result = asyncio.run(scan(config, load_rules(), out_dir=tmp_path, now=sim.now))
        searched = sim.counters()["lookup_regions"]
        truth = sim.ground_truth["accounts"]
    accounts = {a["id"]: a for a in sim.scenario["accounts"]}
    assert set(searched) == set(accounts)
    for account_id, regions in searched.items():
        assert set(regions) == enabled_regions(accounts[account_id]), account_id
    assert set(searched[OPTED]) - set(DEFAULT_REGIONS) == {"af-south-1", "ap-east-1"}
    # The root call made only in af-south-1 is found, as the ground truth has it.
    usage = {r.account.id: r.facts["root.usage"] for r in result.accounts}
    assert usage[OPTED]["api_calls"] == truth[OPTED]["usage"]["api_calls"] == 1

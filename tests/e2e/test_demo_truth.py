"""On the bundled demo organization, every root verdict orgscan reaches matches the
simulator's ground truth, which the simulator computes from the scenario on its own (it
shares no code with the scanner)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.core.results import Coverage, ScanResult
from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer

# ground-truth key -> the rule that decides it
ROOT_RULES = {
    "access_keys": "root-access-keys-present",
    "mfa": "root-mfa-enabled",
    "hardware_mfa": "root-hardware-mfa",
    "signing_certs": "root-signing-certificates",
    "monitoring": "root-usage-monitoring",
    "centralized_root_access": "root-centralized-access-effective",
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScanResult, dict[str, Any]]]:
    import asyncio

    with SimServer("demo") as sim:
        c = sim.credentials
        config = replace(load_config(None), aws=AwsSettings(
            endpoint_url=sim.endpoint,
            credentials=(c["aws_access_key_id"], c["aws_secret_access_key"])))
        out: Path = tmp_path_factory.mktemp("demo")
        # The window ends at the simulator's "now", as its ground truth does: an event right on
        # the 90-day edge is then judged against the same edge by both.
        result = asyncio.run(scan(config, load_rules(), out_dir=out, now=sim.now))
        yield result, sim.ground_truth


def _verdicts(result: ScanResult) -> dict[tuple[str, str], str]:
    return {(f.account_id, f.rule_id): f.status.value for f in result.findings}


def test_every_account_is_accounted_for(demo: tuple[ScanResult, dict[str, Any]]) -> None:
    result, truth = demo
    assert {r.account.id for r in result.accounts} == set(truth["accounts"])
    for r in result.accounts:
        expected = truth["accounts"][r.account.id]
        assert r.account.ou_path == expected["ou_path"]
        assert (r.coverage is Coverage.ASSESSED) == expected["assessable"], r.account.name


def test_root_protection_verdicts_match_ground_truth(
        demo: tuple[ScanResult, dict[str, Any]]) -> None:
    result, truth = demo
    got = _verdicts(result)
    mismatches = []
    for account_id, expected in truth["accounts"].items():
        for key, rule in ROOT_RULES.items():
            want = expected["root"][key] if expected["assessable"] else "NOT_ASSESSED"
            have = got.get((account_id, rule))
            if have != want:
                mismatches.append(f"{expected['name']} {rule}: got {have}, truth {want}")
    assert not mismatches, "\n".join(mismatches)


def test_root_use_verdicts_match_ground_truth(demo: tuple[ScanResult, dict[str, Any]]) -> None:
    result, truth = demo
    got = _verdicts(result)
    for account_id, expected in truth["accounts"].items():
        want = ("FAIL" if expected["usage"]["used_in_window"] else "PASS") \
            if expected["assessable"] else "NOT_ASSESSED"
        assert got[(account_id, "root-account-used")] == want, expected["name"]


def test_organization_verdicts(demo: tuple[ScanResult, dict[str, Any]]) -> None:
    result, truth = demo
    org = {f.rule_id: f for f in result.org_findings}
    enabled = truth["organization"]["root_credentials_management"]
    assert org["org-centralized-root-access"].status.value == ("PASS" if enabled else "FAIL")
    # Members known to keep root credentials make the organization rule fail outright.
    with_creds = [a for a, t in truth["accounts"].items() if t["assessable"]
                  and not t["management"] and t["root"]["centralized_root_access"] == "FAIL"]
    finding = org["org-member-root-credentials"]
    assert finding.status.value == ("FAIL" if with_creds else "ERROR")
    listed = set(finding.evidence["org.summary"]["member_accounts_with_root_credentials"])
    assert listed == set(with_creds)

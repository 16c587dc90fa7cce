"""A scan run by a delegated administrator, against the same organization scanned from the
management account: where both can read, every (account, rule) verdict is the same; what the
delegated administrator cannot read (the management account, when its audit role does not
trust it; centralized root access, unless it is IAM's delegated administrator too) is
NOT_ASSESSED or ERROR with a reason naming the refused call, and never a PASS."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.core.models import Finding, Status
from scanner.core.results import Coverage, ScanResult
from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from scanner.sim.scenario import read_raw

MGMT = "111111111111"
ADMIN = "666666666666"
UNDECIDED = {"NOT_ASSESSED", "ERROR"}


def scenario(**delegation: Any) -> dict[str, Any]:
    """The minimal organization plus a security-tooling member registered as a delegated
    administrator."""
    raw = read_raw("minimal")
    raw["accounts"] = [*raw["accounts"], {"id": ADMIN, "name": "security-tooling",
                                          "ou": "Root/Security"}]
    raw["organization"]["delegated_administrator"] = {"account": "security-tooling",
                                                      **delegation}
    return raw


def run(sim: SimServer, credentials: dict[str, str], out: Path) -> ScanResult:
    config = replace(load_config(None), aws=AwsSettings(
        endpoint_url=sim.endpoint,
        credentials=(credentials["aws_access_key_id"], credentials["aws_secret_access_key"])))
    return asyncio.run(scan(config, load_rules(), out_dir=out, now=sim.now))


ORG = "organization"


def verdicts(result: ScanResult) -> dict[tuple[str, str], Finding]:
    """(account, rule) -> finding; organization findings under (ORG, rule)."""
    out = {(f.account_id, f.rule_id): f for r in result.accounts for f in r.findings}
    out.update({(ORG, f.rule_id): f for f in result.org_findings})
    return out


def both(raw: dict[str, Any], tmp: Path) -> tuple[ScanResult, ScanResult]:
    with SimServer(raw) as sim:
        assert sim.delegated_admin_credentials is not None
        assert sim.delegated_admin_account_id == ADMIN
        management = run(sim, sim.management_credentials, tmp / "management")
        delegated = run(sim, sim.delegated_admin_credentials, tmp / "delegated")
    return management, delegated


@pytest.fixture(scope="module")
def restricted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScanResult,
                                                                              ScanResult]]:
    """Delegated administrator for Account Management only; trusted by the members' audit
    roles, not by the management account (AWS creates no role there)."""
    yield both(scenario(), tmp_path_factory.mktemp("restricted"))


@pytest.fixture(scope="module")
def trusted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ScanResult,
                                                                           ScanResult]]:
    """Delegated administrator for IAM too, and the management account's audit role trusts it."""
    yield both(scenario(service_principals=["account.amazonaws.com", "iam.amazonaws.com"],
                        trusted_by="all"), tmp_path_factory.mktemp("trusted"))


def test_the_delegated_administrator_walks_the_same_organization(
        restricted: tuple[ScanResult, ScanResult]) -> None:
    management, delegated = restricted
    assert delegated.caller_arn == f"arn:aws:iam::{ADMIN}:user/orgscan-operator"
    assert management.caller_arn.startswith(f"arn:aws:iam::{MGMT}:")
    assert delegated.org == management.org
    assert {r.account.id for r in delegated.accounts} == {r.account.id
                                                          for r in management.accounts}


def test_verdicts_match_where_both_can_read_and_the_rest_says_why(
        restricted: tuple[ScanResult, ScanResult]) -> None:
    management, delegated = restricted
    mine, theirs = verdicts(management), verdicts(delegated)
    assert set(mine) == set(theirs)
    differ = {k for k in mine if mine[k].status is not theirs[k].status}
    for key in differ:
        finding = theirs[key]
        # Never a decided verdict the management account did not reach: only undecided.
        assert finding.status.value in UNDECIDED, (key, finding.status, mine[key].status)
        assert finding.message or finding.evidence, key
    # Members, the delegated administrator included, read as the management account does,
    # except the rule needing the organization's centralized-root-access features.
    member_diffs = {k for k in differ if k[0] not in (MGMT, ORG)}
    assert {rule for _, rule in member_diffs} <= {"root-centralized-access-effective"}
    same = [k for k in mine if k[0] not in (MGMT, ORG) and k not in differ]
    assert len(same) > 20
    assert {rule for account, rule in differ if account == ORG} == {
        "org-centralized-root-access"}


def test_the_management_account_is_not_assessed_naming_the_refused_assume_role(
        restricted: tuple[ScanResult, ScanResult]) -> None:
    management, delegated = restricted
    mine = {r.account.id: r for r in management.accounts}
    theirs = {r.account.id: r for r in delegated.accounts}
    assert mine[MGMT].coverage is Coverage.ASSESSED
    assert theirs[MGMT].coverage is Coverage.NOT_ASSESSED
    assert "sts:AssumeRole" in theirs[MGMT].reason
    assert f"arn:aws:iam::{MGMT}:role/OrganizationAccountAccessRole" in theirs[MGMT].reason
    assert {f.status for k, f in verdicts(delegated).items() if k[0] == MGMT} == {
        Status.NOT_ASSESSED}
    # The delegated administrator's own account is read with its own credentials: all it
    # lacks is the organization's centralized-root-access features, which only the management
    # account can read (so, like every member's, it is partial, naming that fact).
    assert theirs[ADMIN].coverage is Coverage.PARTIAL
    assert [f.fact for f in theirs[ADMIN].failed_facts] == ["iam.organizations_features"]
    assert mine[ADMIN].coverage is Coverage.ASSESSED


def test_centralized_root_access_is_an_error_naming_the_refused_call(
        restricted: tuple[ScanResult, ScanResult]) -> None:
    management, delegated = restricted
    assert verdicts(management)[(ORG, "org-centralized-root-access")].status is Status.PASS
    feature = delegated.org_facts["iam.organizations_features"]
    assert "iam:ListOrganizationsFeatures" in str(feature)
    assert "AccountNotManagementOrDelegatedAdministrator" in str(feature)
    finding = verdicts(delegated)[(ORG, "org-centralized-root-access")]
    assert finding.status is Status.ERROR
    assert "iam:ListOrganizationsFeatures" in finding.message


def test_management_account_facts_are_refused_not_read_from_the_caller(
        restricted: tuple[ScanResult, ScanResult]) -> None:
    _, delegated = restricted
    calls = delegated.org_facts.get("cloudtrail.assume_root_calls")
    # AssumeRoot calls live in the management account's event history: without its role they
    # are an error naming the refused call, never the delegated administrator's own history.
    assert calls is not None and "sts:AssumeRole" in str(calls), calls
    assert "management account" in str(calls)


def test_trusted_delegated_administrator_sees_what_the_management_account_sees(
        trusted: tuple[ScanResult, ScanResult]) -> None:
    management, delegated = trusted
    mine, theirs = verdicts(management), verdicts(delegated)
    assert {k: f.status for k, f in theirs.items()} == {k: f.status for k, f in mine.items()}
    coverage = {r.account.id: r.coverage for r in delegated.accounts}
    assert coverage == {r.account.id: r.coverage for r in management.accounts}
    assert coverage[MGMT] is Coverage.ASSESSED

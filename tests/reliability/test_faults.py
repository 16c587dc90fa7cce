"""Faults: a scan under random throttling, 5xx errors, dropped connections and latency spikes
on every service reaches the same findings and root-usage records as a fault-free scan of the
same organization, or marks precisely what it could not assess; expired credentials are
refreshed; a hung endpoint hits the per-account deadline instead of stalling the scan."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from scanner.core.models import FactError, Status
from scanner.core.results import Coverage, ScanResult
from scanner.sim import SimServer
from scanner.sim.generate import generate

from .conftest import root_usage, run_scan, verdicts

ACCOUNTS = 100
SEED = 20261128
# Two regions: per-region collection under faults, in a bounded time.
REGIONS = ("us-east-1", "eu-west-1")
# Simulated session lifetime: short enough to expire mid-account, long enough that a slow
# AssumeRole answer on a saturated machine does not arrive already inside the refresh margin.
SESSION_S = 5
# Member calls slowed so that every account outlives its short session, whatever it calls: an
# account's slowest chain is several of these in a row (at 700 ms a faster scanner finished
# most accounts inside one session, and the refresh tests then tested nothing).
SLOW_MEMBER_CALLS = [{"kind": "latency", "service": s, "latency_ms": 1500}
                     for s in ("iam", "account", "cloudtrail")]

# Every service, every action: 8% throttled, 6% 5xx, 2% dropped connections, 5% slow.
FAULTS: dict[str, Any] = {"rules": [
    {"kind": "throttle", "probability": 0.08},
    {"kind": "error", "probability": 0.04, "status": 503, "code": "ServiceUnavailable"},
    {"kind": "error", "probability": 0.02, "status": 500, "code": "InternalFailure"},
    {"kind": "drop", "probability": 0.02},
    {"kind": "latency", "probability": 0.05, "latency_ms": 400, "jitter_ms": 200},
]}

# What a finding may turn into when a fault outlived every retry: a marked, non-passing state.
MARKED = {Status.ERROR.value, Status.NOT_ASSESSED.value}


@pytest.fixture(scope="module")
def fault_runs(tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[tuple[ScanResult, ScanResult, dict[str, Any], float]]:
    raw, _truth = generate(ACCOUNTS, SEED)
    with SimServer(raw, seed=SEED) as sim:
        clean = run_scan(sim, tmp_path_factory.mktemp("clean"), regions=REGIONS)
        sim.set_faults(FAULTS)
        sim.reset_counters()
        t0 = time.monotonic()
        faulty = run_scan(sim, tmp_path_factory.mktemp("faulty"), regions=REGIONS)
        wall = time.monotonic() - t0
        counters = sim.counters()
    yield clean, faulty, counters, wall


@pytest.mark.slow
def test_faults_were_really_injected(
        fault_runs: tuple[ScanResult, ScanResult, dict[str, Any], float]) -> None:
    _, faulty, counters, wall = fault_runs
    kinds = counters["faults"]
    for kind in ("throttle", "error", "drop", "latency"):
        assert kinds.get(kind, 0) >= 20, kinds
    # Faults hit every service the scan used, not just one.
    services = {key.split(":")[0] for key in counters["throttled"]}
    assert {"iam", "sts", "organizations", "cloudtrail", "account"} <= services, services
    print(f"\nfault suite: {ACCOUNTS + 1} accounts, {counters['requests']} requests, "
          f"faults {kinds}, wall {wall:.1f}s, coverage {faulty.coverage_counts()}")


@pytest.mark.slow
def test_every_account_is_accounted_for_under_faults(
        fault_runs: tuple[ScanResult, ScanResult, dict[str, Any], float]) -> None:
    clean, faulty, _, _ = fault_runs
    assert [r.account.id for r in faulty.accounts] == [r.account.id for r in clean.accounts]
    assert len(faulty.accounts) == ACCOUNTS + 1
    for r in faulty.accounts:
        if r.coverage is not Coverage.ASSESSED:
            assert r.reason, f"{r.account.id} not assessed without a reason"


@pytest.mark.slow
def test_faults_change_no_verdict_or_mark_it(
        fault_runs: tuple[ScanResult, ScanResult, dict[str, Any], float]) -> None:
    clean, faulty, _, _ = fault_runs
    want, got = verdicts(clean), verdicts(faulty)
    assert set(got) == set(want), "a finding appeared or disappeared under faults"
    changed = {k: (want[k], got[k]) for k in want if got[k] != want[k]}
    for (account, rule), (before, after) in changed.items():
        # Never a pass (or any other verdict) invented by a fault: only ERROR/NOT_ASSESSED.
        assert after in MARKED, f"{account} {rule}: {before} became {after} under faults"
    faulty_by_id = {r.account.id: r for r in faulty.accounts}
    for account, _rule in changed:
        r = faulty_by_id.get(account)
        if r is not None:  # account findings: the account says why
            errors = [f for f in r.findings if f.status.value in MARKED]
            assert r.reason or all(f.message for f in errors)
    # With 8 attempts per call, the faults above are ridden out nearly everywhere.
    assert len(changed) <= len(want) // 50, changed


@pytest.mark.slow
def test_root_usage_records_equal_under_faults(
        fault_runs: tuple[ScanResult, ScanResult, dict[str, Any], float]) -> None:
    clean, faulty, _, _ = fault_runs
    want, got = root_usage(clean), root_usage(faulty)
    assert set(got) == set(want)
    differing = [a for a in want if got[a] != want[a]]
    for account in differing:
        record = got[account]
        # A record that differs must say it is incomplete (an error or an incomplete source),
        # and the root-use rule must not pass on it.
        if not isinstance(record, FactError):
            assert any(not s["complete"] or s["error"] for s in record["sources"]), account
        statuses = {f.rule_id: f.status.value for f in faulty.findings
                    if f.account_id == account}
        assert statuses.get("root-account-used") != Status.PASS.value, account
    assert len(differing) <= 2, differing


# -- credentials that expire mid-scan ------------------------------------------------------

@pytest.mark.slow
def test_expired_credentials_are_refreshed(tmp_path: Path) -> None:
    # Short sessions, and member calls slowed so that each account outlives its first one;
    # the simulator refuses expired credentials (ExpiredToken).
    raw, _ = generate(10, 3)
    with SimServer(raw) as sim:
        clean = run_scan(sim, tmp_path / "clean")
        sim.set_faults({"assume_role_expiration_s": SESSION_S, "rules": SLOW_MEMBER_CALLS})
        sim.reset_counters()
        refreshed = run_scan(sim, tmp_path / "short")
        counters = sim.counters()

        # The simulator really refuses expired credentials: a client without refresh fails.
        issued = sim.issued_credentials()
        last = issued[-1]
        # The simulator judges expiry at the signing time, which SigV4 gives in whole seconds.
        time.sleep(max(0.0, last["expires"] - time.time()) + 1.5)
        iam = boto3.client("iam", endpoint_url=sim.endpoint, region_name="us-east-1",
                           aws_access_key_id=last["access_key_id"],
                           aws_secret_access_key=last["secret_access_key"],
                           aws_session_token=last["session_token"])
        with pytest.raises(ClientError) as info:
            iam.get_account_summary()
        assert info.value.response["Error"]["Code"] == "ExpiredToken"

    members = [r for r in clean.accounts
               if r.coverage is Coverage.ASSESSED and not r.account.is_management]
    assumed = counters["by_action"]["sts:AssumeRole"]
    # More AssumeRole calls than accounts: sessions were refreshed mid-account ...
    assert assumed >= len(members) + 5, (assumed, len(members))
    print(f"\ncredential refresh: {len(members)} member accounts, {assumed} AssumeRole calls")
    # ... and no call was ever signed with an expired session.
    assert not any(" 400" in k and "GetAlternateContact" not in k
                   for k in counters["errors"]), counters["errors"]
    expired = [e for e in counters["errors"] if "Expired" in e]
    assert not expired
    for r in refreshed.accounts:
        for name, fact in r.facts.items():
            assert not (isinstance(fact, FactError) and "Expired" in fact.code), (r.account.id,
                                                                                  name)
    assert refreshed.coverage_counts() == clean.coverage_counts()
    assert verdicts(refreshed) == verdicts(clean)


# -- a hung endpoint hits the per-account deadline ----------------------------------------

@pytest.mark.slow
def test_hung_endpoint_hits_the_account_deadline(tmp_path: Path) -> None:
    hung_call, hung_role = "333333333333", "444444444444"
    faults = {"rules": [
        {"kind": "hang", "service": "iam", "action": "GetAccountSummary", "account": hung_call,
         "hang_s": 120},
        {"kind": "hang", "service": "sts", "action": "AssumeRole", "account": hung_role,
         "hang_s": 120},
    ]}
    # Long enough for the other accounts on a machine loaded by parallel tests, far below the
    # hang: a scan that waited on it would take 120s.
    deadline = 15.0
    with SimServer("minimal", faults=faults) as sim:
        t0 = time.monotonic()
        # Two regions: the deadline under test is the hung call's, not a busy machine's.
        result = run_scan(sim, tmp_path, account_deadline_seconds=deadline,
                          regions=REGIONS)
        wall = time.monotonic() - t0
    assert wall < deadline + 45, f"the scan waited on a hung endpoint ({wall:.1f}s)"
    by_id = {r.account.id: r for r in result.accounts}
    call = by_id[hung_call]
    assert call.coverage is Coverage.PARTIAL
    assert f"deadline of {deadline:g}s exceeded" in call.reason
    summary = call.facts["iam.account_summary"]
    assert isinstance(summary, FactError) and summary.code == "DeadlineExceeded"
    # What was collected before the deadline is kept; what was not is never a pass.
    assert not isinstance(call.facts["iam.credential_report"], FactError)
    statuses = {f.rule_id: f.status for f in call.findings}
    for rule in ("root-mfa-enabled", "root-hardware-mfa"):
        assert statuses[rule] is Status.ERROR, (rule, statuses[rule])
    role = by_id[hung_role]
    assert role.coverage is Coverage.NOT_ASSESSED
    assert "exceeded assuming the role" in role.reason
    assert {f.status for f in role.findings} == {Status.NOT_ASSESSED}
    # The other accounts were not held up.
    others = [r for r in result.accounts if r.account.id not in (hung_call, hung_role)
              and r.account.status.value == "ACTIVE"]
    assert others
    assert Counter(r.coverage for r in others)[Coverage.ASSESSED] == len(others)
    assert not result.complete


@pytest.mark.slow
def test_expired_management_role_credentials_are_refreshed(tmp_path: Path) -> None:
    """With ``aws.management_role_arn`` the organization-level credentials are an assumed role
    too: they expire and are refreshed as well, and member sessions refreshed later are
    requested with the refreshed management session."""
    raw, _ = generate(10, 3)
    with SimServer(raw) as sim:
        mgmt = sim.management_account_id
        arn = f"arn:aws:iam::{mgmt}:role/OrgscanManagement"
        clean = run_scan(sim, tmp_path / "clean", aws={"management_role_arn": arn})
        sim.set_faults({"assume_role_expiration_s": SESSION_S, "rules": SLOW_MEMBER_CALLS})
        sim.reset_counters()
        issued_before = len(sim.issued_credentials())
        refreshed = run_scan(sim, tmp_path / "short", aws={"management_role_arn": arn})
        counters = sim.counters()
        issued = sim.issued_credentials()[issued_before:]
    assert not [e for e in counters["errors"] if "Expired" in e], counters["errors"]
    assert sum(1 for c in issued if c["account"] == mgmt) >= 2  # the management role, again
    assert len(issued) >= len(clean.accounts) + 5
    assert verdicts(refreshed) == verdicts(clean)


def test_one_accounts_tags_failing_is_data(tmp_path: Path) -> None:
    """Tags are read beside the fan-out; one account's ListTagsForResource refused does not
    stop the scan: that account is PARTIAL with the reason, every account is reported."""
    import json

    from .conftest import cli

    deny_once = {"rules": [{"kind": "access_denied", "service": "organizations",
                            "action": "ListTagsForResource", "count": 1}]}
    with SimServer("minimal", faults=deny_once) as sim:
        proc = cli(["scan", "--out", str(tmp_path), "--quiet", "--no-bundle",
                    "--region", "us-east-1"], sim.env)
        _, stderr = proc.communicate(timeout=120)
        total = len(sim.scenario["accounts"])
    assert proc.returncode == 3, stderr
    assert "Traceback" not in stderr and "never retrieved" not in stderr
    coverage = json.loads((tmp_path / "coverage.json").read_text(encoding="utf-8"))
    assert len(coverage["accounts"]) == total
    tagless = [a for a in coverage["accounts"] if "tags" in a["reason"]]
    assert len(tagless) == 1, tagless
    # The refused call lands on whichever account's tags are read first: an assessable account
    # is PARTIAL; one that cannot be assessed anyway (no audit role, suspended) stays
    # NOT_ASSESSED, its reason naming the tags too.
    cannot = {a["id"] for a in sim.scenario["accounts"]
              if a.get("role_missing") or a.get("status") == "SUSPENDED"}
    want = "not_assessed" if tagless[0]["account_id"] in cannot else "partial"
    assert tagless[0]["coverage"] == want, tagless

"""IAM facts against the simulator, through orgscan's AWS layer (signed per account scope)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from scanner.aws.collectors import COLLECTORS
from scanner.aws.collectors.base import closure
from scanner.core.engine import evaluate_account
from scanner.core.models import FactError, Status
from scanner.core.rootcreds import ROOT_USER
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from tests.aws.collectors.conftest import APP, HW, MGMT, SEC, TOOLS, boto, hand_org, scanning
from tests.conftest import use_simulator

pytestmark = pytest.mark.usefixtures("aws_env")

FAST = {"credential_report": {"initial_delay": 0.05, "max_delay": 0.2, "timeout": 10}}


@pytest.fixture(scope="module")
def tools_users(sim: SimServer) -> None:
    iam = boto(sim, TOOLS, "iam")
    iam.create_user(UserName="alice")
    iam.create_login_profile(UserName="alice", Password="A-long-passw0rd!")
    iam.create_access_key(UserName="alice")
    iam.create_user(UserName="bob")


async def test_credential_report_rows(sim: SimServer, tools_users: None) -> None:
    async with scanning(sim, TOOLS, options=FAST) as scan:
        rows = await scan.ok("iam.credential_report")
        calls = scan.calls(TOOLS)
    users = {r["user"]: r for r in rows}
    alice, bob = users["alice"], users["bob"]
    assert alice["arn"] == f"arn:aws:iam::{TOOLS}:user/alice"
    assert alice["password_enabled"] is True
    assert alice["access_key_1_active"] is True
    assert alice["access_key_2_active"] is False
    assert alice["access_key_2_last_rotated"] is None
    assert alice["raw"]["password_enabled"] == "true"
    assert bob["password_enabled"] is False
    assert bob["password_last_used"] is None and bob["raw"]["password_last_used"] == "not_supported"
    for r in rows:
        assert datetime.fromisoformat(r["report_generated_time"]).tzinfo is not None
        assert isinstance(r["raw"], dict)
    # The other accounts' users never leak in: the calls signed as TOOLS.
    assert all(f":{TOOLS}:" in (r["arn"] or f":{TOOLS}:") for r in rows)
    assert calls["iam:GenerateCredentialReport"] >= 1
    assert calls["iam:GetCredentialReport"] >= 1


async def test_credential_report_waits_while_in_progress(sim: SimServer) -> None:
    sim.set_faults({"rules": [{"kind": "error", "service": "iam",
                               "action": "GetCredentialReport", "account": SEC, "count": 3,
                               "status": 404, "code": "ReportInProgress"}]})
    async with scanning(sim, SEC, options=FAST) as scan:
        rows = await scan.ok("iam.credential_report")
        calls = scan.calls(SEC)
    assert isinstance(rows, list)
    assert calls["iam:GetCredentialReport"] == 4


async def test_credential_report_regenerates_when_expired(sim: SimServer) -> None:
    sim.set_faults({"rules": [{"kind": "error", "service": "iam",
                               "action": "GetCredentialReport", "account": SEC, "count": 1,
                               "status": 410, "code": "ReportExpired"}]})
    async with scanning(sim, SEC, options=FAST) as scan:
        await scan.ok("iam.credential_report")
        calls = scan.calls(SEC)
    assert calls["iam:GenerateCredentialReport"] == 2
    assert calls["iam:GetCredentialReport"] == 2


async def test_credential_report_deadline_is_a_fact_error(sim: SimServer) -> None:
    sim.set_faults({"rules": [{"kind": "error", "service": "iam",
                               "action": "GetCredentialReport", "account": SEC,
                               "status": 404, "code": "ReportInProgress"}]})
    opts = {"credential_report": {"initial_delay": 0.05, "max_delay": 0.1, "timeout": 0.5}}
    async with scanning(sim, SEC, options=opts) as scan:
        value = await scan.get("iam.credential_report")
        # root.mfa builds on it: the failure becomes root.mfa's too, never a pass.
        derived = await scan.get("root.mfa")
    assert isinstance(value, FactError) and value.code == "CredentialReportNotReady"
    assert isinstance(derived, FactError) and derived.code == "CredentialReportNotReady"


# The report's lifecycle as the simulator models it (no injected errors): the collector must
# find its way from each state to a report, or to a FactError.

async def test_expired_report_is_generated_again(sim: SimServer) -> None:
    async with scanning(sim, HW, options=FAST) as scan:
        await scan.ok("iam.credential_report")
    sim.set_credential_report(HW, 4 * 3600 + 1)  # GetCredentialReport: ReportExpired
    sim.reset_counters()
    async with scanning(sim, HW, options=FAST) as scan:
        rows = await scan.ok("iam.credential_report")
    by_action = sim.counters()["by_action"]
    generated = datetime.fromisoformat(str(rows[0]["report_generated_time"]))
    assert abs(generated - datetime.now(UTC)) < timedelta(minutes=1)  # a new report
    assert by_action["iam:GenerateCredentialReport"] == 1  # it answered STARTED
    assert by_action["iam:GetCredentialReport"] >= 1


async def test_report_just_inside_four_hours_is_used(sim: SimServer) -> None:
    sim.set_credential_report(HW, 4 * 3600 - 120)
    async with scanning(sim, HW, options=FAST) as scan:
        rows = await scan.ok("iam.credential_report")
    generated = datetime.fromisoformat(str(rows[0]["report_generated_time"]))
    assert timedelta(hours=3, minutes=57) < datetime.now(UTC) - generated < timedelta(hours=4)


async def test_absent_report_is_generated_and_polled_while_in_progress(sim: SimServer) -> None:
    sim.set_credential_report(HW, None)  # ReportNotPresent
    sim.set_faults({"credential_report_delay_s": 1.0})
    sim.reset_counters()
    async with scanning(sim, HW, options=FAST) as scan:
        rows = await scan.ok("iam.credential_report")
    by_action = sim.counters()["by_action"]
    assert any(r["user"] == ROOT_USER for r in rows)
    # STARTED, then ReportInProgress until the second has passed (backoff 0.05 s .. 0.2 s).
    assert by_action["iam:GenerateCredentialReport"] == 1
    assert by_action["iam:GetCredentialReport"] >= 3
    assert sim.counters()["errors"].get("iam:GetCredentialReport 404", 0) >= 2


async def test_report_never_ready_is_an_error_verdict(sim: SimServer) -> None:
    sim.set_credential_report(HW, None)
    sim.set_faults({"credential_report_delay_s": 60.0})
    opts = {"credential_report": {"initial_delay": 0.05, "max_delay": 0.1, "timeout": 0.5}}
    org = hand_org(sim)
    async with scanning(sim, HW, options=opts, org=org) as scan:
        facts = {name: await scan.get(name) for name in
                 ("iam.credential_report", "iam.account_summary", "root.mfa")}
    report = facts["iam.credential_report"]
    assert isinstance(report, FactError) and report.code == "CredentialReportNotReady"
    rules = [r for r in load_rules() if r.facts <= set(facts) | {"scan.account"}
             and "iam.credential_report" in closure(set(r.facts), COLLECTORS)]
    assert rules
    findings = evaluate_account(rules, facts, org.account(HW), datetime.now(UTC))
    assert {f.status for f in findings} == {Status.ERROR}, [(f.rule_id, f.status)
                                                             for f in findings]
    sim.set_faults({})
    sim.set_credential_report(HW, None)


async def test_access_denied_is_a_fact_error(sim: SimServer) -> None:
    sim.set_faults({"rules": [{"kind": "access_denied", "service": "iam",
                               "action": "GetAccountSummary", "account": SEC}]})
    async with scanning(sim, SEC) as scan:
        value = await scan.get("iam.account_summary")
    assert isinstance(value, FactError) and value.code == "AccessDenied"


async def test_account_summary(sim: SimServer) -> None:
    async with scanning(sim, TOOLS) as scan:
        summary = await scan.ok("iam.account_summary")
    assert isinstance(summary["AccountMFAEnabled"], int)
    assert isinstance(summary["Users"], int)


async def test_virtual_mfa_devices(sim: SimServer, tools_users: None) -> None:
    iam = boto(sim, TOOLS, "iam")
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-phone")[
        "VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(UserName="alice", SerialNumber=serial,
                          AuthenticationCode1="123456", AuthenticationCode2="654321")
    spare = iam.create_virtual_mfa_device(VirtualMFADeviceName="spare")[
        "VirtualMFADevice"]["SerialNumber"]
    async with scanning(sim, TOOLS) as scan:
        devices = {d["serial_number"]: d for d in await scan.ok("iam.virtual_mfa_devices")}
    assert devices[serial]["user_arn"] == f"arn:aws:iam::{TOOLS}:user/alice"
    assert devices[serial]["is_root"] is False
    assert datetime.fromisoformat(devices[serial]["enable_date"]).tzinfo is not None
    assert devices[spare] == {"serial_number": spare, "user_arn": None, "enable_date": None,
                              "is_root": False}


async def test_password_policy_absent_and_present(sim: SimServer) -> None:
    async with scanning(sim, SEC) as scan:
        absent = await scan.ok("iam.password_policy")
    assert absent["present"] is False
    assert absent["minimum_password_length"] is None and absent["hard_expiry"] is None
    boto(sim, HW, "iam").update_account_password_policy(
        MinimumPasswordLength=14, RequireSymbols=True, PasswordReusePrevention=24,
        MaxPasswordAge=90)
    async with scanning(sim, HW) as scan:
        present = await scan.ok("iam.password_policy")
    assert present["present"] is True
    assert present["minimum_password_length"] == 14
    assert present["require_symbols"] is True
    assert present["password_reuse_prevention"] == 24
    assert present["max_password_age"] == 90
    assert present["expire_passwords"] is True
    assert set(present) == set(absent)


async def test_root_mfa_is_derived_without_extra_calls(sim: SimServer) -> None:
    async with scanning(sim, TOOLS, options=FAST) as scan:
        mfa = await scan.ok("root.mfa")
        calls = scan.calls(TOOLS)
    assert set(mfa) == {"password_present", "active_access_keys", "credentials_present",
                        "mfa_active", "mfa_kind", "virtual_device_serial"}
    assert set(calls) <= {"iam:GenerateCredentialReport", "iam:GetCredentialReport",
                          "iam:GetAccountSummary", "iam:ListVirtualMFADevices"}


async def test_organizations_features(sim: SimServer) -> None:
    async with scanning(sim, MGMT, scope="organization") as scan:
        value = await scan.ok("iam.organizations_features")
    assert value == {"organization_id": sim.organization_id,
                     "enabled_features": ["RootCredentialsManagement"],
                     "root_credentials_management": True, "root_sessions": False}


@pytest.fixture(scope="module")
def features_off() -> Iterator[SimServer]:
    """An organization with neither centralized-root feature on: IAM has no trusted access."""
    with SimServer({"name": "features-off", "organization": {
            "management_account": {"id": MGMT, "name": "management"},
            "features": {"root_credentials_management": False, "root_sessions": False}}}) as s:
        yield s


OFF: dict[str, object] = {"organization_id": None, "enabled_features": [],
       "root_credentials_management": False, "root_sessions": False}


@pytest.mark.parametrize("spelling", ["exception", "reference"])
async def test_features_off_is_data_in_either_spelling(
        features_off: SimServer, spelling: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # The SDK model says ServiceAccessNotEnabledException, the API reference
    # ServiceAccessNotEnabled: either means "no feature is on", a FAIL, never an ERROR.
    use_simulator(features_off, monkeypatch)
    features_off.set_faults({"features_error_codes": spelling})
    features_off.reset_counters()
    try:
        async with scanning(features_off, MGMT, scope="organization") as scan:
            value = await scan.ok("iam.organizations_features")
            calls = features_off.counters()["errors"]
    finally:
        features_off.set_faults({})
    assert value == OFF | {"organization_id": features_off.organization_id}
    assert calls == {"iam:ListOrganizationsFeatures 400": 1}


@pytest.mark.parametrize("code", ["OrganizationNotInAllFeaturesModeException",
                                  "OrganizationNotInAllFeaturesMode"])
async def test_not_all_features_mode_is_data_in_either_spelling(sim: SimServer,
                                                                code: str) -> None:
    # The simulated organization always has all features; the refusal is injected.
    sim.set_faults({"rules": [{"kind": "error", "service": "iam",
                               "action": "ListOrganizationsFeatures", "status": 400,
                               "code": code}]})
    async with scanning(sim, MGMT, scope="organization") as scan:
        value = await scan.ok("iam.organizations_features")
    assert value == OFF | {"organization_id": sim.organization_id}


# Root state comes from the scenario through the simulator's extensions (moto alone has no
# root row, no root MFA, no root keys).
def _root_row(rows: list[dict[str, object]]) -> dict[str, object]:
    (row,) = [r for r in rows if r["user"] == ROOT_USER]
    return row


async def test_root_with_virtual_mfa_and_key(sim: SimServer) -> None:
    async with scanning(sim, APP, options=FAST) as scan:
        row = _root_row(await scan.ok("iam.credential_report"))
        mfa = await scan.ok("root.mfa")
        devices = await scan.ok("iam.virtual_mfa_devices")
        usage = await scan.ok("root.usage")
    assert row["access_key_1_active"] is True and row["access_key_2_active"] is False
    assert mfa["password_present"] is True
    assert mfa["active_access_keys"] == 1
    assert mfa["credentials_present"] is True
    assert mfa["mfa_active"] is True and mfa["mfa_kind"] == "virtual"
    root_devices = [d for d in devices if d["is_root"]]
    assert [d["user_arn"] for d in root_devices] == [f"arn:aws:iam::{APP}:root"]
    assert mfa["virtual_device_serial"] == root_devices[0]["serial_number"]
    # The root-usage record reports the same credential state (one derivation).
    for key in ("active_access_keys", "credentials_present", "mfa_active", "mfa_kind"):
        assert usage[key] == mfa[key], key
    assert [k["key"] for k in usage["access_keys"] if k["active"]] == [1]


async def test_root_with_hardware_mfa(sim: SimServer) -> None:
    async with scanning(sim, HW, options=FAST) as scan:
        assert _root_row(await scan.ok("iam.credential_report"))["mfa_active"] is True
        mfa = await scan.ok("root.mfa")
    assert mfa["mfa_active"] is True and mfa["mfa_kind"] == "hardware"
    assert mfa["active_access_keys"] == 0
    assert mfa["credentials_present"] is True


async def test_root_credentials_centrally_removed(sim: SimServer) -> None:
    async with scanning(sim, SEC, options=FAST) as scan:
        row = _root_row(await scan.ok("iam.credential_report"))
        mfa = await scan.ok("root.mfa")
        usage = await scan.ok("root.usage")
    assert row["access_key_1_active"] is False and row["access_key_2_active"] is False
    assert mfa["password_present"] is False
    assert mfa["active_access_keys"] == 0
    assert mfa["credentials_present"] is False
    assert mfa["mfa_active"] is False and mfa["mfa_kind"] == "none"
    assert usage["credentials_present"] is False

"""IAM facts against the simulator, through orgscan's AWS layer (signed per account scope)."""

from __future__ import annotations

from datetime import datetime

import pytest

from scanner.core.models import FactError
from scanner.core.rootcreds import ROOT_USER
from scanner.sim import SimServer
from tests.aws.collectors.conftest import APP, HW, MGMT, SEC, TOOLS, boto, scanning

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

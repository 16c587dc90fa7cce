"""Root state through IAM: credential report, account summary, virtual MFA devices."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.error import HTTPError

import pytest
from botocore.exceptions import ClientError

from scanner.sim import SimServer
from tests.sim.conftest import assume

AWS_COLUMNS = [
    "user", "arn", "user_creation_time", "password_enabled", "password_last_used",
    "password_last_changed", "password_next_rotation", "mfa_active",
    "access_key_1_active", "access_key_1_last_rotated", "access_key_1_last_used_date",
    "access_key_1_last_used_region", "access_key_1_last_used_service",
    "access_key_2_active", "access_key_2_last_rotated", "access_key_2_last_used_date",
    "access_key_2_last_used_region", "access_key_2_last_used_service",
    "cert_1_active", "cert_1_last_rotated", "cert_2_active", "cert_2_last_rotated",
]


def _report(iam: object) -> tuple[list[dict[str, str]], datetime]:
    deadline = time.monotonic() + 10
    while True:
        state = iam.generate_credential_report()["State"]  # type: ignore[attr-defined]
        if state == "COMPLETE":
            break
        assert time.monotonic() < deadline
        time.sleep(0.1)
    got = iam.get_credential_report()  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(got["Content"].decode())))
    return rows, got["GeneratedTime"]


def test_report_state_machine_and_root_row(sim: SimServer) -> None:
    iam = assume(sim, "333333333333", "iam")
    with pytest.raises(ClientError) as info:
        iam.get_credential_report()
    assert info.value.response["Error"]["Code"] == "ReportNotPresent"
    assert iam.generate_credential_report()["State"] == "STARTED"
    with pytest.raises(ClientError) as info:
        iam.get_credential_report()
    assert info.value.response["Error"]["Code"] == "ReportInProgress"
    iam.create_user(UserName="alice")
    rows, generated = _report(iam)
    assert abs(generated - datetime.now(UTC)) < timedelta(minutes=1)
    header = iam.get_credential_report()["Content"].decode().splitlines()[0].split(",")
    assert header == AWS_COLUMNS
    root = rows[0]
    assert root["user"] == "<root_account>"
    assert root["arn"] == "arn:aws:iam::333333333333:root"
    assert root["password_enabled"] == "not_supported"
    assert root["password_next_rotation"] == "not_supported"
    assert root["mfa_active"] == "true"
    assert root["access_key_1_active"] == "true"
    assert root["access_key_1_last_used_service"] == "s3"
    assert root["access_key_2_active"] == "false"
    assert root["access_key_2_last_rotated"] == "N/A"
    used = datetime.fromisoformat(root["password_last_used"])
    assert timedelta(days=2) < sim.now - used < timedelta(days=4)
    assert [r["user"] for r in rows[1:]] == ["alice"]


def test_centrally_removed_root(sim: SimServer) -> None:
    iam = assume(sim, "222222222222", "iam")
    rows, _ = _report(iam)
    root = rows[0]
    assert root["mfa_active"] == "false"
    assert root["access_key_1_active"] == "false"
    assert root["password_last_used"] == "N/A"
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountPasswordPresent"] == 0
    assert summary["AccountMFAEnabled"] == 0
    assert summary["AccountAccessKeysPresent"] == 0


def test_account_summary_and_virtual_mfa(sim: SimServer) -> None:
    iam = assume(sim, "333333333333", "iam")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["AccountMFAEnabled"] == 1
    assert summary["AccountAccessKeysPresent"] == 1
    assert summary["AccountSigningCertificatesPresent"] == 0
    assert summary["AccountPasswordPresent"] == 1
    assert "Users" in summary
    devices = iam.list_virtual_mfa_devices()["VirtualMFADevices"]
    root = [d for d in devices if d.get("User", {}).get("Arn", "").endswith(":root")]
    assert root[0]["SerialNumber"] == "arn:aws:iam::333333333333:mfa/root-account-mfa-device"
    assert root[0]["User"]["UserId"] == "333333333333"
    paged = iam.get_paginator("list_virtual_mfa_devices").paginate(AssignmentStatus="Assigned")
    assert sum(len(p["VirtualMFADevices"]) for p in paged) == 1


def test_organizations_features(sim: SimServer) -> None:
    from tests.sim.conftest import client

    got = client(sim, "iam").list_organizations_features()
    assert got["OrganizationId"] == sim.organization_id
    assert set(got["EnabledFeatures"]) == {"RootCredentialsManagement", "RootSessions"}
    with pytest.raises(ClientError) as info:
        assume(sim, "333333333333", "iam").list_organizations_features()
    assert info.value.response["Error"]["Code"] == (
        "AccountNotManagementOrDelegatedAdministratorException"
    )


def _code(call: Any) -> str:
    with pytest.raises(ClientError) as info:
        call()
    return str(info.value.response["Error"]["Code"])


def test_report_expires_after_four_hours_and_is_generated_again(sim: SimServer) -> None:
    from tests.sim.conftest import client

    account = sim.management_account_id
    iam = client(sim, "iam")
    _, first = _report(iam)
    # Just under four hours old: still served, and Generate hands back the same one.
    sim.set_credential_report(account, 4 * 3600 - 60)
    assert iam.generate_credential_report()["State"] == "COMPLETE"
    aged = iam.get_credential_report()["GeneratedTime"]
    assert timedelta(hours=3, minutes=58) < datetime.now(UTC) - aged < timedelta(hours=4)
    # Four hours old: expired until a new one is generated.
    sim.set_credential_report(account, 4 * 3600 + 1)
    assert _code(iam.get_credential_report) == "ReportExpired"
    assert _code(iam.get_credential_report) == "ReportExpired"  # Get alone never renews it
    assert iam.generate_credential_report()["State"] == "STARTED"
    assert iam.generate_credential_report()["State"] == "INPROGRESS"
    assert _code(iam.get_credential_report) == "ReportInProgress"
    _, fresh = _report(iam)
    assert abs(fresh - datetime.now(UTC)) < timedelta(minutes=1) and fresh >= first


def test_report_can_be_made_absent(sim: SimServer) -> None:
    from tests.sim.conftest import client

    account = sim.management_account_id
    iam = client(sim, "iam")
    _report(iam)
    sim.set_credential_report(account, None)
    assert _code(iam.get_credential_report) == "ReportNotPresent"
    assert iam.generate_credential_report()["State"] == "STARTED"
    rows, _ = _report(iam)
    assert rows[0]["user"] == "<root_account>"


def test_organizations_features_error_spelling(sim: SimServer) -> None:
    # Only the spelling of the refusals changes; an organization with features on still
    # answers them, and members still get their own refusal.
    from tests.sim.conftest import client

    sim.set_faults({"features_error_codes": "reference"})
    try:
        got = client(sim, "iam").list_organizations_features()
        assert set(got["EnabledFeatures"]) == {"RootCredentialsManagement", "RootSessions"}
    finally:
        sim.set_faults({})
    with pytest.raises(HTTPError) as info:
        sim.set_faults({"features_error_codes": "shouting"})
    assert info.value.code == 400

"""Facts derived from other facts or from the walk, decided without AWS (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.aws.collectors.cloudtrail import management_selection
from scanner.aws.collectors.iam import derive_root_mfa
from scanner.aws.collectors.monitoring import chain_complete
from scanner.aws.collectors.normalize import ROOT_USER

ROOT_ARN = "arn:aws:iam::123456789012:root"


def row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"user": ROOT_USER, "password_enabled": False, "mfa_active": False,
                            "access_key_1_active": False, "access_key_2_active": False}
    return base | kw


def vdev(is_root: bool) -> dict[str, Any]:
    return {"serial_number": "arn:aws:iam::123456789012:mfa/root-account-mfa-device",
            "user_arn": ROOT_ARN if is_root else None, "enable_date": None, "is_root": is_root}


def test_root_password_virtual_mfa_and_key() -> None:
    out = derive_root_mfa([row(password_enabled=True, mfa_active=True, access_key_2_active=True)],
                          {}, [vdev(True)])
    assert out == {"password_present": True, "active_access_keys": 1, "credentials_present": True,
                   "mfa_active": True, "mfa_kind": "virtual",
                   "virtual_device_serial": "arn:aws:iam::123456789012:mfa/root-account-mfa-device"}


def test_hardware_when_mfa_active_and_no_root_virtual_device() -> None:
    out = derive_root_mfa([row(password_enabled=True, mfa_active=True)], {}, [vdev(False)])
    assert out["mfa_kind"] == "hardware"
    assert out["virtual_device_serial"] is None


def test_not_supported_password_resolved_by_summary() -> None:
    rows = [row(password_enabled=None)]
    assert derive_root_mfa(rows, {"AccountPasswordPresent": 1}, [])["password_present"] is True
    out = derive_root_mfa(rows, {"AccountPasswordPresent": 0}, [])
    assert out["password_present"] is False
    assert out["credentials_present"] is False  # no password, no active key
    assert out["mfa_kind"] == "none"
    unknown = derive_root_mfa(rows, {}, [])
    assert unknown["password_present"] is None
    assert unknown["credentials_present"] is None  # unknown, never false


def test_keys_only_root_without_mfa() -> None:
    out = derive_root_mfa([row(access_key_1_active=True, access_key_2_active=True)], {}, [])
    assert out["active_access_keys"] == 2
    assert out["credentials_present"] is True
    assert out["mfa_active"] is False and out["mfa_kind"] == "none"


def test_inactive_key_alone_is_no_credential() -> None:
    out = derive_root_mfa([row()], {"AccountAccessKeysPresent": 1}, [])
    assert out["active_access_keys"] == 0
    assert out["credentials_present"] is False


def test_no_root_row_falls_back_to_summary() -> None:
    user = {"user": "alice", "password_enabled": True, "mfa_active": True}
    out = derive_root_mfa([user], {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}, [])
    assert out["mfa_active"] is True and out["mfa_kind"] == "hardware"
    assert out["active_access_keys"] == 0
    assert out["password_present"] is None
    assert out["credentials_present"] is None
    nothing = derive_root_mfa([], {}, [])
    assert nothing["mfa_active"] is None and nothing["mfa_kind"] is None
    assert nothing["active_access_keys"] is None


def test_one_key_unknown() -> None:
    out = derive_root_mfa([row(access_key_1_active=True, access_key_2_active=None)], {}, [])
    assert out["active_access_keys"] is None
    assert out["credentials_present"] is True


@pytest.mark.parametrize(("selectors", "expected"), [
    ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": True}]},
     (True, "All")),
    ({"EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]},
     (True, "WriteOnly")),
    ({"EventSelectors": [{"ReadWriteType": "ReadOnly", "IncludeManagementEvents": True},
                         {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True}]},
     (True, "All")),
    ({"EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": False,
                          "DataResources": [{"Type": "AWS::S3::Object",
                                             "Values": ["arn:aws:s3"]}]}]},
     (False, None)),
    ({"AdvancedEventSelectors": [{"Name": "mgmt", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]}]}]}, (True, "All")),
    ({"AdvancedEventSelectors": [{"Name": "ro", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Management"]},
        {"Field": "readOnly", "Equals": ["true"]}]}]}, (True, "ReadOnly")),
    ({"AdvancedEventSelectors": [{"Name": "data", "FieldSelectors": [
        {"Field": "eventCategory", "Equals": ["Data"]},
        {"Field": "resources.type", "Equals": ["AWS::S3::Object"]}]}]}, (False, None)),
    ({}, (False, None)),
])
def test_management_selection(selectors: dict[str, Any],
                              expected: tuple[bool, str | None]) -> None:
    assert management_selection(selectors) == expected


def entry(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"trail_is_multi_region": True, "trail_is_logging": True,
                            "pattern_is_cis_root_usage": True,
                            "alarms": [{"subscriptions": 1, "confirmed_subscriptions": 1}]}
    return base | kw


def test_chain_complete() -> None:
    assert chain_complete(entry()) is True
    assert chain_complete(entry(trail_is_multi_region=False)) is False
    assert chain_complete(entry(pattern_is_cis_root_usage=False)) is False
    assert chain_complete(entry(alarms=[])) is False
    assert chain_complete(entry(alarms=[{"confirmed_subscriptions": 0}])) is False
    # Only pending subscriptions: nobody is notified.
    pending = [{"subscriptions": 1, "confirmed_subscriptions": 0}]
    assert chain_complete(entry(alarms=pending)) is False
    assert chain_complete(entry(alarms=[{"confirmed_subscriptions": None}])) is None
    assert chain_complete(entry(alarms=[{"confirmed_subscriptions": None},
                                        {"confirmed_subscriptions": 2}])) is True
    assert chain_complete(entry(trail_is_logging=None)) is None
    # A known missing link decides even when another is unknown.
    assert chain_complete(entry(trail_is_logging=None, alarms=[])) is False

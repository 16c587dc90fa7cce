"""Facts derived from other facts or from the walk, decided without AWS (pure functions)."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.aws.collectors.cloudtrail import management_selection
from scanner.aws.collectors.monitoring import chain_complete
from scanner.core.rootcreds import ROOT_USER, derive_root_credentials, root_row


def row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"user": ROOT_USER, "password_enabled": False, "mfa_active": False,
                            "access_key_1_active": False, "access_key_2_active": False}
    return base | kw


# The derivation itself is tested in tests/core/test_rootcreds.py; this is the collector's entry.
def test_root_mfa_fact_from_report_rows() -> None:
    user = {"user": "alice", "password_enabled": True, "access_key_1_active": True}
    out = _root_mfa([user, row(access_key_1_active=True, access_key_2_active=None)],
                          {"AccountPasswordPresent": 0}, [])
    # Key 2 unknown with key 1 active: at least one active key, as root.usage reports.
    assert out == {"password_present": False, "active_access_keys": 1,
                   "credentials_present": True, "mfa_active": False, "mfa_kind": "none",
                   "virtual_device_serial": None}


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


def _root_mfa(rows: list[Any], summary: dict[str, Any], devices: list[Any]) -> dict[str, Any]:
    """The ``root.mfa`` fact as the IAM collector derives it."""
    return derive_root_credentials(root_row(rows), summary, devices).to_json()

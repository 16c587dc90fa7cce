"""Root credential state, derived once for root.mfa and root.usage (docs/semantics.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.core.rootcreds import (
    ROOT_USER,
    RootCredentials,
    derive_root_credentials,
    report_uses,
    root_keys,
    root_row,
)
from scanner.core.rootusage import SourceCoverage, Window, build_root_usage

ACCT = "123456789012"
NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WIN = Window.ending(NOW, 90)
SERIAL = f"arn:aws:iam::{ACCT}:mfa/root-account-mfa-device"


def row(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"user": ROOT_USER, "password_enabled": False, "mfa_active": False,
                            "access_key_1_active": False, "access_key_2_active": False}
    return base | kw


def vdev(is_root: bool) -> dict[str, Any]:
    return {"serial_number": SERIAL, "user_arn": f"arn:aws:iam::{ACCT}:root" if is_root else None,
            "enable_date": None, "is_root": is_root}


def usage(cr: dict[str, Any], root_mfa: dict[str, Any] | None) -> dict[str, Any]:
    cov = SourceCoverage("event_history", WIN.start.isoformat(), WIN.end.isoformat(), True)
    return build_root_usage(ACCT, WIN, [], [cov], credential_row=cr, root_mfa=root_mfa).to_json()


def test_one_key_active_other_unknown_is_at_least_one_everywhere() -> None:
    """Key 1 active, key 2 unknown: root has an active key, so the count is at least 1 (a
    lower bound, like a root-usage count). root.mfa used to say unknown while root.usage said
    1; now both say 1, with or without the root.mfa fact."""
    cr = row(password_enabled=None, access_key_1_active=True, access_key_2_active=None)
    mfa = derive_root_credentials(cr, {"AccountPasswordPresent": 0}, []).to_json()
    assert mfa["active_access_keys"] == 1
    assert mfa["credentials_present"] is True
    for record in (usage(cr, mfa), usage(cr, None)):
        assert record["active_access_keys"] == 1
        assert record["credentials_present"] is True


def test_usage_record_repeats_the_root_mfa_fact() -> None:
    cr = row(password_enabled=None, mfa_active=True, access_key_1_active=None,
             access_key_2_active=None)
    summary = {"AccountPasswordPresent": 1, "AccountAccessKeysPresent": 0}
    mfa = derive_root_credentials(cr, summary, [vdev(True)]).to_json()
    record = usage(cr, mfa)
    for key in ("active_access_keys", "credentials_present", "mfa_active", "mfa_kind"):
        assert record[key] == mfa[key], key
    assert record["active_access_keys"] == 0  # the summary's "no key", not the silent row
    assert record["mfa_kind"] == "virtual"


def test_password_virtual_mfa_and_key() -> None:
    out = derive_root_credentials(
        row(password_enabled=True, mfa_active=True, access_key_2_active=True), {},
        [vdev(True)])
    assert out.to_json() == {"password_present": True, "active_access_keys": 1,
                             "credentials_present": True, "mfa_active": True,
                             "mfa_kind": "virtual", "virtual_device_serial": SERIAL}


def test_hardware_needs_the_device_list() -> None:
    cr = row(password_enabled=True, mfa_active=True)
    assert derive_root_credentials(cr, {}, [vdev(False)]).mfa_kind == "hardware"
    # Devices not read: active MFA of an unknown kind, never a guess.
    assert derive_root_credentials(cr).mfa_kind is None
    assert derive_root_credentials(row()).mfa_kind == "none"


def test_silent_password_resolved_by_summary() -> None:
    cr = row(password_enabled=None)
    assert derive_root_credentials(cr, {"AccountPasswordPresent": 1}).password_present is True
    absent = derive_root_credentials(cr, {"AccountPasswordPresent": 0}, [])
    assert absent.password_present is False and absent.credentials_present is False
    unknown = derive_root_credentials(cr, {}, [])
    assert unknown.password_present is None
    assert unknown.credentials_present is None  # unknown, never false


@pytest.mark.parametrize(("k1", "k2", "summary", "expected"), [
    (True, True, {}, 2),
    (False, False, {"AccountAccessKeysPresent": 1}, 0),  # an inactive key is no credential
    (True, None, {}, 1),
    (None, True, {"AccountAccessKeysPresent": 0}, 1),  # the row decides first
    (False, None, {}, None),
    (False, None, {"AccountAccessKeysPresent": 0}, 0),
    (None, None, {"AccountAccessKeysPresent": 1}, None),
])
def test_active_access_keys(k1: bool | None, k2: bool | None, summary: dict[str, int],
                            expected: int | None) -> None:
    cr = row(access_key_1_active=k1, access_key_2_active=k2)
    assert derive_root_credentials(cr, summary, []).active_access_keys == expected


def test_no_root_row_falls_back_to_summary() -> None:
    out = derive_root_credentials(None, {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0},
                                  [])
    assert out.mfa_active is True and out.mfa_kind == "hardware"
    assert out.active_access_keys == 0
    assert out.password_present is None and out.credentials_present is None
    nothing = derive_root_credentials(None)
    assert nothing == RootCredentials(None, None, None, None, None, None)


def test_odd_inputs_are_unknown() -> None:
    out = derive_root_credentials(row(mfa_active="yes", access_key_1_active="TRUE"),
                                  {"AccountMFAEnabled": "1"}, ["not a device"])
    assert out.mfa_active is None and out.mfa_kind is None
    fact = RootCredentials.from_fact({"active_access_keys": True, "mfa_kind": "sms",
                                      "credentials_present": "no"})
    assert fact == RootCredentials(None, None, None, None, None, None)


def test_centrally_removed() -> None:
    removed = derive_root_credentials(row(), {}, [])
    assert removed.centrally_removed({"root_credentials_management": True}) is True
    assert removed.centrally_removed({"root_credentials_management": False}) is False
    assert removed.centrally_removed(None) is None
    unknown = derive_root_credentials(row(password_enabled=None))
    assert unknown.centrally_removed({"root_credentials_management": True}) is None


def test_root_row_keys_and_report_uses() -> None:
    cr = row(access_key_1_active=True, access_key_1_last_rotated="2025-12-01T12:00:00+00:00",
             access_key_1_last_used_date="2026-02-01T00:00:00Z",
             access_key_2_last_rotated="2024-01-01T00:00:00+00:00",
             password_last_used="2025-01-01T00:00:00+00:00")
    assert root_row([{"user": "alice"}, cr]) is cr
    assert root_row(None) is None and root_row([]) is None
    k1, k2 = root_keys(cr, NOW)
    assert (k1.number, k1.active, k1.age_days) == (1, True, 90)
    assert (k2.number, k2.active, k2.last_used) == (2, False, None)
    assert root_keys(row(), NOW) == ()  # neither key exists
    assert sorted(report_uses(cr)) == [
        (datetime(2025, 1, 1, tzinfo=UTC), "console"),
        (datetime(2026, 2, 1, tzinfo=UTC), "keys"),
    ]
    assert report_uses(None) == []

"""Classification of root events: every class docs/semantics.md names."""

from __future__ import annotations

import pytest

from scanner.core.rootclassify import Kind, classify
from scanner.core.rootevents import RootEvent, merge_events

from .events import (
    ACCT,
    ARTICLE_CONSOLE_LOGIN,
    assume_root_issue,
    assume_root_use,
    ev,
    login,
)


def test_article_console_login_is_use_without_mfa() -> None:
    e = RootEvent.from_cloudtrail(ARTICLE_CONSOLE_LOGIN, "event_history")
    assert e is not None
    assert e.kind is Kind.CONSOLE_LOGIN and e.is_use
    assert e.mfa_used is False
    assert e.console_login == "Success"
    assert e.channel == "console"
    assert e.account_id == "111122223333"
    j = e.to_json()
    assert j["eventTime"] == "2018-08-29T16:24:34+00:00"
    assert j["MFAUsed"] is False and j["sourceIPAddress"] == "192.0.2.0"
    assert RootEvent.from_json(j) == e


def test_console_login_with_mfa() -> None:
    e = RootEvent.from_cloudtrail(login("a", "2026-01-01T00:00:00Z", mfa=True), "s")
    assert e is not None and e.kind is Kind.CONSOLE_LOGIN and e.mfa_used is True


def test_failed_login_is_not_use() -> None:
    e = RootEvent.from_cloudtrail(login("f", "2026-01-01T00:00:00Z", ok=False), "s")
    assert e is not None and e.kind is Kind.FAILED_LOGIN and not e.is_use


def test_failed_login_recognised_by_error_message_alone() -> None:
    rec = login("f", "2026-01-01T00:00:00Z", ok=False)
    rec["responseElements"] = None
    assert classify(rec) is Kind.FAILED_LOGIN


def test_password_recovery() -> None:
    rec = login("p", "2026-01-01T00:00:00Z")
    rec["eventName"] = "PasswordRecoveryRequested"
    rec["responseElements"] = {"PasswordRecoveryRequested": "Success"}
    assert classify(rec) is Kind.PASSWORD_RECOVERY


def test_other_signin_events_are_not_use() -> None:
    rec = login("p", "2026-01-01T00:00:00Z")
    rec["eventName"] = "PasswordUpdated"
    assert classify(rec) is Kind.SIGNIN_OTHER


def test_read_only_api_call_is_use() -> None:
    e = RootEvent.from_cloudtrail(ev("r"), "s")
    assert e is not None and e.kind is Kind.API_CALL and e.read_only is True
    assert e.channel == "api"


def test_access_denied_root_call_still_counts() -> None:
    e = RootEvent.from_cloudtrail(ev("d", errorCode="AccessDenied"), "s")
    assert e is not None and e.kind is Kind.API_CALL and e.is_use
    assert e.error_code == "AccessDenied"


def test_root_key_use_is_keys_channel() -> None:
    e = RootEvent.from_cloudtrail(ev("k", identity={"accessKeyId": "AKIAEXAMPLEROOT00001"}), "s")
    assert e is not None and e.signed_with_root_key and e.channel == "keys"


def test_root_access_key_creation() -> None:
    rec = ev("c", eventSource="iam.amazonaws.com", eventName="CreateAccessKey",
             requestParameters={}, readOnly=False)
    e = RootEvent.from_cloudtrail(rec, "s")
    assert e is not None and e.root_key_created and e.kind is Kind.API_CALL
    # Root creating a key for an IAM user is an API call, not a root key.
    rec["requestParameters"] = {"userName": "alice"}
    e2 = RootEvent.from_cloudtrail(rec, "s")
    assert e2 is not None and not e2.root_key_created


def test_invoked_by_service_is_not_use() -> None:
    e = RootEvent.from_cloudtrail(ev("i", identity={"invokedBy": "support.amazonaws.com"}), "s")
    assert e is not None and e.kind is Kind.INVOKED_BY_SERVICE and not e.is_use
    assert e.invoked_by == "support.amazonaws.com"


def test_invoked_by_signin_is_not_counted_either() -> None:
    rec = ev("i", identity={"invokedBy": "signin.amazonaws.com"})
    assert classify(rec) is Kind.INVOKED_BY_SERVICE


def test_aws_service_event_is_not_use() -> None:
    rec = ev("s", eventType="AwsServiceEvent", sourceIPAddress="AWS Internal")
    assert classify(rec) is Kind.SERVICE_EVENT


def test_console_action() -> None:
    assert classify(ev("ca", eventType="AwsConsoleAction")) is Kind.CONSOLE_ACTION


@pytest.mark.parametrize("identity_type", ["Root", "AssumedRole"])
def test_assume_root_session_calls(identity_type: str) -> None:
    e = RootEvent.from_cloudtrail(
        assume_root_use("u", "2026-01-01T00:00:20Z", "ASIASESSION000000001",
                        identity_type=identity_type), "s")
    assert e is not None and e.kind is Kind.ASSUME_ROOT and not e.is_use
    assert e.session_id == "ASIASESSION000000001"
    assert e.account_id == ACCT


def test_assume_root_call_is_attributed_to_the_target_account() -> None:
    e = RootEvent.from_cloudtrail(assume_root_issue("i", "2026-01-01T00:00:00Z",
                                                    "ASIASESSION000000001"), "s")
    assert e is not None and e.kind is Kind.ASSUME_ROOT
    assert e.account_id == ACCT  # logged in the management account, about the member
    assert e.session_id == "ASIASESSION000000001"


def test_non_root_identities_are_ignored() -> None:
    rec = ev("x", identity={"type": "IAMUser", "userName": "alice"})
    assert classify(rec) is None
    assert RootEvent.from_cloudtrail(rec, "s") is None
    role = ev("y", identity={"type": "AssumedRole"})
    assert classify(role) is None


def test_merge_dedupes_by_event_id_and_unions_sources() -> None:
    a = RootEvent.from_cloudtrail(ev("same"), "event_history")
    b = RootEvent.from_cloudtrail(ev("same"), "org_trail")
    c = RootEvent.from_cloudtrail(ev("other", time="2026-01-11T00:00:00Z"), "org_trail")
    assert a and b and c
    merged = merge_events([a], [b, c])
    assert [m.event_id for m in merged] == ["same", "other"]
    assert merged[0].sources == ("event_history", "org_trail")



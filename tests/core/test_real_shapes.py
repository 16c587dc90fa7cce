"""CloudTrail records shaped as AWS documents them, where AWS's shapes differ from the tidy ones.

Each record here is built from the documented field lists and the structure of AWS's examples
(values are ours): the sign-in event type spelled ``AwsConsoleSignin``, an ``AssumeRoot``
record without ``eventID``, an ``AssumeRoot`` session call without ``assumedRoot``, password
recovery written as a service event, and a root access key created from the console.
"""

from __future__ import annotations

import copy
import gzip
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.core.models import Status
from scanner.core.rootclassify import Kind, classify
from scanner.core.rootcreds import derive_root_credentials
from scanner.core.rootevents import RootEvent, merge_events
from scanner.core.rootusage import SourceCoverage, Window, build_root_usage
from scanner.core.rules import RuleTest
from scanner.core.ruletest import run_case
from scanner.core.trailparse import scan_log_file

from .events import ACCT, documented_assume_root, ev, login
from .events import ASSUME_ROOT_SESSION_KEY as SESSION_KEY
from .pack import load_pack

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WIN = Window.ending(NOW, 90)


def complete(name: str = "event_history") -> SourceCoverage:
    return SourceCoverage(name, WIN.start.isoformat(), WIN.end.isoformat(), True)


def parsed(raw: dict[str, Any], source: str = "event_history") -> RootEvent:
    e = RootEvent.from_cloudtrail(raw, source)
    assert e is not None
    return e


def log_file(*records: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps({"Records": list(records)}).encode())


# -- 1. the sign-in event type, either spelling ------------------------------------------------


@pytest.mark.parametrize("spelling", ["AwsConsoleSignIn", "AwsConsoleSignin", "awsconsolesignin"])
def test_console_login_in_either_spelling_is_use(spelling: str) -> None:
    rec = login("sp-1", "2026-02-10T08:00:00Z")
    rec["eventType"] = spelling
    # Without its source, only the event type says this is a sign-in.
    rec["eventSource"] = "signin.amazonaws.com"
    assert classify(rec) is Kind.CONSOLE_LOGIN
    r = build_root_usage(ACCT, WIN, [parsed(rec)], [complete()])
    assert r.used_in_window is True and r.console_logins == 1
    assert r.console_logins_without_mfa == 1
    # The organization trail's reader reaches the same verdict.
    scan = scan_log_file(log_file(rec), "k")
    assert [e.kind for e in scan.events] == [Kind.CONSOLE_LOGIN]


def test_other_signin_event_in_lower_case_spelling() -> None:
    rec = login("sp-2", "2026-02-10T08:00:00Z")
    rec.update(eventType="AwsConsoleSignin", eventName="PasswordUpdated")
    rec["responseElements"] = {"PasswordUpdated": "Success"}
    assert classify(rec) is Kind.SIGNIN_OTHER


# -- 2. records without eventID ----------------------------------------------------------------


def test_record_without_event_id_is_kept_with_a_derived_id() -> None:
    e = parsed(documented_assume_root())
    assert e.kind is Kind.ASSUME_ROOT and e.account_id == ACCT
    assert e.event_id_derived and e.event_id.startswith("derived:")
    assert e.session_id == SESSION_KEY
    assert e.to_json()["eventID"] == e.event_id
    r = build_root_usage(ACCT, WIN, [e], [complete()])
    assert r.assume_root_sessions == 1 and r.used_in_window is False


def test_derived_id_is_stable_across_sources_and_records() -> None:
    rec = documented_assume_root()
    # The same record, read by event history and from a log file, is one event.
    a = parsed(copy.deepcopy(rec), "event_history")
    scan = scan_log_file(log_file(rec), "k")
    assert len(scan.events) == 1 and scan.events[0].event_id == a.event_id
    merged = merge_events([a], scan.events)
    assert len(merged) == 1 and merged[0].sources == ("event_history", "org_trail")
    # A different record gets a different id; a real eventID is never marked derived.
    other = parsed(documented_assume_root("2026-02-12T09:31:00Z"))
    assert other.event_id != a.event_id
    assert not parsed(ev("real-id")).event_id_derived


def test_root_call_without_event_id_still_counts_as_use() -> None:
    rec = ev("x")
    del rec["eventID"]
    r = build_root_usage(ACCT, WIN, [parsed(rec)], [complete()])
    assert r.used_in_window is True and r.api_calls == 1


def test_derived_id_survives_the_fact_round_trip() -> None:
    e = parsed(documented_assume_root())
    back = RootEvent.from_json(e.to_json())
    assert back.event_id == e.event_id and back.event_id_derived


# -- 3. AssumeRoot session calls without assumedRoot -------------------------------------------


def session_call(event_id: str, when: str, *, assumed_root: bool) -> dict[str, Any]:
    """A call made in the member account with the AssumeRoot session's credentials."""
    context: dict[str, Any] = {"attributes": {"creationDate": "2026-02-12T09:30:00Z",
                                              "mfaAuthenticated": "false"}}
    if assumed_root:
        context["assumedRoot"] = "true"
    return ev(event_id, when, eventSource="iam.amazonaws.com", eventName="DeleteLoginProfile",
              readOnly=False, requestParameters={}, userAgent="aws-cli/2.22.0",
              identity={"accessKeyId": SESSION_KEY, "sessionContext": context})


@pytest.mark.parametrize("assumed_root", [True, False])
def test_assume_root_session_call_in_either_shape_is_not_use(assumed_root: bool) -> None:
    events = [parsed(documented_assume_root(), "org_trail"),
              parsed(session_call("s-1", "2026-02-12T09:31:00Z", assumed_root=assumed_root))]
    r = build_root_usage(ACCT, WIN, events, [complete(), complete("org_trail")])
    assert r.used_in_window is False and r.api_calls == 0
    assert r.assume_root_sessions == 1
    call = next(e for e in r.events if e.event_name == "DeleteLoginProfile")
    assert call.kind is Kind.ASSUME_ROOT and call.session_id == SESSION_KEY


def test_session_key_without_its_assume_root_call_counts_as_use() -> None:
    """Without assumedRoot and without the AssumeRoot call that issued the key, nothing in the
    record tells the session from a root console session: it is counted as use."""
    call = parsed(session_call("s-2", "2026-02-12T09:31:00Z", assumed_root=False))
    r = build_root_usage(ACCT, WIN, [call], [complete()])
    assert r.used_in_window is True and r.api_calls == 1 and r.assume_root_sessions == 0


# -- 4. password recovery, whatever the event type ---------------------------------------------


@pytest.mark.parametrize("event_type", ["AwsServiceEvent", "AwsConsoleSignIn", None])
def test_password_recovery_by_source_and_name(event_type: str | None) -> None:
    rec = login("pr-1", "2026-02-14T07:00:00Z")
    rec["eventName"] = "PasswordRecoveryRequested"
    rec["responseElements"] = {"PasswordRecoveryRequested": "Success"}
    rec["additionalEventData"] = {"MobileVersion": "No"}
    if event_type is None:
        del rec["eventType"]
    else:
        rec["eventType"] = event_type
    assert classify(rec) is Kind.PASSWORD_RECOVERY
    r = build_root_usage(ACCT, WIN, [parsed(rec)], [complete()])
    assert r.password_recovery_requests == 1 and r.service_events == 0
    assert r.used_in_window is False


def test_recovery_completed_is_a_sign_in_event_not_a_service_event() -> None:
    rec = login("pr-2", "2026-02-14T07:05:00Z")
    rec.update(eventName="PasswordRecoveryCompleted", eventType="AwsServiceEvent")
    rec["responseElements"] = {"PasswordRecoveryCompleted": "Success"}
    assert classify(rec) is Kind.SIGNIN_OTHER


def test_other_signin_service_events_stay_service_events() -> None:
    rec = login("cc-1", "2026-02-14T07:00:00Z")
    rec.update(eventName="CredentialChallenge", eventType="AwsServiceEvent")
    assert classify(rec) is Kind.SERVICE_EVENT


# -- 5. a root access key created from the console ---------------------------------------------


def console_key_creation(event_id: str, **identity: Any) -> dict[str, Any]:
    rec = ev(event_id, "2026-02-20T15:00:00Z", eventSource="iam.amazonaws.com",
             eventName="CreateAccessKey", readOnly=False, requestParameters={},
             userAgent="AWS Internal", identity=identity)
    rec["responseElements"] = {"accessKey": {"accessKeyId": "AKIAEXAMPLENEWKEY001",
                                             "status": "Active", "userName": ACCT,
                                             "createDate": "Feb 20, 2026, 3:00:00 PM"}}
    return rec


@pytest.mark.parametrize("marker", ["invoked_by", "session_from_console", "console_agent"])
def test_root_key_created_from_the_console_is_console_use(marker: str) -> None:
    if marker == "invoked_by":
        rec = console_key_creation("ck-1", invokedBy="signin.amazonaws.com")
    elif marker == "session_from_console":
        rec = console_key_creation("ck-1")
        rec["sessionCredentialFromConsole"] = "true"
    else:
        rec = console_key_creation("ck-1")
        rec["userAgent"] = "console.amazonaws.com"
    e = parsed(rec)
    assert e.root_key_created and e.kind is Kind.CONSOLE_ACTION
    assert e.is_use and e.channel == "console"
    r = build_root_usage(ACCT, WIN, [e], [complete()])
    assert r.root_access_keys_created == 1 and r.api_calls == 0
    assert r.used_in_window is True and r.channels == ("console",)
    assert r.last_used_channel == "console"


def test_root_key_created_through_the_api_is_an_api_call() -> None:
    rec = console_key_creation("ck-2")
    rec["userAgent"] = "aws-cli/2.22.0"
    e = parsed(rec)
    assert e.kind is Kind.API_CALL and e.root_key_created and e.channel == "api"


# -- 6. root MFA with an account summary lacking AccountPasswordPresent -------------------------


RULES = {r.id: r for r in load_pack()}


@pytest.mark.parametrize(("rule_id", "devices", "expect"), [
    ("root-mfa-enabled", [], Status.PASS),
    ("root-hardware-mfa", [], Status.PASS),
    ("root-hardware-mfa", [{"serial_number": f"arn:aws:iam::{ACCT}:mfa/root-account-mfa-device",
                            "is_root": True}], Status.FAIL),
])
def test_mfa_active_with_an_older_account_summary(rule_id: str, devices: list[Any],
                                                  expect: Status) -> None:
    """GetAccountSummary without AccountPasswordPresent (older accounts) and MFA on: whether
    root has a password is unknown, yet the MFA verdicts are decided."""
    row = {"user": "<root_account>", "password_enabled": "not_supported", "mfa_active": True,
           "access_key_1_active": False, "access_key_2_active": False}
    summary = {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}
    creds = derive_root_credentials(row, summary, devices)
    assert creds.password_present is None and creds.credentials_present is None
    case = RuleTest(name="older summary", facts={"root.mfa": creds.to_json()}, expect=expect)
    result = run_case(RULES[rule_id], case)
    assert result.actual is expect, str(result)

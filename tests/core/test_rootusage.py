"""RootUsage records: window edges, merging, counts, channels, unknown, org-trail only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import (
    SourceCoverage,
    Window,
    build_root_usage,
    record_from_org_trail,
    root_row,
)

from .events import ACCT, assume_root_issue, assume_root_use, ev, login

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WIN = Window.ending(NOW, 90)  # 2025-12-01T12:00:00Z .. 2026-03-01T12:00:00Z


def re(raw: dict[str, Any], source: str = "event_history") -> RootEvent:
    e = RootEvent.from_cloudtrail(raw, source)
    assert e is not None
    return e


def complete(name: str = "event_history") -> SourceCoverage:
    return SourceCoverage(name, WIN.start.isoformat(), WIN.end.isoformat(), True)


def incomplete(name: str = "event_history") -> SourceCoverage:
    return SourceCoverage(name, WIN.start.isoformat(), WIN.end.isoformat(), False, "failed",
                          "AccessDenied")


def row(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "user": "<root_account>", "password_enabled": True, "password_last_used": None,
        "mfa_active": True, "access_key_1_active": False, "access_key_1_last_rotated": None,
        "access_key_1_last_used_date": None, "access_key_2_active": False,
        "access_key_2_last_rotated": None, "access_key_2_last_used_date": None,
    }
    base.update(over)
    return base


def test_window_end_is_always_timezone_aware() -> None:
    naive = Window.ending(NOW.replace(tzinfo=None), 90)  # a naive scan start is UTC
    assert naive == WIN and naive.end.tzinfo is not None
    with pytest.raises(ValueError, match="positive"):
        Window.ending(NOW, 0)


def test_window_edges_are_inclusive_and_end_at_scan_start() -> None:
    events = [
        re(ev("before", time="2025-12-01T11:59:59Z")),  # 1 s too old
        re(ev("start", time="2025-12-01T12:00:00Z")),  # exactly the start: counts
        re(ev("end", time="2026-03-01T12:00:00Z")),  # exactly the scan start: counts
        re(ev("after", time="2026-03-01T12:00:01Z")),  # after the scan started: never
    ]
    r = build_root_usage(ACCT, WIN, events, [complete()])
    assert r.api_calls == 2
    assert {e.event_id for e in r.events} == {"start", "end"}
    assert r.used_in_window is True
    assert r.last_used == "2026-03-01T12:00:00+00:00" and r.last_used_channel == "api"


def test_no_use_with_complete_source_is_false() -> None:
    failed = re(login("f", "2026-02-01T00:00:00Z", ok=False))
    r = build_root_usage(ACCT, WIN, [failed], [complete()], credential_row=row())
    assert r.used_in_window is False
    assert r.failed_logins == 1 and r.console_logins == 0 and r.api_calls == 0
    assert r.source_ips == ("203.0.113.10",)


def test_unknown_when_no_event_source_covers_the_window() -> None:
    cred = SourceCoverage("credential_report", None, None, True)
    r = build_root_usage(ACCT, WIN, [], [incomplete(), cred], credential_row=row())
    assert r.used_in_window is None
    assert r.console_logins is None and r.console_logins_without_mfa is None


def test_use_seen_by_an_incomplete_source_is_still_use() -> None:
    r = build_root_usage(ACCT, WIN, [re(login("l", "2026-02-01T00:00:00Z"))], [incomplete()])
    assert r.used_in_window is True
    assert r.console_logins == 1 and r.console_logins_without_mfa == 1
    assert r.failed_logins is None  # a zero from partial coverage is not known


def test_credential_report_alone_can_prove_use() -> None:
    r = build_root_usage(ACCT, WIN, [], [incomplete()],
                         credential_row=row(password_last_used="2026-02-27T08:00:00+00:00"))
    assert r.used_in_window is True and r.channels == ("console",)
    assert r.last_used_channel == "console"


def test_credential_report_use_before_window_is_last_used_but_not_in_window() -> None:
    r = build_root_usage(ACCT, WIN, [], [complete()],
                         credential_row=row(password_last_used="2025-06-01T00:00:00+00:00"))
    assert r.used_in_window is False and r.last_used is None
    assert r.last_used_any == "2025-06-01T00:00:00+00:00"


def test_keys_channel_and_key_details() -> None:
    cr = row(access_key_1_active=True, access_key_1_last_rotated="2024-12-01T12:00:00+00:00",
             access_key_1_last_used_date="2026-02-28T12:00:00+00:00",
             access_key_1_last_used_region="us-east-1", access_key_1_last_used_service="s3")
    call = re(ev("k", time="2026-02-28T12:00:00Z",
                 identity={"accessKeyId": "AKIAEXAMPLEROOT00001"}))
    r = build_root_usage(ACCT, WIN, [call], [complete()], credential_row=cr)
    assert set(r.channels) == {"api", "keys"}
    assert r.last_used_channel == "keys"
    assert r.active_access_keys == 1 and r.credentials_present is True
    (key,) = r.keys
    assert key.active is True and key.age_days == 455 and key.last_used_service == "s3"


def test_merged_sources_count_once() -> None:
    a = re(login("same", "2026-02-01T00:00:00Z"), "event_history")
    b = re(login("same", "2026-02-01T00:00:00Z"), "org_trail")
    r = build_root_usage(ACCT, WIN, [a, b], [complete(), complete("org_trail")])
    assert r.console_logins == 1
    assert r.events[0].sources == ("event_history", "org_trail")


def test_assume_root_sessions_counted_once_per_session_and_not_use() -> None:
    key = "ASIASESSION000000001"
    events = [re(assume_root_issue("i", "2026-02-01T00:00:00Z", key), "org_trail"),
              re(assume_root_use("u1", "2026-02-01T00:00:20Z", key)),
              re(assume_root_use("u2", "2026-02-01T00:00:40Z", key))]
    r = build_root_usage(ACCT, WIN, events, [complete()])
    assert r.assume_root_sessions == 1
    assert r.used_in_window is False and r.api_calls == 0


def test_every_count() -> None:
    events = [
        re(login("l1", "2026-02-01T00:00:00Z", mfa=True)),
        re(login("l2", "2026-02-02T00:00:00Z", mfa=False, ip="198.51.100.1")),
        re(login("f1", "2026-02-03T00:00:00Z", ok=False)),
        re(ev("a1", errorCode="AccessDenied")),
        re(ev("sv", eventType="AwsServiceEvent")),
        re(ev("ib", identity={"invokedBy": "support.amazonaws.com"})),
        re(ev("ck", eventSource="iam.amazonaws.com", eventName="CreateAccessKey",
              requestParameters={})),
    ]
    rec = login("pr", "2026-02-04T00:00:00Z")
    rec["eventName"] = "PasswordRecoveryRequested"
    events.append(re(rec))
    r = build_root_usage(ACCT, WIN, events, [complete()])
    assert (r.console_logins, r.failed_logins, r.api_calls, r.service_events,
            r.invoked_by_service_calls, r.password_recovery_requests,
            r.console_logins_without_mfa, r.root_access_keys_created) == (2, 1, 2, 1, 1, 1, 1, 1)
    assert [s.mfa_used for s in r.console_sign_ins] == [True, False]
    j = r.to_json()
    assert j["used_in_window"] is True and j["channels"] == ["api", "console"]
    assert "198.51.100.1" in j["source_ips"]


def test_other_accounts_events_are_dropped() -> None:
    other = ev("o", identity={"accountId": "444455556666"}, recipientAccountId="444455556666")
    r = build_root_usage(ACCT, WIN, [re(other)], [complete()])
    assert r.api_calls == 0 and r.events == ()


def test_evidence_is_capped_but_counts_exact() -> None:
    events = [re(ev(f"e{i}", time=f"2026-02-01T00:{i // 60:02d}:{i % 60:02d}Z"))
              for i in range(30)]
    r = build_root_usage(ACCT, WIN, events, [complete()], max_events=10)
    assert r.api_calls == 30 and len(r.events) == 10 and r.events_omitted == 20


def test_credentials_centrally_removed() -> None:
    cr = row(password_enabled=False)
    r = build_root_usage(ACCT, WIN, [], [complete()], credential_row=cr,
                         organizations_features={"root_credentials_management": True},
                         root_mfa={"credentials_present": False, "mfa_kind": None,
                                   "mfa_active": False})
    assert r.credentials_present is False and r.credentials_centrally_removed is True


def test_root_row() -> None:
    assert root_row([{"user": "alice"}, row()]) == row()
    assert root_row(None) is None


def test_record_from_org_trail_alone() -> None:
    fact = {
        "window_start": WIN.start.isoformat(), "window_end": WIN.end.isoformat(),
        "accounts": {ACCT: {"events": [re(login("l", "2026-02-01T00:00:00Z"), "org_trail")
                                       .to_json()],
                            "complete": True, "detail": "3 files"}},
    }
    r = record_from_org_trail(ACCT, fact, WIN)
    assert r.assessed is False and r.used_in_window is True and r.console_logins == 1
    assert r.sources[0].name == "org_trail" and r.sources[0].complete
    empty = record_from_org_trail("444455556666", fact, WIN)
    assert empty.used_in_window is None and not empty.sources[0].complete


def test_org_trail_not_selected() -> None:
    r = record_from_org_trail(ACCT, {"selected": False, "source": "org_trail"}, WIN)
    assert r.used_in_window is None
    assert r.sources[0].detail == "source not selected in the config"

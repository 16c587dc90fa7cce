"""Accounts that cannot be assessed (docs/semantics.md): root use proven by an organization-level
source is FAIL with those events as evidence; no use seen there is unknown, never "not used";
every other control is NOT_ASSESSED with the reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.core.engine import assess_without_account_facts
from scanner.core.models import FactError, Status
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import (
    ORG_SOURCES,
    SourceCoverage,
    Window,
    build_root_usage,
    record_without_account_facts,
)
from scanner.core.rules import Rule
from scanner.core.ruletest import _account, case_organization
from scanner.core.unassessed import unassessed_account

from .events import ACCT, ev, login

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
WIN = Window.ending(NOW, 90)
REASON = "cannot assume OrgScanAudit: AccessDenied: not authorized"
ACCOUNT = _account({"id": ACCT, "ou_path": "Root/Dev"}, False)
ORG = case_organization(ACCOUNT)
ROOT_RULES = {"root-account-used", "root-console-login-without-mfa"}


def org_fact(*raw: dict[str, Any], source: str = "org_trail", complete: bool = True,
             ) -> dict[str, Any]:
    events = [RootEvent.from_cloudtrail(r, source) for r in raw]
    return {"window_start": WIN.start.isoformat(), "window_end": WIN.end.isoformat(),
            "accounts": {ACCT: {"events": [e.to_json() for e in events if e is not None],
                                "complete": complete, "detail": "2 files"}}}


def assess(rule_pack: list[Rule], org_facts: dict[str, Any]) -> dict[str, Any]:
    record = record_without_account_facts(ACCT, org_facts, WIN, REASON).to_json()
    findings = assess_without_account_facts(rule_pack, ACCOUNT, REASON, {"root.usage": record},
                                            NOW, ORG)
    assert len(findings) == sum(r.scope == "account" for r in rule_pack)
    return {"record": record, **{f.rule_id: f for f in findings}}


def test_use_proven_by_the_organization_trail_fails_with_its_events(
        rule_pack: list[Rule]) -> None:
    got = assess(rule_pack, {"orgtrail.root_events": org_fact(
        login("signin-1", "2026-02-01T00:00:00Z", mfa=False))})
    assert got["record"]["used_in_window"] is True and got["record"]["assessed"] is False
    for rule_id in ROOT_RULES:
        finding = got[rule_id]
        assert finding.status is Status.FAIL, rule_id
        events = finding.evidence["root.usage"]["events"]
        assert [e["eventID"] for e in events] == ["signin-1"]
        assert REASON in finding.message and "organization-level evidence" in finding.message
    assert "1 event(s) counted as use in org_trail" in got["root-account-used"].message
    others = [f for k, f in got.items() if k not in ROOT_RULES and k != "record"]
    assert others and all(f.status is Status.NOT_ASSESSED and REASON in f.message
                          and not f.evidence for f in others)


def test_sign_in_with_mfa_fails_use_but_leaves_the_mfa_control_not_assessed(
        rule_pack: list[Rule]) -> None:
    got = assess(rule_pack, {"orgtrail.root_events": org_fact(
        login("signin-2", "2026-02-01T00:00:00Z", mfa=True))})
    assert got["root-account-used"].status is Status.FAIL
    # Zero sign-ins without MFA in the trail proves nothing: the account was not read.
    assert got["root-console-login-without-mfa"].status is Status.NOT_ASSESSED


def test_no_use_seen_is_unknown_never_a_pass(rule_pack: list[Rule]) -> None:
    got = assess(rule_pack, {"orgtrail.root_events": org_fact(complete=True)})
    record = got["record"]
    assert record["used_in_window"] is None  # never False for an account not assessed
    assert record["console_logins"] == 0  # a complete event source still makes counts exact
    for rule_id in ROOT_RULES:
        assert got[rule_id].status is Status.NOT_ASSESSED
        assert REASON in got[rule_id].message and "proves nothing" in got[rule_id].message


def test_no_organization_level_source_leaves_everything_not_assessed(
        rule_pack: list[Rule]) -> None:
    got = assess(rule_pack, {"orgtrail.root_events": {"selected": False}})
    assert got["record"]["used_in_window"] is None
    assert all(f.status is Status.NOT_ASSESSED for k, f in got.items() if k != "record")


def test_every_selected_organization_level_source_is_merged() -> None:
    trail = org_fact(login("signin-3", "2026-02-01T00:00:00Z"))
    athena = org_fact(login("signin-3", "2026-02-01T00:00:00Z"),
                      ev("api-1", time="2026-02-02T00:00:00Z"), source="athena")
    record = record_without_account_facts(
        ACCT, {"orgtrail.root_events": trail, "athena.root_events": athena}, WIN, REASON)
    assert [s.name for s in record.sources] == ["org_trail", "athena"]
    assert record.console_logins == 1 and record.api_calls == 1  # one sign-in, merged
    failed = record_without_account_facts(
        ACCT, {"orgtrail.root_events": trail,
               "athena.root_events": FactError("QueryFailed", "table not found")}, WIN, REASON)
    assert [(s.name, s.complete, s.error) for s in failed.sources] == [
        ("org_trail", True, None), ("athena", False, "QueryFailed")]
    assert failed.used_in_window is True


def test_a_use_only_the_credential_report_shows_says_so() -> None:
    row = {"user": "<root_account>", "password_last_used": "2026-01-15T09:30:00+00:00"}
    record = build_root_usage(
        ACCT, WIN, [], [SourceCoverage("credential_report", None, None, True),
                        SourceCoverage("event_history", WIN.start.isoformat(),
                                       WIN.end.isoformat(), True)], credential_row=row)
    assert record.used_in_window is True and record.console_logins == 0
    assert record.use_basis == (
        "the credential report's password_last_used 2026-01-15T09:30:00+00:00; "
        "no matching event found in event_history for the window")
    silent = build_root_usage(ACCT, WIN, [], [SourceCoverage("credential_report", None, None,
                                                             True)], credential_row=row)
    assert silent.use_basis is not None
    assert silent.use_basis.endswith("no event source was selected to corroborate it")
    unused = build_root_usage(ACCT, WIN, [], [SourceCoverage("event_history", None, None, True)])
    assert unused.used_in_window is False and unused.use_basis is None


def test_unassessed_account_builds_the_record_only_when_a_rule_reads_it(
        rule_pack: list[Rule]) -> None:
    trail = {"orgtrail.root_events": org_fact(login("signin-4", "2026-02-01T00:00:00Z"))}
    facts, findings = unassessed_account(rule_pack, ACCOUNT, REASON, trail, NOW, 90, ORG)
    record = facts["root.usage"]
    assert isinstance(record, dict) and record["used_in_window"] is True
    assert {f.rule_id for f in findings if f.status is Status.FAIL} == ROOT_RULES
    others = [r for r in rule_pack if "root.usage" not in r.facts]
    facts, findings = unassessed_account(others, ACCOUNT, REASON, trail, NOW, 90, ORG)
    assert facts == {} and all(f.status is Status.NOT_ASSESSED for f in findings)


@pytest.mark.parametrize(("source", "fact_name"), ORG_SOURCES)
def test_each_organization_level_source_proves_use(rule_pack: list[Rule], source: str,
                                                   fact_name: str) -> None:
    got = assess(rule_pack, {fact_name: org_fact(
        login("signin-9", "2026-02-01T00:00:00Z", mfa=False), source=source)})
    assert [s["name"] for s in got["record"]["sources"]] == [source]
    for rule_id in ROOT_RULES:
        assert got[rule_id].status is Status.FAIL, (source, rule_id)
        assert [e["eventID"] for e in got[rule_id].evidence["root.usage"]["events"]] == [
            "signin-9"]

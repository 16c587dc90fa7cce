"""Which facts an account's verdicts needed and did not get: the pure part of "assessed only
when every fact its selected rules need was collected"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from scanner.core.engine import evaluate_account
from scanner.core.factcoverage import FailedFact, describe, failed_facts
from scanner.core.models import Account, AccountState, FactError

from .pack import load_pack

NOW = datetime(2026, 1, 1, tzinfo=UTC)
USES = {"root.mfa": ("iam.credential_report", "iam.account_summary", "iam.virtual_mfa_devices"),
        "monitoring.root_usage_alarms": ("cloudtrail.trails",)}
REPORT_DOWN = FactError("InternalError", "iam:GetCredentialReport in 2 failed: InternalError: boom")


def _account(management: bool = False) -> Account:
    return Account("222222222222", "a", "a@example.com", "arn:aws:organizations::1:account/o/2",
                   AccountState.ACTIVE, "CREATED", "", "", "Root",
                   is_management=management)


def _failed(facts: dict[str, Any], rule_ids: set[str],
            management: bool = False) -> tuple[FailedFact, ...]:
    rules = [r for r in load_pack() if r.id in rule_ids]
    findings = evaluate_account(rules, facts, _account(management), NOW)
    return failed_facts(rules, findings, facts, USES)


def test_a_derived_fact_is_named_by_its_cause() -> None:
    facts = {"iam.credential_report": REPORT_DOWN,
             "root.mfa": FactError("InternalError", "failed: InternalError: "
                                   "iam.credential_report: " + REPORT_DOWN.message)}
    failed = _failed(facts, {"root-mfa-enabled", "root-access-keys-present"})
    assert failed == (FailedFact("iam.credential_report", "InternalError", REPORT_DOWN.message),)
    assert describe(failed) == ("facts not collected: iam.credential_report (InternalError: "
                                "iam:GetCredentialReport: boom)")


def test_a_derived_fact_failing_on_its_own_is_named_itself() -> None:
    facts = {"iam.credential_report": REPORT_DOWN,
             "root.mfa": FactError("Timeout", "timed out")}
    assert [f.fact for f in _failed(facts, {"root-mfa-enabled"})] == ["root.mfa"]


def test_a_rule_that_does_not_apply_needs_nothing() -> None:
    """root-deny-scp-applied does not apply to the management account: its failed fact is not
    needed there, and is for a member."""
    facts = {"org.account_policies": FactError("AccessDenied", "no")}
    assert _failed(facts, {"root-deny-scp-applied"}, management=True) == ()
    assert [f.fact for f in _failed(facts, {"root-deny-scp-applied"})] == [
        "org.account_policies"]


def test_failed_root_usage_sources_are_named_unless_their_fact_is() -> None:
    usage = {"used_in_window": True, "window_days": 90, "sources": [
        {"name": "credential_report", "complete": False, "error": "InternalError",
         "detail": REPORT_DOWN.message},
        {"name": "event_history", "complete": False, "error": "ThrottlingException",
         "detail": "1 regions; failed in us-east-1 (ThrottlingException)"},
        {"name": "org_trail", "complete": False, "error": None,
         "detail": "no log files for this account in the window"}]}
    only_usage = _failed({"root.usage": usage}, {"root-account-used"})
    assert [(f.fact, f.source, f.code) for f in only_usage] == [
        ("root.usage", "credential_report", "InternalError"),
        ("root.usage", "event_history", "ThrottlingException")]
    both = _failed({"root.usage": usage, "iam.credential_report": REPORT_DOWN},
                   {"root-account-used", "root-access-keys-present"})
    assert [(f.fact, f.source) for f in both] == [("iam.credential_report", None),
                                                  ("root.usage", "event_history")]
    assert "root.usage source event_history (ThrottlingException: 1 regions;" in describe(both)


def test_nothing_failed_nothing_named_and_json_round_trips() -> None:
    facts = {"iam.password_policy": {"present": False}}
    assert _failed(facts, {"password-policy-min-length"}) == ()
    f = FailedFact("root.usage", "X", "m", "event_history")
    assert FailedFact.from_json(f.to_json()) == f

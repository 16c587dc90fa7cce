"""The pure engine: verdicts, evidence, errors, scopes; and the import wall."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.conditions import compile_condition
from scanner.core.engine import (
    evaluate_account,
    evaluate_organization,
    facts_needed,
    not_assessed,
)
from scanner.core.models import FactError, Severity, Status
from scanner.core.rules import Rule
from scanner.core.ruletest import _account, case_organization

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MEMBER = _account({"ou_path": "Root/Prod"}, False)
MGMT = _account({}, True)
ORG = case_organization(MEMBER)


def by_id(rules: list[Rule], rule_id: str) -> Rule:
    return next(r for r in rules if r.id == rule_id)


ROOT_ROW = {"user": "<root_account>", "arn": "arn:aws:iam::111111111111:root",
            "access_key_1_active": True, "access_key_2_active": False,
            "access_key_1_last_used_date": "2025-12-30T10:00:00+00:00",
            "raw": {"access_key_1_active": "true", "access_key_2_active": "false",
                    "access_key_1_last_used_date": "2025-12-30T10:00:00+00:00"}}
ALICE = {"user": "alice", "access_key_1_active": True, "access_key_2_active": False}


def test_finding_carries_everything(rule_pack: list[Rule]) -> None:
    rule = by_id(rule_pack, "root-access-keys-present")
    (f,) = evaluate_account([rule], {"iam.credential_report": [ALICE, ROOT_ROW]}, MEMBER, NOW)
    assert f.status is Status.FAIL
    assert (f.rule_id, f.title, f.severity) == (rule.id, rule.title, Severity.CRITICAL)
    assert (f.account_id, f.account_name, f.ou_path, f.region) == (
        "111111111111", "workload", "Root/Prod", "global")
    assert f.resource == "arn:aws:iam::111111111111:root"
    assert "2025-12-30T10:00:00+00:00" in f.message
    # Exactly what the rule read: the root row (with AWS's raw strings), not alice's row.
    assert f.evidence == {"iam.credential_report": [ROOT_ROW]}
    assert f.compliance["aws-fsbp"] == ("IAM.4",)
    assert f.remediation == rule.remediation and f.scope == "account"


def test_fact_error_becomes_error_with_the_reason(rule_pack: list[Rule]) -> None:
    rule = by_id(rule_pack, "root-access-keys-present")
    facts = {"iam.credential_report": FactError("ReportInProgress", "try later")}
    (f,) = evaluate_account([rule], facts, MEMBER, NOW)
    assert f.status is Status.ERROR
    assert "ReportInProgress: try later" in f.message


def test_missing_fact_is_error(rule_pack: list[Rule]) -> None:
    (f,) = evaluate_account([by_id(rule_pack, "root-mfa-enabled")], {}, MEMBER, NOW)
    assert f.status is Status.ERROR and "root.mfa was not collected" in f.message


def test_management_account_not_applicable_before_reading_other_facts(
        rule_pack: list[Rule]) -> None:
    rule = by_id(rule_pack, "root-centralized-access-effective")
    (f,) = evaluate_account([rule], {"root.mfa": FactError("X", "y")}, MGMT, NOW)
    assert f.status is Status.NOT_APPLICABLE
    (f,) = evaluate_account([rule], {"root.mfa": FactError("X", "y")}, MEMBER, NOW)
    assert f.status is Status.ERROR


def test_org_facts_passed_to_account_evaluation_appear_in_evidence(
        rule_pack: list[Rule]) -> None:
    rule = by_id(rule_pack, "root-centralized-access-effective")
    facts = {"iam.organizations_features": {"root_credentials_management": True},
             "root.mfa": {"password_present": False, "active_access_keys": 0}}
    (f,) = evaluate_account([rule], facts, MEMBER, NOW)
    assert f.status is Status.PASS
    assert set(f.evidence) == {"iam.organizations_features", "root.mfa", "scan.account"}


def test_trail_region_and_resource_rendered_from_the_item(rule_pack: list[Rule]) -> None:
    rule = by_id(rule_pack, "cloudtrail-log-file-validation")
    trails = [{"name": "a", "arn": "arn:a", "home_region": "eu-west-1",
               "log_file_validation_enabled": False}]
    (f,) = evaluate_account([rule], {"cloudtrail.trails": trails}, MEMBER, NOW)
    assert (f.status, f.region, f.resource) == (Status.FAIL, "eu-west-1", "arn:a")


def test_organization_scope(rule_pack: list[Rule]) -> None:
    facts = {"iam.organizations_features": {"root_credentials_management": False,
                                            "enabled_features": []},
             "org.summary": {"organization_id": "o-test",
                             "member_accounts_with_root_credentials": ["111111111111"]}}
    findings = evaluate_organization(rule_pack, facts, ORG, NOW)
    assert {f.rule_id for f in findings} == {"org-centralized-root-access",
                                             "org-member-root-credentials"}
    assert all(f.status is Status.FAIL and f.account_id == ORG.management_account_id
               and f.scope == "organization" for f in findings)
    assert not any(f.scope == "organization"
                   for f in evaluate_account(rule_pack, {}, MEMBER, NOW))


def test_not_assessed(rule_pack: list[Rule]) -> None:
    findings = not_assessed(rule_pack, MEMBER, "AccessDenied assuming OrgScanAudit")
    assert len(findings) == sum(r.scope == "account" for r in rule_pack)
    assert all(f.status is Status.NOT_ASSESSED and "AccessDenied" in f.message
               for f in findings)


def test_facts_needed(rule_pack: list[Rule]) -> None:
    need = facts_needed(rule_pack)
    assert "scan.account" not in need
    assert {"iam.credential_report", "root.mfa", "iam.organizations_features",
            "monitoring.root_usage_alarms"} <= need
    assert facts_needed([by_id(rule_pack, "root-access-key-rotation")]) == {
        "iam.credential_report", "root.mfa"}


def _rule(**kw: Any) -> Rule:
    base: dict[str, Any] = {"id": "r", "title": "t", "severity": Severity.LOW,
                            "scope": "account", "resource": "x.items", "message": "failed {n}",
                            "remediation": "fix"}
    for k in ("where", "fail_when", "applies_when"):
        if k in kw:
            kw[k] = compile_condition(kw[k], k)
    return Rule(**{**base, **kw})


def test_on_empty_variants() -> None:
    where = {"key": "n", "op": "gt", "value": 5}
    facts = {"x.items": [{"n": 1}]}
    for on_empty, status in [("error", Status.ERROR), ("pass", Status.PASS),
                             ("fail", Status.FAIL), ("not_applicable", Status.NOT_APPLICABLE)]:
        (f,) = evaluate_account([_rule(where=where, on_empty=on_empty)], facts, MEMBER, NOW)
        assert f.status is status, on_empty


def test_unknown_where_never_lets_an_empty_selection_fail_or_pass_blindly() -> None:
    rule = _rule(where={"key": "n", "op": "gt", "value": 5}, on_empty="fail")
    (f,) = evaluate_account([rule], {"x.items": [{"n": None}]}, MEMBER, NOW)
    assert f.status is Status.ERROR and "n is unknown" in f.message


# ---------------------------------------------------------------- engine-level property

KEYS = ("a", "b")
leaf = st.sampled_from([{"key": k, "op": op} for k in KEYS for op in ("is_true", "is_false")])
conds = st.recursive(leaf, lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
    inner.map(lambda x: {"not": x})), max_leaves=6)
cell = st.sampled_from([True, False, None, "missing"])
rows = st.lists(st.fixed_dictionaries({k: cell for k in KEYS}), max_size=3).map(
    lambda rs: [{k: v for k, v in r.items() if v != "missing"} for r in rs])


@settings(max_examples=300)
@given(conds, conds, rows, st.sampled_from(["error", "pass", "fail", "not_applicable"]))
def test_unknown_never_yields_pass(where: Any, fail_when: Any, items: list[dict[str, Any]],
                                   on_empty: str) -> None:
    rule = _rule(where=where, fail_when=fail_when, on_empty=on_empty)
    (f,) = evaluate_account([rule], {"x.items": items}, MEMBER, NOW)
    holes = [(i, k) for i, r in enumerate(items) for k in KEYS if r.get(k) is None]
    if f.status is Status.ERROR:
        assert holes or on_empty == "error", "ERROR without any unknown value"
        return
    # A decided verdict is the verdict of every way the unknowns could really be.
    for combo in itertools.product([True, False], repeat=len(holes)):
        filled = [dict(r) for r in items]
        for (i, k), v in zip(holes, combo, strict=True):
            filled[i][k] = v
        (g,) = evaluate_account([rule], {"x.items": filled}, MEMBER, NOW)
        assert g.status is f.status


# ---------------------------------------------------------------- the wall




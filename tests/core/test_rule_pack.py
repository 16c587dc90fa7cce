"""The shipped rule pack: valid, every embedded case passes, mappings per the CIS table."""

from __future__ import annotations

import pytest

from scanner.core.models import Status
from scanner.core.rules import Rule, RuleTest
from scanner.core.ruletest import run_case

from .pack import RULES_DIR, load_pack

PACK = load_pack()
CASES = [(r, c) for r in PACK for c in r.tests]


@pytest.mark.parametrize(("rule", "case"), CASES, ids=[f"{r.id}:{c.name}" for r, c in CASES])
def test_embedded_case(rule: Rule, case: RuleTest) -> None:
    result = run_case(rule, case)
    assert result.passed, str(result)


@pytest.mark.parametrize("rule", PACK, ids=[r.id for r in PACK])
def test_every_rule_tests_pass_fail_and_unknown(rule: Rule) -> None:
    expected = {c.expect for c in rule.tests}
    assert {Status.PASS, Status.FAIL, Status.ERROR} <= expected
    if rule.applies_when is not None or rule.on_empty == "not_applicable":
        assert Status.NOT_APPLICABLE in expected


def test_every_file_of_the_pack_is_a_rule() -> None:
    assert {p.stem for p in RULES_DIR.glob("*.yaml")} == {r.id for r in PACK}


# docs/facts.md, CIS AWS Foundations numbering for root controls.
TABLE = {
    "root-access-keys-present": {"cis-aws-foundations-3.0": ("1.4",),
                                 "cis-aws-foundations-5.0": ("1.3",),
                                 "cis-aws-foundations-7.0": ("2.4",), "aws-fsbp": ("IAM.4",)},
    "root-mfa-enabled": {"cis-aws-foundations-3.0": ("1.5",), "cis-aws-foundations-5.0": ("1.4",),
                         "cis-aws-foundations-7.0": ("2.5",), "aws-fsbp": ("IAM.9",)},
    "root-hardware-mfa": {"cis-aws-foundations-3.0": ("1.6",),
                          "cis-aws-foundations-5.0": ("1.5",),
                          "cis-aws-foundations-7.0": ("2.6",), "aws-fsbp": ("IAM.6",)},
    "root-account-used": {"cis-aws-foundations-3.0": ("1.7",),
                          "cis-aws-foundations-5.0": ("1.6",),
                          "cis-aws-foundations-7.0": ("2.7",)},
    "root-usage-monitoring": {"cis-aws-foundations-3.0": ("4.3",),
                              "cis-aws-foundations-5.0": ("4.3",),
                              "cis-aws-foundations-7.0": ("5.3",),
                              "aws-fsbp": ("CloudWatch.1",)},
    "org-centralized-root-access": {"cis-aws-foundations-7.0": ("2.1.1",)},
}


@pytest.mark.parametrize("rule_id", sorted(TABLE))
def test_root_control_mappings_match_the_table(rule_id: str) -> None:
    rule = next(r for r in PACK if r.id == rule_id)
    assert dict(rule.compliance) == TABLE[rule_id]


def test_every_rule_has_references_and_remediation() -> None:
    for r in PACK:
        assert r.references and r.remediation and r.pass_message, r.id

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


# The mapping table of docs/rules.md (the root rows repeat docs/facts.md's CIS numbering for
# root controls): rule -> (CIS 3.0, CIS 5.0, CIS 7.0, FSBP); None where no control covers the
# rule in that framework.
C3, C5, C7, FSBP = ("cis-aws-foundations-3.0", "cis-aws-foundations-5.0",
                    "cis-aws-foundations-7.0", "aws-fsbp")
MAPPING: dict[str, tuple[str | None, str | None, str | None, str | None]] = {
    "root-account-used": ("1.7", "1.6", "2.7", None),
    "root-console-login-without-mfa": (None, None, None, None),
    "root-access-keys-present": ("1.4", "1.3", "2.4", "IAM.4"),
    "root-access-key-rotation": (None, None, None, None),
    "root-mfa-enabled": ("1.5", "1.4", "2.5", "IAM.9"),
    "root-hardware-mfa": ("1.6", "1.5", "2.6", "IAM.6"),
    "root-signing-certificates": (None, None, None, None),
    "password-policy-min-length": ("1.8", "1.7", "2.8", "IAM.15"),
    "password-policy-reuse-prevention": ("1.9", "1.8", "2.9", "IAM.16"),
    "cloudtrail-multi-region-logging": ("3.1", "3.1", "4.1", "CloudTrail.1"),
    "cloudtrail-log-file-validation": ("3.2", "3.2", "4.2", "CloudTrail.4"),
    "cloudtrail-kms-encryption": ("3.5", "3.5", "4.5", "CloudTrail.2"),
    # CIS dropped "trails integrated with CloudWatch Logs" in 3.0; no 3.0/5.0/7.0 control.
    "cloudtrail-cloudwatch-logs": (None, None, None, "CloudTrail.5"),
    "root-usage-monitoring": ("4.3", "4.3", "5.3", "CloudWatch.1"),
    "alternate-security-contact": ("1.2", "1.2", "2.3", "Account.1"),
    "root-centralized-access-effective": (None, None, "2.1.1", None),
    "root-deny-scp-applied": (None, None, None, None),
    "org-centralized-root-access": (None, None, "2.1.1", None),
    "org-member-root-credentials": (None, None, None, None),
}


def expected_compliance(rule_id: str) -> dict[str, tuple[str, ...]]:
    row = dict(zip((C3, C5, C7, FSBP), MAPPING[rule_id], strict=True))
    return {fw: (control,) for fw, control in row.items() if control is not None}


def test_the_mapping_table_covers_the_whole_pack() -> None:
    assert set(MAPPING) == {r.id for r in PACK}


@pytest.mark.parametrize("rule_id", sorted(MAPPING))
def test_control_mappings_match_the_table(rule_id: str) -> None:
    rule = next(r for r in PACK if r.id == rule_id)
    assert dict(rule.compliance) == expected_compliance(rule_id)


def test_a_cis_mapped_rule_has_every_benchmark_version() -> None:
    """Each control that covers a rule exists in all three benchmark versions orgscan knows,
    except centralized root access, which 7.0 introduced."""
    for rule_id, (c3, c5, c7, _) in MAPPING.items():
        if c7 == "2.1.1":
            assert (c3, c5) == (None, None), rule_id
        elif any((c3, c5, c7)):
            assert None not in (c3, c5, c7), rule_id


def test_the_rules_doc_table_matches_the_pack() -> None:
    doc = (RULES_DIR.parent / "docs" / "rules.md").read_text("utf-8")
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 8 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = tuple(None if c == "—" else c for c in cells[4:8])
    assert rows == MAPPING


def test_every_rule_has_references_and_remediation() -> None:
    for r in PACK:
        assert r.references and r.remediation and r.pass_message, r.id

"""Run the test cases embedded in rule files (``tests:``), purely, against a fixed clock.

Each case supplies facts (and optionally fact errors, account overrides and ``now``) and the
expected status; the case runs through the same engine as a scan.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from scanner.core.engine import evaluate_account, evaluate_organization
from scanner.core.models import (
    JSON,
    Account,
    AccountState,
    Finding,
    Organization,
    OrgUnit,
    Status,
)
from scanner.core.rules import Rule, RuleTest

# Cases write dates relative to this instant unless they set `now:` themselves.
DEFAULT_TEST_NOW: Final = datetime(2026, 1, 1, tzinfo=UTC)
TEST_ACCOUNT_ID: Final = "111111111111"
TEST_MANAGEMENT_ID: Final = "999999999999"


@dataclass(frozen=True)
class CaseResult:
    rule_id: str
    name: str
    expected: Status
    actual: Status
    message: str
    passed: bool
    problem: str | None = None  # why it failed, beyond the status
    path: Path | None = None
    line: int | None = None

    def __str__(self) -> str:
        mark = "ok  " if self.passed else "FAIL"
        loc = f"{self.path}:{self.line}: " if self.path and not self.passed else ""
        extra = f" -- {self.problem}" if self.problem else ""
        return (f"{mark} {loc}{self.rule_id}: {self.name}: expected {self.expected.value}, "
                f"got {self.actual.value} ({self.message}){extra}")


def _account(overrides: dict[str, JSON], management: bool) -> Account:
    acct_id = overrides.get("id", TEST_MANAGEMENT_ID if management else TEST_ACCOUNT_ID)
    return Account(
        id=acct_id, name=overrides.get("name", "mgmt" if management else "workload"),
        email=f"{acct_id}@example.com", arn=f"arn:aws:organizations::{TEST_MANAGEMENT_ID}:"
        f"account/o-test/{acct_id}", status=AccountState.ACTIVE, joined_method="CREATED",
        joined_timestamp="2024-01-01T00:00:00+00:00", parent_id="r-test",
        ou_path=overrides.get("ou_path", "Root"), is_management=management,
    )


def case_organization(account: Account | None = None) -> Organization:
    """A one- or two-account organization for rule test cases."""
    mgmt = _account({}, True)
    accounts = (mgmt,) if account is None or account.is_management else (mgmt, account)
    root = OrgUnit("r-test", "Root", "arn:aws:organizations::999999999999:root/o-test/r-test",
                   None, "Root")
    return Organization("o-test", "arn:aws:organizations::999999999999:organization/o-test",
                        "ALL", mgmt.id, mgmt.email, (root,), accounts)


def run_case(rule: Rule, case: RuleTest) -> CaseResult:
    now = datetime.fromisoformat(case.now) if case.now else DEFAULT_TEST_NOW
    facts: dict[str, JSON] = {**case.facts, **case.fact_errors}
    overrides = dict(case.account)
    account = _account(overrides, bool(overrides.get("is_management", False)))
    org = case_organization(account)
    findings: list[Finding]
    if rule.scope == "organization":
        findings = evaluate_organization([rule], facts, org, now)
    else:
        findings = evaluate_account([rule], facts, account, now, org)
    f = findings[0]
    problem = None
    if f.status is not case.expect:
        problem = "status differs"
    elif case.message_contains and case.message_contains not in f.message:
        problem = f"message lacks {case.message_contains!r}"
    return CaseResult(rule.id, case.name, case.expect, f.status, f.message, problem is None,
                      problem, rule.path, case.line)


def run_rule_tests(rules: Iterable[Rule]) -> list[CaseResult]:
    return [run_case(r, c) for r in rules for c in r.tests]

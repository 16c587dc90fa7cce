"""Findings name resources in the organization's own partition (GovCloud, China), not "aws"."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scanner.core.engine import evaluate_account, partition_of
from scanner.core.models import Account, AccountState, Status
from scanner.core.ruletest import case_organization
from tests.core.pack import load_pack


@pytest.mark.parametrize(("arn", "partition"), [
    ("arn:aws:organizations::111111111111:account/o-x/222222222222", "aws"),
    ("arn:aws-us-gov:organizations::111111111111:account/o-x/222222222222", "aws-us-gov"),
    ("arn:aws-cn:organizations::111111111111:account/o-x/222222222222", "aws-cn"),
    ("not-an-arn", "aws"),
    ("", "aws"),
])
def test_partition_of(arn: str, partition: str) -> None:
    assert partition_of(arn) == partition


def test_root_findings_carry_the_accounts_partition() -> None:
    rule = next(r for r in load_pack() if r.id == "root-access-keys-present")
    gov = Account("222222222222", "gov", "gov@example.com",
                  "arn:aws-us-gov:organizations::111111111111:account/o-x/222222222222",
                  AccountState.ACTIVE, "CREATED", "", "ou-x", "Root")
    row = {"user": "<root_account>", "access_key_1_active": True, "access_key_2_active": False}
    facts = {"iam.credential_report": [row], "iam.account_summary": {"AccountAccessKeysPresent": 1}}
    findings = evaluate_account([rule], facts, gov, datetime(2026, 1, 1, tzinfo=UTC),
                                case_organization(gov))
    assert findings[0].status is Status.FAIL
    assert findings[0].resource == "arn:aws-us-gov:iam::222222222222:root"

"""Root-deny SCP recognition."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.core.scp import denies_root_actions

DENY_ROOT: dict[str, Any] = {
    "Sid": "DenyRoot", "Effect": "Deny", "Action": "*", "Resource": "*",
    "Condition": {"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:root"]}},
}


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def variant(**changes: Any) -> dict[str, Any]:
    out = {**DENY_ROOT, **changes}
    return {k: v for k, v in out.items() if v is not None}


@pytest.mark.parametrize("stmt", [
    DENY_ROOT,
    variant(Action=["*"]),
    variant(Action="*:*"),
    variant(Resource=["*"]),
    variant(Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}),
    variant(Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}),
    variant(Condition={"ArnEquals": {"aws:PrincipalArn": "arn:*:iam::*:root"}}),
    variant(Condition={"StringLikeIfExists": {"AWS:PrincipalARN": "arn:aws:iam::*:root"}}),
    variant(Condition={"StringLike": {"aws:PrincipalArn": ["arn:aws:iam::*:role/x",
                                                           "arn:aws:iam::*:root"]}}),
    variant(Action=None, NotAction=["iam:CreateVirtualMFADevice", "iam:EnableMFADevice"]),
])
def test_guardrails_recognised(stmt: dict[str, Any]) -> None:
    assert denies_root_actions(doc(stmt))
    assert denies_root_actions({"Statement": stmt})  # a single statement object
    assert denies_root_actions(json.dumps(doc(stmt)))


@pytest.mark.parametrize("stmt", [
    variant(Effect="Allow"),
    variant(Action="s3:*"),
    variant(Action=["ec2:*", "iam:*"]),
    variant(Action=None),
    variant(Action=None, NotAction="*"),
    variant(Action=None, NotAction=["iam:*"]),
    variant(Resource="arn:aws:s3:::bucket/*"),
    variant(Resource=None, NotResource="arn:aws:s3:::x"),
    variant(Condition=None),
    variant(Condition={"StringEquals": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}),
    variant(Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:root"}}),
    variant(Condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}}),
    variant(Condition={"StringNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}),
    variant(Condition={"StringLike": {"aws:userid": "*:root"}}),
    variant(Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root",
                                      "aws:RequestedRegion": "eu-west-1"}}),
    variant(Condition={"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"},
                       "Bool": {"aws:MultiFactorAuthPresent": "false"}}),
    variant(Principal="*"),
])
def test_non_guardrails_rejected(stmt: dict[str, Any]) -> None:
    assert not denies_root_actions(doc(stmt))


@pytest.mark.parametrize("bad", [{}, {"Statement": "x"}, {"Statement": [1, None]}, "not json",
                                 "[]"])
def test_malformed_documents_are_false(bad: Any) -> None:
    assert denies_root_actions(bad) is False


other = st.fixed_dictionaries({
    "Effect": st.sampled_from(["Allow", "Deny"]),
    "Action": st.sampled_from(["*", "s3:*", ["ec2:RunInstances"]]),
    "Resource": st.just("*"),
})


@given(st.lists(other, max_size=4), st.integers(0, 4))
def test_one_guardrail_suffices_whatever_else_is_there(others: list[dict[str, Any]],
                                                       at: int) -> None:
    statements = list(others)
    statements.insert(min(at, len(statements)), DENY_ROOT)
    assert denies_root_actions(doc(*statements))
    assert not denies_root_actions(doc(*others))

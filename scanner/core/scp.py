"""Decide whether a service control policy denies root-user actions (a root guardrail).

``denies_root_actions(doc)`` is True iff some statement, on its own, denies every action on
every resource to the root user of whichever member account the SCP applies to:

- ``Effect`` is ``Deny``;
- ``Action`` covers all actions (``*`` or ``*:*``), or ``NotAction`` lists only specific
  actions (no wildcard) -- a narrow exemption such as letting root set up MFA still leaves a
  guardrail; a ``NotAction`` with any wildcard (``iam:*``, ``*``) is an escape hatch and does
  not count;
- ``Resource`` covers all resources (``*``); ``NotResource`` does not count;
- ``Condition`` holds exactly one block, a principal-ARN match (``StringLike``, ``ArnLike``,
  ``ArnEquals``, or their ``IfExists`` forms; ``StringEquals`` only with a literal root ARN,
  which it cannot match for every account) on ``aws:PrincipalArn`` whose values match the
  root ARN of *any* account (``arn:aws:iam::*:root``, ``arn:*:iam::*:root``). Extra values
  only widen the deny, so they are fine; any other condition key or operator narrows the deny
  (a region, a tag, a negated match) and the statement does not count.
- no ``Principal`` / ``NotPrincipal`` (SCPs do not support them; a document carrying them is
  not a valid SCP).

Statements are independent: one qualifying Deny suffices, whatever the others say (an Allow
can never override a Deny). Malformed documents yield False, never an exception.

PURE: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Final

from scanner.core.models import JSON

# Root ARNs of two unrelated accounts (and partitions): a qualifying value must match every one
# of them, i.e. the root of any account, not one account's root.
_SAMPLE_ROOT_ARNS: Final = (
    "arn:aws:iam::123456789012:root",
    "arn:aws:iam::000000000000:root",
    "arn:aws:iam::987654321098:root",
)
_ARN_OPERATORS: Final = frozenset({"arnlike", "arnequals"})
_EQUALS_OPERATORS: Final = frozenset({"stringequals"})


def _as_list(value: JSON) -> list[JSON]:
    return value if isinstance(value, list) else [value]


def _glob(pattern: str, text: str) -> bool:
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(rx, text) is not None


def _arn_glob(pattern: str, arn: str) -> bool:
    # ArnLike/ArnEquals match each of the six colon-separated parts on its own, so a wildcard
    # never spans a colon.
    p, a = pattern.split(":", 5), arn.split(":", 5)
    return len(p) == len(a) == 6 and all(_glob(x, y) for x, y in zip(p, a, strict=True))


def _covers_all_actions(stmt: Mapping[str, JSON]) -> bool:
    if "Action" in stmt:
        return any(a in ("*", "*:*") for a in _as_list(stmt["Action"]) if isinstance(a, str))
    if "NotAction" in stmt:
        exempt = _as_list(stmt["NotAction"])
        return bool(exempt) and all(isinstance(a, str) and "*" not in a and "?" not in a
                                    for a in exempt)
    return False


def _covers_all_resources(stmt: Mapping[str, JSON]) -> bool:
    return "Resource" in stmt and "*" in _as_list(stmt["Resource"])


def _targets_root(condition: JSON) -> bool:
    if not isinstance(condition, Mapping) or len(condition) != 1:
        return False
    (operator, block), = condition.items()
    if not isinstance(operator, str) or not isinstance(block, Mapping) or len(block) != 1:
        return False
    (key, values), = block.items()
    if not isinstance(key, str) or key.lower() != "aws:principalarn":
        return False
    op = operator.lower().removesuffix("ifexists")
    values = [v for v in _as_list(values) if isinstance(v, str)]
    if op == "stringlike":
        return any(all(_glob(v, arn) for arn in _SAMPLE_ROOT_ARNS) for v in values)
    if op in _ARN_OPERATORS:
        return any(all(_arn_glob(v, arn) for arn in _SAMPLE_ROOT_ARNS) for v in values)
    if op in _EQUALS_OPERATORS:
        return any(all(v == arn for arn in _SAMPLE_ROOT_ARNS) for v in values)
    return False


def statement_denies_root(stmt: JSON) -> bool:
    """One statement, judged alone (see the module docstring)."""
    if not isinstance(stmt, Mapping) or stmt.get("Effect") != "Deny":
        return False
    if "Principal" in stmt or "NotPrincipal" in stmt or "NotResource" in stmt:
        return False
    return (_covers_all_actions(stmt) and _covers_all_resources(stmt)
            and _targets_root(stmt.get("Condition")))


def denies_root_actions(policy_document: Mapping[str, JSON] | str) -> bool:
    """True iff the SCP has a statement denying all actions to every account's root user."""
    doc: JSON = policy_document
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            return False
    if not isinstance(doc, Mapping):
        return False
    return any(statement_denies_root(s) for s in _as_list(doc.get("Statement", [])))

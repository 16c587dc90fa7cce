"""Property-based tests (hypothesis) of the two places hostile data is interpreted: the
condition evaluator (any operator on any JSON value never crashes, unknown never decides a
verdict, and a fact that failed never passes any rule of the pack) and the CloudTrail log
reader (arbitrary bytes never crash it; a valid file round-trips its root events)."""

from __future__ import annotations

import gzip
import itertools
import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.core.conditions import compile_condition
from scanner.core.engine import evaluate_account, evaluate_organization, facts_needed
from scanner.core.models import FactError, Severity, Status
from scanner.core.operators import OPERATORS
from scanner.core.rules import Rule
from scanner.core.ruletest import _account, case_organization
from scanner.core.trailparse import scan_log_file
from scanner.run.rulepack import load_rules

NOW = datetime(2026, 1, 1, tzinfo=UTC)
MEMBER = _account({"ou_path": "Root/Prod"}, False)
ORG = case_organization(MEMBER)
KEYS = ("a", "b")
DECIDED = {Status.PASS, Status.FAIL, Status.NOT_APPLICABLE}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                  max_size=3),
    max_leaves=8)
# Values a condition compares with, by the kind its operator expects.
OPERAND = {
    "none": st.just(None),
    "scalar": st.one_of(st.booleans(), st.integers(-5, 20), st.sampled_from(["x", "Root", ""])),
    "scalars": st.lists(st.one_of(st.integers(-5, 20), st.sampled_from(["x", "y"])),
                        min_size=1, max_size=3),
    "number": st.integers(-5, 20),
    "days": st.integers(0, 400),
    "regex": st.sampled_from(["^R", "x|y", "[0-9]+", "(?i)root"]),
}


@st.composite
def leaves(draw: st.DrawFn) -> dict[str, Any]:
    op = draw(st.sampled_from(sorted(OPERATORS)))
    leaf: dict[str, Any] = {"key": draw(st.sampled_from(KEYS)), "op": op}
    value = draw(OPERAND[OPERATORS[op].value_kind])
    if value is not None:
        leaf["value"] = value
    return leaf


conditions = st.recursive(leaves(), lambda inner: st.one_of(
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"all": xs}),
    st.lists(inner, min_size=1, max_size=3).map(lambda xs: {"any": xs}),
    inner.map(lambda x: {"not": x})), max_leaves=5)


def rule(where: Any, fail_when: Any, on_empty: str) -> Rule:
    return Rule(id="r", title="t", severity=Severity.LOW, scope="account", resource="x.items",
                message="failed {a}", remediation="fix",
                where=compile_condition(where, "where"),
                fail_when=compile_condition(fail_when, "fail_when"), on_empty=on_empty)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conditions, conditions,
       st.lists(st.dictionaries(st.sampled_from(KEYS), json_values, max_size=2), max_size=3),
       st.sampled_from(["error", "pass", "fail", "not_applicable"]))
def test_any_operator_on_any_value_never_crashes(where: Any, fail_when: Any,
                                                 items: list[dict[str, Any]],
                                                 on_empty: str) -> None:
    (f,) = evaluate_account([rule(where, fail_when, on_empty)], {"x.items": items}, MEMBER, NOW)
    assert f.status in DECIDED | {Status.ERROR}
    assert f.message


TYPED = [0, 5, 10, 25, "x", "Root", "", True, False, "2025-12-20T00:00:00+00:00",
         "2024-01-01T00:00:00+00:00", ["x"], []]


def _uses_exists(cond: Any) -> bool:
    return "exists" in json.dumps(cond)


@settings(max_examples=300, deadline=None)
@given(conditions, conditions,
       st.lists(st.fixed_dictionaries({k: st.sampled_from([None, *TYPED]) for k in KEYS}),
                min_size=1, max_size=2),
       st.sampled_from(["error", "pass", "fail", "not_applicable"]))
def test_unknown_never_decides_a_verdict(where: Any, fail_when: Any,
                                         items: list[dict[str, Any]], on_empty: str) -> None:
    """Whatever operators: a verdict reached while some value is unknown (null) is the verdict
    for every known value it could have been (or an ERROR), never a different decision.
    (``exists`` tests knownness itself, so conditions using it are left out.)"""
    if _uses_exists(where) or _uses_exists(fail_when):
        return
    r = rule(where, fail_when, on_empty)
    (f,) = evaluate_account([r], {"x.items": items}, MEMBER, NOW)
    holes = [(i, k) for i, row in enumerate(items) for k in KEYS if row[k] is None]
    if f.status is Status.ERROR or not holes:
        return
    for combo in itertools.product(TYPED[:4] + TYPED[7:9], repeat=len(holes)):
        filled = [dict(row) for row in items]
        for (i, k), v in zip(holes, combo, strict=True):
            filled[i][k] = v
        (g,) = evaluate_account([r], {"x.items": filled}, MEMBER, NOW)
        assert g.status in (f.status, Status.ERROR), (f.status, g.status, filled)


PACK = load_rules()


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(PACK), st.data())
def test_a_failed_fact_never_passes_a_pack_rule(r: Rule, data: st.DataObject) -> None:
    """Each fact a pack rule reads, failed (FactError) or missing: the rule is never PASS."""
    needed = sorted(facts_needed([r]))
    broken = data.draw(st.lists(st.sampled_from(needed), min_size=1, unique=True))
    how = data.draw(st.sampled_from(["error", "missing"]))
    facts: dict[str, Any] = {n: FactError("Throttling", "still throttled") for n in broken}
    if how == "missing":
        facts = {}
    if r.scope == "organization":
        found = evaluate_organization([r], facts, ORG, NOW)
    else:
        found = evaluate_account([r], facts, MEMBER, NOW)
    assert found, r.id
    for f in found:
        assert f.status is not Status.PASS, (r.id, broken, f.message)


# -- the CloudTrail log reader ---------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_arbitrary_bytes_never_crash_the_reader(data: bytes) -> None:
    scan = scan_log_file(data, "k")
    assert scan.error is not None or not scan.matched or scan.records >= 0


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096), st.booleans())
def test_arbitrary_gzipped_bytes_never_crash_the_reader(data: bytes, token: bool) -> None:
    scan = scan_log_file(gzip.compress(data + (b'Root"' if token else b"")), "k")
    if scan.error is None:
        assert scan.matched or not token


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=10))
def test_arbitrary_json_never_crashes_the_reader(doc: Any) -> None:
    for body in ({"Records": [doc, {"userIdentity": {"type": "Root"}}]}, doc):
        scan_log_file(gzip.compress(json.dumps(body).encode()), "k")


def record(i: int, root: bool, kind: str) -> dict[str, Any]:
    identity = ({"type": "Root", "accountId": "111122223333",
                 "arn": "arn:aws:iam::111122223333:root", "accessKeyId": "ASIAEXAMPLE000001"}
                if root else {"type": "IAMUser", "userName": f"u{i}",
                              "arn": f"arn:aws:iam::111122223333:user/u{i}"})
    rec: dict[str, Any] = {
        "eventVersion": "1.09", "eventID": f"id-{i}", "eventTime": "2026-01-10T10:00:00Z",
        "eventType": "AwsApiCall", "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
        "awsRegion": "us-east-1", "userIdentity": identity, "sourceIPAddress": "198.51.100.7",
        "recipientAccountId": "111122223333", "readOnly": True}
    if kind == "login":
        rec.update(eventType="AwsConsoleSignIn", eventSource="signin.amazonaws.com",
                   eventName="ConsoleLogin", responseElements={"ConsoleLogin": "Success"},
                   additionalEventData={"MFAUsed": "No"})
    return rec


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.sampled_from(["api", "login"])), max_size=40),
       st.integers(1, 9), st.booleans())
def test_valid_file_round_trips_its_root_events(spec: list[tuple[bool, str]], level: int,
                                                indent: bool) -> None:
    records = [record(i, root, kind) for i, (root, kind) in enumerate(spec)]
    text = json.dumps({"Records": records}, indent=2 if indent else None)
    scan = scan_log_file(gzip.compress(text.encode(), compresslevel=level), "k")
    assert scan.error is None
    roots = {r["eventID"] for r in records if r["userIdentity"]["type"] == "Root"}
    assert {e.event_id for e in scan.events} == roots
    if roots:
        assert scan.matched and scan.records == len(records)

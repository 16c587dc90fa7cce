"""The condition language: operators, three-valued logic, quantifiers, properties."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core.conditions import (
    All,
    AnyOf,
    Compare,
    Condition,
    ConditionError,
    Not,
    Quantifier,
    compile_condition,
    facts_read,
)
from scanner.core.operators import check_value
from scanner.core.truth import Context

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def ev(raw: dict[str, Any], item: Any, facts: dict[str, Any] | None = None) -> bool | None:
    return compile_condition(raw, "c").evaluate(Context(item, facts or {}, NOW)).value


@pytest.mark.parametrize(
    ("raw", "item", "expected"),
    [
        ({"key": "a", "op": "eq", "value": "x"}, {"a": "x"}, True),
        ({"key": "a", "op": "eq", "value": 1}, {"a": True}, False),  # bool is not 1
        ({"key": "a", "op": "eq", "value": 1}, {"a": 1.0}, True),
        ({"key": "a", "op": "ne", "value": "x"}, {"a": "y"}, True),
        ({"key": "a", "op": "in", "value": ["x", "y"]}, {"a": "y"}, True),
        ({"key": "a", "op": "not_in", "value": ["x", "y"]}, {"a": "z"}, True),
        ({"key": "a", "op": "lt", "value": 14}, {"a": 8}, True),
        ({"key": "a", "op": "le", "value": 14}, {"a": 14}, True),
        ({"key": "a", "op": "gt", "value": 0}, {"a": 0}, False),
        ({"key": "a", "op": "ge", "value": 24}, {"a": 24}, True),
        ({"key": "a", "op": "lt", "value": 14}, {"a": "8"}, None),  # not a number: unknown
        ({"key": "a", "op": "is_true"}, {"a": True}, True),
        ({"key": "a", "op": "is_false"}, {"a": True}, False),
        ({"key": "a", "op": "is_true"}, {"a": "true"}, None),  # strings are not booleans
        ({"key": "a", "op": "exists"}, {"a": 0}, True),
        ({"key": "a", "op": "exists"}, {}, False),
        ({"key": "a", "op": "exists"}, {"a": None}, False),
        ({"key": "a", "op": "exists"}, {"a": "N/A"}, False),
        ({"key": "a", "op": "matches", "value": "^arn:aws:iam::\\d+:root$"},
         {"a": "arn:aws:iam::123:root"}, True),
        ({"key": "a", "op": "contains", "value": "x"}, {"a": ["x", "y"]}, True),
        ({"key": "a", "op": "contains", "value": "oo"}, {"a": "root"}, True),
        ({"key": "a", "op": "contains", "value": "x"}, {"a": 3}, None),
        ({"key": "a", "op": "within_days", "value": 90}, {"a": "2025-12-01T00:00:00+00:00"}, True),
        ({"key": "a", "op": "within_days", "value": 90}, {"a": "2025-01-01T00:00:00Z"}, False),
        ({"key": "a", "op": "older_than_days", "value": 90}, {"a": "2025-01-01T00:00:00Z"}, True),
        ({"key": "a", "op": "older_than_days", "value": 90}, {"a": "yesterday"}, None),
        ({"key": "a", "op": "older_than_days", "value": 1}, {"a": "2025-01-01T00:00:00"}, None),
        ({"key": "a.b", "op": "eq", "value": 1}, {"a": {"b": 1}}, True),
        ({"key": "a.1", "op": "eq", "value": "y"}, {"a": ["x", "y"]}, True),
    ],
)
def test_operator_table(raw: dict[str, Any], item: Any, expected: bool | None) -> None:
    assert ev(raw, item) is expected


@pytest.mark.parametrize("marker", [None, "N/A", "no_information", "not_supported"])
def test_unknown_markers_are_unknown_for_every_operator_but_exists(marker: Any) -> None:
    for raw in (
        {"key": "a", "op": "eq", "value": "x"},
        {"key": "a", "op": "ne", "value": "x"},
        {"key": "a", "op": "is_false"},
        {"key": "a", "op": "not_in", "value": ["x"]},
        {"key": "a", "op": "within_days", "value": 1},
    ):
        assert ev(raw, {"a": marker}) is None
        assert ev(raw, {}) is None
    assert ev({"key": "a", "op": "exists"}, {"a": marker}) is False


def test_unknown_reason_names_the_key() -> None:
    cond = compile_condition({"all": [{"key": "a", "op": "is_true"},
                                      {"key": "b", "op": "is_true"}]}, "c")
    t = cond.evaluate(Context({"a": True}, {}, NOW))
    assert t.value is None and t.reasons == ("b is missing",)


def test_named_fact() -> None:
    raw = {"fact": "iam.organizations_features", "key": "root_credentials_management",
           "op": "is_true"}
    assert ev(raw, {}, {"iam.organizations_features": {"root_credentials_management": True}})
    assert ev(raw, {}, {}) is None
    assert facts_read(compile_condition(raw, "c")) == {"iam.organizations_features"}


def test_quantifiers() -> None:
    item = {"alarms": [{"s": 0}, {"s": 2}]}
    where = {"key": "s", "op": "ge", "value": 1}
    assert ev({"some": {"key": "alarms", "where": where}}, item) is True
    assert ev({"every": {"key": "alarms", "where": where}}, item) is False
    assert ev({"none": {"key": "alarms", "where": where}}, item) is False
    assert ev({"count": {"key": "alarms", "where": where, "op": "eq", "value": 1}}, item) is True
    assert ev({"count": {"key": "alarms", "op": "eq", "value": 2}}, item) is True
    assert ev({"some": {"key": "alarms", "where": where}}, {"alarms": []}) is False
    assert ev({"every": {"key": "alarms", "where": where}}, {"alarms": []}) is True
    assert ev({"some": {"key": "alarms", "where": where}}, {}) is None
    assert ev({"some": {"key": "alarms", "where": where}}, {"alarms": "x"}) is None


def test_count_with_unknown_items_is_decided_only_when_every_count_agrees() -> None:
    where = {"key": "s", "op": "is_true"}
    item = {"xs": [{"s": True}, {"s": None}]}
    assert ev({"count": {"key": "xs", "where": where, "op": "ge", "value": 1}}, item) is True
    assert ev({"count": {"key": "xs", "where": where, "op": "eq", "value": 1}}, item) is None
    assert ev({"count": {"key": "xs", "where": where, "op": "gt", "value": 2}}, item) is False


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ({"key": "a", "op": "eqq", "value": 1}, "c.op"),
        ({"key": "a", "op": "is_true", "value": True}, "c.value"),
        ({"key": "a", "op": "within_days", "value": "9"}, "c.value"),
        ({"key": "a", "op": "within_days", "value": True}, "c.value"),
        ({"key": "a", "op": "matches", "value": "(("}, "c.value"),
        ({"key": "a", "op": "in", "value": []}, "c.value"),
        ({"any": [{"key": "a", "op": "exists"}, {"kye": "a", "op": "exists"}]}, "c.any[1].kye"),
        ({"count": {"key": "a", "op": "contains", "value": 1}}, "c.count.op"),
        ({"some": {"key": "a"}}, "c.some"),
    ],
)
def test_compile_errors_carry_the_yaml_path(raw: dict[str, Any], path: str) -> None:
    with pytest.raises(ConditionError) as e:
        compile_condition(raw, "c")
    assert e.value.path == path


def test_check_value_messages() -> None:
    assert check_value("exists", None, False) is None
    assert "takes no value" in (check_value("is_true", True, True) or "")
    assert "needs a value" in (check_value("eq", None, False) or "")


def test_dates_are_parsed_once_per_context() -> None:
    ctx = Context({"d": "2025-12-01T00:00:00+00:00"}, {}, NOW)
    cond = compile_condition({"key": "d", "op": "within_days", "value": 90}, "c")
    cond.evaluate(ctx)
    assert list(ctx.dates) == ["2025-12-01T00:00:00+00:00"]
    ctx.dates["2025-12-01T00:00:00+00:00"] = datetime(2000, 1, 1, tzinfo=UTC)  # cached value used
    assert cond.evaluate(ctx).value is False


# ---------------------------------------------------------------- properties

KEYS = ("a", "b", "c")
VALUES = st.sampled_from([True, False, None, "N/A", "missing"])


def leaves() -> st.SearchStrategy[Condition]:
    return st.sampled_from([Compare("is_true", key=k) for k in KEYS]
                           + [Compare("is_false", key=k) for k in KEYS]
                           + [Compare("exists", key=k) for k in KEYS])


conditions = st.recursive(
    leaves(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: All(tuple(xs))),
        st.lists(inner, min_size=1, max_size=3).map(lambda xs: AnyOf(tuple(xs))),
        inner.map(Not),
    ),
    max_leaves=8,
)
items = st.fixed_dictionaries({k: VALUES for k in KEYS}).map(
    lambda d: {k: v for k, v in d.items() if v != "missing"})


def value(c: Condition, item: dict[str, Any]) -> bool | None:
    return c.evaluate(Context(item, {}, NOW)).value


@given(conditions, items)
def test_double_negation(c: Condition, item: dict[str, Any]) -> None:
    assert value(Not(Not(c)), item) == value(c, item)


@given(conditions, conditions, items)
def test_de_morgan(x: Condition, y: Condition, item: dict[str, Any]) -> None:
    assert value(Not(All((x, y))), item) == value(AnyOf((Not(x), Not(y))), item)
    assert value(Not(AnyOf((x, y))), item) == value(All((Not(x), Not(y))), item)


@settings(max_examples=300)
@given(conditions, items)
def test_known_results_hold_for_every_completion_of_the_unknowns(
        c: Condition, item: dict[str, Any]) -> None:
    # Kleene soundness: a decided answer never depends on what the unknown values really are.
    result = value(c, item)
    # `exists` is decided on the missing value itself, so completions do not apply to it.
    if result is None or _uses_exists(c):
        return
    unknown = [k for k in KEYS if item.get(k) not in (True, False)]
    for combo in itertools.product([True, False], repeat=len(unknown)):
        filled = {**item, **dict(zip(unknown, combo, strict=True))}
        assert value(c, filled) == result


def _uses_exists(c: Condition) -> bool:
    if isinstance(c, Compare):
        return c.op == "exists"
    if isinstance(c, All | AnyOf):
        return any(_uses_exists(p) for p in c.parts)
    if isinstance(c, Not):
        return _uses_exists(c.part)
    assert isinstance(c, Quantifier)
    return c.where is not None and _uses_exists(c.where)

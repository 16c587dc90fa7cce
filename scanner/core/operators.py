"""The operator table of the condition language: each operator, whether it takes a value, and how
it compares a fact value with it (unknown never decides: an unknown value gives unknown).

PURE: no I/O, no clock, no AWS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Final

from scanner.core.models import JSON
from scanner.core.truth import Context, Truth, is_unknown, parse_date

COMPARISONS: Final = ("eq", "ne", "lt", "le", "gt", "ge")


def _same(a: JSON, b: JSON) -> bool:
    # bool is an int in Python; in rules `true` never equals `1`.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _is_number(v: JSON) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


OpFn = Callable[[JSON, JSON, Context, str], Truth]


def _num(cmp: Callable[[float, float], bool]) -> OpFn:
    def op(actual: JSON, value: JSON, ctx: Context, label: str) -> Truth:
        if not _is_number(actual):
            return Truth.unknown(f"{label} is not a number ({actual!r})")
        return Truth(cmp(actual, value))

    return op


def _bool(expected: bool) -> OpFn:
    def op(actual: JSON, value: JSON, ctx: Context, label: str) -> Truth:
        if not isinstance(actual, bool):
            return Truth.unknown(f"{label} is not a boolean ({actual!r})")
        return Truth(actual is expected)

    return op


def _days(older: bool) -> OpFn:
    def op(actual: JSON, value: JSON, ctx: Context, label: str) -> Truth:
        when = parse_date(actual, ctx.dates) if isinstance(actual, str) else None
        if when is None:
            return Truth.unknown(f"{label} is not a timestamp ({actual!r})")
        age = ctx.now - when
        limit = timedelta(days=value)
        return Truth(age > limit if older else age <= limit)

    return op


def _matches(actual: JSON, value: JSON, ctx: Context, label: str) -> Truth:
    if not isinstance(actual, str):
        return Truth.unknown(f"{label} is not a string ({actual!r})")
    return Truth(re.search(value, actual) is not None)


def _contains(actual: JSON, value: JSON, ctx: Context, label: str) -> Truth:
    if isinstance(actual, list):
        return Truth(any(_same(v, value) for v in actual))
    if isinstance(actual, str) and isinstance(value, str):
        return Truth(value in actual)
    return Truth.unknown(f"{label} is not a list or string ({actual!r})")


@dataclass(frozen=True)
class Operator:
    name: str
    # what `value` must be: "none" | "scalar" | "scalars" | "number" | "days" | "regex"
    value_kind: str
    fn: OpFn
    doc: str
    # Whether ``fn`` decides a missing or unknown value itself (``exists``); for every other
    # operator such a value makes the comparison unknown before ``fn`` is called.
    reads_unknown: bool = False


OPERATORS: Final[Mapping[str, Operator]] = {
    o.name: o
    for o in (
        Operator("eq", "scalar", lambda a, v, c, k: Truth(_same(a, v)), "equal (types strict)"),
        Operator("ne", "scalar", lambda a, v, c, k: Truth(not _same(a, v)), "not equal"),
        Operator("in", "scalars", lambda a, v, c, k: Truth(any(_same(a, x) for x in v)),
                 "equal to one of a list"),
        Operator("not_in", "scalars",
                 lambda a, v, c, k: Truth(not any(_same(a, x) for x in v)), "none of a list"),
        Operator("lt", "number", _num(lambda a, v: a < v), "number <"),
        Operator("le", "number", _num(lambda a, v: a <= v), "number <="),
        Operator("gt", "number", _num(lambda a, v: a > v), "number >"),
        Operator("ge", "number", _num(lambda a, v: a >= v), "number >="),
        Operator("is_true", "none", _bool(True), "boolean true"),
        Operator("is_false", "none", _bool(False), "boolean false"),
        Operator("exists", "none", lambda a, v, c, k: Truth(not is_unknown(a)),
                 "present and known (decided even when missing)", reads_unknown=True),
        Operator("matches", "regex", _matches, "string matches a regex (re.search)"),
        Operator("contains", "scalar", _contains, "list has an element / string has substring"),
        Operator("within_days", "days", _days(older=False), "timestamp at most N days before now"),
        Operator("older_than_days", "days", _days(older=True),
                 "timestamp more than N days before now"),
    )
}


def check_value(op: str, value: JSON, has_value: bool) -> str | None:
    """Why ``value`` does not suit ``op`` (None when it does). Shared by compile and loader."""
    kind = OPERATORS[op].value_kind
    if kind == "none":
        return f"operator {op!r} takes no value" if has_value else None
    if not has_value:
        return f"operator {op!r} needs a value"
    scalar = isinstance(value, str | int | float | bool)
    if kind == "scalar" and not scalar:
        return f"operator {op!r} needs a string, number or boolean value"
    if kind == "scalars" and not (
        isinstance(value, list) and value and all(isinstance(v, str | int | float | bool)
                                                  for v in value)
    ):
        return f"operator {op!r} needs a non-empty list of scalars"
    if kind == "number" and not _is_number(value):
        return f"operator {op!r} needs a number"
    if kind == "days" and not (isinstance(value, int) and not isinstance(value, bool)
                               and value >= 0):
        return f"operator {op!r} needs a whole number of days >= 0"
    if kind == "regex":
        if not isinstance(value, str):
            return f"operator {op!r} needs a regular expression string"
        try:
            re.compile(value)
        except re.error as e:
            return f"invalid regular expression: {e}"
    return None

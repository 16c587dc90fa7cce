"""The condition language: one operator table and a three-valued (Kleene) evaluator.

A condition is compiled once from its YAML form into a small tree of frozen dataclasses, then
evaluated against a *context* (the current item plus every fact the rule may name). The result
is a ``Truth``: True, False, or unknown (``None``) together with the reasons it is unknown, so
that a rule that cannot be decided becomes ERROR naming the key that was unknown.

PURE: no I/O, no clock (``now`` is passed in), no AWS.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from scanner.core.models import JSON
from scanner.core.yamldoc import closest

# Values that mean "AWS did not say". Collectors normalise these to null, but a rule must
# still never read them as a real value if one slips through (credential report spellings).
UNKNOWN_MARKERS: Final = frozenset({"N/A", "no_information", "not_supported"})

COMPARISONS: Final = ("eq", "ne", "lt", "le", "gt", "ge")
QUANTIFIERS: Final = ("some", "every", "none", "count")
CONNECTIVES: Final = ("all", "any", "not")

_MISSING: Final = object()


class ConditionError(ValueError):
    """A condition that cannot be compiled; ``path`` is its YAML path (``fail_when.any[1]``)."""

    def __init__(self, path: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.hint = hint


@dataclass(frozen=True)
class Truth:
    """Kleene truth value. ``value is None`` means unknown; ``reasons`` say which key and why."""

    value: bool | None
    reasons: tuple[str, ...] = ()

    @staticmethod
    def unknown(*reasons: str) -> Truth:
        return Truth(None, tuple(reasons))


TRUE: Final = Truth(True)
FALSE: Final = Truth(False)


def _kleene(parts: Iterable[Truth], decisive: bool) -> Truth:
    """Kleene AND (decisive False) or OR (decisive True): one decisive part decides; else any
    unknown part makes the whole unknown, with every reason; else the other value."""
    reasons: list[str] = []
    unknown = False
    for t in parts:
        if t.value is decisive:
            return TRUE if decisive else FALSE
        if t.value is None:
            unknown = True
            reasons.extend(t.reasons)
    if unknown:
        return Truth.unknown(*_dedup(reasons))
    return FALSE if decisive else TRUE


def kleene_and(parts: Iterable[Truth]) -> Truth:
    return _kleene(parts, decisive=False)


def kleene_or(parts: Iterable[Truth]) -> Truth:
    return _kleene(parts, decisive=True)


def kleene_not(t: Truth) -> Truth:
    return t if t.value is None else Truth(not t.value)


def _dedup(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


@dataclass
class Context:
    """What a condition reads: ``item`` (addressed by ``key``) and every fact by name.

    ``dates`` caches parsed timestamps so each fact string is parsed once per evaluation run
    even when several rules read it.
    """

    item: JSON
    facts: Mapping[str, JSON]
    now: datetime
    dates: dict[str, datetime | None] = field(default_factory=dict)

    def with_item(self, item: JSON) -> Context:
        return Context(item, self.facts, self.now, self.dates)


# ---------------------------------------------------------------- value lookup


def is_unknown(value: object) -> bool:
    return value is None or value is _MISSING or (
        isinstance(value, str) and value in UNKNOWN_MARKERS
    )


def lookup(base: JSON, key: str | None) -> JSON:
    """Follow a dotted path; returns the sentinel ``_MISSING`` when any step is absent."""
    if key is None or key == ".":
        return base
    cur = base
    for part in key.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return _MISSING
    return cur


def parse_date(text: str, cache: dict[str, datetime | None]) -> datetime | None:
    if text in cache:
        return cache[text]
    try:
        parsed: datetime | None = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    # A naive timestamp cannot be compared with the (aware) clock; collectors promise a zone.
    if parsed is not None and parsed.tzinfo is None:
        parsed = None
    cache[text] = parsed
    return parsed


# ---------------------------------------------------------------- operator table


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


# ---------------------------------------------------------------- condition tree


@dataclass(frozen=True)
class Compare:
    op: str
    key: str | None = None
    fact: str | None = None
    value: JSON = None

    def evaluate(self, ctx: Context) -> Truth:
        actual, label = _resolve(self.fact, self.key, ctx)
        operator = OPERATORS[self.op]
        if not operator.reads_unknown:
            if actual is _MISSING:
                return Truth.unknown(f"{label} is missing")
            if is_unknown(actual):
                shown = "null" if actual is None else repr(actual)
                return Truth.unknown(f"{label} is unknown ({shown})")
        return operator.fn(actual, self.value, ctx, label)


@dataclass(frozen=True)
class All:
    parts: tuple[Condition, ...]

    def evaluate(self, ctx: Context) -> Truth:
        return kleene_and(p.evaluate(ctx) for p in self.parts)


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Condition, ...]

    def evaluate(self, ctx: Context) -> Truth:
        return kleene_or(p.evaluate(ctx) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Condition

    def evaluate(self, ctx: Context) -> Truth:
        return kleene_not(self.part.evaluate(ctx))


@dataclass(frozen=True)
class Quantifier:
    """some / every / none / count over a list addressed by key (and optionally fact)."""

    kind: str
    key: str | None = None
    fact: str | None = None
    where: Condition | None = None
    op: str | None = None  # count only: a comparison
    value: JSON = None

    def evaluate(self, ctx: Context) -> Truth:
        items, label = _resolve(self.fact, self.key, ctx)
        if is_unknown(items):
            return Truth.unknown(f"{label} is {'missing' if items is _MISSING else 'unknown'}")
        if not isinstance(items, list):
            return Truth.unknown(f"{label} is not a list")
        where = self.where
        each = [where.evaluate(ctx.with_item(i)) if where else TRUE for i in items]
        if self.kind == "some":
            return kleene_or(each)
        if self.kind == "every":
            return kleene_and(each)
        if self.kind == "none":
            return kleene_not(kleene_or(each))
        return self._count(each)

    def _count(self, each: Sequence[Truth]) -> Truth:
        # With unknown items the count lies in [lo, hi]; decided only if every possible count
        # gives the same answer.
        lo = sum(1 for t in each if t.value is True)
        hi = lo + sum(1 for t in each if t.value is None)
        assert self.op is not None
        fn = OPERATORS[self.op].fn
        dummy = Context(None, {}, datetime.min)
        answers = {fn(n, self.value, dummy, "count").value for n in range(lo, hi + 1)}
        if len(answers) == 1:
            return Truth(answers.pop())
        reasons = [r for t in each if t.value is None for r in t.reasons]
        return Truth.unknown(*_dedup(reasons))


Condition = Compare | All | AnyOf | Not | Quantifier


def _resolve(fact: str | None, key: str | None, ctx: Context) -> tuple[JSON, str]:
    if fact is not None:
        label = f"{fact}:{key}" if key else fact
        if fact not in ctx.facts:
            return _MISSING, label
        return lookup(ctx.facts[fact], key), label
    return lookup(ctx.item, key), key or "value"


# ---------------------------------------------------------------- compile


def compile_condition(raw: JSON, path: str) -> Condition:
    """Build a condition tree from its YAML form. Raises ConditionError with the YAML path."""
    if not isinstance(raw, Mapping) or not raw:
        raise ConditionError(path, "a condition must be a non-empty mapping")
    if "all" in raw or "any" in raw:
        word = "all" if "all" in raw else "any"
        _only(raw, {word}, path)
        parts = raw[word]
        if not isinstance(parts, list) or not parts:
            raise ConditionError(f"{path}.{word}", "needs a non-empty list of conditions")
        compiled = tuple(compile_condition(p, f"{path}.{word}[{i}]") for i, p in enumerate(parts))
        return All(compiled) if word == "all" else AnyOf(compiled)
    if "not" in raw:
        _only(raw, {"not"}, path)
        return Not(compile_condition(raw["not"], f"{path}.not"))
    for q in QUANTIFIERS:
        if q in raw:
            _only(raw, {q}, path)
            return _compile_quantifier(q, raw[q], f"{path}.{q}")
    _only(raw, {"key", "fact", "op", "value"}, path)
    op = raw.get("op")
    if not isinstance(op, str) or op not in OPERATORS:
        raise ConditionError(f"{path}.op", f"unknown operator {op!r}", _close(op, OPERATORS))
    problem = check_value(op, raw.get("value"), "value" in raw)
    if problem:
        raise ConditionError(f"{path}.value" if "value" in raw else path, problem)
    return Compare(op=op, key=raw.get("key"), fact=raw.get("fact"), value=raw.get("value"))


def _compile_quantifier(kind: str, body: JSON, path: str) -> Quantifier:
    if not isinstance(body, Mapping):
        raise ConditionError(path, f"{kind} needs a mapping with key/fact/where")
    allowed = {"key", "fact", "where"} | ({"op", "value"} if kind == "count" else set())
    _only(body, allowed, path)
    where = compile_condition(body["where"], f"{path}.where") if "where" in body else None
    op = body.get("op")
    if kind == "count":
        if op not in COMPARISONS:
            raise ConditionError(f"{path}.op", "count needs a comparison op (eq ne lt le gt ge)",
                                 _close(op, COMPARISONS))
        if not (isinstance(body.get("value"), int) and not isinstance(body.get("value"), bool)):
            raise ConditionError(f"{path}.value", "count needs a whole-number value")
    elif where is None:
        raise ConditionError(path, f"{kind} needs a where condition")
    return Quantifier(kind, body.get("key"), body.get("fact"), where, op, body.get("value"))


def _only(raw: Mapping[str, JSON], allowed: set[str], path: str) -> None:
    for k in raw:
        if k not in allowed:
            raise ConditionError(f"{path}.{k}", f"unexpected key {k!r}",
                                 _close(k, sorted(allowed)))


def _close(word: object, choices: Iterable[str]) -> str | None:
    return closest(word, choices)


def facts_read(cond: Condition | None) -> set[str]:
    """Fact names a condition reads explicitly with ``fact:``."""
    if cond is None:
        return set()
    if isinstance(cond, Compare):
        return {cond.fact} if cond.fact else set()
    if isinstance(cond, All | AnyOf):
        return set().union(*(facts_read(p) for p in cond.parts))
    if isinstance(cond, Not):
        return facts_read(cond.part)
    return ({cond.fact} if cond.fact else set()) | facts_read(cond.where)

"""The condition language: conditions compiled from YAML into a tree and evaluated three-valued.

A condition is compiled once from its YAML form into a small tree of frozen dataclasses, then
evaluated against a *context* (the current item plus every fact the rule may name). The result
is a ``Truth``: True, False, or unknown (``None``) together with the reasons it is unknown, so
that a rule that cannot be decided becomes ERROR naming the key that was unknown.

PURE: no I/O, no clock (``now`` is passed in), no AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from scanner.core.models import JSON
from scanner.core.operators import COMPARISONS, OPERATORS, check_value
from scanner.core.truth import (
    MISSING,
    TRUE,
    Context,
    Truth,
    dedup,
    is_unknown,
    kleene_and,
    kleene_not,
    kleene_or,
    lookup,
)
from scanner.core.yamldoc import closest

QUANTIFIERS: Final = ("some", "every", "none", "count")
CONNECTIVES: Final = ("all", "any", "not")


class ConditionError(ValueError):
    """A condition that cannot be compiled; ``path`` is its YAML path (``fail_when.any[1]``)."""

    def __init__(self, path: str, message: str, hint: str | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.message = message
        self.hint = hint


# ---------------------------------------------------------------- value lookup


# ---------------------------------------------------------------- operator table


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
            if actual is MISSING:
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
            return Truth.unknown(f"{label} is {'missing' if items is MISSING else 'unknown'}")
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
        if self.op is None:  # the compiler gives every count an operator
            raise ValueError("a count quantifier compiled without an operator")
        fn = OPERATORS[self.op].fn
        dummy = Context(None, {}, datetime.min)
        answers = {fn(n, self.value, dummy, "count").value for n in range(lo, hi + 1)}
        if len(answers) == 1:
            return Truth(answers.pop())
        reasons = [r for t in each if t.value is None for r in t.reasons]
        return Truth.unknown(*dedup(reasons))


Condition = Compare | All | AnyOf | Not | Quantifier


def _resolve(fact: str | None, key: str | None, ctx: Context) -> tuple[JSON, str]:
    if fact is not None:
        label = f"{fact}:{key}" if key else fact
        if fact not in ctx.facts:
            return MISSING, label
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

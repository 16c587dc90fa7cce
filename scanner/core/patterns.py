"""Decide whether a CloudWatch Logs JSON metric filter pattern is the CIS root-usage pattern.

CIS: ``{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS &&
$.eventType != "AwsServiceEvent" }``.

Position taken (strict, semantic rather than textual):

- The pattern is parsed (``&&``, ``||``, parentheses, any spacing, quoted or unquoted values,
  keywords in any case) and put in disjunctive normal form. It has the CIS semantics iff
  *every* disjunct is exactly the set of the three CIS clauses. Order, spacing, quoting,
  redundant parentheses and repeated identical clauses are therefore accepted;
  ``(A && B && C) || (A && B && C)`` is accepted because it is the same filter.
- Values are case-sensitive and exact: ``"root"``, ``"Root*"`` or ``"Ro?t"`` are not ``Root``.
- Anything narrower (an extra clause, e.g. ``&& $.eventName = "ConsoleLogin"``) or broader (a
  missing clause, an ``||`` branch that drops a clause, ``IS NULL`` instead of ``NOT EXISTS``)
  is rejected, even where the difference looks harmless: the control asks for this filter,
  and a near miss is what an auditor must see. Unparseable text is rejected too.

PURE: no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from itertools import product
from typing import Final

Atom = tuple[str, str, str | None]  # (selector, operator, value)

CIS_ROOT_USAGE: Final[frozenset[Atom]] = frozenset({
    ("$.userIdentity.type", "=", "Root"),
    ("$.userIdentity.invokedBy", "NOT EXISTS", None),
    ("$.eventType", "!=", "AwsServiceEvent"),
})

# A DNF larger than this is not a plausible root-usage filter; refuse rather than blow up.
_MAX_DISJUNCTS: Final = 256

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>"(?:[^"\\]|\\.)*")
      | (?P<sel>\$(?:\.[A-Za-z0-9_\-]+|\[[0-9*]+\])+)
      | (?P<op>&&|\|\||!=|<=|>=|=|<|>|\(|\)|\{|\})
      | (?P<word>[^\s(){}&|"=!<>]+)
    )""",
    re.VERBOSE,
)


class PatternError(ValueError):
    pass


@dataclass(frozen=True)
class _Tok:
    kind: str  # str | sel | op | word
    text: str


def _tokens(pattern: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    text = pattern.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        kind = m.lastgroup if m is not None else None
        if m is None or kind is None or m.end() == pos:
            raise PatternError(f"unexpected text at {pos}: {text[pos:pos + 10]!r}")
        out.append(_Tok(kind, m.group(kind)))
        pos = m.end()
    return out


class _Parser:
    """Recursive descent: expr := and ('||' and)*; and := prim ('&&' prim)*."""

    def __init__(self, toks: list[_Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, kind: str | None = None, text: str | None = None) -> _Tok:
        t = self.peek()
        if t is None or (kind and t.kind != kind) or (text and t.text != text):
            raise PatternError(f"expected {text or kind} at token {self.i}")
        self.i += 1
        return t

    def word(self, *choices: str) -> str | None:
        t = self.peek()
        if t is not None and t.kind == "word" and t.text.upper() in choices:
            self.i += 1
            return t.text.upper()
        return None

    def expr(self) -> list[frozenset[Atom]]:
        dnf = self.conj()
        while (t := self.peek()) is not None and t.text == "||":
            self.i += 1
            dnf = dnf + self.conj()
            if len(dnf) > _MAX_DISJUNCTS:
                raise PatternError("pattern too large")
        return dnf

    def conj(self) -> list[frozenset[Atom]]:
        dnf = self.prim()
        while (t := self.peek()) is not None and t.text == "&&":
            self.i += 1
            right = self.prim()
            if len(dnf) * len(right) > _MAX_DISJUNCTS:
                raise PatternError("pattern too large")
            dnf = [a | b for a, b in product(dnf, right)]
        return dnf

    def prim(self) -> list[frozenset[Atom]]:
        t = self.peek()
        if t is not None and t.text == "(":
            self.i += 1
            inner = self.expr()
            self.take("op", ")")
            return inner
        return [frozenset({self.atom()})]

    def atom(self) -> Atom:
        sel = self.take("sel").text
        if self.word("NOT"):
            if not self.word("EXISTS"):
                raise PatternError("expected EXISTS after NOT")
            return (sel, "NOT EXISTS", None)
        if self.word("EXISTS"):
            return (sel, "EXISTS", None)
        if self.word("IS"):
            what = self.word("NULL", "TRUE", "FALSE")
            if what is None:
                raise PatternError("expected NULL, TRUE or FALSE after IS")
            return (sel, f"IS {what}", None)
        op = self.take("op").text
        if op not in ("=", "!=", "<", ">", "<=", ">="):
            raise PatternError(f"unexpected {op!r}")
        v = self.peek()
        if v is None or v.kind not in ("str", "word"):
            raise PatternError("expected a value")
        self.i += 1
        value = _unquote(v.text) if v.kind == "str" else v.text
        return (sel, op, value)


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse_json_pattern(pattern: str) -> list[frozenset[Atom]]:
    """The pattern in disjunctive normal form: a list of conjunctions (sets of atoms)."""
    toks = _tokens(pattern)
    if len(toks) < 2 or toks[0].text != "{" or toks[-1].text != "}":
        raise PatternError("a JSON metric filter pattern is enclosed in { }")
    p = _Parser(toks[1:-1])
    dnf = p.expr()
    if p.peek() is not None:
        raise PatternError(f"unexpected {p.peek()!r}")
    return dnf


def is_cis_root_usage_pattern(pattern: str) -> bool:
    """True iff the metric filter pattern has exactly the CIS root-usage semantics."""
    try:
        dnf = parse_json_pattern(pattern)
    except PatternError:
        return False
    return bool(dnf) and all(conj == CIS_ROOT_USAGE for conj in dnf)

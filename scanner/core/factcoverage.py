"""Which facts an account's verdicts needed and did not get (docs/semantics.md, "Assessed,
partial").

An account is assessed only when every fact its selected rules need was collected. A rule
needs the facts it reads unless it was decided NOT_APPLICABLE (then it read only facts that
were there: a management account does not need the facts of a rule that does not apply to
it). The root-usage record counts as collected only when none of its selected sources failed.
A fact derived from another (``root.mfa`` from the credential report) that failed because that
one failed is named by its cause.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.core.models import JSON, FactError, Finding, Status
from scanner.core.rules import BUILTIN_FACTS, Rule

ROOT_USAGE = "root.usage"
# The fact each root-usage source reads; a source whose fact is already named is not repeated.
SOURCE_FACTS = {"credential_report": "iam.credential_report",
                "event_history": "cloudtrail.root_events",
                "org_trail": "orgtrail.root_events", "athena": "athena.root_events"}
# How an AWS error spells itself ("iam:GetCredentialReport in 1234 failed: CODE: text"): the
# label keeps the call and the text, not the code twice.
_SPELLED = re.compile(r"^(?:(?P<call>\S+:\S+) )?(?:in \S+ )?failed: (?P<code>[^:]+): (?P<text>.*)$",
                      re.DOTALL)


@dataclass(frozen=True, slots=True)
class FailedFact:
    """One fact an account's verdicts needed and did not get, and why."""

    fact: str
    code: str
    message: str
    source: str | None = None  # the root-usage source that failed (fact ``root.usage``)

    def label(self) -> str:
        """``iam.credential_report (InternalError: iam:GetCredentialReport: ...)``."""
        name = f"{self.fact} source {self.source}" if self.source else self.fact
        return f"{name} ({self.code}: {_short(self.code, self.message)})"

    def to_json(self) -> dict[str, JSON]:
        out: dict[str, JSON] = {"fact": self.fact, "code": self.code, "message": self.message}
        if self.source:
            out["source"] = self.source
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FailedFact:
        return cls(str(data["fact"]), str(data["code"]), str(data.get("message", "")),
                   data.get("source"))


def _short(code: str, message: str) -> str:
    m = _SPELLED.match(" ".join(message.split()))
    if m is None or m.group("code") != code:
        return " ".join(message.split())
    return f"{m.group('call')}: {m.group('text')}" if m.group("call") else m.group("text")


def describe(failed: Iterable[FailedFact]) -> str:
    """The coverage reason: ``facts not collected: a (X: ...), b (Y: ...)``."""
    labels = [f.label() for f in failed]
    return "facts not collected: " + ", ".join(labels) if labels else ""


def needed_facts(rules: Iterable[Rule], findings: Iterable[Finding]) -> list[str]:
    """The facts the account-scope rules read whose findings are not NOT_APPLICABLE."""
    applicable = {f.rule_id for f in findings if f.status is not Status.NOT_APPLICABLE}
    return sorted({n for r in rules if r.scope == "account" and r.id in applicable
                   for n in r.facts if n not in BUILTIN_FACTS})


def failed_facts(rules: Iterable[Rule], findings: Iterable[Finding],
                 facts: Mapping[str, JSON | FactError],
                 uses: Mapping[str, Sequence[str]]) -> tuple[FailedFact, ...]:
    """Every fact the account's verdicts needed and did not get (``uses``: the facts each
    collector builds on, to name a derived fact's cause)."""
    out: dict[tuple[str, str | None], FailedFact] = {}
    for name in needed_facts(rules, findings):
        if name not in facts:
            out[(name, None)] = FailedFact(name, "NotCollected", "the fact was not collected")
            continue
        value = facts[name]
        if isinstance(value, FactError):
            for cause in _causes(name, value, facts, uses):
                out.setdefault((cause.fact, None), cause)
    usage = facts.get(ROOT_USAGE)
    if ROOT_USAGE in needed_facts(rules, findings) and isinstance(usage, Mapping):
        named = {fact for fact, _ in out}
        for src in failed_sources(usage):
            if SOURCE_FACTS.get(src.source or "") not in named:
                out.setdefault((src.fact, src.source), src)
    return tuple(sorted(out.values(), key=lambda f: (f.fact, f.source or "")))


def _causes(name: str, error: FactError, facts: Mapping[str, JSON | FactError],
            uses: Mapping[str, Sequence[str]], seen: frozenset[str] = frozenset()
            ) -> list[FailedFact]:
    """The failed facts ``name`` failed because of (a collector that requires another fact
    fails with ``"<that fact>: <its message>"``), or ``name`` itself."""
    causes: list[FailedFact] = []
    for dep in uses.get(name, ()):
        dep_value = facts.get(dep)
        if dep in seen or not isinstance(dep_value, FactError) or f"{dep}: " not in error.message:
            continue
        causes += _causes(dep, dep_value, facts, uses, seen | {name})
    return causes or [FailedFact(name, error.code, error.message)]


def failed_sources(record: Mapping[str, Any]) -> list[FailedFact]:
    """The selected root-usage sources that failed (an error code), as failed facts. A source
    that is only incomplete by nature (event history's 90 days under a longer window, no log
    file of the account) did not fail."""
    out = []
    for src in record.get("sources") or ():
        if isinstance(src, Mapping) and src.get("error"):
            out.append(FailedFact(ROOT_USAGE, str(src["error"]), str(src.get("detail") or ""),
                                  str(src.get("name") or "?")))
    return out


__all__ = ["FailedFact", "describe", "failed_facts", "failed_sources", "needed_facts"]

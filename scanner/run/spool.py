"""Evidence lives in the journal during a run, not in memory.

Once an account's journal line is written, the AccountResult the run keeps holds its coverage,
its findings without their evidence, and the few facts the rest of the run reads
(``KEPT_FACTS``). Its other facts (``JournalFacts``) and each finding's evidence
(``JournalEvidence``) are read back from the line when a writer needs them: the evidence
bundle, findings.json and the other reports that print evidence, a merged journal. A read is
checked against the line's SHA-256 (a line changed while the run uses it is refused, never
reported), and the last line read is kept, so a writer that goes account by account parses
each line once.

At 5,000 accounts this is the difference between holding every account's credential report,
event lookups and evidence (~25 KB of JSON, several times that as Python objects) and holding
a reference to a line of the journal.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import ItemsView, Iterator, Mapping, ValuesView
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scanner.core.errors import ConfigError
from scanner.core.models import JSON, FactError
from scanner.core.results import AccountResult, fact_from_json

# The facts the run reads after an account is journaled: root usage (the reports' root-usage
# records) and the root MFA state (the organization summary's member credentials).
KEPT_FACTS = frozenset({"root.usage", "root.mfa"})

_last: tuple[JournalLine, dict[str, Any]] | None = None  # the line read last, parsed


@dataclass(frozen=True, slots=True)
class JournalLine:
    """Where one account's record is: its line in a journal, and that line's SHA-256."""

    path: Path
    offset: int
    length: int
    sha256: bytes

    def account(self) -> dict[str, Any]:
        """The account record of the line (``AccountResult.to_json()`` form), checked."""
        global _last
        if _last is not None and _last[0] == self:
            return _last[1]
        try:
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                raw = fh.read(self.length)
        except OSError as exc:
            raise ConfigError(str(self.path), f"cannot read back an account's evidence: "
                              f"{exc.strerror or exc}") from None
        if hashlib.sha256(raw).digest() != self.sha256:
            raise ConfigError(str(self.path), f"the line at byte {self.offset} changed while "
                              "the run was using it: its evidence cannot be read back",
                              hint="scan again into a new --out directory")
        record: dict[str, Any] = json.loads(raw)["account"]
        _last = (self, record)
        return record


class _Spooled(Mapping[str, Any]):
    """A mapping whose keys are held and whose values are read from a journal line (all at
    once: ``items()`` reads the line once, not once per key)."""

    __slots__ = ("line", "names")

    def __init__(self, line: JournalLine, names: tuple[str, ...]) -> None:
        self.line, self.names = line, names

    def load(self) -> dict[str, Any]:
        raise NotImplementedError

    def __getitem__(self, name: str) -> Any:
        if name not in self.names:
            raise KeyError(name)
        return self.load()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __len__(self) -> int:
        return len(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def items(self) -> ItemsView[str, Any]:
        return self.load().items()

    def values(self) -> ValuesView[Any]:
        return self.load().values()

    def __eq__(self, other: object) -> bool:  # as mappings are: by content
        return isinstance(other, Mapping) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]


class JournalFacts(_Spooled):
    """An account's facts: ``KEPT_FACTS`` in memory, the others read from its line."""

    __slots__ = ("kept",)

    def __init__(self, line: JournalLine, names: tuple[str, ...],
                 kept: Mapping[str, JSON | FactError]) -> None:
        super().__init__(line, names)
        self.kept = kept

    def __getitem__(self, name: str) -> JSON | FactError:
        if name in self.kept:
            return self.kept[name]
        value: JSON | FactError = super().__getitem__(name)
        return value

    def load(self) -> dict[str, JSON | FactError]:
        """Every fact of the account, from its journal line."""
        facts = self.line.account().get("facts", {})
        return {k: fact_from_json(v) for k, v in facts.items()}


class JournalEvidence(_Spooled):
    """One finding's evidence, read from its account's line."""

    __slots__ = ("index",)

    def __init__(self, line: JournalLine, names: tuple[str, ...], index: int) -> None:
        super().__init__(line, names)
        self.index = index

    def load(self) -> dict[str, JSON]:
        evidence: dict[str, JSON] = self.line.account()["findings"][self.index]["evidence"]
        return evidence


def held(result: AccountResult, path: Path, offset: int, line: bytes) -> AccountResult:
    """``result`` as the run keeps it once its journal line (``line``, at ``offset`` of
    ``path``) is written: its raw facts and its findings' evidence left in the journal."""
    where = JournalLine(path, offset, len(line), hashlib.sha256(line).digest())
    facts = result.facts
    kept = {k: facts[k] for k in KEPT_FACTS if k in facts}
    findings = tuple(
        replace(f, evidence=JournalEvidence(where, tuple(sys.intern(k) for k in f.evidence), i))
        if f.evidence else f for i, f in enumerate(result.findings))
    return replace(result, facts=JournalFacts(where, tuple(sys.intern(k) for k in facts), kept),
                   findings=findings)


__all__ = ["KEPT_FACTS", "JournalEvidence", "JournalFacts", "JournalLine", "held"]

"""Three-valued truth for rule conditions: True, False or unknown with its reasons (Kleene
logic), the evaluation context, and reading a value out of a fact without guessing.

PURE: no I/O, no clock (``now`` is passed in), no AWS.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from scanner.core.models import JSON

# Values that mean "AWS did not say". Collectors normalise these to null, but a rule must
# still never read them as a real value if one slips through (credential report spellings).
UNKNOWN_MARKERS: Final = frozenset({"N/A", "no_information", "not_supported"})


MISSING: Final = object()


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
        return Truth.unknown(*dedup(reasons))
    return FALSE if decisive else TRUE


def kleene_and(parts: Iterable[Truth]) -> Truth:
    return _kleene(parts, decisive=False)


def kleene_or(parts: Iterable[Truth]) -> Truth:
    return _kleene(parts, decisive=True)


def kleene_not(t: Truth) -> Truth:
    return t if t.value is None else Truth(not t.value)


def dedup(items: Iterable[str]) -> list[str]:
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


def is_unknown(value: object) -> bool:
    return value is None or value is MISSING or (
        isinstance(value, str) and value in UNKNOWN_MARKERS
    )


def lookup(base: JSON, key: str | None) -> JSON:
    """Follow a dotted path; returns the sentinel ``MISSING`` when any step is absent."""
    if key is None or key == ".":
        return base
    cur = base
    for part in key.split("."):
        if isinstance(cur, Mapping) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return MISSING
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

"""Which rules a scan runs, from the config's rule selection."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable

from scanner.core.errors import ConfigError
from scanner.core.models import Severity
from scanner.core.rules import Rule
from scanner.core.settings import RuleSelection


def select(rules: Iterable[Rule], sel: RuleSelection) -> list[Rule]:
    """Rules matching ``include`` (ids or globs; all when empty), not ``exclude``, at or above
    ``min_severity``, mapped to one of ``frameworks`` (when given). A pattern that matches no
    rule is an error: a typo must not silently shrink an audit."""
    rules = list(rules)
    ids = [r.id for r in rules]
    for pattern in (*sel.include, *sel.exclude):
        if not fnmatch.filter(ids, pattern):
            raise ConfigError("config", f"rule pattern {pattern!r} matches no rule",
                              yaml_path="rules")
    floor = Severity(sel.min_severity).rank if sel.min_severity else -1
    return [
        r for r in rules
        if (not sel.include or any(fnmatch.fnmatchcase(r.id, p) for p in sel.include))
        and not any(fnmatch.fnmatchcase(r.id, p) for p in sel.exclude)
        and Severity(r.severity).rank >= floor
        and (not sel.frameworks or any(f in r.compliance for f in sel.frameworks))
    ]

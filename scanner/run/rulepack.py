"""The rule pack on disk: where rule files are, reading them, and which facts they may read.

scanner.core.rules parses and checks; this module reads, and hands it the collector registry's
facts, so that every command that loads rules (scan, permissions, merge, ``rules
list|validate|test``) accepts exactly the same fact names.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterable
from pathlib import Path

from scanner.aws.collectors import fact_scopes
from scanner.core.errors import ConfigError
from scanner.core.rules import (
    FactScopes,
    Rule,
    RuleError,
    RuleLoadError,
    collect_rules,
    parse_rule,
)
from scanner.run.inputs import MAX_RULE_BYTES, read_bounded


def default_rules_dir() -> Path:
    """The rule pack: the repo's ``rules/`` in a checkout, else the installed data files."""
    here = Path(__file__).resolve().parents[2] / "rules"
    if here.is_dir():
        return here
    return Path(sys.prefix) / "share" / "orgscan" / "rules"


def rule_files(paths: Iterable[Path]) -> list[Path]:
    """Each path as given, a directory as its ``*.yaml`` and ``*.yml`` files, sorted."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted([*p.glob("*.yaml"), *p.glob("*.yml")])
        else:
            out.append(p)
    return out


def _read(path: Path, facts: FactScopes) -> tuple[Rule | None, list[RuleError]]:
    try:
        raw = read_bounded(path, MAX_RULE_BYTES, "a rule file")
    except ConfigError as e:
        return None, [RuleError(path, None, None, "", e.message)]
    return parse_rule_bytes(path, raw, facts)


def parse_rule_bytes(path: Path, raw: bytes, facts: FactScopes
                     ) -> tuple[Rule | None, list[RuleError]]:
    """One rule from its file's bytes (``path`` names it in errors): a rule pack on disk, or
    the rule files of an evidence bundle."""
    if len(raw) > MAX_RULE_BYTES:
        return None, [RuleError(path, None, None, "", f"larger than the limit of "
                                f"{MAX_RULE_BYTES >> 20} MiB for a rule file: refused before "
                                f"parsing")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        return None, [RuleError(path, None, None, "", f"cannot read: {e}")]
    return parse_rule(path, text, facts, sha256=hashlib.sha256(raw).hexdigest())


def validate_rules(paths: Iterable[Path] | None = None) -> tuple[list[Rule], list[RuleError]]:
    """Every rule under ``paths`` (default: the rule pack), and every problem found."""
    facts = fact_scopes()
    files = rule_files(paths if paths is not None else [default_rules_dir()])
    return collect_rules(_read(f, facts) for f in files)


def load_rules(paths: Iterable[Path] | None = None) -> list[Rule]:
    """The rules under ``paths`` (default: the rule pack), or RuleLoadError listing every
    problem."""
    rules, errors = validate_rules(paths)
    if errors:
        raise RuleLoadError(errors)
    return rules

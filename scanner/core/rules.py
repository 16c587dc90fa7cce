"""Parse and validate YAML rule files.

Validation happens before any AWS call, in two layers: the static JSON Schema
(``schemas/rule.schema.json``) for shape, then semantic checks the schema cannot express
(known facts and frameworks, regular expressions, id == file stem, duplicate ids). Every error
names the file, the line, the rule id, the YAML path of the mistake and, where one exists, a
hint (the closest valid key for a misspelt one).

PURE apart from ``rules_digest``: scanner.run.rulepack finds and reads the rule files and says
which facts exist (the collector registry's, which the core cannot import).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import yaml

from scanner.core.conditions import Condition, ConditionError, compile_condition, facts_read
from scanner.core.models import JSON, FactError, Severity, Status
from scanner.core.yamldoc import (
    closest,
    line_of,
    load_schema,
    parse_marks,
    schema_problems,
    yaml_path,
)

YamlPath = tuple[str | int, ...]
# Fact name -> the scope it is collected in ("account" | "organization"). The caller hands in
# the collector registry's (scanner.aws.collectors.fact_scopes()): organization-scope facts are
# collected once and also handed to account evaluation, so a per-account rule may read them.
FactScopes = Mapping[str, str]

# Supplied by the engine itself from the Account / Organization being evaluated; never
# collected. Documented in docs/facts.md.
BUILTIN_FACTS: Final = frozenset({"scan.account", "scan.organization"})

KNOWN_FRAMEWORKS: Final = frozenset({
    "cis-aws-foundations-3.0", "cis-aws-foundations-5.0", "cis-aws-foundations-7.0", "aws-fsbp",
})
ON_EMPTY: Final = ("error", "pass", "fail", "not_applicable")


@dataclass(frozen=True)
class RuleTest:
    name: str
    expect: Status
    facts: Mapping[str, JSON] = field(default_factory=dict)
    fact_errors: Mapping[str, FactError] = field(default_factory=dict)
    account: Mapping[str, JSON] = field(default_factory=dict)
    now: str | None = None
    message_contains: str | None = None
    line: int | None = None


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    severity: Severity
    scope: str  # account | organization
    resource: str  # the primary fact
    message: str
    remediation: str
    description: str = ""
    resource_id: str = "{account_id}"
    region: str = "global"
    applies_when: Condition | None = None
    where: Condition | None = None
    fail_when: Condition | None = None
    on_empty: str = "error"
    pass_message: str = ""
    not_applicable_message: str = ""
    references: tuple[str, ...] = ()
    compliance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    tests: tuple[RuleTest, ...] = ()
    path: Path | None = None
    sha256: str | None = None  # of the file's bytes as read (what the rule digest covers)

    @property
    def facts(self) -> frozenset[str]:
        """Every fact the rule reads (primary, and any named with ``fact:``)."""
        named = facts_read(self.applies_when) | facts_read(self.where) | facts_read(
            self.fail_when)
        return frozenset({self.resource} | named)

    @property
    def frameworks(self) -> tuple[str, ...]:
        return tuple(sorted(self.compliance))


@dataclass(frozen=True)
class RuleError:
    path: Path
    line: int | None
    rule_id: str | None
    yaml_path: str
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        loc = f"{self.path}:{self.line}" if self.line else str(self.path)
        where = self.yaml_path or "<root>"
        hint = f" ({self.hint})" if self.hint else ""
        return f"{loc}: {self.rule_id or '?'}: {where}: {self.message}{hint}"


class RuleLoadError(Exception):
    def __init__(self, errors: Sequence[RuleError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = tuple(errors)


def _parse_path(text: str) -> YamlPath:
    out: list[str | int] = []
    for part in text.replace("[", ".[").split("."):
        if part.startswith("[") and part.endswith("]"):
            out.append(int(part[1:-1]))
        elif part:
            out.append(part)
    return tuple(out)


# ---------------------------------------------------------------- semantic checks


def _fact_refs(raw: JSON, path: YamlPath) -> Iterator[tuple[YamlPath, str]]:
    if isinstance(raw, Mapping):
        for k, v in raw.items():
            if k == "fact" and isinstance(v, str):
                yield (*path, k), v
            else:
                yield from _fact_refs(v, (*path, k))
    elif isinstance(raw, list):
        for i, v in enumerate(raw):
            yield from _fact_refs(v, (*path, i))


def _close(word: object, choices: Iterable[str]) -> str | None:
    return closest(word, choices, cutoff=0.5)


def _semantic(data: Mapping[str, JSON], stem: str, facts: FactScopes
              ) -> Iterator[tuple[YamlPath, str, str | None]]:
    if data["id"] != stem:
        yield ("id",), f"id {data['id']!r} must equal the file stem {stem!r}", None
    refs: list[tuple[YamlPath, str]] = [(("resource",), data["resource"])]
    for part in ("applies_when", "where", "fail_when"):
        refs += list(_fact_refs(data.get(part), (part,)))
    for i, t in enumerate(data["tests"]):
        refs += [(("tests", i, "facts", k), k) for k in t.get("facts", {})]
        refs += [(("tests", i, "fact_errors", k), k) for k in t.get("fact_errors", {})]
    known = BUILTIN_FACTS | set(facts)
    for path, name in refs:
        if name not in known:
            yield path, f"unknown fact {name!r}", _close(name, known)
    if data["scope"] == "organization" and facts.get(data["resource"]) == "account":
        yield ("resource",), "an organization-scope rule cannot read an account fact", None
    for fw in data.get("compliance", {}):
        if fw not in KNOWN_FRAMEWORKS:
            yield ("compliance", fw), f"unknown framework {fw!r}", _close(fw, KNOWN_FRAMEWORKS)
    for part in ("applies_when", "where", "fail_when"):
        if part in data:
            try:
                compile_condition(data[part], part)
            except ConditionError as e:
                yield _parse_path(e.path), e.message, e.hint
    if "fail_when" not in data and data.get("on_empty", "error") not in ("fail",
                                                                         "not_applicable"):
        yield ((), "a rule without fail_when can only fail through on_empty: fail "
                   "(or not_applicable)", None)


# ---------------------------------------------------------------- building


def _build(data: Mapping[str, JSON], path: Path, marks: Mapping[YamlPath, int],
           sha256: str | None) -> Rule:
    def cond(name: str) -> Condition | None:
        return compile_condition(data[name], name) if name in data else None

    tests = tuple(
        RuleTest(
            name=t["name"],
            expect=Status(t["expect"]),
            facts=t.get("facts", {}),
            fact_errors={k: FactError(v["code"], v.get("message", ""))
                         for k, v in t.get("fact_errors", {}).items()},
            account=t.get("account", {}),
            now=t.get("now"),
            message_contains=t.get("message_contains"),
            line=line_of(marks, ("tests", i)),
        )
        for i, t in enumerate(data["tests"])
    )
    return Rule(
        id=data["id"], title=data["title"], severity=Severity(data["severity"]),
        scope=data["scope"], resource=data["resource"], message=data["message"],
        remediation=data["remediation"], description=data.get("description", ""),
        resource_id=data.get("resource_id", "{account_id}"),
        region=data.get("region", "global"),
        applies_when=cond("applies_when"), where=cond("where"), fail_when=cond("fail_when"),
        on_empty=data.get("on_empty", "error"), pass_message=data.get("pass_message", ""),
        not_applicable_message=data.get("not_applicable_message", ""),
        references=tuple(data.get("references", ())),
        compliance={k: tuple(v) for k, v in data.get("compliance", {}).items()},
        tests=tests, path=path, sha256=sha256,
    )


def parse_rule(path: Path, text: str, facts: FactScopes, *, sha256: str | None = None
               ) -> tuple[Rule | None, list[RuleError]]:
    """Parse, validate and compile one rule file's text. ``path`` names the file in errors (its
    stem must be the rule id); ``facts`` are the facts a rule may read besides BUILTIN_FACTS;
    ``sha256`` is the hash of the file's bytes, kept on the rule for the rule digest."""
    try:
        data, marks = parse_marks(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        return None, [RuleError(path, line, None, "", f"invalid YAML: {e}")]
    rule_id = data.get("id") if isinstance(data, Mapping) else None
    rule_id = rule_id if isinstance(rule_id, str) else None

    def err(p: YamlPath, msg: str, hint: str | None) -> RuleError:
        return RuleError(path, line_of(marks, p), rule_id, yaml_path(p), msg, hint or None)

    # Semantic checks assume the schema's shape, so they run only on schema-valid files.
    errors = [err(p, m, h) for p, m, h in schema_problems(data, load_schema("rule.schema.json"))]
    if not errors:
        errors = [err(p, m, h) for p, m, h in _semantic(data, path.stem, facts)]
    if errors:
        return None, sorted(errors, key=lambda e: e.line or 0)
    return _build(data, path, marks, sha256), []


def collect_rules(parsed: Iterable[tuple[Rule | None, Sequence[RuleError]]]
                  ) -> tuple[list[Rule], list[RuleError]]:
    """The rules and errors of several parsed files, in order; a rule whose id an earlier file
    already holds is an error, not a second rule."""
    rules: list[Rule] = []
    errors: list[RuleError] = []
    seen: dict[str, Path] = {}
    for rule, errs in parsed:
        errors += errs
        if rule is None:
            continue
        path = rule.path or Path(f"<rule {rule.id}>")  # parse_rule names every rule's file
        if rule.id in seen:
            errors.append(RuleError(path, 1, rule.id, "id",
                                    f"duplicate rule id (also in {seen[rule.id]})"))
            continue
        seen[rule.id] = path
        rules.append(rule)
    return rules, errors


def rules_digest(rules: Sequence[Rule]) -> str:
    """Identifies the rule set (ids and sources) so a journal is only resumed by the same."""
    h = hashlib.sha256()
    for r in sorted(rules, key=lambda r: r.id):
        h.update(r.id.encode())
        if r.sha256 is not None:  # the file's bytes, hashed when the rule pack read them
            h.update(r.sha256.encode())
    return h.hexdigest()

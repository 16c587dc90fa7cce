"""Load YAML with line numbers, and validate it against a JSON Schema with precise errors.

Shared by every file a user writes (config, rules, exceptions), so that each error
names the file, the line, the YAML path and the problem, and suggests the closest valid key
when a key is misspelt.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import yaml

from scanner.core.errors import ConfigError

PathKey = tuple[str | int, ...]


def yaml_path(parts: Iterable[str | int]) -> str:
    """``("rules", 0, "id")`` -> ``rules[0].id``."""
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out


class _Loader(yaml.SafeLoader):
    """Safe loader that keeps timestamps as text: the schemas speak JSON, and an unquoted
    ``2026-12-31`` must reach them as the string the user wrote."""


_Loader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# libyaml's composer recurses on the C stack with no depth limit: about 50,000 nested levels
# crash the process (20,000 parse). A level takes at least one character, so a document this
# short cannot nest deep enough; longer ones go to the pure-Python parser, which refuses
# ~1,000 levels ("nested too deeply").
_FAST_MAX_CHARS = 10_000
_FastLoader: type[Any] | None = None
if getattr(yaml, "__with_libyaml__", False):
    class _CLoader(yaml.CSafeLoader):
        """The same loader on libyaml's parser (about 10x faster): same resolvers, same
        constructor, the same nodes and marks."""

    _CLoader.yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    _FastLoader = _CLoader


# Past this many values (an alias counted each time it expands), a document is refused: a few
# lines of anchors and aliases can expand to billions of values ("billion laughs").
MAX_VALUES = 200_000


def _index_lines(node: yaml.Node, prefix: PathKey, lines: dict[PathKey, int],
                 budget: list[int]) -> None:
    budget[0] -= 1
    if budget[0] < 0:
        raise yaml.constructor.ConstructorError(
            None, None, f"the document expands to more than {MAX_VALUES} values "
            "(anchors and aliases?)", node.start_mark)
    lines.setdefault(prefix, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen and key != "<<":
                # YAML would silently keep the last one; a user means one of them.
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
            # A key's own line is where the mistake is when the key is the problem.
            lines[(*prefix, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*prefix, key), lines, budget)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*prefix, i), lines, budget)


def parse_marks(text: str) -> tuple[Any, dict[PathKey, int]]:
    """Parse one YAML document in one pass: the data, and the 1-based line of every path.
    Raises yaml.YAMLError on bad syntax.

    libyaml parses small documents when PyYAML has it; a document it refuses is parsed again by
    the pure-Python parser, so every error message and line is the one that parser gives."""
    if _FastLoader is not None and len(text) <= _FAST_MAX_CHARS:
        try:
            return _parse_with(_FastLoader, text)
        except yaml.YAMLError:
            pass
    return _parse_with(_Loader, text)


def _parse_with(loader_class: type[Any], text: str) -> tuple[Any, dict[PathKey, int]]:
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[PathKey, int] = {}
        _index_lines(node, (), lines, [MAX_VALUES])
        return loader.construct_document(node), lines
    except RecursionError as exc:
        # PyYAML's parser and composer recurse once per nesting level.
        raise yaml.YAMLError("nested too deeply") from exc
    finally:
        loader.dispose()


class YamlDoc:
    """A parsed YAML file and the line of every path in it."""

    def __init__(self, path: str, data: Any, lines: Mapping[PathKey, int]) -> None:
        self.path = path
        self.data = data
        self._lines = lines

    def line(self, parts: PathKey) -> int | None:
        return line_of(self._lines, parts)

    def error(self, parts: PathKey, message: str, hint: str = "") -> ConfigError:
        return ConfigError(self.path, message, yaml_path=yaml_path(parts), hint=hint,
                           line=self.line(parts))


def line_of(lines: Mapping[PathKey, int], parts: PathKey) -> int | None:
    """The line of ``parts``, or of its deepest known ancestor (a missing key is reported
    at its parent mapping)."""
    for n in range(len(parts), -1, -1):
        found = lines.get(tuple(parts[:n]))
        if found is not None:
            return found
    return None


def parse_yaml(text: str, path: str) -> YamlDoc:
    """Parse one YAML document; syntax errors become ConfigError with the line."""
    try:
        data, lines = parse_marks(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, f"not valid YAML: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"not valid YAML: {exc}") from exc
    return YamlDoc(path, data, lines)


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in scanner/schemas/."""
    text = resources.files("scanner.schemas").joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def closest(word: object, candidates: Iterable[str], cutoff: float = 0.6) -> str | None:
    """"did you mean 'x'?" for the candidate closest to a misspelt ``word``, if any."""
    if not isinstance(word, str):
        return None
    match = difflib.get_close_matches(word, sorted(set(candidates)), n=1, cutoff=cutoff)
    return f"did you mean {match[0]!r}?" if match else None


Problem = tuple[PathKey, str, str]  # (YAML path, message, hint or "")


def _shown(value: Any) -> str:
    """A value in a message: a string quoted as the user's text, anything else as JSON (so
    ``null``, not ``None``)."""
    text = repr(value) if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def _explain(err: jsonschema.ValidationError) -> list[Problem]:
    parts: PathKey = tuple(err.absolute_path)
    schema: Mapping[str, Any] = err.schema if isinstance(err.schema, Mapping) else {}
    value: Any = err.validator_value
    instance: Any = err.instance
    if err.validator == "additionalProperties" and isinstance(instance, Mapping):
        known = schema.get("properties", {})
        # x-keywords: keys a mapping may hold through another if/then branch (a rule
        # condition's connectives), so a misspelt one still gets its suggestion.
        allowed = sorted({*known, *schema.get("x-keywords", [])})
        return [((*parts, k), f"unknown key {k!r}",
                 closest(k, allowed, cutoff=0.5) or f"valid keys: {', '.join(allowed)}")
                for k in instance if k not in known]
    if err.validator == "required":
        return [(parts, f"missing required key {k!r}", "") for k in value if k not in instance]
    if err.validator == "enum":
        choices = [c if isinstance(c, str) else json.dumps(c) for c in value]
        return [(parts, f"{_shown(instance)} is not one of: {', '.join(choices)}",
                 closest(instance, choices, cutoff=0.5) or "")]
    if err.validator == "not" and isinstance(instance, Mapping) and "op" in instance:
        # The rule schema's way of saying that an operator such as is_true takes no value.
        return [((*parts, "value"), f"operator {instance['op']!r} takes no value", "")]
    if err.validator == "type":
        # The value the user wrote, not a Python type name.
        return [(parts, f"expected {value}, got {_shown(instance)}", "")]
    return [(parts, err.message, str(schema.get("description", ""))[:120])]


def schema_problems(instance: Any, schema: Mapping[str, Any]) -> list[Problem]:
    """Every schema violation in ``instance``, ordered by path, each explained once, with a hint
    where one helps (the closest valid key or value, or the field's description)."""
    validator = jsonschema.Draft202012Validator(schema)
    found: list[Problem] = []
    seen: set[tuple[PathKey, str]] = set()
    for err in sorted(validator.iter_errors(instance),
                      key=lambda e: list(map(str, e.absolute_path))):
        # Descend into anyOf/oneOf so the deepest, most precise error is shown.
        for parts, message, hint in _explain(jsonschema.exceptions.best_match([err])):
            if (parts, message) not in seen:
                seen.add((parts, message))
                found.append((parts, message, hint))
    return found


def schema_errors(doc: YamlDoc, schema: Mapping[str, Any], prefix: PathKey = (),
                  instance: Any = None) -> list[ConfigError]:
    """Every schema violation in ``doc`` (or in ``instance`` found at ``prefix``), as
    ConfigErrors with line, YAML path and hint."""
    target = doc.data if instance is None else instance
    return [doc.error((*prefix, *parts), message, hint)
            for parts, message, hint in schema_problems(target, schema)]

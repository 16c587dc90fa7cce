"""Load YAML with line numbers, and validate it against a JSON Schema with precise errors.

Shared by every file a user writes (config, rules, exceptions, scenarios), so that each error
names the file, the line, the YAML path and the problem, and suggests the closest valid key
when a key is misspelt.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from scanner.errors import ConfigError

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


def _index_lines(node: yaml.Node, prefix: PathKey, lines: dict[PathKey, int]) -> None:
    lines[prefix] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = str(key_node.value)
            # A key's own line is where the mistake is when the key is the problem.
            lines[(*prefix, key)] = key_node.start_mark.line + 1
            _index_lines(value_node, (*prefix, key), lines)
            lines[(*prefix, key)] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index_lines(item, (*prefix, i), lines)


class YamlDoc:
    """A parsed YAML file and the line of every path in it."""

    def __init__(self, path: str, data: Any, lines: Mapping[PathKey, int]) -> None:
        self.path = path
        self.data = data
        self._lines = lines

    def line(self, parts: PathKey) -> int | None:
        # The deepest known ancestor: a missing key is reported at its parent mapping.
        for n in range(len(parts), -1, -1):
            found = self._lines.get(tuple(parts[:n]))
            if found is not None:
                return found
        return None

    def error(self, parts: PathKey, message: str, hint: str = "") -> ConfigError:
        return ConfigError(self.path, message, yaml_path=yaml_path(parts), hint=hint,
                           line=self.line(parts))


def parse_yaml(text: str, path: str) -> YamlDoc:
    """Parse one YAML document; syntax errors become ConfigError with the line."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(path, f"not valid YAML: {exc.problem}", line=line) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(path, f"not valid YAML: {exc}") from exc
    lines: dict[PathKey, int] = {}
    if node is not None:
        _index_lines(node, (), lines)
    return YamlDoc(path, data, lines)


def load_yaml(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from exc
    return parse_yaml(text, str(path))


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A JSON Schema shipped in scanner/schemas/."""
    text = resources.files("scanner.schemas").joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def closest(word: str, candidates: Iterable[str]) -> str:
    match = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {match[0]!r}?" if match else ""


def _describe(err: jsonschema.ValidationError) -> tuple[PathKey, str, str]:
    parts: PathKey = tuple(err.absolute_path)
    schema: dict[str, Any] = err.schema if isinstance(err.schema, dict) else {}
    value: Any = err.validator_value
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        allowed = schema.get("properties", {}).keys()
        extra = [k for k in err.instance if k not in allowed]
        if extra:
            key = str(extra[0])
            hint = closest(key, allowed) or f"valid keys: {', '.join(sorted(allowed))}"
            return (*parts, key), f"unknown key {key!r}", hint
    if err.validator == "enum":
        options = ", ".join(json.dumps(v) for v in value)
        return parts, f"{json.dumps(err.instance)} is not one of {options}", closest(
            str(err.instance), [str(v) for v in value])
    if err.validator == "required":
        return parts, err.message, ""
    if err.validator == "type":
        return parts, f"expected {value}, got {json.dumps(err.instance)[:60]}", ""
    return parts, err.message, str(schema.get("description", ""))[:120]


def schema_errors(doc: YamlDoc, schema: dict[str, Any], prefix: PathKey = (),
                  instance: Any = None) -> list[ConfigError]:
    """Every schema violation in ``doc`` (or in ``instance`` found at ``prefix``), most
    specific first, each as a ConfigError with line, YAML path and hint."""
    validator = jsonschema.Draft202012Validator(schema)
    target = doc.data if instance is None else instance
    found: list[ConfigError] = []
    for err in sorted(validator.iter_errors(target), key=lambda e: list(map(str, e.absolute_path))):
        # Descend into anyOf/oneOf/if-then so the deepest, most precise error is shown.
        best = jsonschema.exceptions.best_match([err])
        parts, message, hint = _describe(best)
        found.append(doc.error((*prefix, *parts), message, hint))
    return found

"""libyaml and the pure-Python parser give the same data, lines and errors: the fast path
changes nothing a user sees."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from scanner.core import yamldoc
from scanner.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([*ROOT.glob("rules/*.yaml"), *ROOT.glob("config*.yaml"),
               *ROOT.glob("scanner/sim/scenarios/*.yaml")])

pytestmark = pytest.mark.skipif(yamldoc._FastLoader is None, reason="PyYAML without libyaml")


def _both(text: str) -> tuple[object, object]:
    assert yamldoc._FastLoader is not None
    return (yamldoc._parse_with(yamldoc._FastLoader, text),
            yamldoc._parse_with(yamldoc._Loader, text))


@pytest.mark.parametrize("path", DOCS, ids=[p.name for p in DOCS])
def test_same_data_and_lines(path: Path) -> None:
    fast, pure = _both(path.read_text(encoding="utf-8"))
    assert fast == pure


def test_timestamps_stay_text_and_lines_match() -> None:
    text = "expires: 2026-12-31\nlist:\n  - {a: 1, b: [x, y]}\n  - on\n"
    fast, pure = _both(text)
    assert fast == pure
    assert fast[0] == {"expires": "2026-12-31", "list": [{"a": 1, "b": ["x", "y"]}, True]}
    assert fast[1][("list", 0, "b")] == 3


@pytest.mark.parametrize(("text", "message"), [
    ("a: b: c\n", "mapping values are not allowed here"),  # libyaml: "... in this context"
    ("scan: {concurrency: 4\n", "not valid YAML"),
    ("scan: 1\nscan: 2\n", "duplicate key 'scan'"),
])
def test_errors_are_the_pure_parsers(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as fast:
        yamldoc.parse_yaml(text, "f.yaml")
    with pytest.raises(yaml.YAMLError) as pure:
        yamldoc._parse_with(yamldoc._Loader, text)
    assert message in str(fast.value)
    problem = getattr(pure.value, "problem", None) or str(pure.value)
    assert str(problem) in str(fast.value)


def test_long_documents_skip_libyaml() -> None:
    """libyaml recurses on the C stack without limit (a crash at ~50,000 levels): only short
    documents, which cannot nest that deep, reach it."""
    deep = "x: " + "[" * 30_000 + "]" * 30_000 + "\n"
    with pytest.raises(ConfigError, match="nested too deeply"):
        yamldoc.parse_yaml(deep, "deep.yaml")

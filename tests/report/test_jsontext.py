"""report.jsontext.indented writes exactly what json.dumps(indent=2, ensure_ascii=False,
default=str) writes: on the values JSON's encoder treats specially, on generated documents, and
on a real scan's reports."""

from __future__ import annotations

import enum
import json
import random
from collections import OrderedDict
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from scanner.core.results import ScanResult
from scanner.report.jsontext import indented

from .conftest import make_hostile


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str)


class Colour(enum.Enum):
    RED = "red"


class Level(enum.IntEnum):
    HIGH = 3


class Kind(enum.StrEnum):
    ROOT = "Root"


SPECIAL: list[Any] = [
    None, True, False, 0, -7, 2**70, 1.5, -0.0, 1e300, 1e-7, float("nan"), float("inf"),
    float("-inf"), "", "plain", "naïve “quotes” \u2028 \t\n\\ \"x\" \x00 \x1f \ud800",
    [], {}, (), [[]], [{}], {"a": []}, {"a": {}}, (1, "two", None),
    {7: "int key", 2.5: "float key", True: "bool key", None: "none key", "s": "str key"},
    datetime(2026, 11, 29, 12, 0, tzinfo=UTC), Decimal("1.10"), Colour.RED, Level.HIGH,
    Kind.ROOT, {Kind.ROOT: Level.HIGH}, OrderedDict([("z", 1), ("a", 2)]), {"set": {1}},
    b"bytes", Path("a/b"),
]


@pytest.mark.parametrize("value", SPECIAL, ids=[repr(v)[:40] for v in SPECIAL])
def test_special_values(value: Any) -> None:
    assert indented(value) == dumps(value)
    assert indented({"k": [value, {"n": value}]}) == dumps({"k": [value, {"n": value}]})


def test_nested_level_is_the_same_text_as_inside_a_document() -> None:
    item = {"rule": "r", "evidence": {"rows": [{"a": 1}, [], {}], "note": "x"}}
    whole = dumps({"findings": [item]})
    assert indented(item, level=2) in whole
    assert whole == '{\n  "findings": [\n    ' + indented(item, level=2) + "\n  ]\n}"


def _random_value(rng: random.Random, depth: int) -> Any:
    kinds = ["str", "int", "float", "none", "bool"] + (["list", "dict", "tuple"] * 2
                                                       if depth < 5 else [])
    kind = rng.choice(kinds)
    if kind == "str":
        return "".join(rng.choice("ab \"\\\n\t\u00e9\u2028\U0001f600{}[]:,")
                       for _ in range(rng.randrange(6)))
    if kind == "int":
        return rng.randrange(-10**12, 10**12)
    if kind == "float":
        return rng.choice([rng.uniform(-1e6, 1e6), 0.1, -0.0, float("inf")])
    if kind == "none":
        return None
    if kind == "bool":
        return rng.random() < 0.5
    size = rng.randrange(4)
    if kind == "dict":
        return {_random_key(rng): _random_value(rng, depth + 1) for _ in range(size)}
    items = [_random_value(rng, depth + 1) for _ in range(size)]
    return items if kind == "list" else tuple(items)


def _random_key(rng: random.Random) -> Any:
    return rng.choice(["k", "é", "a\"b", "", "x\ny", 7, 1.25, True, None])


def test_generated_documents() -> None:
    rng = random.Random(20261129)
    for _ in range(3000):
        value = _random_value(rng, 0)
        assert indented(value) == dumps(value)


def test_keys_json_cannot_write_are_refused_as_json_refuses_them() -> None:
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None"):
        dumps({(1, 2): "tuple key"})
    with pytest.raises(TypeError, match="keys must be str, int, float, bool or None"):
        indented({(1, 2): "tuple key"})


def test_a_real_scans_reports(demo_out: Path, demo_result: ScanResult) -> None:
    """Every JSON report of the demo's scan, decoded and written again, is the same text; so
    are the findings of its hostile copy (markup, control characters, long non-ASCII text),
    as the scan hands them to the writer."""
    hostile = [f.to_json() for f in make_hostile(demo_result).findings]
    assert indented(hostile, level=2) == dumps(hostile).replace("\n", "\n    ")
    checked = 0
    for path in sorted(demo_out.rglob("*.json")):
        text = path.read_text("utf-8")
        doc = json.loads(text)
        assert indented(doc) == dumps(doc), path.name
        checked += 1
    assert checked >= 5

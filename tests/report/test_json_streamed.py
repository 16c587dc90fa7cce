"""findings.json is written item by item (report.files.write_json_streamed): the bytes must be
exactly those of the whole document encoded at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scanner.report.files import write_json, write_json_streamed

HEAD: dict[str, Any] = {"schema_version": "1.0",
                        "scan": {"id": "s", "regions": ["us-east-1"], "empty": {}, "none": None}}
ITEMS: list[Any] = [
    {"rule_id": "r1", "message": "line one\nline two", "evidence": {"rows": [{"a": 1}, []]}},
    {"rule_id": "r2", "message": "naïve “quotes” \u2028 tab\t", "evidence": {}},
    "a bare string", 3.5, None, [],
]


@pytest.mark.parametrize("items", [[], ITEMS[:1], ITEMS], ids=["empty", "one", "many"])
def test_streamed_equals_whole(tmp_path: Path, items: list[Any]) -> None:
    whole = write_json(tmp_path / "whole.json", {**HEAD, "findings": items})
    streamed = write_json_streamed(tmp_path / "streamed.json", HEAD, "findings", iter(items))
    assert streamed.read_bytes() == whole.read_bytes()


def test_streamed_array_must_be_last(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_json_streamed(tmp_path / "x.json", {"findings": [], "after": 1}, "findings", [])

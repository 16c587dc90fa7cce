"""findings.json against its published JSON Schema (draft 2020-12)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest


def schema() -> dict[str, Any]:
    text = resources.files("scanner").joinpath("schemas/findings.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def validator() -> jsonschema.Draft202012Validator:
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    return jsonschema.Draft202012Validator(s, format_checker=jsonschema.FormatChecker())


def test_demo_findings_json_is_valid(demo_out: Path) -> None:
    data = json.loads((demo_out / "findings.json").read_text("utf-8"))
    errors = sorted(validator().iter_errors(data), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message[:200]}" for e in errors[:5]]
    assert data["findings"]


def test_hostile_findings_json_is_valid_and_intact(hostile_out: Path) -> None:
    data = json.loads((hostile_out / "findings.json").read_text("utf-8"))
    assert not list(validator().iter_errors(data))
    names = {f["account_name"] for f in data["findings"]}
    assert any(n.startswith("</script><script>") and "\x00" in n for n in names)


@pytest.mark.parametrize("mutate", [
    lambda d: d["findings"][0].update(status="OK"),
    lambda d: d["findings"][0].update(severity="CRITICAL"),
    lambda d: d["findings"][0].pop("evidence"),
    lambda d: d["findings"][0].update(account_id="12"),
    lambda d: d["findings"][0].update(status="MUTED", muted_by=None),
    lambda d: d["scan"].update(regions=[]),
    lambda d: d.update(extra=1),
])
def test_schema_rejects(demo_out: Path, mutate: Any) -> None:
    data = json.loads((demo_out / "findings.json").read_text("utf-8"))
    mutate(data)
    assert list(validator().iter_errors(data))

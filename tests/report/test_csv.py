"""findings.csv: documented columns, one row per finding, Excel-friendly encoding, and cells
that no spreadsheet evaluates."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from scanner.core.results import ScanResult
from scanner.report.csvout import (
    FINDINGS_CSV_COLUMNS,
    MAX_CELL_CHARS,
    safe_cell,
    write_csv,
)

from .conftest import HOSTILE_NAME, HOSTILE_OU


def read_rows(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM for Excel"
    text = raw[3:].decode("utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1", "\n=1"])
def test_formula_prefixes_are_quoted(cell: str) -> None:
    assert safe_cell(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "a=1", "arn:aws:iam::1:root", "Zürich", "'=x", "1"])
def test_harmless_cells_unchanged(cell: str) -> None:
    assert safe_cell(cell) == cell


def test_safe_cell_controls_length_none_and_idempotence() -> None:
    assert safe_cell(None) == ""
    assert safe_cell("a\x00b\x07c\x9fd") == "a\ufffdb\ufffdc\ufffdd"
    assert safe_cell("keep\ttab\nand\r\nlines") == "keep\ttab\nand\r\nlines"
    long = safe_cell("x" * 100_000)
    assert len(long) == MAX_CELL_CHARS and long.endswith("see findings.json]")
    for value in ("=1", "x" * 100_000, "a\x00", "-" + HOSTILE_NAME):
        once = safe_cell(value)
        assert safe_cell(once) == once


def test_write_csv_roundtrip(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "t.csv", ["a", "b"], [["=x", 'q"u,o\nte'], [None, 5]])
    raw = path.read_bytes()
    assert b"\r\n" in raw
    rows = read_rows(path)
    assert rows == [{"a": "'=x", "b": 'q"u,o\nte'}, {"a": "", "b": "5"}]


def test_demo_findings_csv(demo_result: ScanResult, demo_out: Path) -> None:
    rows = read_rows(demo_out / "findings.csv")
    with (demo_out / "findings.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert tuple(next(csv.reader(fh))) == FINDINGS_CSV_COLUMNS
    assert len(rows) == len(demo_result.findings)
    findings = json.loads((demo_out / "findings.json").read_text("utf-8"))["findings"]
    for row, f in zip(rows, findings, strict=True):
        assert row["scan_id"] == demo_result.scan_id
        assert (row["account_id"], row["rule_id"], row["status"], row["severity"]) == (
            f["account_id"], f["rule_id"], f["status"], f["severity"])
        expected = ";".join(f"{fw}:{c}" for fw in sorted(f["compliance"])
                            for c in f["compliance"][fw])
        assert row["compliance"] == expected
    cis = [r for r in rows if r["rule_id"] == "root-access-keys-present"]
    assert cis and all("cis-aws-foundations-3.0:1.4" in r["compliance"].split(";") for r in cis)
    assert {r["status"] for r in rows} >= {"PASS", "FAIL", "NOT_ASSESSED"}


def test_hostile_names_neutralised(hostile_result: ScanResult, hostile_out: Path) -> None:
    rows = read_rows(hostile_out / "findings.csv")
    assert len(rows) == len(hostile_result.findings)
    formula_start = ("=", "+", "-", "@", "\t", "\r", "\n")
    for row in rows:
        for col, value in row.items():
            assert not value.startswith(formula_start), (col, value[:40])
            assert "\x00" not in value and "\x07" not in value
            assert len(value) <= MAX_CELL_CHARS
    ou_rows = [r for r in rows if r["ou_path"].startswith("Root/=cmd")]
    assert ou_rows, "the hostile OU keeps its text (after Root/)"
    hostile = [r for r in rows if r["account_name"].startswith("</script>")]
    assert hostile and "Zürich 東京" in hostile[0]["account_name"]
    long = [r for r in rows if r["message"].startswith("'-")]
    assert long and all(r["message"].endswith("see findings.json]") for r in long)
    # The OU's own name, as a full cell, is quoted.
    assert safe_cell(HOSTILE_OU).startswith("'=")

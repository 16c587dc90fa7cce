"""findings.csv, and the one CSV cell function every CSV writer of orgscan uses.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some of
them, one that starts with a tab, CR or LF before such a character) as a formula: an account
name, a tag or an error message coming back from AWS is attacker-influenced text, so every cell
that starts with one of those characters is prefixed with a single quote, which the spreadsheet
shows as text. The JSON outputs carry the exact values; the CSV is for people.

Encoding: UTF-8 with a byte-order mark (Excel reads BOM-less UTF-8 as the ANSI code page and
mangles non-ASCII names), RFC 4180 quoting, CRLF line ends.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from scanner.core.audit_report import AuditReport
from scanner.core.models import Finding
from scanner.report.files import atomic_open

# Cells starting with one of these are prefixed with "'" (OWASP's CSV-injection list, plus LF).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")
# Excel's limit per cell; longer text is cut with a visible marker (findings.json has it all).
MAX_CELL_CHARS = 32_767
TRUNCATION_MARK = " …[truncated; see findings.json]"
# C0/C1 controls other than tab, LF and CR: NUL ends a cell in Excel and the others render as
# nothing, which would hide text from the reader. They become U+FFFD, visibly.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

FINDINGS_CSV_COLUMNS: tuple[str, ...] = (
    "scan_id", "account_id", "account_name", "ou_path", "rule_id", "title", "severity",
    "status", "region", "resource", "message", "compliance", "remediation", "muted_by",
)
FINDINGS_CSV_NAME = "findings.csv"


def safe_cell(value: object) -> str:
    """One CSV cell as text that no spreadsheet evaluates and that fits in an Excel cell."""
    if value is None:
        return ""
    text = _CONTROL.sub("\ufffd", str(value))
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    if len(text) > MAX_CELL_CHARS:
        text = text[: MAX_CELL_CHARS - len(TRUNCATION_MARK)] + TRUNCATION_MARK
    return text


def compliance_cell(finding: Finding) -> str:
    """``framework:control;framework:control`` in framework, then control, order."""
    return ";".join(f"{fw}:{control}" for fw in sorted(finding.compliance)
                    for control in finding.compliance[fw])


def finding_row(scan_id: str, f: Finding) -> tuple[object, ...]:
    """The row's raw values in FINDINGS_CSV_COLUMNS order (``write_csv`` makes them safe)."""
    return (scan_id, f.account_id, f.account_name, f.ou_path, f.rule_id, f.title,
            f.severity.value, f.status.value, f.region, f.resource, f.message,
            compliance_cell(f), f.remediation.strip(), f.muted_by)


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    """Write a CSV the orgscan way (BOM, CRLF, every cell through ``safe_cell``, which is
    idempotent, so rows may hold cells that were already made safe)."""
    with atomic_open(path, encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh, lineterminator="\r\n")
        w.writerow([safe_cell(h) for h in header])
        for row in rows:
            w.writerow([safe_cell(v) for v in row])
    return path


def write_findings_csv(report: AuditReport, out: Path) -> list[Path]:
    result = report.result
    rows = (finding_row(result.scan_id, f) for f in result.findings)
    return [write_csv(out / FINDINGS_CSV_NAME, FINDINGS_CSV_COLUMNS, rows)]

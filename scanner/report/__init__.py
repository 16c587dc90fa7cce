"""Report writers. ``write_reports`` renders every output the config asks for from one
AuditReport (scanner/core/audit_report.py), which the writers read and never re-derive.

Each format maps to one writer: ``(report, out_dir) -> list[Path]``. The core outputs
(inventory, coverage, findings.json, root usage, OU summaries, graph) are always written.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from scanner.core.audit_report import AuditReport
from scanner.report.core import write_core

Writer = Callable[[AuditReport, Path], list[Path]]


def _writers() -> dict[str, Writer]:
    # Imported lazily: a scan that asks for JSON never imports the HTML machinery.
    table: dict[str, Writer] = {}
    table["csv"] = lambda r, o: _lazy("scanner.report.csvout", "write_findings_csv")(r, o)
    table["ocsf"] = lambda r, o: _lazy("scanner.report.ocsf", "write_ocsf")(r, o)
    table["asff"] = lambda r, o: _lazy("scanner.report.asff", "write_asff")(r, o)
    table["junit"] = lambda r, o: _lazy("scanner.report.junit", "write_junit")(r, o)
    table["markdown"] = lambda r, o: _lazy("scanner.report.markdown", "write_markdown")(r, o)
    table["html"] = lambda r, o: _lazy("scanner.report.html", "write_html")(r, o)
    table["pdf"] = lambda r, o: _lazy("scanner.report.pdf", "write_pdf")(r, o)
    return table


def _lazy(module: str, name: str) -> Writer:
    import importlib

    writer: Writer = getattr(importlib.import_module(module), name)
    return writer


def write_reports(report: AuditReport, out: Path, formats: tuple[str, ...]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = write_core(report, out)
    writers = _writers()
    for fmt in formats:
        writer = writers.get(fmt)
        if writer is not None:
            written.extend(writer(report, out))
    return written

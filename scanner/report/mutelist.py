"""exceptions-report.json: which accepted risks muted which findings; which expired, went stale."""

from __future__ import annotations

from pathlib import Path

from scanner.core.mutelist import ExceptionReport


def write_exceptions_report(report: ExceptionReport, out: Path) -> Path:
    """``exceptions-report.json`` beside the other reports (and in the evidence bundle)."""
    from scanner.report.files import write_json

    return write_json(out / "exceptions-report.json", report.to_json())

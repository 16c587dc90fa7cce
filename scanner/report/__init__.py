"""Report writers. ``write_reports`` writes every output the config asks for."""

from __future__ import annotations

from pathlib import Path

from scanner.report.core import write_core
from scanner.results import ScanResult


def write_reports(result: ScanResult, out: Path, formats: tuple[str, ...]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    return write_core(result, out)

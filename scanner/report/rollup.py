"""ou-summary.json and ou-summary.csv: the model's per-OU roll-ups (their definitions are in
scanner/core/audit_report.py and docs/auditing.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner.core.audit_report import SEVERITIES, STATUSES, AuditReport
from scanner.report.csvout import write_csv
from scanner.report.files import write_json

OU_SUMMARY_SCHEMA_VERSION = "1.0"


def ou_summary_json(report: AuditReport) -> dict[str, Any]:
    result = report.result
    return {
        "schema_version": OU_SUMMARY_SCHEMA_VERSION,
        "scan": {"scan_id": result.scan_id, "organization_id": result.org.id,
                 "started": result.started, "finished": result.finished,
                 "complete": result.complete, "interrupted": result.interrupted,
                 "lookback_days": result.lookback_days,
                 "regions": list(result.regions) if result.regions else "all enabled"},
        "definitions": {
            "percent": "PASS / (PASS + FAIL + ERROR) over account findings of the subtree; "
                       "MUTED, NOT_APPLICABLE and NOT_ASSESSED excluded; null when no decision",
            "percent_strict": "PASS / (PASS + FAIL + ERROR + MUTED): accepted risks count "
                              "as failures",
            "root_usage": "root.usage.used_in_window; unknown when absent, null or an error",
            "organization_findings": "counted in the root unit only",
        },
        "units": list(report.units),
    }


# --- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "path", "id", "kind", "accounts_total", "assessed", "partial", "not_assessed",
    "out_of_scope", *STATUSES, *(f"fail_{s}" for s in SEVERITIES),
    "compliance_percent", "compliance_percent_strict", "accounts_using_root",
    "accounts_root_unknown", "using_root_ids", "worst_offenders",
)


def ou_summary_rows(units: Sequence[Mapping[str, Any]]) -> list[tuple[object, ...]]:
    """One row per unit, CSV_COLUMNS order (raw values: ``write_csv`` makes them safe)."""
    rows = []
    for u in units:
        acc, fnd, ru = u["accounts"], u["findings"], u["root_usage"]
        rows.append((
            u["path"], u["id"], u["kind"], acc["total"], acc["assessed"], acc["partial"],
            acc["not_assessed"], acc["out_of_scope"],
            *(fnd["by_status"][s] for s in STATUSES),
            *(fnd["by_severity"][s]["FAIL"] for s in SEVERITIES),
            fnd["compliance"]["percent"], fnd["compliance"]["percent_strict"],
            ru["using_root"], ru["unknown"], " ".join(ru["accounts_using_root"]),
            " ".join(o["account_id"] for o in u["worst_offenders"]),
        ))
    return rows


def write_ou_summary(report: AuditReport, out: Path) -> list[Path]:
    """``ou-summary.json`` and ``ou-summary.csv`` (schema: schemas/ou-summary.schema.json;
    the CSV is written the way every orgscan CSV is: csvout.write_csv)."""
    return [write_json(out / "ou-summary.json", ou_summary_json(report)),
            write_csv(out / "ou-summary.csv", CSV_COLUMNS, ou_summary_rows(report.units))]

"""Several organizations audited in one run: what the combined outputs say, derived once.

Each organization is either a finished scan (its ``AuditReport``, the same model its own
directory's outputs render) or NOT_ASSESSED as a whole, with the reason (its credentials or
its walk failed). The combined counts are sums of the per-organization counts, nothing else:
an organization not assessed adds no account to any count, and is listed with its reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scanner.core.audit_report import AuditReport, compliance

# An organization's status in organizations.json (docs/outputs.md): ASSESSED when it was scanned
# (``complete`` says whether every account in scope was fully assessed, its coverage counts how
# many were), NOT_ASSESSED when it could not be scanned at all (``reason`` says why).
ASSESSED, NOT_ASSESSED = "ASSESSED", "NOT_ASSESSED"
COVERAGE_KEYS = ("accounts", "assessed", "partial", "not_assessed")
ROOT_KEYS = ("accounts_using_root", "accounts_unknown")
COMPLIANCE_KEYS = ("passed", "failed", "errors", "muted", "not_assessed", "not_applicable")


@dataclass(frozen=True)
class OrgReport:
    """One organization of the run: ``report`` None when it could not be scanned at all."""

    label: str
    report: AuditReport | None
    reason: str = ""  # why it was not assessed (or why it is partial: the scan was interrupted)

    @property
    def status(self) -> str:
        return NOT_ASSESSED if self.report is None else ASSESSED

    @property
    def complete(self) -> bool:
        """Every account in scope fully assessed, and the scan not interrupted."""
        return self.report is not None and self.report.result.complete


def organization_entry(org: OrgReport) -> dict[str, Any]:
    """One organization's entry of organizations.json."""
    entry: dict[str, Any] = {"label": org.label, "status": org.status,
                             "complete": org.complete, "reason": org.reason or None,
                             "interrupted": bool(org.report and org.report.result.interrupted)}
    report = org.report
    if report is None:
        return {**entry, "organization_id": None, "management_account_id": None,
                "caller_arn": None, "scan_id": None, "directory": org.label,
                "coverage": dict.fromkeys(COVERAGE_KEYS, 0),
                "root_use": {**dict.fromkeys(ROOT_KEYS, 0), "accounts_using_root_ids": []},
                "compliance": _compliance({})}
    result = report.result
    counts = result.coverage_counts()
    if result.interrupted and not org.reason:
        entry["reason"] = "the scan was interrupted (rerun with --resume)"
    by_status = {s.value: n for s, n in report.findings_by_status.items()}
    return {
        **entry,
        "organization_id": result.org.id,
        "management_account_id": result.org.management_account_id,
        "caller_arn": result.caller_arn,
        "scan_id": result.scan_id,
        "directory": org.label,
        "coverage": {"accounts": len(result.accounts), **counts},
        "root_use": {
            "accounts_using_root": len(report.root_use.used),
            "accounts_unknown": len(report.root_use.unknown),
            "accounts_using_root_ids": [row.account.id for row in report.root_use.used],
        },
        "compliance": _compliance(by_status),
    }


def _compliance(by_status: Mapping[str, int]) -> dict[str, Any]:
    return {**compliance(by_status), "by_status": dict(sorted(by_status.items()))}


def totals(entries: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The combined counts: sums over the organizations' entries (and how many are in each
    status); percentages recomputed from the summed counts, never averaged."""
    status = {s: sum(e["status"] == s for e in entries) for s in (ASSESSED, NOT_ASSESSED)}
    by_status: dict[str, int] = {}
    for e in entries:
        for key, n in e["compliance"]["by_status"].items():
            by_status[key] = by_status.get(key, 0) + n
    return {
        "organizations": len(entries),
        "organizations_by_status": status,
        "organizations_complete": sum(bool(e["complete"]) for e in entries),
        "coverage": {k: sum(e["coverage"][k] for e in entries) for k in COVERAGE_KEYS},
        "root_use": {k: sum(e["root_use"][k] for e in entries) for k in ROOT_KEYS},
        "compliance": _compliance(by_status),
    }

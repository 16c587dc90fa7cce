"""coverage.json: every account in scope, assessed or not, and why. An auditor reads this
first: a finding list is only as good as its coverage."""

from __future__ import annotations

from typing import Any

from scanner.core.audit_report import AuditReport


def coverage_json(report: AuditReport) -> dict[str, Any]:
    result = report.result
    return {
        "scan_id": result.scan_id,
        "organization_id": result.org.id,
        "complete": result.complete,
        # Why not (empty when complete): partial or unassessed accounts, ERROR verdicts.
        "incomplete_reasons": result.incomplete_reasons(),
        "interrupted": result.interrupted,
        "counts": result.coverage_counts(),
        "accounts_in_organization": len(result.org.accounts),
        "out_of_scope": list(result.out_of_scope),
        "regions": list(result.regions) if result.regions else "all enabled",
        "by_ou": report.coverage_by_ou,
        "accounts": [
            {"account_id": r.account.id, "name": r.account.name, "ou_path": r.account.ou_path,
             "status": r.account.status.value, "coverage": r.coverage.value, "reason": r.reason,
             "failed_facts": [f.to_json() for f in r.failed_facts],
             "duration_s": round(r.duration_s, 3), "api_calls": sum(r.calls.values())}
            for r in result.accounts
        ],
    }

"""The outputs every run writes: inventory, coverage, findings.json, root usage, OU summaries
and the graph files, all rendered from one AuditReport.

The optional formats (CSV, OCSF, HTML, ...) register in report/__init__.py and render the same
model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.core.audit_report import AuditReport
from scanner.core.models import Organization
from scanner.core.results import ScanResult, account_to_json
from scanner.report.coverage import coverage_json
from scanner.report.files import write_json, write_json_streamed
from scanner.report.graphfile import write_org_graph
from scanner.report.rollup import write_ou_summary
from scanner.report.rootusage_writer import write_root_usage

FINDINGS_SCHEMA_VERSION = "1.0"


def inventory_json(org: Organization) -> dict[str, Any]:
    return {
        "organization": {"id": org.id, "arn": org.arn, "feature_set": org.feature_set,
                         "management_account_id": org.management_account_id,
                         "management_account_email": org.management_account_email},
        "units": [{"id": u.id, "name": u.name, "arn": u.arn, "parent_id": u.parent_id,
                   "path": u.path, "kind": "root" if u.is_root else "ou",
                   "policy_ids": list(u.policy_ids)} for u in org.units],
        "accounts": [account_to_json(a) for a in org.accounts],
        "policies": [{"id": p.id, "name": p.name, "type": p.type, "aws_managed": p.aws_managed,
                      "description": p.description, "content": p.content}
                     for p in org.policies.values()],
    }


def findings_head(result: ScanResult) -> dict[str, Any]:
    """findings.json without its last key, the findings."""
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "scan": {"scan_id": result.scan_id, "started": result.started,
                 "finished": result.finished, "tool_version": result.tool_version,
                 "caller_arn": result.caller_arn, "organization_id": result.org.id,
                 "complete": result.complete, "interrupted": result.interrupted,
                 "regions": list(result.regions) if result.regions else "all enabled",
                 "lookback_days": result.lookback_days, "rules": list(result.rule_ids)},
    }


def write_core(report: AuditReport, out: Path) -> list[Path]:
    result = report.result
    return [
        write_json(out / "inventory.json", inventory_json(result.org)),
        write_json(out / "coverage.json", coverage_json(report)),
        write_json_streamed(out / "findings.json", findings_head(result), "findings",
                            (f.to_json() for f in result.findings)),
        *write_root_usage(report, out),
        *write_ou_summary(report, out),
        *write_org_graph(report, out),
    ]

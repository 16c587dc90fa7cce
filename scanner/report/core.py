"""The scan's own outputs: inventory, coverage, graph exports, findings.json.

Other writers (root usage, OU summaries, HTML, OCSF, ...) register in report/__init__.py and
read the same ScanResult.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.core import graph as orggraph
from scanner.core.models import FactError, Organization
from scanner.core.results import ScanResult, account_to_json
from scanner.core.rootusage import Window, record_without_account_facts
from scanner.report.coverage import coverage_json
from scanner.report.files import write_json
from scanner.report.rootusage_writer import (
    render_json,
    root_usage_document,
    write_root_usage_csv,
)

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


def findings_json(result: ScanResult) -> dict[str, Any]:
    return {
        "schema_version": FINDINGS_SCHEMA_VERSION,
        "scan": {"scan_id": result.scan_id, "started": result.started,
                 "finished": result.finished, "tool_version": result.tool_version,
                 "caller_arn": result.caller_arn, "organization_id": result.org.id,
                 "complete": result.complete, "interrupted": result.interrupted,
                 "regions": list(result.regions) if result.regions else "all enabled",
                 "lookback_days": result.lookback_days, "rules": list(result.rule_ids)},
        "findings": [f.to_json() for f in result.findings],
    }


def root_usage_records(result: ScanResult) -> list[dict[str, Any]]:
    """One root-usage record per account in scope: its ``root.usage`` fact, or, where that
    could not be collected, a record from organization-level evidence or marked unknown."""
    window = Window.ending(datetime.fromisoformat(result.started), result.lookback_days)
    records = []
    for r in result.accounts:
        fact = r.facts.get("root.usage")
        if isinstance(fact, dict):
            records.append(fact)
        else:
            reason = fact.message if isinstance(fact, FactError) else (r.reason or "not collected")
            records.append(record_without_account_facts(
                r.account.id, result.org_facts, window, reason).to_json())
    return records


def write_root_usage(result: ScanResult, out: Path) -> list[Path]:
    records = root_usage_records(result)
    accounts = [r.account for r in result.accounts]
    sources = sorted({s["name"] for rec in records for s in rec.get("sources") or []})
    doc = root_usage_document(records, accounts, generated_at=result.finished,
                              organization_id=result.org.id, lookback_days=result.lookback_days,
                              regions=result.regions, sources=sources)
    path = out / "root-usage.json"
    path.write_text(render_json(doc), encoding="utf-8")
    return [path, write_root_usage_csv(out / "root-usage.csv", records, accounts)]


def write_core(result: ScanResult, out: Path) -> list[Path]:
    # Imported here: rollup builds on this module's write_json.
    from scanner.report.rollup import write_ou_summary

    g = orggraph.build(result.org)
    coverage = {r.account.id: {"coverage": r.coverage.value} for r in result.accounts}
    return [
        write_json(out / "inventory.json", inventory_json(result.org)),
        write_json(out / "coverage.json", coverage_json(result)),
        write_json(out / "findings.json", findings_json(result)),
        *write_root_usage(result, out),
        *write_ou_summary(result, out),
        *orggraph.export(g, out, extra=coverage),
    ]

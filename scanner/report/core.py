"""The scan's own outputs: inventory, coverage, graph exports, findings.json.

Other writers (root usage, OU summaries, HTML, OCSF, ...) register in report/__init__.py and
read the same ScanResult.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from scanner import graph as orggraph
from scanner.models import Organization
from scanner.orchestrator import coverage_json
from scanner.results import ScanResult, account_to_json

FINDINGS_SCHEMA_VERSION = "1.0"


def write_json(path: Path, data: Any) -> Path:
    # ensure_ascii=False keeps non-ASCII names intact; default=str covers datetimes.
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n",
                    encoding="utf-8")
    return path


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


def write_core(result: ScanResult, out: Path) -> list[Path]:
    g = orggraph.build(result.org)
    coverage = {r.account.id: {"coverage": r.coverage.value} for r in result.accounts}
    return [
        write_json(out / "inventory.json", inventory_json(result.org)),
        write_json(out / "coverage.json", coverage_json(result)),
        write_json(out / "findings.json", findings_json(result)),
        *orggraph.export(g, out, extra=coverage),
    ]

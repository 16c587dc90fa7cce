"""asff.json: every finding in the AWS Security Finding Format, for Security Hub.

A JSON array of findings ready for ``BatchImportFindings`` (at most 100 per call: see
``batches``) in the management account's Security Hub, as a custom product
(``.../product/<management account>/default``). Status mapping:

  PASS -> PASSED (workflow RESOLVED)        FAIL -> FAILED (NEW)
  MUTED -> FAILED (SUPPRESSED)              ERROR -> WARNING (NEW: undecided, never a pass)
  NOT_ASSESSED -> NOT_AVAILABLE (NEW)       NOT_APPLICABLE -> NOT_AVAILABLE (RESOLVED)

Security Hub rejects oversized fields, so text is cut to its limits (full text and evidence are
in findings.json; the cut is marked).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.core.audit_report import AuditReport
from scanner.core.models import Account, Finding, Status
from scanner.core.results import ScanResult
from scanner.report.files import write_json
from scanner.report.ocsf import (
    finding_types,
    finding_uid,
    home_region,
    partition,
    requirements,
    resource_type,
)

ASFF_NAME = "asff.json"
SCHEMA_VERSION = "2018-10-08"
BATCH_SIZE = 100  # BatchImportFindings accepts at most 100 findings per request

# Security Hub's field limits (characters / items).
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_PRODUCT_FIELD = 2048
MAX_REQUIREMENTS = 32
CUT = " …[truncated]"

COMPLIANCE = {Status.PASS: "PASSED", Status.FAIL: "FAILED", Status.MUTED: "FAILED",
              Status.ERROR: "WARNING", Status.NOT_ASSESSED: "NOT_AVAILABLE",
              Status.NOT_APPLICABLE: "NOT_AVAILABLE"}
WORKFLOW = {Status.PASS: "RESOLVED", Status.NOT_APPLICABLE: "RESOLVED",
            Status.MUTED: "SUPPRESSED"}


def cut(text: str, limit: int) -> str:
    text = text.strip() or "-"  # Security Hub rejects empty required strings
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def iso_z(iso: str) -> str:
    """ASFF timestamps: UTC, millisecond precision, 'Z'."""
    dt = datetime.fromisoformat(iso).astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def product_arn(result: ScanResult, region: str) -> str:
    mgmt = result.org.management_account_id
    return f"arn:{partition(result)}:securityhub:{region}:{mgmt}:product/{mgmt}/default"


def _resource(result: ScanResult, f: Finding, region: str) -> dict[str, Any]:
    kind = resource_type(f)
    if kind == "AwsAccount" and not f.resource.startswith("arn:"):
        rid = f"AWS::::Account:{f.account_id}"  # Security Hub's id for an account resource
    elif f.resource.startswith("o-"):
        rid = result.org.arn
    else:
        rid = f.resource
    return {"Type": kind, "Id": rid, "Partition": partition(result), "Region": region}


def to_asff(result: ScanResult, f: Finding, owner: Account | None, hub: str) -> dict[str, Any]:
    """One finding; ``hub`` is the Security Hub region it is imported into."""
    region = hub if f.region in ("global", "unknown", "") else f.region
    when = iso_z(result.started)
    fields = {
        "orgscan/Status": f.status.value, "orgscan/RuleId": f.rule_id,
        "orgscan/ScanId": result.scan_id, "orgscan/OuPath": f.ou_path,
        "orgscan/AccountName": owner.name if owner else f.account_name,
        "orgscan/Scope": f.scope, "orgscan/Region": f.region,
        "orgscan/Resource": f.resource,
        "orgscan/Evidence": json.dumps(dict(f.evidence), ensure_ascii=False, default=str),
    }
    if f.muted_by:
        fields["orgscan/MutedBy"] = f.muted_by
    finding: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_uid(result.org.id, f),
        "ProductArn": product_arn(result, hub),
        # Settable only because this is a custom integration ("default" product).
        "ProductName": "orgscan", "CompanyName": "orgscan",
        "GeneratorId": f.rule_id,
        "AwsAccountId": f.account_id,
        "Types": finding_types(f),
        "CreatedAt": when, "UpdatedAt": when,
        "Severity": {"Label": f.severity.value.upper(), "Original": f.severity.value},
        "Title": cut(f.title, MAX_TITLE),
        "Description": cut(f.message, MAX_DESCRIPTION),
        "Resources": [_resource(result, f, region)],
        "Compliance": {"Status": COMPLIANCE[f.status]},
        "Workflow": {"Status": WORKFLOW.get(f.status, "NEW")},
        "RecordState": "ACTIVE",
        "ProductFields": {k: cut(v, MAX_PRODUCT_FIELD) for k, v in fields.items()},
    }
    reqs = requirements(f)[:MAX_REQUIREMENTS]
    if reqs:
        finding["Compliance"]["RelatedRequirements"] = reqs
    if f.remediation.strip():
        finding["Remediation"] = {"Recommendation": {
            "Text": cut(f.remediation, MAX_RECOMMENDATION)}}
    return finding


def asff_findings(result: ScanResult, region: str | None = None) -> list[dict[str, Any]]:
    """Every finding of the scan; ``region`` is the Security Hub region (default: the scan's
    home region), where global findings (IAM, root) are placed too."""
    hub = region or home_region(result)
    accounts = {a.id: a for a in result.org.accounts}
    return [to_asff(result, f, accounts.get(f.account_id), hub) for f in result.findings]


def batches(findings: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(findings), BATCH_SIZE):
        yield findings[i:i + BATCH_SIZE]


def write_asff(report: AuditReport, out: Path) -> list[Path]:
    return [write_json(out / ASFF_NAME, asff_findings(report.result))]

"""findings.ocsf.json: every finding as an OCSF Compliance Finding (class 2003).

Written for OCSF 1.5.0 (``metadata.version``) with the ``cloud`` profile; the test suite
validates the demo's output with the OCSF 1.5.0 models of the pydantic-ocsf package. The
finding uid and resource type are shared with the ASFF writer, so a finding keeps one identity
across formats and across scans (a re-import updates instead of duplicating).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner.core.audit_report import AuditReport
from scanner.core.models import Account, Finding, Severity, Status
from scanner.core.results import ScanResult
from scanner.report.files import write_json

OCSF_VERSION = "1.5.0"
OCSF_NAME = "findings.ocsf.json"
PRODUCT = {"name": "orgscan", "vendor_name": "orgscan"}

CLASS_UID = 2003  # Compliance Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
SEVERITY_ID = {Severity.INFORMATIONAL: 1, Severity.LOW: 2, Severity.MEDIUM: 3,
               Severity.HIGH: 4, Severity.CRITICAL: 5}
# compliance.status_id: 1 Pass, 2 Warning ("did not yield a result due to missing
# information": undecided or not scanned), 3 Fail, 99 Other (not applicable).
COMPLIANCE_STATUS = {Status.PASS: (1, "Pass"), Status.FAIL: (3, "Fail"),
                     Status.MUTED: (3, "Fail"), Status.ERROR: (2, "Warning"),
                     Status.NOT_ASSESSED: (2, "Warning"),
                     Status.NOT_APPLICABLE: (99, "Not Applicable")}
# The finding's own workflow status: a muted FAIL is an accepted, suppressed one.
FINDING_STATUS = {Status.MUTED: (3, "Suppressed")}
NEW = (1, "New")

_ACCOUNT_ID = re.compile(r"^\d{12}$")


def finding_uid(org_id: str, f: Finding) -> str:
    """Stable across scans: the same rule on the same resource of the same account in the same
    region is the same finding (its status may change). Short enough for ASFF's 512."""
    key = "\x1f".join((org_id, f.account_id, f.rule_id, f.region, f.resource))
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"orgscan/{f.account_id}/{f.rule_id}/{digest}"


def resource_type(f: Finding) -> str:
    """The resource's type in Security Hub's vocabulary (AwsAccount, AwsIamUser, ...)."""
    r = f.resource
    if r in ("unknown", "") or _ACCOUNT_ID.match(r) or r.endswith(":root"):
        return "AwsAccount"  # root-user and account-level controls are about the account
    if r.startswith("arn:") and ":cloudtrail:" in r and ":trail/" in r:
        return "AwsCloudTrailTrail"
    if r.startswith("arn:") and ":iam:" in r and ":user/" in r:
        return "AwsIamUser"
    if r.startswith("arn:") and ":logs:" in r:
        return "AwsLogsLogGroup"
    if r.startswith("arn:") and ":sns:" in r:
        return "AwsSnsTopic"
    return "Other"


def epoch_ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000)


def finding_types(f: Finding) -> list[str]:
    """ASFF-style finding types (namespace/category/classifier), one per framework family."""
    out = set()
    for fw in f.compliance:
        if fw.startswith("cis-"):
            out.add("Software and Configuration Checks/Industry and Regulatory Standards/"
                    "CIS AWS Foundations Benchmark")
        else:
            out.add("Software and Configuration Checks/AWS Security Best Practices")
    return sorted(out) or ["Software and Configuration Checks/AWS Security Best Practices"]


def requirements(f: Finding) -> list[str]:
    return [f"{fw}:{c}" for fw in sorted(f.compliance) for c in f.compliance[fw]]


def to_ocsf(result: ScanResult, f: Finding, owner: Account | None,
            account_time: str = "") -> dict[str, Any]:
    """One finding as an OCSF event; ``owner`` is the walked account the finding is about."""
    time = epoch_ms(account_time or result.started)
    status_id, status = FINDING_STATUS.get(f.status, NEW)
    cstatus_id, cstatus = COMPLIANCE_STATUS[f.status]
    account = {"uid": f.account_id, "name": owner.name if owner else f.account_name,
               "type_id": 10, "type": "AWS Account"}
    event: dict[str, Any] = {
        "class_uid": CLASS_UID, "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID, "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE, "activity_name": "Create",
        "type_uid": CLASS_UID * 100 + ACTIVITY_CREATE, "type_name": "Compliance Finding: Create",
        "time": time,
        "severity_id": SEVERITY_ID[f.severity], "severity": f.severity.value.capitalize(),
        "status_id": status_id, "status": status,
        "message": f.message,
        "metadata": {
            "version": OCSF_VERSION, "profiles": ["cloud"],
            "product": {**PRODUCT, "version": result.tool_version},
            "correlation_uid": result.scan_id,
            "uid": f"{result.scan_id}/{finding_uid(result.org.id, f)}",
        },
        "finding_info": {
            "uid": finding_uid(result.org.id, f), "title": f.title, "desc": f.message,
            "types": finding_types(f), "created_time": time,
        },
        "compliance": {
            "standards": sorted(f.compliance) or ["orgscan"],
            "control": f.rule_id, "requirements": requirements(f),
            "status_id": cstatus_id, "status": cstatus, "status_detail": f.message,
        },
        "resources": [{
            "uid": f.resource, "type": resource_type(f), "cloud_partition": partition(result),
            "region": _region(result, f),
            "owner": {"account": account},
        }],
        "cloud": {
            "provider": "AWS", "region": _region(result, f), "account": account,
            # ou_name carries the OU's path: names repeat across the tree, paths do not.
            "org": {"uid": result.org.id, "ou_uid": owner.parent_id if owner else "",
                    "ou_name": f.ou_path},
        },
        "unmapped": {"orgscan": {
            "status": f.status.value, "scope": f.scope, "rule_id": f.rule_id,
            "compliance": {k: list(v) for k, v in f.compliance.items()},
            "muted_by": f.muted_by, "evidence": dict(f.evidence),
        }},
    }
    if f.remediation.strip():
        event["remediation"] = {"desc": f.remediation.strip()}
    return event


def partition(result: ScanResult) -> str:
    """The AWS partition of the organization (from its ARN)."""
    # arn:<partition>:organizations::...: aws, aws-us-gov or aws-cn.
    parts = result.org.arn.split(":")
    return parts[1] if len(parts) > 1 and parts[1] else "aws"


def home_region(result: ScanResult) -> str:
    """Where global findings are placed: the first scanned region, else us-east-1 (IAM's)."""
    return result.regions[0] if result.regions else "us-east-1"


def _region(result: ScanResult, f: Finding) -> str:
    return home_region(result) if f.region in ("global", "unknown", "") else f.region


def ocsf_findings(result: ScanResult) -> list[dict[str, Any]]:
    started = {r.account.id: r.started for r in result.accounts}
    accounts = {a.id: a for a in result.org.accounts}
    return [to_ocsf(result, f, accounts.get(f.account_id), started.get(f.account_id, ""))
            for f in result.findings]


def write_ocsf(report: AuditReport, out: Path) -> list[Path]:
    return [write_json(out / OCSF_NAME, ocsf_findings(report.result))]

"""asff.json: every finding in the AWS Security Finding Format, for Security Hub.

A JSON array of findings ready for ``BatchImportFindings`` (at most 100 per call: see
``batches``) in the management account's Security Hub, as a custom product
(``.../product/<management account>/default``). Status mapping:

  PASS -> PASSED (workflow RESOLVED)        FAIL -> FAILED (NEW)
  MUTED -> FAILED (SUPPRESSED)              ERROR -> WARNING (NEW: undecided, never a pass)
  NOT_ASSESSED -> NOT_AVAILABLE (NEW)       NOT_APPLICABLE -> NOT_AVAILABLE (RESOLVED)

Security Hub rejects oversized fields and findings, so text is cut to its limits with a marked
ellipsis, and nothing is lost silently: a cut Title, Description or recommendation keeps its full
text in ProductFields (``orgscan/Title``, ``orgscan/Message``, ``orgscan/Remediation``), and a
ProductFields value longer than Security Hub takes (the evidence, a long account name) continues
under numbered keys (``orgscan/Evidence/2``, ...). Only when a finding would pass 50 product
fields or 240 KB is the rest left to findings.json, and the last part kept says so.
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

# Security Hub's documented limits (characters / items / bytes), which botocore's model states
# only in prose (tests/report/test_asff.py checks every finding against both).
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_PRODUCT_FIELD = 2048  # characters in one ProductFields value
MAX_PRODUCT_FIELD_KEY = 128
MAX_PRODUCT_FIELDS = 50  # key-value pairs
MAX_REQUIREMENTS = 32
MAX_FINDING_BYTES = 240 * 1024  # one finding, as sent (JSON)
MAX_BATCH_BYTES = 6 * 1024 * 1024
CUT = " …[truncated]"
REST = " …[truncated: the full text is in findings.json]"
# What may continue past one ProductFields value, in the order the budget is spent on it.
_SPILL_ORDER = ("orgscan/Title", "orgscan/Message", "orgscan/AccountName", "orgscan/OuPath",
                "orgscan/Resource", "orgscan/MutedBy", "orgscan/Remediation",
                "orgscan/RelatedRequirements", "orgscan/Evidence")

COMPLIANCE = {Status.PASS: "PASSED", Status.FAIL: "FAILED", Status.MUTED: "FAILED",
              Status.ERROR: "WARNING", Status.NOT_ASSESSED: "NOT_AVAILABLE",
              Status.NOT_APPLICABLE: "NOT_AVAILABLE"}
WORKFLOW = {Status.PASS: "RESOLVED", Status.NOT_APPLICABLE: "RESOLVED",
            Status.MUTED: "SUPPRESSED"}


def cut(text: str, limit: int) -> str:
    text = text.strip() or "-"  # Security Hub rejects empty required strings
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


def _size(obj: Any) -> int:
    """Bytes of ``obj`` as the SDK sends it (compact JSON, non-ASCII escaped)."""
    return len(json.dumps(obj, separators=(",", ":")))


def _parts(text: str) -> list[str]:
    text = text or "-"
    return [text[i:i + MAX_PRODUCT_FIELD] for i in range(0, len(text), MAX_PRODUCT_FIELD)]


def _part_key(key: str, n: int) -> str:
    return key if n == 1 else f"{key}/{n}"


def product_fields(finding: dict[str, Any], texts: dict[str, str]) -> dict[str, str]:
    """``texts`` as ProductFields: a value longer than one field continues under numbered keys
    (``key``, ``key/2``, ...) while the finding stays within 50 fields and 240 KB; a text that
    does not fit ends, in its last part kept, with a note that findings.json has the rest."""
    fixed = {k: v for k, v in texts.items() if k not in _SPILL_ORDER}
    out = {k: cut(v, MAX_PRODUCT_FIELD) for k, v in fixed.items()}
    spilled = [k for k in _SPILL_ORDER if k in texts]
    pairs_left = MAX_PRODUCT_FIELDS - len(out)
    # Room for the keys, quotes and separators of every field, and for a marker per text.
    bytes_left = (MAX_FINDING_BYTES - _size({**finding, "ProductFields": out})
                  - 64 * (len(spilled) + 1))
    for i, key in enumerate(spilled):
        parts = _parts(texts[key])
        reserve = len(spilled) - i - 1  # one field for each text still to come
        kept: list[str] = []
        for part in parts:
            cost = _size(part) + _size(_part_key(key, len(kept) + 1)) + 2
            if len(kept) >= pairs_left - reserve or cost > bytes_left:
                break
            kept.append(part)
            bytes_left -= cost
        if len(kept) < len(parts):
            last = kept.pop() if kept else parts[0]
            kept.append(last[: MAX_PRODUCT_FIELD - len(REST)] + REST)
        for n, part in enumerate(kept, 1):
            out[_part_key(key, n)] = part
        pairs_left -= len(kept)
    return out


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
        "orgscan/ScanId": result.scan_id, "orgscan/Scope": f.scope, "orgscan/Region": f.region,
        "orgscan/OuPath": f.ou_path, "orgscan/AccountName": owner.name if owner else f.account_name,
        "orgscan/Resource": f.resource,
        "orgscan/Evidence": json.dumps(dict(f.evidence), ensure_ascii=False, default=str),
    }
    if f.muted_by:
        fields["orgscan/MutedBy"] = f.muted_by
    title, description = cut(f.title, MAX_TITLE), cut(f.message, MAX_DESCRIPTION)
    if title != f.title.strip():
        fields["orgscan/Title"] = f.title
    if description != f.message.strip():
        fields["orgscan/Message"] = f.message
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
        "Title": title,
        "Description": description,
        "Resources": [_resource(result, f, region)],
        "Compliance": {"Status": COMPLIANCE[f.status]},
        "Workflow": {"Status": WORKFLOW.get(f.status, "NEW")},
        "RecordState": "ACTIVE",
    }
    reqs = requirements(f)
    if reqs:
        finding["Compliance"]["RelatedRequirements"] = reqs[:MAX_REQUIREMENTS]
        if len(reqs) > MAX_REQUIREMENTS:
            fields["orgscan/RelatedRequirements"] = json.dumps(reqs)
    if f.remediation.strip():
        text = cut(f.remediation, MAX_RECOMMENDATION)
        finding["Remediation"] = {"Recommendation": {"Text": text}}
        if text != f.remediation.strip():
            fields["orgscan/Remediation"] = f.remediation
    finding["ProductFields"] = product_fields(finding, fields)
    return finding


def asff_findings(result: ScanResult, region: str | None = None) -> list[dict[str, Any]]:
    """Every finding of the scan; ``region`` is the Security Hub region (default: the scan's
    home region), where global findings (IAM, root) are placed too."""
    hub = region or home_region(result)
    accounts = {a.id: a for a in result.org.accounts}
    return [to_asff(result, f, accounts.get(f.account_id), hub) for f in result.findings]


def batches(findings: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """``BatchImportFindings`` requests: at most 100 findings and 6 MB each, in order."""
    batch: list[dict[str, Any]] = []
    size = 2  # the list's brackets
    for f in findings:
        cost = _size(f) + 1
        if batch and (len(batch) == BATCH_SIZE or size + cost > MAX_BATCH_BYTES):
            yield batch
            batch, size = [], 2
        batch.append(f)
        size += cost
    if batch:
        yield batch


def write_asff(report: AuditReport, out: Path) -> list[Path]:
    return [write_json(out / ASFF_NAME, asff_findings(report.result))]

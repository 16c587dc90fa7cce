"""asff.json: every batch validated offline against botocore's model of Security Hub's
BatchImportFindings and against the limits AWS documents beside it; imported into the
simulator's Security Hub with BatchImportFindings through boto3, read back with GetFindings."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import botocore.session
from botocore.validate import ParamValidator

from scanner.core.results import ScanResult
from scanner.report.asff import (
    ASFF_NAME,
    BATCH_SIZE,
    CUT,
    MAX_BATCH_BYTES,
    MAX_DESCRIPTION,
    MAX_FINDING_BYTES,
    MAX_PRODUCT_FIELD,
    MAX_PRODUCT_FIELD_KEY,
    MAX_PRODUCT_FIELDS,
    MAX_RECOMMENDATION,
    MAX_REQUIREMENTS,
    MAX_TITLE,
    REST,
    asff_findings,
    batches,
    to_asff,
)
from scanner.sim import SimServer

from .conftest import HOSTILE_NAME, LONG


def load(out: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((out / ASFF_NAME).read_text("utf-8"))
    return data


def test_asff_import_and_read_back(demo_sim: SimServer, demo_result: ScanResult,
                                   demo_out: Path) -> None:
    findings = load(demo_out)
    assert len(findings) == len(demo_result.findings)
    hub = boto3.client("securityhub", endpoint_url=demo_sim.endpoint, **demo_sim.credentials)
    imported = 0
    for batch in batches(findings):
        assert len(batch) <= 100
        resp = hub.batch_import_findings(Findings=batch)
        assert resp["FailedCount"] == 0, resp["FailedFindings"][:3]
        imported += resp["SuccessCount"]
    assert imported == len(findings)
    got: list[dict[str, Any]] = []
    for page in hub.get_paginator("get_findings").paginate():
        got += page["Findings"]
    ours = {f["Id"]: f for f in got if f["GeneratorId"] in demo_result.rule_ids}
    assert set(ours) == {f["Id"] for f in findings}
    mgmt = demo_result.org.management_account_id
    sample = next(f for f in ours.values() if f["GeneratorId"] == "root-access-keys-present"
                  and f["Compliance"]["Status"] == "FAILED")
    assert sample["ProductArn"] == (
        f"arn:aws:securityhub:us-east-1:{mgmt}:product/{mgmt}/default")
    assert sample["Severity"]["Label"] == "CRITICAL"
    assert sample["SchemaVersion"] == "2018-10-08"
    assert sample["Workflow"]["Status"] == "NEW" and sample["RecordState"] == "ACTIVE"
    assert "cis-aws-foundations-3.0:1.4" in sample["Compliance"]["RelatedRequirements"]
    assert sample["Remediation"]["Recommendation"]["Text"]
    assert sample["Resources"][0]["Type"] == "AwsAccount"


def test_asff_status_mapping(demo_out: Path) -> None:
    by_status: dict[str, set[tuple[str, str]]] = {}
    for f in load(demo_out):
        by_status.setdefault(f["ProductFields"]["orgscan/Status"], set()).add(
            (f["Compliance"]["Status"], f["Workflow"]["Status"]))
    expected = {"PASS": ("PASSED", "RESOLVED"), "FAIL": ("FAILED", "NEW"),
                "ERROR": ("WARNING", "NEW"), "NOT_ASSESSED": ("NOT_AVAILABLE", "NEW"),
                "NOT_APPLICABLE": ("NOT_AVAILABLE", "RESOLVED"),
                "MUTED": ("FAILED", "SUPPRESSED")}
    assert {"PASS", "FAIL", "NOT_ASSESSED", "NOT_APPLICABLE"} <= set(by_status)
    for status, pairs in by_status.items():
        assert pairs == {expected[status]}, status


def test_asff_limits_and_hostile_text(hostile_result: ScanResult, hostile_out: Path) -> None:
    findings = load(hostile_out)
    assert findings == asff_findings(hostile_result)
    ids = [f["Id"] for f in findings]
    assert len(set(ids)) == len(ids) and all(len(i) <= 512 for i in ids)
    for f in findings:
        assert len(f["Title"]) <= MAX_TITLE and len(f["Description"]) <= MAX_DESCRIPTION
        assert all(len(v) <= MAX_PRODUCT_FIELD for v in f["ProductFields"].values())
    long = [f for f in findings if f["Description"].endswith("[truncated]")]
    assert long, "the 40,000-character message was cut to Security Hub's limit"


# --- botocore's own model of BatchImportFindings, offline, plus the limits AWS documents in
# prose (the model carries only the 100-finding maximum and a "not blank" pattern).

@functools.cache  # one model load (a large JSON document), not one per finding checked
def _input_shape() -> Any:
    model = botocore.session.Session().get_service_model("securityhub")
    return model.operation_model("BatchImportFindings").input_shape


def _finding_shape() -> Any:
    return _input_shape().members["Findings"].member


def model_errors(batch: list[dict[str, Any]]) -> str:
    report = ParamValidator().validate({"Findings": batch}, _input_shape())
    return str(report.generate_report()) if report.has_errors() else ""


# Each documented limit: (path in the finding, maximum). Lengths in characters, lists in items.
TEXT_LIMITS = {"Id": 512, "GeneratorId": 512, "Title": MAX_TITLE,
               "Description": MAX_DESCRIPTION, "ProductName": 128, "CompanyName": 128}
NAMESPACES = {"Software and Configuration Checks", "TTPs", "Effects", "Unusual Behaviors",
              "Sensitive Data Identifications"}


def limit_errors(f: dict[str, Any]) -> list[str]:
    """Every way ``f`` breaks a limit Security Hub documents but botocore does not enforce."""
    errors = [f"{k} length {len(f[k])}" for k, n in TEXT_LIMITS.items()
              if not 1 <= len(f[k]) <= n or not f[k].strip()]
    if not re.fullmatch(r"\d{12}", f["AwsAccountId"]):
        errors.append("AwsAccountId is not 12 digits")
    types = f["Types"]
    if not 1 <= len(types) <= 50:
        errors.append(f"{len(types)} Types")
    for t in types:
        parts = t.split("/")
        if not 1 <= len(parts) <= 3 or parts[0] not in NAMESPACES or not all(parts):
            errors.append(f"Type {t!r} is not namespace/category/classifier")
    if not 1 <= len(f["Resources"]) <= 32:
        errors.append(f"{len(f['Resources'])} Resources")
    for r in f["Resources"]:
        if not 1 <= len(r["Type"]) <= 256 or not 1 <= len(r["Region"]) <= 16 or not r["Id"]:
            errors.append(f"Resource {r['Type']!r} {r['Region']!r}")
    fields = f["ProductFields"]
    if len(fields) > MAX_PRODUCT_FIELDS:
        errors.append(f"{len(fields)} ProductFields")
    errors += [f"ProductFields key {k[:40]!r} ({len(k)})" for k in fields
               if len(k) > MAX_PRODUCT_FIELD_KEY]
    errors += [f"ProductFields {k} value {len(v)}" for k, v in fields.items()
               if len(v) > MAX_PRODUCT_FIELD]
    if len(f["Compliance"].get("RelatedRequirements", [])) > MAX_REQUIREMENTS:
        errors.append("more than 32 RelatedRequirements")
    text = f.get("Remediation", {}).get("Recommendation", {}).get("Text", "-")
    if not 1 <= len(text) <= MAX_RECOMMENDATION:
        errors.append(f"Recommendation.Text length {len(text)}")
    for k in ("CreatedAt", "UpdatedAt"):
        if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", f[k]):
            errors.append(f"{k} {f[k]!r}")
    shape = _finding_shape().members
    enums = {"Severity.Label": (f["Severity"]["Label"], shape["Severity"].members["Label"]),
             "Compliance.Status": (f["Compliance"]["Status"],
                                   shape["Compliance"].members["Status"]),
             "Workflow.Status": (f["Workflow"]["Status"], shape["Workflow"].members["Status"]),
             "RecordState": (f["RecordState"], shape["RecordState"])}
    errors += [f"{k} {v!r} not in the model's enum" for k, (v, s) in enums.items()
               if v not in s.enum]
    if len(json.dumps(f, separators=(",", ":")).encode()) > MAX_FINDING_BYTES:
        errors.append("finding larger than 240 KB")
    return errors


def check_batches(findings: list[dict[str, Any]]) -> int:
    n = 0
    for batch in batches(findings):
        assert 1 <= len(batch) <= 100
        assert len(json.dumps(batch, separators=(",", ":")).encode()) <= MAX_BATCH_BYTES
        assert model_errors(batch) == ""
        for f in batch:
            assert limit_errors(f) == [], (f["Id"], limit_errors(f))
        n += len(batch)
    assert n == len(findings)
    return n


def test_asff_demo_batches_pass_botocores_model_and_documented_limits(demo_out: Path) -> None:
    assert check_batches(load(demo_out)) > 100  # more than one batch


def test_asff_hostile_batches_pass_botocores_model_and_documented_limits(
        hostile_out: Path) -> None:
    check_batches(load(hostile_out))


def test_the_documented_limits_agree_with_botocores_documentation() -> None:
    """The numbers above are AWS's; botocore's model repeats them in its documentation."""
    shape = _finding_shape().members

    def doc(s: Any) -> str:
        return re.sub(r"<[^>]+>", "", s.documentation)

    for key, limit in TEXT_LIMITS.items():
        assert f"Maximum length of {limit}." in doc(shape[key]), key
    assert "Maximum number of 32 items" in doc(shape["Resources"])
    assert "Maximum number of 50 items" in doc(shape["Types"])
    assert "namespace/category/classifier" in doc(shape["Types"])
    assert all(n in doc(shape["Types"]) for n in NAMESPACES)
    assert (f"up to {MAX_PRODUCT_FIELDS} key-value pairs" in doc(shape["ProductFields"])
            and f"up to {MAX_PRODUCT_FIELD_KEY} characters" in doc(shape["ProductFields"])
            and f"up to {MAX_PRODUCT_FIELD} characters" in doc(shape["ProductFields"]))
    assert (f"Maximum number of {MAX_REQUIREMENTS} items"
            in doc(shape["Compliance"].members["RelatedRequirements"]))
    rec = shape["Remediation"].members["Recommendation"].members["Text"]
    assert f"Maximum of {MAX_RECOMMENDATION} length" in doc(rec)
    assert _input_shape().members["Findings"].metadata["max"] == BATCH_SIZE


def _joined(fields: dict[str, str], key: str) -> str:
    parts, n = [], 1
    while (k := key if n == 1 else f"{key}/{n}") in fields:
        parts.append(fields[k])
        n += 1
    return "".join(parts)


def test_asff_hostile_long_texts_are_cut_and_kept(demo_result: ScanResult) -> None:
    """A rule title, message, remediation and account name far beyond Security Hub's limits,
    with markup, control and non-ASCII characters: every field is within its limit, the cuts
    are marked, and the full texts are in ProductFields; the evidence fills what is left of
    the 240 KB and says that the rest is in findings.json."""
    base = next(f for f in demo_result.findings if f.rule_id == "root-access-keys-present")
    name = HOSTILE_NAME * 40  # about 5,000 characters
    hostile = replace(base, title="T" * 300 + HOSTILE_NAME, message=f"-{HOSTILE_NAME} {LONG}",
                      remediation="R" * 600 + HOSTILE_NAME, account_name=name,
                      evidence={"blob": "é\x07" * 200_000})
    f = to_asff(demo_result, hostile, None, "us-east-1")
    assert limit_errors(f) == [] and model_errors([f]) == ""
    assert f["Title"].endswith(CUT) and f["Description"].endswith(CUT)
    assert f["Remediation"]["Recommendation"]["Text"].endswith(CUT)
    fields = f["ProductFields"]
    assert _joined(fields, "orgscan/Title") == hostile.title
    assert _joined(fields, "orgscan/Message") == hostile.message
    assert _joined(fields, "orgscan/Remediation") == hostile.remediation
    assert _joined(fields, "orgscan/AccountName") == name
    evidence = _joined(fields, "orgscan/Evidence")
    assert evidence.endswith(REST) and len(evidence) > 10_000
    assert json.dumps(dict(hostile.evidence), ensure_ascii=False).startswith(
        evidence[: -len(REST)])


def test_asff_batches_split_by_bytes(demo_result: ScanResult) -> None:
    """Findings near 240 KB each: a batch stays under 6 MB, so holds fewer than 100."""
    base = next(f for f in demo_result.findings if f.rule_id == "root-access-keys-present")
    big = [to_asff(demo_result, replace(base, resource=f"r{i}", evidence={"b": "é" * 200_000}),
                   None, "us-east-1") for i in range(60)]
    sizes = [len(b) for b in batches(big)]
    assert sum(sizes) == 60 and max(sizes) < 60 and len(sizes) >= 2
    check_batches(big)

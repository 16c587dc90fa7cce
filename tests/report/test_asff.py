"""asff.json: imported into the simulator's Security Hub with BatchImportFindings through
boto3 (whose client-side validation checks every field against the service model and
rejects unknown ones), read back with GetFindings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3

from scanner.core.results import ScanResult
from scanner.report.asff import (
    ASFF_NAME,
    MAX_DESCRIPTION,
    MAX_PRODUCT_FIELD,
    MAX_TITLE,
    asff_findings,
    batches,
)
from scanner.sim import SimServer


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

"""Per-OU roll-ups (built in the AuditReport, written as ou-summary.json/.csv): definitions on
hand-built results, then the demo organization end to end."""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scanner.core.audit_report import build_audit_report, compliance, restrict
from scanner.core.errors import ConfigError
from scanner.core.models import Status
from scanner.core.results import Coverage, ScanResult
from scanner.core.yamldoc import load_schema
from scanner.report.rollup import ou_summary_json, write_ou_summary

from ._demo import (
    OU_A,
    OU_B,
    OU_C,
    RETAIL_DEV,
    ROOT,
    SUSPENDED,
    DemoScan,
    account,
    account_result,
    demo_scan,
    finding,
    make_result,
)


@pytest.fixture(scope="module")
def demo() -> DemoScan:
    return demo_scan()


def by_path(units: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    return {u["path"]: u for u in units}


def ou_rollups(result: ScanResult) -> Sequence[Mapping[str, Any]]:
    return build_audit_report(result).units


# --- definitions ----------------------------------------------------------------------------

def test_compliance_counts_error_as_not_passed_and_keeps_muted_apart() -> None:
    c = compliance({"PASS": 6, "FAIL": 2, "ERROR": 2, "MUTED": 2, "NOT_APPLICABLE": 5,
                    "NOT_ASSESSED": 9})
    assert c["decisions"] == 10
    assert c["percent"] == 60.0  # 6 / (6 + 2 + 2): ERROR is in the denominator
    assert c["percent_strict"] == 50.0  # 6 / 12: accepted risks counted as failures
    assert (c["muted"], c["not_applicable"], c["not_assessed"]) == (2, 5, 9)


def test_compliance_without_decisions_is_null_not_100() -> None:
    assert compliance({"NOT_ASSESSED": 4, "NOT_APPLICABLE": 1})["percent"] is None
    assert compliance({})["percent_strict"] is None
    assert compliance({"MUTED": 1})["percent"] is None
    assert compliance({"MUTED": 1})["percent_strict"] == 0.0


def small() -> Any:
    a1 = account("000000000001", "a1", OU_A, management=False)
    b1 = account("000000000002", "b1", OU_B)
    b2 = account("000000000003", "b2", OU_B)
    c1 = account("000000000004", "c1", OU_C)
    mgmt = account("111111111111", "mgmt", ROOT, management=True)
    gone = account("000000000009", "filtered", OU_C)
    cis = {"cis-aws-foundations-5.0": ("1.3",)}
    results = [
        account_result(a1, [finding("r1", a1, "PASS", compliance=cis),
                            finding("r2", a1, "FAIL", "critical")], used=True),
        account_result(b1, [finding("r1", b1, "FAIL", "critical", compliance=cis),
                            finding("r2", b1, "FAIL", "high")], used=False),
        account_result(b2, [finding("r1", b2, "ERROR", compliance=cis),
                            finding("r2", b2, "MUTED")], used="error"),
        account_result(c1, [finding("r1", c1, "NOT_ASSESSED"), finding("r2", c1, "NOT_ASSESSED")],
                       used="absent", coverage=Coverage.NOT_ASSESSED, reason="AccessDenied"),
        account_result(mgmt, [finding("r1", mgmt, "PASS")], used=None),
    ]
    org_f = (finding("org-rule", mgmt, "FAIL", "medium", scope="organization"),)
    return make_result(results, org_f, out_of_scope=(gone,))


def test_units_roll_up_their_whole_subtree() -> None:
    units = by_path(ou_rollups(small()))
    assert list(units) == ["Root", "Root/A", "Root/A/B", "Root/C"]
    a = units["Root/A"]
    assert a["accounts"] == {"total": 3, "assessed": 3, "partial": 0, "not_assessed": 0,
                             "out_of_scope": 0}
    assert a["findings"]["by_status"]["FAIL"] == 3  # a1 + b1 (two)
    assert a["findings"]["by_severity"]["critical"]["FAIL"] == 2
    # 1 PASS over PASS 1 + FAIL 3 + ERROR 1; the MUTED one is out of percent, in strict.
    assert a["findings"]["compliance"]["percent"] == 20.0
    assert a["findings"]["compliance"]["percent_strict"] == round(100 / 6, 1)
    c = units["Root/C"]
    assert c["accounts"]["not_assessed"] == 1 and c["accounts"]["out_of_scope"] == 1
    assert c["findings"]["compliance"]["percent"] is None
    assert c["not_assessed_accounts"][0]["reason"] == "AccessDenied"


def test_organization_findings_count_in_the_root_only() -> None:
    units = by_path(ou_rollups(small()))
    root_rules = units["Root"]["findings"]["by_rule"]
    assert root_rules["org-rule"]["counts"]["FAIL"] == 1
    assert "org-rule" not in units["Root/A"]["findings"]["by_rule"]
    assert units["Root"]["accounts"]["total"] == 5


def test_root_usage_known_and_unknown() -> None:
    units = by_path(ou_rollups(small()))
    ru = units["Root"]["root_usage"]
    assert ru["accounts_using_root"] == ["000000000001"]
    # A FactError, a null, an absent fact (not assessed): all unknown, never "not using".
    assert ru["accounts_unknown"] == ["000000000003", "000000000004", "111111111111"]
    assert (ru["using_root"], ru["not_using_root"], ru["unknown"]) == (1, 1, 3)


def test_by_rule_and_by_control() -> None:
    b = by_path(ou_rollups(small()))["Root/A/B"]["findings"]
    assert b["by_rule"]["r1"]["counts"]["FAIL"] == 1 and b["by_rule"]["r1"]["errors"] == 1
    assert b["by_rule"]["r1"]["percent"] == 0.0
    control = b["by_control"]["cis-aws-foundations-5.0"]["1.3"]
    assert control["status"] == "FAIL" and control["rule_ids"] == ["r1"]
    assert control["decisions"] == 2


def test_worst_offenders_order_critical_then_high() -> None:
    w = by_path(ou_rollups(small()))["Root"]["worst_offenders"]
    assert [o["account_id"] for o in w] == ["000000000002", "000000000001"]
    assert (w[0]["critical_fails"], w[0]["high_fails"]) == (1, 1)
    assert w[0]["failing_rules"] == ["r1", "r2"]


def test_csv_goes_through_the_shared_safe_cells(tmp_path: Path) -> None:
    result = small()
    hostile = replace(result, org=replace(result.org, units=tuple(
        replace(u, id="=HYPERLINK(1)") if u.path == "Root/C" else u for u in result.org.units)))
    path = write_ou_summary(build_audit_report(hostile), tmp_path)[1]
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and b"\r\n" in raw  # BOM, CRLF: as every orgscan CSV
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert rows[-1]["id"] == "'=HYPERLINK(1)"
    assert rows[0]["compliance_percent"] == str(units_root_percent(result))


def units_root_percent(result: Any) -> float:
    return float(ou_rollups(result)[0]["findings"]["compliance"]["percent"])


# --- the demo organization ------------------------------------------------------------------

def test_demo_summary_matches_the_scan(demo: DemoScan, tmp_path: Path) -> None:
    result = demo.result
    paths = write_ou_summary(build_audit_report(result), tmp_path)
    assert [p.name for p in paths] == ["ou-summary.json", "ou-summary.csv"]
    data = json.loads(paths[0].read_text())
    jsonschema.validate(data, load_schema("ou-summary.schema.json"))
    units = by_path(data["units"])
    assert set(units) == {u.path for u in result.org.units}
    root = units["Root"]
    assert root["accounts"]["total"] == len(result.accounts) == 41
    assert root["accounts"]["not_assessed"] == 2
    assert {a["account_id"] for a in root["not_assessed_accounts"]} == {RETAIL_DEV, SUSPENDED}
    # The root's counts are every finding of the scan.
    assert root["findings"]["by_status"] == {
        s.value: n for s, n in ({s: 0 for s in Status} | Counter(
            f.status for f in result.findings)).items()}
    # An OU is the sum of its children (no accounts directly under Root/Workloads).
    w, dev = units["Root/Workloads"], units["Root/Workloads/Dev"]
    prod = units["Root/Workloads/Prod"]
    for s in ("PASS", "FAIL", "ERROR", "NOT_ASSESSED"):
        assert w["findings"]["by_status"][s] == (dev["findings"]["by_status"][s]
                                                 + prod["findings"]["by_status"][s])
    assert w["accounts"]["total"] == dev["accounts"]["total"] + prod["accounts"]["total"]
    rows = list(csv.DictReader(paths[1].read_text(encoding="utf-8-sig").splitlines()))
    assert [r["path"] for r in rows] == [u["path"] for u in data["units"]]
    assert rows[0]["accounts_total"] == "41"


def test_demo_root_use_matches_ground_truth(demo: DemoScan) -> None:
    root = by_path(ou_rollups(demo.result))["Root"]["root_usage"]
    accounts = demo.truth["accounts"]
    using = sorted(a for a, t in accounts.items()
                   if t["assessable"] and t["usage"]["used_in_window"])
    assert root["accounts_using_root"] == using
    assert set(root["accounts_unknown"]) >= {RETAIL_DEV, SUSPENDED}


def test_demo_worst_offenders_have_critical_or_high_fails(demo: DemoScan) -> None:
    for unit in ou_rollups(demo.result):
        for o in unit["worst_offenders"]:
            assert o["critical_fails"] + o["high_fails"] > 0
            assert o["ou_path"] == unit["path"] or o["ou_path"].startswith(unit["path"] + "/")
        keys = [(-o["critical_fails"], -o["high_fails"]) for o in unit["worst_offenders"]]
        assert keys == sorted(keys)


def test_restrict_to_a_subtree(demo: DemoScan) -> None:
    sub = restrict(demo.result, "Root/Workloads")
    assert {r.account.ou_path for r in sub.accounts} == {"Root/Workloads/Dev",
                                                         "Root/Workloads/Prod"}
    assert len(sub.accounts) == 27
    assert {a.id for a in sub.org.accounts} == {r.account.id for r in sub.accounts}
    assert sub.org_findings == demo.result.org_findings  # organization findings kept
    report = build_audit_report(demo.result, ou="Root/Workloads")
    assert report.result == sub
    units = by_path(ou_summary_json(report)["units"])
    # Only the path down to the OU, and its subtree.
    assert set(units) == {"Root", "Root/Workloads", "Root/Workloads/Dev", "Root/Workloads/Prod"}
    assert units["Root/Workloads/Dev"]["accounts"]["total"] == 11
    # By id too.
    ou_id = next(u.id for u in demo.result.org.units if u.path == "Root/Workloads/Prod")
    assert len(restrict(demo.result, ou_id).accounts) == 16


def test_restrict_unknown_path_lists_known_paths(demo: DemoScan) -> None:
    with pytest.raises(ConfigError) as exc:
        restrict(demo.result, "Root/Workload")
    text = str(exc.value)
    assert "no OU with path 'Root/Workload'" in text
    assert "Root/Workloads/Prod" in text and "Root/Sandbox" in text

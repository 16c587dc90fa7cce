"""The AuditReport: built once from a ScanResult, with the --ou cut, the root-use ranking and
the counts every writer renders (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.core import graph
from scanner.core.audit_report import build_audit_report, restrict
from scanner.core.errors import ConfigError
from scanner.core.models import (
    Account,
    AccountState,
    FactError,
    Finding,
    Organization,
    OrgUnit,
    Severity,
    Status,
)
from scanner.core.results import AccountResult, Coverage, ScanResult

UNITS = (
    OrgUnit("r-1", "Root", "arn:r", None, "Root"),
    OrgUnit("ou-w", "Workloads", "arn:w", "r-1", "Root/Workloads"),
    OrgUnit("ou-p", "Prod", "arn:p", "ou-w", "Root/Workloads/Prod"),
    OrgUnit("ou-s", "Sandbox", "arn:s", "r-1", "Root/Sandbox"),
    OrgUnit("ou-d", "Dev", "arn:d", "ou-w", "Root/Workloads/Dev"),
)
PARENT = {u.path: u.id for u in UNITS}


def acct(i: str, path: str) -> Account:
    return Account(i, f"n{i}", f"{i}@x", f"arn:{i}", AccountState.ACTIVE, "CREATED", "",
                   PARENT[path], path, {"k": "v"}, is_management=i == "1")


def finding(a: Account, status: Status, severity: Severity = Severity.HIGH) -> Finding:
    return Finding("r", "r", severity, status, a.id, a.name, a.ou_path, "global", "m", a.id,
                   compliance={"cis": ("1.1",)})


def res(a: Account, usage: Any, *findings: Finding, coverage: Coverage = Coverage.ASSESSED,
        reason: str = "") -> AccountResult:
    facts = {} if usage is None else {"root.usage": usage}
    return AccountResult(a, coverage, reason, facts, findings, "2026-11-01T00:00:00+00:00", 1.0)


def usage(used: bool | None, last: str | None = None) -> dict[str, Any]:
    return {"used_in_window": used, "last_used": last, "window_start": "2026-08-03T00:00:00Z",
            "sources": [{"name": "event_history", "complete": used is not None}]}


def scan() -> ScanResult:
    a1, a2, a3 = acct("1", "Root"), acct("2", "Root/Workloads/Prod"), acct("3", "Root/Sandbox")
    a4, a5 = acct("4", "Root/Workloads/Dev"), acct("5", "Root/Workloads/Prod")
    results = (
        res(a1, usage(True, "2026-10-01T00:00:00Z"), finding(a1, Status.PASS)),
        res(a2, usage(False), finding(a2, Status.FAIL, Severity.CRITICAL)),
        res(a3, FactError("AccessDenied", "denied"), finding(a3, Status.ERROR)),
        res(a4, usage(True, "2026-10-20T00:00:00Z"), finding(a4, Status.FAIL)),
        res(a5, None, finding(a5, Status.NOT_ASSESSED), coverage=Coverage.NOT_ASSESSED,
            reason="role missing"),
    )
    org = Organization("o-1", "arn:aws:organizations::1:organization/o-1", "ALL", "1", "m@x",
                       UNITS, tuple(r.account for r in results))
    return ScanResult("s", "2026-11-01T00:00:00+00:00", "2026-11-01T00:05:00+00:00", "0", "arn",
                      org, results, {}, (), (), None, 90, ("r",))


def test_root_use_ranked_newest_first_then_unknown_then_not_used() -> None:
    ru = build_audit_report(scan()).root_use
    assert [r.account.id for r in ru.rows] == ["1", "2", "3", "4", "5"]
    assert [r.account.id for r in ru.used] == ["4", "1"]
    assert [r.account.id for r in ru.unknown] == ["3", "5"]
    assert [r.account.id for r in ru.not_used] == ["2"]
    # Why unknown: the fact's error; for an account without the fact, its record's notes.
    assert ru.unknown[0].reason == "AccessDenied: denied"
    assert ru.unknown[1].reason.startswith("role missing")
    assert ru.unknown[1].record["assessed"] is False
    assert ru.window_start == "2026-08-03T00:00:00Z"
    assert ru.sources == ("account", "event_history")


def test_counts_and_coverage_every_key_present() -> None:
    report = build_audit_report(scan())
    assert report.findings_by_status == {
        Status.PASS: 1, Status.FAIL: 2, Status.ERROR: 1, Status.NOT_APPLICABLE: 0,
        Status.NOT_ASSESSED: 1, Status.MUTED: 0}
    assert report.fails_by_severity[Severity.CRITICAL] == 1
    assert report.fails_by_severity[Severity.LOW] == 0
    assert list(report.coverage_by_ou) == sorted(report.coverage_by_ou)
    assert report.coverage_by_ou["Root/Workloads/Prod"] == {
        "assessed": 1, "partial": 0, "not_assessed": 1}
    # Every per-OU count has one scope, the unit's whole subtree: coverage.json's by_ou and
    # ou-summary agree, the root counting every account in scope.
    for unit in report.units:
        if unit["accounts"]["total"]:
            assert report.coverage_by_ou[unit["path"]] == {
                c: unit["accounts"][c] for c in ("assessed", "partial", "not_assessed")}
    assert sum(report.coverage_by_ou["Root"].values()) == len(report.result.accounts)
    assert report.account_compliance["2"]["percent"] == 0.0
    assert report.account_compliance["5"]["percent"] is None
    assert [s.control for s in report.frameworks["cis"]] == ["1.1"]
    assert report.root_unit is not None and report.root_unit["path"] == "Root"


def test_ou_cut_is_the_graph_of_the_restricted_organization() -> None:
    report = build_audit_report(scan(), ou="Root/Workloads")
    assert report.ou == "Root/Workloads"
    assert report.result == restrict(scan(), "Root/Workloads")
    assert [r.account.id for r in report.result.accounts] == ["2", "4", "5"]
    assert [u["path"] for u in report.units] == [
        "Root", "Root/Workloads", "Root/Workloads/Prod", "Root/Workloads/Dev"]
    fresh = graph.build(report.result.org)
    assert list(report.graph.nodes(data=True)) == list(fresh.nodes(data=True))
    assert list(report.graph.edges) == list(fresh.edges)
    assert report.graph.graph == fresh.graph


def test_unknown_ou_names_the_known_paths() -> None:
    with pytest.raises(ConfigError, match="no OU with path 'Root/Nope'"):
        build_audit_report(scan(), ou="Root/Nope")

"""Scan diff: the classes of change, root use and coverage transitions, per OU, inputs as scan
directories and bundles, Markdown that cannot carry markup."""

from __future__ import annotations

import argparse
import io
import json
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from scanner.cli.report import cmd_diff
from scanner.core.audit_report import build_audit_report, restrict
from scanner.core.errors import ConfigError
from scanner.core.models import Finding, Status
from scanner.core.mutelist import apply, exceptions_from_text
from scanner.core.results import AccountResult, Coverage, ScanResult
from scanner.report import write_reports
from scanner.report.bundle import write_bundle
from scanner.report.diff import classify, diff, snapshot_of
from scanner.report.diffload import diff_against, diff_paths, load_snapshot
from scanner.report.diffrender import diff_markdown, md_cell, write_diff

from ._demo import (
    OU_A,
    OU_B,
    OU_C,
    SANDBOX_01,
    SANDBOX_MFA_EXCEPTION,
    DemoScan,
    account,
    account_result,
    demo_scan,
    finding,
    make_result,
)


def f(status: str | None, severity: str = "high", muted_by: str | None = None
      ) -> dict[str, Any] | None:
    return None if status is None else {"status": status, "severity": severity,
                                        "muted_by": muted_by}


@pytest.mark.parametrize(("old", "new", "cls"), [
    (None, "FAIL", "new"),
    ("PASS", "FAIL", "new"),
    ("ERROR", "FAIL", "new"),
    ("FAIL", "PASS", "resolved"),
    ("FAIL", "NOT_APPLICABLE", "resolved"),
    ("FAIL", "ERROR", "changed"),  # unknown never passes: not resolved
    ("FAIL", "NOT_ASSESSED", "changed"),
    ("FAIL", "MUTED", "changed"),  # accepted, not fixed
    ("PASS", "ERROR", "changed"),
    ("FAIL", None, "removed"),
    ("PASS", None, "removed"),
    (None, "PASS", "added"),
    ("PASS", "PASS", None),
    ("FAIL", "FAIL", None),
])
def test_classes(old: str | None, new: str | None, cls: str | None) -> None:
    assert classify(f(old), f(new)) == cls


def test_severity_or_exception_change_is_a_change() -> None:
    assert classify(f("FAIL", "high"), f("FAIL", "critical")) == "changed"
    assert classify(f("MUTED", muted_by="A"), f("MUTED", muted_by="B")) == "changed"


def two_scans() -> tuple[ScanResult, ScanResult]:
    a = account("000000000001", "a", OU_A)
    b = account("000000000002", "b", OU_B)
    c = account("000000000003", "c", OU_C)
    d = account("000000000004", "d", OU_C)
    old = make_result([
        account_result(a, [finding("r1", a, "FAIL"), finding("r2", a, "PASS")], used=False),
        account_result(b, [finding("r1", b, "FAIL")], used=True),
        account_result(c, [finding("r1", c, "PASS")], used=True),
        account_result(d, [finding("r1", d, "PASS")], used=None),
    ])
    new = make_result([
        account_result(a, [finding("r1", a, "PASS"), finding("r2", a, "FAIL")], used=True),
        account_result(b, [finding("r1", b, "ERROR")], used=False),
        account_result(c, [finding("r1", c, "NOT_ASSESSED")], used="absent",
                       coverage=Coverage.NOT_ASSESSED, reason="AccessDenied"),
        account_result(d, [finding("r1", d, "PASS"), finding("r3", d, "PASS")], used=True),
    ])
    return old, new


def test_synthetic_diff() -> None:
    old, new = two_scans()
    d = diff(snapshot_of(old, "old"), snapshot_of(new, "new"))
    s = d["summary"]
    assert (s["new"], s["resolved"], s["changed"], s["removed"], s["added"], s["unchanged"]) \
        == (1, 1, 2, 0, 1, 1)
    assert d["findings"]["new"][0]["rule_id"] == "r2"
    assert d["findings"]["resolved"][0]["account_id"] == "000000000001"
    changed = {(x["account_id"], x["old_status"], x["new_status"])
               for x in d["findings"]["changed"]}
    assert changed == {("000000000002", "FAIL", "ERROR"),
                       ("000000000003", "PASS", "NOT_ASSESSED")}
    ru = d["root_usage"]
    assert [(r["account_id"], r["old"]) for r in ru["started"]] == [
        ("000000000001", False), ("000000000004", None)]  # unknown before counts as started
    assert [r["account_id"] for r in ru["stopped"]] == ["000000000002"]
    assert [r["account_id"] for r in ru["became_unknown"]] == ["000000000003"]
    assert d["coverage"] == [{"account_id": "000000000003", "name": "c", "ou_path": "Root/C",
                              "old": "assessed", "new": "not_assessed",
                              "reason": "AccessDenied"}]
    # Per OU, each OU counting its subtree.
    assert d["by_ou"]["Root/A"]["new"] == 1 and d["by_ou"]["Root/A"]["changed"] == 1
    assert d["by_ou"]["Root/A/B"]["changed"] == 1 and d["by_ou"]["Root/A/B"]["new"] == 0
    assert d["by_ou"]["Root"]["root_started"] == 2
    assert d["by_ou"]["Root/C"]["coverage_changed"] == 1


def test_accounts_leaving_scope_are_removed_not_resolved() -> None:
    old, new = two_scans()
    smaller = replace(new, accounts=new.accounts[:1])
    d = diff(snapshot_of(old), snapshot_of(smaller))
    assert {x["account_id"] for x in d["findings"]["removed"]} == {
        "000000000002", "000000000003", "000000000004"}
    assert {(c["account_id"], c["new"]) for c in d["coverage"]} == {
        ("000000000002", None), ("000000000003", None), ("000000000004", None)}


def test_same_identity_twice_is_kept_apart() -> None:
    a = account("000000000001", "a", OU_A)
    one = make_result([account_result(a, [finding("r1", a, "FAIL")])])
    two = make_result([account_result(a, [finding("r1", a, "FAIL"), finding("r1", a, "FAIL")])])
    assert diff(snapshot_of(one), snapshot_of(two))["summary"]["new"] == 1


def test_markdown_cells_carry_no_markup() -> None:
    cell = md_cell("x|y <script>*b* [l](javascript:1)\n`c` \u202e#")
    assert "|" not in cell.replace("\\|", "")
    assert "<script>" not in cell and "\n" not in cell and "\u202e" not in cell
    assert "\\[l\\]" in cell and "\\*b\\*" in cell


# --- the demo organization, through files ---------------------------------------------------

@pytest.fixture(scope="module")
def demo() -> DemoScan:
    return demo_scan()


def flip(r: AccountResult, rule: str, to: Status) -> AccountResult:
    def one(x: Finding) -> Finding:
        return replace(x, status=to) if x.rule_id == rule else x
    return replace(r, findings=tuple(one(x) for x in r.findings))


def later_scan(result: ScanResult) -> ScanResult:
    """The demo three months on: the sandbox MFA risk accepted, one account's contact fixed,
    one account's root used, one account gone."""
    excs = exceptions_from_text(SANDBOX_MFA_EXCEPTION)
    muted, _ = apply(result, excs, datetime(2026, 11, 28, tzinfo=UTC))
    accounts = []
    for r in muted.accounts:
        if r.account.name == "sandbox-02":
            continue  # closed and removed from the organization
        if r.account.id == SANDBOX_01:
            usage = r.facts["root.usage"]
            assert isinstance(usage, dict)
            r = replace(r, facts={**r.facts, "root.usage": {**usage, "used_in_window": True}})
            r = flip(r, "alternate-security-contact", Status.PASS)
        accounts.append(r)
    return replace(muted, scan_id="later", accounts=tuple(accounts))


@pytest.fixture(scope="module")
def scan_dirs(demo: DemoScan, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    old = tmp_path_factory.mktemp("old-scan")
    write_reports(build_audit_report(demo.result), old, ("json",))
    shutil.copy(demo.out / "journal.jsonl", old / "journal.jsonl")
    new = tmp_path_factory.mktemp("new-scan")
    later = later_scan(demo.result)
    written = write_reports(build_audit_report(later), new, ("json",))
    bundle = write_bundle(later, new, reports=written, config=demo.config, rules=demo.rules)
    assert bundle.zip_path is not None
    return old, bundle.zip_path


def test_demo_diff_dir_against_bundle(scan_dirs: tuple[Path, Path], demo: DemoScan) -> None:
    old, new = scan_dirs
    snap = load_snapshot(old)
    assert sum(v is True for v in snap.root_usage.values()) > 0  # read from the journal
    d = diff_paths(old, new)
    s = d["summary"]
    assert s["resolved"] == 1
    resolved = d["findings"]["resolved"][0]
    assert (resolved["rule_id"], resolved["account_id"]) == ("alternate-security-contact",
                                                             SANDBOX_01)
    muted = [x for x in d["findings"]["changed"] if x["new_status"] == "MUTED"]
    assert muted and all(x["new_muted_by"] == "RISK-1" and x["old_status"] == "FAIL"
                         for x in muted)
    gone = [c for c in d["coverage"] if c["new"] is None]
    assert [c["name"] for c in gone] == ["sandbox-02"]
    assert s["removed"] == len([x for x in demo.result.findings
                                if x.account_name == "sandbox-02"])
    assert snap.root_usage[SANDBOX_01] is False
    assert [(r["account_id"], r["old"], r["new"]) for r in d["root_usage"]["started"]] == [
        (SANDBOX_01, False, True)]
    assert d["by_ou"]["Root"]["root_started"] == 1
    assert d["by_ou"]["Root/Sandbox"]["resolved"] == 1
    assert d["old"]["scan_id"] == demo.result.scan_id and d["new"]["scan_id"] == "later"
    md = diff_markdown(d)
    assert "## Resolved (1)" in md and "alternate-security-contact" in md
    assert "RISK-1" in md


def test_same_scan_twice_has_no_change(scan_dirs: tuple[Path, Path]) -> None:
    old, _ = scan_dirs
    d = diff_paths(old, old)
    assert all(d["summary"][k] == 0 for k in d["summary"] if k != "unchanged")


def test_diff_against_writes_beside_the_scan(scan_dirs: tuple[Path, Path], demo: DemoScan,
                                             tmp_path: Path) -> None:
    old, _ = scan_dirs
    d = diff_against(old, later_scan(demo.result))
    paths = write_diff(d, tmp_path)
    assert [p.name for p in paths] == ["diff.json", "diff.md"]
    assert json.loads(paths[0].read_text())["summary"] == d["summary"]
    assert d["new"]["source"] == "this scan"


def test_baseline_limited_to_the_same_ou(scan_dirs: tuple[Path, Path], demo: DemoScan) -> None:
    old, new = scan_dirs
    sub = restrict(later_scan(demo.result), "Root/Sandbox")
    d = diff_against(old, sub, ou_path="Root/Sandbox")
    # Without the limit every account outside the sandbox would read as removed.
    assert {c["name"] for c in d["coverage"]} == {"sandbox-02"}
    mgmt = demo.result.org.management_account_id
    assert all(x["ou_path"] == "Root/Sandbox" or x["account_id"] == mgmt
               for cls in d["findings"].values() for x in cls)
    ou_id = next(u.id for u in demo.result.org.units if u.path == "Root/Sandbox")
    assert diff_against(old, sub, ou_path=ou_id)["summary"] == d["summary"]
    assert diff_paths(old, new, "Root/Sandbox")["summary"] == d["summary"]


def test_cli_diff(scan_dirs: tuple[Path, Path], tmp_path: Path) -> None:
    old, new = scan_dirs
    out = io.StringIO()
    args = argparse.Namespace(old=old, new=new, diff_format="md", out=None)
    assert cmd_diff(args, out, io.StringIO()) == 0
    assert out.getvalue().startswith("# orgscan diff")
    target = tmp_path / "d.json"
    args = argparse.Namespace(old=old, new=new, diff_format="json", out=target)
    err = io.StringIO()
    assert cmd_diff(args, io.StringIO(), err) == 0
    assert json.loads(target.read_text())["summary"]["resolved"] == 1
    assert "1 resolved" in err.getvalue()
    bad = argparse.Namespace(old=tmp_path / "missing", new=new, diff_format="md", out=None)
    err = io.StringIO()
    assert cmd_diff(bad, io.StringIO(), err) == 2 and "no such file" in err.getvalue()


def test_not_a_scan_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"findings\.json"):
        load_snapshot(tmp_path)

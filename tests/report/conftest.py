"""The bundled demo organization scanned once per session, and a hostile copy of its result
(names and messages carrying markup, formula prefixes, control characters, very long and
non-ASCII text) for the escaping tests of every writer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from scanner.core.audit_report import AuditReport, build_audit_report
from scanner.core.models import Account, Finding, Organization, OrgUnit
from scanner.core.results import AccountResult, ScanResult
from scanner.report import write_reports
from scanner.sim import SimServer

from ._demo import demo_scan

ALL_FORMATS = ("json", "graph", "csv", "ocsf", "asff", "junit", "markdown", "html")

# What an account or OU name, a tag or an AWS error message may carry.
HOSTILE_NAME = ("</script><script>alert('x')</script><img src=x onerror=alert(1)>"
                "=HYPERLINK(\"http://evil.invalid\")|`md` *b* [l](javascript:alert(1))"
                "\x07\x00 Zürich 東京 \u202e")
HOSTILE_OU = "=cmd|' /C calc'!A0 <b>ou</b>"
LONG = "L" * 40_000


@pytest.fixture(scope="session")
def demo_sim() -> Iterator[SimServer]:
    """A running simulator (its Security Hub receives the ASFF import)."""
    with SimServer("demo") as sim:
        yield sim


@pytest.fixture(scope="session")
def demo_result() -> ScanResult:
    # The one demo scan of this test package (tests/report/_demo.py), shared with the roll-up,
    # bundle and diff tests: a scan of the demo organization costs half a minute.
    return demo_scan().result


@pytest.fixture(scope="session")
def demo_report(demo_result: ScanResult) -> AuditReport:
    return build_audit_report(demo_result)


@pytest.fixture(scope="session")
def demo_out(demo_report: AuditReport, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo-reports")
    write_reports(demo_report, out, ALL_FORMATS)
    return out


def _rename_path(path: str, old: str, new: str) -> str:
    return new + path[len(old):] if path == old or path.startswith(old + "/") else path


def make_hostile(result: ScanResult) -> ScanResult:
    """The demo result with one OU and one account per OU renamed to hostile text, and the
    first finding of each renamed account carrying a hostile, very long message."""
    old_ou = "Root/Sandbox"
    new_ou = "Root/" + HOSTILE_OU

    def unit(u: OrgUnit) -> OrgUnit:
        if u.path == old_ou:
            return replace(u, name=HOSTILE_OU, path=new_ou)
        return replace(u, path=_rename_path(u.path, old_ou, new_ou))

    seen_ous: set[str] = set()
    renamed: dict[str, str] = {}
    for r in result.accounts:
        if r.account.ou_path not in seen_ous and not r.account.is_management:
            seen_ous.add(r.account.ou_path)
            renamed[r.account.id] = f"{HOSTILE_NAME} {r.account.id[-4:]}"

    def account(a: Account) -> Account:
        return replace(a, name=renamed.get(a.id, a.name),
                       ou_path=_rename_path(a.ou_path, old_ou, new_ou))

    def finding(f: Finding, first: bool) -> Finding:
        g = replace(f, ou_path=_rename_path(f.ou_path, old_ou, new_ou),
                    account_name=renamed.get(f.account_id, f.account_name))
        if first and f.account_id in renamed:
            g = replace(g, message=f"-{HOSTILE_NAME} {LONG}",
                        evidence={**g.evidence, "hostile": HOSTILE_NAME})
        return g

    org: Organization = replace(result.org, units=tuple(unit(u) for u in result.org.units),
                                accounts=tuple(account(a) for a in result.org.accounts))
    accounts: list[AccountResult] = []
    for r in result.accounts:
        accounts.append(replace(
            r, account=account(r.account),
            findings=tuple(finding(f, i == 0) for i, f in enumerate(r.findings))))
    return replace(result, org=org, accounts=tuple(accounts),
                   org_findings=tuple(finding(f, False) for f in result.org_findings))


@pytest.fixture(scope="session")
def hostile_result(demo_result: ScanResult) -> ScanResult:
    return make_hostile(demo_result)


@pytest.fixture(scope="session")
def hostile_out(hostile_result: ScanResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("hostile-reports")
    write_reports(build_audit_report(hostile_result), out, ALL_FORMATS)
    return out

"""Exceptions (mutelist): file validation with precise errors, matching, lifecycle, report."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from scanner.core.audit_report import build_audit_report
from scanner.core.errors import ConfigError
from scanner.core.models import Status
from scanner.core.mutelist import Exception_, apply, exceptions_from_text
from scanner.report.mutelist import write_exceptions_report
from scanner.run.inputs import load_exceptions

from ._demo import (
    OU_A,
    OU_B,
    RETAIL_DEV,
    DemoScan,
    account,
    account_result,
    demo_scan,
    finding,
    make_result,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)

GOOD = """\
version: 1
exceptions:
  - id: RISK-2026-001
    rule: root-hardware-mfa
    ous: [Root/Sandbox]
    justification: Sandbox roots use a virtual MFA device by policy.
    owner: security@example.com
    expires: 2027-03-31
  - id: RISK-2026-002
    rule: "cloudtrail-*"
    tags: {env: [prod]}
    justification: Central trail covers encryption at the archive.
    owner: platform@example.com
    expires: "2027-01-15"
"""


@pytest.fixture(scope="module")
def demo() -> DemoScan:
    return demo_scan()


def errors_of(text: str, tmp_path: Path) -> list[str]:
    path = tmp_path / "exceptions.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_exceptions(path)
    return str(exc.value).splitlines()


# --- loading --------------------------------------------------------------------------------

def test_load_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(GOOD, encoding="utf-8")
    excs = load_exceptions(path)
    assert [e.id for e in excs] == ["RISK-2026-001", "RISK-2026-002"]
    assert excs[0].expires == date(2027, 3, 31) and excs[1].expires == date(2027, 1, 15)
    assert excs[0].ous == ("Root/Sandbox",)
    assert excs[1].tags == {"env": ("prod",)}
    assert excs[0].source == f"{path}:3"


def test_unknown_key_names_line_path_and_suggestion(tmp_path: Path) -> None:
    text = GOOD.replace("    tags: {env: [prod]}", "    tag: {env: [prod]}")
    (err,) = errors_of(text, tmp_path)
    assert err.endswith("exceptions.yaml:11: exceptions[1].tag: unknown key 'tag' "
                        "(did you mean 'tags'?)")


def test_every_schema_error_at_once(tmp_path: Path) -> None:
    text = GOOD.replace("owner: security@example.com", "owner: ''").replace(
        'expires: "2027-01-15"', "expires: next year").replace(
        "justification: Central trail covers encryption at the archive.", "justification: ok")
    errs = errors_of(text, tmp_path)
    assert any(":7: exceptions[0].owner:" in e for e in errs)
    assert any(":12: exceptions[1].justification:" in e for e in errs)
    assert any(":14: exceptions[1].expires:" in e for e in errs)
    assert len(errs) == 3


def test_missing_scope_and_duplicate_id(tmp_path: Path) -> None:
    text = GOOD.replace("    ous: [Root/Sandbox]\n", "").replace("RISK-2026-002",
                                                                  "RISK-2026-001")
    errs = errors_of(text, tmp_path)
    assert any(":3: exceptions[0]: an exception needs a scope" in e for e in errs)
    assert any(":8: exceptions[1].id: duplicate id 'RISK-2026-001'" in e for e in errs)


def test_impossible_date_is_located(tmp_path: Path) -> None:
    (err,) = errors_of(GOOD.replace("2027-03-31", "2027-02-30"), tmp_path)
    # Whether the YAML loader reads dates as text or as dates, the line is named.
    assert "exceptions.yaml:8: " in err and "expires: not a date: '2027-02-30'" in err


def test_bad_account_id_and_missing_file(tmp_path: Path) -> None:
    text = GOOD.replace("    ous: [Root/Sandbox]", "    accounts: ['1234']")
    (err,) = errors_of(text, tmp_path)
    assert ":5: exceptions[0].accounts[0]:" in err
    with pytest.raises(ConfigError, match="file not found"):
        load_exceptions(tmp_path / "nope.yaml")


def test_empty_file_has_no_exceptions() -> None:
    assert exceptions_from_text("exceptions: []\n") == []


# --- applying -------------------------------------------------------------------------------

def exc(id_: str, rule: str, expires: date = date(2027, 1, 1), **scope: object) -> Exception_:
    return Exception_(id=id_, rule=rule, justification="accepted for the test", owner="o",
                      expires=expires, **scope)  # type: ignore[arg-type]


def test_only_fail_is_ever_muted() -> None:
    a = account("000000000001", "a", OU_A)
    statuses = ["PASS", "FAIL", "ERROR", "NOT_APPLICABLE", "NOT_ASSESSED"]
    r = make_result([account_result(a, [finding(f"r{i}", a, s) for i, s in enumerate(statuses)])])
    muted, report = apply(r, [exc("E1", "*", accounts=("*",))], NOW)
    got = [f.status for f in muted.findings]
    assert got == [Status.PASS, Status.MUTED, Status.ERROR, Status.NOT_APPLICABLE,
                   Status.NOT_ASSESSED]
    assert muted.findings[1].muted_by == "E1"
    assert report.outcomes[0].state == "active" and len(report.outcomes[0].muted) == 1


def test_scopes_combine_and_ous_cover_the_subtree() -> None:
    a = account("000000000001", "a", OU_A, tags={"env": "prod"})
    b = account("000000000002", "b", OU_B, tags={"env": "dev"})
    r = make_result([account_result(a, [finding("r1", a, "FAIL", resource="arn:x:1")]),
                     account_result(b, [finding("r1", b, "FAIL", resource="arn:y:2")])])

    def muted_ids(*excs: Exception_) -> set[str]:
        out, _ = apply(r, excs, NOW)
        return {f.account_id for f in out.findings if f.status is Status.MUTED}

    assert muted_ids(exc("E", "r1", ous=("Root/A",))) == {a.id, b.id}  # subtree
    assert muted_ids(exc("E", "r1", ous=(OU_B.id,))) == {b.id}  # by id
    assert muted_ids(exc("E", "r1", ous=("Root/A",), tags={"env": ("prod",)})) == {a.id}
    assert muted_ids(exc("E", "r1", accounts=("*",), resources=("arn:y:*",))) == {b.id}
    assert muted_ids(exc("E", "r*", accounts=(b.id,))) == {b.id}
    assert muted_ids(exc("E", "r2", accounts=("*",))) == set()
    assert muted_ids(exc("E", "r1", ous=("Root/A/B/C",))) == set()


def test_expired_and_stale_exceptions_are_reported() -> None:
    a = account("000000000001", "a", OU_A)
    r = make_result([account_result(a, [finding("r1", a, "FAIL")])])
    old = exc("OLD", "r1", expires=date(2026, 11, 27), accounts=("*",))
    today = exc("TODAY", "r9", expires=date(2026, 11, 28), accounts=("*",))
    out, report = apply(r, [old, today], NOW)
    assert out.findings[0].status is Status.FAIL  # the expired one no longer applies
    states = {o.exception.id: o for o in report.outcomes}
    assert states["OLD"].state == "expired" and states["OLD"].would_match == 1
    assert states["TODAY"].state == "stale"  # still valid today, but matches nothing
    assert states["TODAY"].expires_in_days == 0
    data = report.to_json()
    assert data["expired"] == ["OLD"] and data["stale"] == ["TODAY"]
    assert data["expiring_soon"] == ["TODAY"]


def test_demo_exceptions_end_to_end(demo: DemoScan, tmp_path: Path) -> None:
    excs = exceptions_from_text(GOOD + f"""\
  - id: RISK-2026-003
    rule: "*"
    accounts: ["{RETAIL_DEV}"]
    justification: The audit role is being redeployed there.
    owner: platform@example.com
    expires: 2027-01-31
  - id: RISK-2025-009
    rule: root-hardware-mfa
    accounts: ["*"]
    justification: Old blanket acceptance, long expired.
    owner: security@example.com
    expires: 2025-12-31
""")
    before = demo.result
    after, report = apply(before, excs, NOW)
    sandbox_fails = [f for f in before.findings if f.rule_id == "root-hardware-mfa"
                     and f.ou_path == "Root/Sandbox" and f.status is Status.FAIL]
    assert sandbox_fails, "the demo's sandbox has virtual-MFA roots"
    muted = [f for f in after.findings if f.status is Status.MUTED]
    assert {f.muted_by for f in muted} == {"RISK-2026-001", "RISK-2026-002"}
    assert len([f for f in muted if f.muted_by == "RISK-2026-001"]) == len(sandbox_fails)
    for f in muted:
        if f.muted_by == "RISK-2026-002":
            assert f.rule_id.startswith("cloudtrail-")
            assert dict(before.org.account(f.account_id).tags).get("env") == "prod"
    # Same findings, same order; only FAIL -> MUTED changed.
    assert len(after.findings) == len(before.findings)
    for b, a in zip(before.findings, after.findings, strict=True):
        assert a.status == b.status or (b.status is Status.FAIL and a.status is Status.MUTED)
    states = {o.exception.id: o.state for o in report.outcomes}
    # The not-assessed account's findings are never muted: that exception is stale.
    assert states == {"RISK-2026-001": "active", "RISK-2026-002": "active",
                      "RISK-2026-003": "stale", "RISK-2025-009": "expired"}
    path = write_exceptions_report(report, tmp_path)
    data = json.loads(path.read_text())
    assert path.name == "exceptions-report.json"
    assert data["counts"]["muted_findings"] == len(muted)
    entry = next(e for e in data["exceptions"] if e["id"] == "RISK-2025-009")
    assert entry["would_match"] > 0 and entry["muted_count"] == 0
    # The roll-up sees the accepted risks apart from failures.
    root = build_audit_report(after).units[0]["findings"]["compliance"]
    assert root["muted"] == len(muted)
    assert root["failed"] == sum(f.status is Status.FAIL for f in before.findings) - len(muted)

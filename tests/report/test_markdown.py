"""report.md: the sections a ticket needs, root use newest first, and hostile text that stays
text (no markup, no broken tables, no control or bidi characters)."""

from __future__ import annotations

import re
from pathlib import Path

from scanner.core.audit_report import AuditReport, build_audit_report
from scanner.core.models import Status
from scanner.core.results import ScanResult
from scanner.report.markdown import md

SECTIONS = ["## Summary", "## Coverage", "## Root usage", "## Per-OU summary",
            "## Failing findings by severity", "## Framework summary"]


def test_demo_markdown_sections(demo_result: ScanResult, demo_report: AuditReport,
                                demo_out: Path) -> None:
    text = (demo_out / "report.md").read_text("utf-8")
    positions = [text.index(s) for s in SECTIONS]
    assert positions == sorted(positions)
    assert demo_result.org.id in text.splitlines()[0]
    # Every not-assessed account is named with its reason.
    for r in demo_result.accounts:
        if r.reason:
            assert r.account.id in text
    # Root users, newest first, in the root-usage table.
    rows = demo_report.root_use.used
    assert rows
    section = text[text.index("## Root usage"):text.index("## Per-OU summary")]
    order = [section.index(f"({r.account.id})") for r in rows]
    assert order == sorted(order)
    lasts = [str(r.record["last_used"]) for r in rows]
    assert lasts == sorted(lasts, reverse=True)
    # Failing rules appear under their severity.
    critical = text[text.index("### Critical"):]
    assert "root-access-keys-present" in critical
    assert sum(f.status is Status.FAIL for f in demo_result.findings) > 0
    assert "### cis-aws-foundations-3.0" in text


def test_tables_keep_their_shape(hostile_out: Path) -> None:
    text = (hostile_out / "report.md").read_text("utf-8")
    assert "<script>" not in text and "<img" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    assert not re.search("[\x00-\x08\x0b-\x1f\u202e]", text)
    # Each table's rows have as many unescaped pipes as its header.
    block: list[str] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            widths = {len(re.findall(r"(?<!\\)\|", row)) for row in block}
            assert len(widths) == 1, block[:3]
            block = []


def test_md_cell() -> None:
    assert md("a|b") == "a\\|b"
    assert md("<x>&") == "&lt;x&gt;&amp;"
    assert md("line\nbreak\x00") == "line break"
    assert md("[l](javascript:x)") == "\\[l\\](javascript:x)"
    assert len(md("x" * 1000)) == 200


def test_root_usage_fact_error_shows_unknown_with_the_error(demo_result: ScanResult) -> None:
    from dataclasses import replace

    from scanner.core.models import FactError
    from scanner.core.results import Coverage
    from scanner.report.html import render_html
    from scanner.report.markdown import render_markdown

    target = next(r for r in demo_result.accounts if r.coverage is Coverage.ASSESSED
                  and isinstance(r.facts.get("root.usage"), dict))
    broken = replace(target, facts={**target.facts, "root.usage": FactError(
        "AccessDenied", "cloudtrail:LookupEvents denied <by SCP>")})
    result = replace(demo_result, accounts=tuple(
        broken if r is target else r for r in demo_result.accounts))
    report = build_audit_report(result)
    row = next(r for r in report.root_use.rows if r.account.id == target.account.id)
    assert row.used is None and row in report.root_use.unknown
    text = render_markdown(report)
    unknown = text[text.index("Root use **unknown**"):text.index("## Per-OU summary")]
    assert target.account.id in unknown and "AccessDenied" in unknown
    assert "&lt;by SCP&gt;" in unknown
    page = render_html(report)
    assert "cloudtrail:LookupEvents denied &lt;by SCP&gt;" in page

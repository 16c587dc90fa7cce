"""report.md: the scan as a Markdown page for tickets and pull requests.

Sections: summary, coverage, root usage, per-OU summary, failing findings grouped by severity
(one row per rule, with the failing accounts), framework summary. Every piece of text from
AWS or the config goes through ``md`` (escaped for Markdown and HTML, one line, bounded), so a
hostile account name renders as text in GitHub, GitLab and Jira alike.

Everything counted here comes from the AuditReport, as in every other output.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.core.audit_report import AuditReport, RootUseRow
from scanner.core.models import Finding, Severity, Status
from scanner.core.results import Coverage, ScanResult
from scanner.report.files import write_text

MARKDOWN_NAME = "report.md"
MAX_CELL = 200  # ticket systems cap a description's size; findings.json has the full text
MAX_ACCOUNTS_LISTED = 15
# Controls and bidirectional overrides (which can make text read backwards in a ticket).
_INVISIBLE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# Inline markup characters; block markup (#, +, - at a line start) cannot occur mid-line.
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
SEVERITY_ORDER = (Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW,
                  Severity.INFORMATIONAL)


def md(value: object, limit: int = MAX_CELL) -> str:
    """Text safe in a Markdown table cell: one line, no markup, at most ``limit`` chars."""
    text = "" if value is None else str(value)
    text = _INVISIBLE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


# --- shared with the HTML report ----------------------------------------------------------

def when(iso: object) -> str:
    """``2026-11-27 02:52 UTC`` from an ISO timestamp; other values as text."""
    if not isinstance(iso, str) or not iso:
        return "unknown"
    try:
        dt = datetime.fromisoformat(iso).astimezone(UTC)
    except ValueError:
        return iso
    return dt.strftime("%Y-%m-%d %H:%M UTC")


def account_label(name: str, account_id: str) -> str:
    return f"{name} ({account_id})"


def regions_statement(result: ScanResult) -> str:
    if result.regions is None:
        return "every region enabled in each account"
    return (f"narrowed to {', '.join(result.regions)}: root activity in other regions is "
            "invisible to this scan")


# --- sections --------------------------------------------------------------------------------

def _summary(report: AuditReport) -> list[str]:
    result = report.result
    cov = result.coverage_counts()
    statuses, fails = report.findings_by_status, report.fails_by_severity
    used, unknown = len(report.root_use.used), len(report.root_use.unknown)
    root_unit = report.root_unit
    pct = root_unit["findings"]["compliance"]["percent"] if root_unit else None
    lines = ["## Summary", ""]
    if result.interrupted:
        lines += ["> **INCOMPLETE:** the scan was interrupted; these results are partial.", ""]
    elif not result.complete:
        lines += ["> **Incomplete:** " + ", ".join(result.incomplete_reasons())
                  + " (see Coverage). Undecided controls are not passes.", ""]
    lines += [
        f"- **Accounts in scope:** {len(result.accounts)} ({cov['assessed']} assessed, "
        f"{cov['partial']} partial, {cov['not_assessed']} not assessed); "
        f"{len(result.out_of_scope)} out of scope",
        f"- **Root used in the last {result.lookback_days} days:** {used} account(s); "
        f"unknown for {unknown}",
        "- **Findings:** " + ", ".join(f"{s.value} {statuses[s]}" for s in Status),
        "- **Failing by severity:** " + ", ".join(
            f"{s.value} {fails[s]}" for s in SEVERITY_ORDER),
        "- **Compliance** (PASS / decided): " + (f"{pct}%" if pct is not None else "n/a"),
        f"- **Regions:** {md(regions_statement(result), 500)}",
        "",
    ]
    return lines


def _coverage(result: ScanResult) -> list[str]:
    missing = [r for r in result.accounts if r.coverage is not Coverage.ASSESSED]
    lines = ["## Coverage", ""]
    if not missing:
        return [*lines, "Every account in scope was fully assessed.", ""]
    lines += table(["Account", "OU", "Coverage", "Reason"], (
        [md(account_label(r.account.name, r.account.id)), md(r.account.ou_path),
         r.coverage.value, md(r.reason, 2000)] for r in missing))
    return [*lines, ""]


def _used_row(row: RootUseRow) -> list[object]:
    r = row.record
    return [when(r.get("last_used")), md(account_label(row.account.name, row.account.id)),
            md(row.account.ou_path), md(", ".join(r.get("channels") or []) or "-"),
            f"{r.get('console_logins', 0)} ({r.get('console_logins_without_mfa', 0)})",
            r.get("failed_logins", 0), r.get("api_calls", 0),
            r.get("assume_root_sessions", 0),
            md(", ".join(r.get("source_ips") or []) or "-", 300),
            md(r.get("mfa_kind") or "unknown"),
            md(r.get("active_access_keys") if r.get("active_access_keys") is not None
               else "unknown")]


def _root_usage(report: AuditReport) -> list[str]:
    result = report.result
    used, unknown = report.root_use.used, report.root_use.unknown
    start = report.root_use.window_start
    lines = ["## Root usage", "",
             f"Window: the {result.lookback_days} days before the scan"
             + (f" (from {when(start)})" if start else "") + ". Regions: "
             + md(regions_statement(result), 500) + ".", ""]
    if used:
        lines += table(
            ["Last used", "Account", "OU", "Channels", "Console sign-ins (no MFA)",
             "Failed sign-ins", "API calls", "AssumeRoot sessions", "Source IPs", "MFA",
             "Active keys"],
            (_used_row(r) for r in used))
        lines += ["", "How each use is known:", ""]
        lines += [f"- {md(account_label(r.account.name, r.account.id))}: "
                  f"{md(r.record.get('use_basis') or 'not recorded', 500)}" for r in used]
    else:
        lines.append("No account used root in the window.")
    lines.append("")
    if unknown:
        lines += ["Root use **unknown** (never counted as not used):", ""]
        lines += [f"- {md(account_label(r.account.name, r.account.id))} "
                  f"({md(r.account.ou_path)}): {md(r.reason or 'root.usage not collected')}"
                  for r in unknown]
        lines.append("")
    return lines


def _per_ou(units: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Per-OU summary", "",
             "Counts cover each unit's whole subtree. Compliance = PASS / (PASS + FAIL + "
             "ERROR); not-assessed accounts are listed apart and never count as passes.", ""]
    lines += table(
        ["OU", "Accounts", "Not assessed", "FAIL", "ERROR", "PASS", "Compliance",
         "Root used", "Root unknown"],
        ([md(u["path"]), u["accounts"]["total"],
          u["accounts"]["not_assessed"] + u["accounts"]["partial"],
          u["findings"]["by_status"]["FAIL"], u["findings"]["by_status"]["ERROR"],
          u["findings"]["by_status"]["PASS"],
          f"{u['findings']['compliance']['percent']}%"
          if u["findings"]["compliance"]["percent"] is not None else "n/a",
          u["root_usage"]["using_root"], u["root_usage"]["unknown"]] for u in units))
    return [*lines, ""]


def _accounts_cell(findings: Sequence[Finding]) -> str:
    labels = sorted({account_label(f.account_name, f.account_id) for f in findings})
    shown = ", ".join(md(x, 80) for x in labels[:MAX_ACCOUNTS_LISTED])
    more = len(labels) - MAX_ACCOUNTS_LISTED
    return shown + (f", and {more} more" if more > 0 else "")


def _failing(result: ScanResult) -> list[str]:
    lines = ["## Failing findings by severity", ""]
    fails = [f for f in result.findings if f.status is Status.FAIL]
    if not fails:
        return [*lines, "No FAIL findings.", ""]
    for sev in SEVERITY_ORDER:
        group = [f for f in fails if f.severity is sev]
        if not group:
            continue
        by_rule: dict[str, list[Finding]] = {}
        for f in group:
            by_rule.setdefault(f.rule_id, []).append(f)
        lines += [f"### {sev.value.capitalize()} ({len(group)})", ""]
        lines += table(["Rule", "Title", "Accounts", "Failing accounts"], (
            [md(rule), md(fs[0].title), len({f.account_id for f in fs}), _accounts_cell(fs)]
            for rule, fs in sorted(by_rule.items(), key=lambda kv: (-len(kv[1]), kv[0]))))
        lines.append("")
    return lines


def _frameworks(report: AuditReport) -> list[str]:
    lines = ["## Framework summary", "",
             "A control's status is the worst of its findings across the organization "
             "(FAIL > ERROR > NOT_ASSESSED > MUTED > PASS > NOT_APPLICABLE).", ""]
    for fw, summaries in report.frameworks.items():
        lines += [f"### {md(fw)}", ""]
        lines += table(["Control", "Status", "PASS", "FAIL", "ERROR", "NOT_ASSESSED",
                        "NOT_APPLICABLE", "Rules"], (
            [md(s.control), s.status.value, s.counts.get(Status.PASS, 0),
             s.counts.get(Status.FAIL, 0), s.counts.get(Status.ERROR, 0),
             s.counts.get(Status.NOT_ASSESSED, 0),
             s.counts.get(Status.NOT_APPLICABLE, 0), md(", ".join(s.rule_ids))]
            for s in summaries))
        lines.append("")
    return lines


def render_markdown(report: AuditReport) -> str:
    result = report.result
    head = [
        f"# orgscan report: organization {md(result.org.id)}", "",
        f"Scan {md(result.scan_id)}, {when(result.started)} to {when(result.finished)}, "
        f"by {md(result.caller_arn)} (orgscan {md(result.tool_version)}).", "",
    ]
    body = [*_summary(report), *_coverage(result), *_root_usage(report),
            *_per_ou(report.units), *_failing(result), *_frameworks(report)]
    return "\n".join(head + body).rstrip() + "\n"


def write_markdown(report: AuditReport, out: Path) -> list[Path]:
    path = out / MARKDOWN_NAME
    write_text(path, render_markdown(report))
    return [path]

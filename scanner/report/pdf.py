"""report.pdf: the report an auditor files, rendered by WeasyPrint from print-oriented HTML.

Sections: a cover (organization, window, caller, tool and rule-set versions, the evidence
digest), root use (summary, timeline), the charts, the per-OU summary, the accounts not assessed
and why, every finding grouped by OU and account, and an appendix of root events.

Every finding is in the PDF. A finding that did not pass (FAIL, ERROR, NOT_ASSESSED, MUTED) is
a line of its own with its message; the passes and not-applicable findings of an account are
listed by rule id on one line each, and an account not assessed has one line for all of its
controls with the reason: a PDF layout costs about as much per line as the rest of the report,
and this keeps a 1,000-account organization's report to a few minutes' reading of what matters
and well under a minute to render (benchmarks/report_render.py).

WeasyPrint is an optional extra (``orgscan[pdf]``) that needs the Pango system library;
``pdfextra.pdf_problem`` says what is missing, and ``--format pdf`` checks it before any scan
(``pdfextra.require_pdf``, which imports none of this writer), so a missing extra is one line
and exit 2, never a traceback.

The cover cannot state the SHA-256 of the evidence bundle: the PDF is in the bundle, and its hash
in the bundle's manifest. It states the digest of the evidence files instead
(``bundle.evidence_digest``), which the manifest records as ``evidence_sha256``.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner.core.audit_report import AuditReport, RootUseRow
from scanner.core.models import Finding, Severity, Status
from scanner.core.results import AccountResult, Coverage, ScanResult
from scanner.report.bundle import BUNDLE_NAME, MANIFEST, evidence_digest
from scanner.report.charts import control_compliance, findings_by_ou, root_timeline
from scanner.report.markdown import regions_statement, when
from scanner.report.markup import asset, clip, h
from scanner.report.pdfextra import require_pdf

PDF_NAME = "report.pdf"
MESSAGE_LIMIT = 600  # characters of one finding's message in the PDF (findings.json has all)
# Statuses written one finding per line, worst first; the others are listed by rule id.
LINED = (Status.FAIL, Status.ERROR, Status.NOT_ASSESSED, Status.MUTED)
LISTED = (Status.PASS, Status.NOT_APPLICABLE)


# --- page parts ------------------------------------------------------------------------------

def _status(status: Status | str) -> str:
    value = status.value if isinstance(status, Status) else status
    return f'<span class="st st-{h(value)}">{h(value)}</span>'


def _dl(items: Sequence[tuple[str, str]]) -> str:
    return "".join(f"<tr><th>{h(k)}</th><td>{v}</td></tr>" for k, v in items)


def _cover(report: AuditReport) -> str:
    result = report.result
    cov = result.coverage_counts()
    start = report.root_use.window_start
    window_end = next((r.record.get("window_end") for r in report.root_use.rows
                       if r.record.get("window_end")), result.started)
    digest = evidence_digest(result)
    statuses, fails = report.findings_by_status, report.fails_by_severity
    root_unit = report.root_unit
    pct = root_unit["findings"]["compliance"]["percent"] if root_unit else None
    scope = f" · limited to {h(report.ou)}" if report.ou else ""
    items = [
        ("Organization", f"{h(result.org.id)} · management account "
                         f'<span class="mono">{h(result.org.management_account_id)}</span>'
                         f"{scope}"),
        ("Root-use window", f"the {result.lookback_days} days before the scan: "
                            f"{h(when(start))} → {h(when(window_end))}"),
        ("Scan", f"{h(when(result.started))} → {h(when(result.finished))} · id "
                 f'<span class="mono">{h(result.scan_id)}</span>'),
        ("Run by", f'<span class="mono">{h(result.caller_arn)}</span>'),
        ("Tool", f"orgscan {h(result.tool_version)}"),
        ("Rules", f"{len(result.rule_ids)} rules · rule-set digest "
                  f'<span class="mono">{h(report.rules_digest or "not recorded")}</span>'
                  " (each rule file's SHA-256 is in the bundle's manifest)"),
        ("Regions", h(regions_statement(result))),
        ("Coverage", f"{cov['assessed']} assessed, {cov['partial']} partial, "
                     f"{cov['not_assessed']} not assessed of {len(result.accounts)} accounts in "
                     f"scope; {len(result.out_of_scope)} out of scope"),
        ("Evidence digest", f'<span class="mono digest">{h(digest)}</span>'
                            '<div class="note">SHA-256 of the listing of the evidence files '
                            f"({h(BUNDLE_NAME)}/evidence/*.json: one “sha256  path” line per "
                            "file, sorted by path; inside the bundle, "
                            "<span class=\"mono\">LC_ALL=C sha256sum evidence/*.json | "
                            f"sha256sum</span>), recorded as evidence_sha256 in {h(MANIFEST)}. "
                            "This PDF is itself a file of the bundle, so it cannot carry the "
                            "hash of the bundle or of the manifest that lists it; the zip's and "
                            "the manifest's SHA-256 are in "
                            f"{h(BUNDLE_NAME)}.zip.sha256.</div>"),
    ]
    cards = [
        ("Accounts in scope", str(len(result.accounts))),
        ("Used root", f"{len(report.root_use.used)}"),
        ("Root use unknown", f"{len(report.root_use.unknown)}"),
        ("FAIL (critical / high)", f"{statuses[Status.FAIL]} "
                                   f"({fails[Severity.CRITICAL]} / {fails[Severity.HIGH]})"),
        ("Compliance", "n/a" if pct is None else f"{pct:g}%"),
    ]
    banner = ""
    if result.interrupted:
        banner = ('<p class="banner">Incomplete: the scan was interrupted; these results are '
                  "partial.</p>")
    elif not result.complete:
        banner = (f'<p class="banner">Partial coverage: {cov["not_assessed"] + cov["partial"]} '
                  "account(s) could not be fully assessed; their controls are not passes "
                  "(see “Accounts not assessed”).</p>")
    return (
        '<section class="cover"><div class="brand">orgscan · AWS Organizations audit</div>'
        f"<h1>Root use and protection across {h(result.org.id)}</h1>{banner}"
        '<div class="cards">' + "".join(
            f'<div class="card"><div class="k">{h(k)}</div><div class="v">{h(v)}</div></div>'
            for k, v in cards) + "</div>"
        f'<table class="facts">{_dl(items)}</table>'
        '<p class="note">Compliance is PASS / (PASS + FAIL + ERROR); NOT_ASSESSED and ERROR are '
        "never passes; unknown root use is never counted as unused.</p></section>")


def _num(value: object) -> str:
    return "unknown" if value is None else h(value)


def _used_tr(row: RootUseRow) -> str:
    r = row.record
    return (f"<tr><td>{h(when(r.get('last_used')))}</td><td>{h(row.account.name)}"
            f'<div class="id">{h(row.account.id)}</div></td><td>{h(row.account.ou_path)}</td>'
            f"<td>{h(', '.join(r.get('channels') or []) or '-')}</td>"
            f'<td class="num">{_num(r.get("console_logins"))} '
            f'({_num(r.get("console_logins_without_mfa"))})</td>'
            f'<td class="num">{_num(r.get("failed_logins"))}</td>'
            f'<td class="num">{_num(r.get("api_calls"))}</td>'
            f'<td class="ips">{h(", ".join(r.get("source_ips") or []) or "-")}</td>'
            f"<td>{h(r.get('mfa_kind') or 'unknown')}</td></tr>")


def _root_use(report: AuditReport) -> str:
    result = report.result
    used, unknown = report.root_use.used, report.root_use.unknown
    rows = [_used_tr(r) for r in used]
    rows += [f'<tr class="unknown"><td>unknown</td><td>{h(r.account.name)}'
             f'<div class="id">{h(r.account.id)}</div></td><td>{h(r.account.ou_path)}</td>'
             f'<td colspan="6">{h(r.reason or "root.usage not collected")}</td></tr>'
             for r in unknown]
    if not rows:
        rows = ['<tr><td colspan="9">No account used root in the window.</td></tr>']
    sources = ", ".join(report.root_use.sources) or "none"
    return (
        '<section class="break"><h2 id="root-use">Root use</h2>'
        f'<p class="note">{len(used)} account(s) used root credentials in the '
        f"{result.lookback_days} days before the scan; use is unknown for {len(unknown)} "
        f"(never counted as unused). Sources read: {h(sources)}. Newest use first.</p>"
        '<table class="grid"><thead><tr><th>Last used</th><th>Account</th><th>OU</th>'
        '<th>Channels</th><th class="num">Console (no MFA)</th><th class="num">Failed '
        'sign-ins</th><th class="num">API calls</th><th>Source IPs</th><th>MFA</th></tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table>'
        '<h3>Timeline</h3><p class="note">Each row an account, each mark a root event in the '
        "window (the appendix lists them).</p>"
        f'<div class="chart">{"".join(root_timeline(report.root_use))}</div></section>')


def _charts(report: AuditReport) -> str:
    fws = "".join(
        f'<h3>{h(fw)}</h3><div class="chart">{"".join(control_compliance(fw, s))}</div>'
        for fw, s in report.frameworks.items())
    return ('<section class="break"><h2 id="charts">Findings by OU</h2><p class="note">Each '
            "unit with its whole subtree: its findings by status, FAIL split by severity."
            f'</p><div class="chart">{"".join(findings_by_ou(report.units))}</div>'
            '<h2 id="frameworks">Compliance by framework control</h2><p class="note">A '
            "control's status is the worst of its findings: FAIL, then ERROR, NOT_ASSESSED, "
            f"MUTED, PASS, N/A.</p>{fws}</section>")


def _per_ou(units: Sequence[Mapping[str, Any]]) -> str:
    rows = []
    for u in units:
        f, a = u["findings"], u["accounts"]
        pct = f["compliance"]["percent"]
        rows.append(
            f'<tr><td>{h(u["path"])}</td><td class="num">{a["total"]}</td>'
            f'<td class="num">{a["not_assessed"] + a["partial"]}</td>'
            f'<td class="num">{f["by_status"]["FAIL"]}</td>'
            f'<td class="num">{f["by_status"]["ERROR"]}</td>'
            f'<td class="num">{f["by_status"]["NOT_ASSESSED"]}</td>'
            f'<td class="num">{f["by_status"]["PASS"]}</td>'
            f'<td class="num">{"n/a" if pct is None else f"{pct:g}%"}</td>'
            f'<td class="num">{u["root_usage"]["using_root"]}</td>'
            f'<td class="num">{u["root_usage"]["unknown"]}</td></tr>')
    return ('<section><h2 id="ous">Per-OU summary</h2><p class="note">Each unit with its '
            "whole subtree.</p><table class=\"grid\"><thead><tr><th>OU</th>"
            '<th class="num">Accounts</th><th class="num">Not assessed or partial</th>'
            '<th class="num">FAIL</th><th class="num">ERROR</th><th class="num">NOT_ASSESSED'
            '</th><th class="num">PASS</th><th class="num">Compliance</th>'
            '<th class="num">Used root</th><th class="num">Root use unknown</th></tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></section>')


def _not_assessed(result: ScanResult) -> str:
    missing = [r for r in result.accounts if r.coverage is not Coverage.ASSESSED]
    if not missing:
        body = '<p class="note">Every account in scope was fully assessed.</p>'
    else:
        body = ('<table class="grid"><thead><tr><th>Account</th><th>OU</th><th>Coverage</th>'
                "<th>Reason</th></tr></thead><tbody>" + "".join(
                    f"<tr><td>{h(r.account.name)}<div class=\"id\">{h(r.account.id)}</div></td>"
                    f"<td>{h(r.account.ou_path)}</td><td>{_status(r.coverage.value.upper())}"
                    f'</td><td class="reason">{h(r.reason)}</td></tr>' for r in missing)
                + "</tbody></table>")
    return (f'<section><h2 id="not-assessed">Accounts not assessed</h2><p class="note">'
            f"{len(missing)} account(s) not assessed or partial: never PASS for want of "
            "evidence; a control not assessed is NOT_ASSESSED, but for root use that "
            f"organization-level evidence proves (FAIL).</p>{body}</section>")


# --- every finding, by OU and account --------------------------------------------------------

FindingKey = tuple[Status, Severity, str, str, str, str | None]


def _key(f: Finding) -> FindingKey:
    """What makes two accounts' findings read the same: status, severity, rule, region,
    message, the exception that muted it."""
    return (f.status, f.severity, f.rule_id, f.region, f.message, f.muted_by)


def _order(k: FindingKey) -> tuple[int, int, str]:
    return (LINED.index(k[0]) if k[0] in LINED else len(LINED), -k[1].rank, k[2])


def _finding_text(k: FindingKey) -> str:
    """One finding that did not pass: status, severity, rule, region, the exception, message."""
    status, severity, rule, region, message, muted_by = k
    where = f" · {h(region)}" if region and region != "global" else ""
    muted = f" · accepted by {h(muted_by)}" if muted_by else ""
    return (f'{_status(status)} <span class="sev sev-{h(severity.value)}">{h(severity.value)}'
            f'</span> <b class="rule">{h(rule)}</b>{where}{muted}: '
            f"{h(clip(message, MESSAGE_LIMIT))}")


def _shared(accounts: Sequence[AccountResult]) -> dict[FindingKey, list[AccountResult]]:
    """The findings that did not pass and read the same in two or more of ``accounts``."""
    by_key: dict[FindingKey, list[AccountResult]] = {}
    for r in accounts:
        if _all_not_assessed(r):
            continue
        for f in r.findings:
            if f.status in LINED:
                by_key.setdefault(_key(f), []).append(r)
    return {k: v for k, v in sorted(by_key.items(), key=lambda kv: _order(kv[0]))
            if len(v) > 1}


def _all_not_assessed(r: AccountResult) -> bool:
    return bool(r.findings) and all(f.status is Status.NOT_ASSESSED for f in r.findings)


def _findings_lines(findings: Sequence[Finding], shared: Mapping[FindingKey, Any],
                    reason: str = "") -> str:
    """An account's findings as lines (one block): each finding that did not pass, worst
    first; those shared with other accounts of the OU by rule id only (their message is given
    once, above); passes and not-applicable findings by rule id."""
    if reason and findings and all(f.status is Status.NOT_ASSESSED for f in findings):
        # An account not assessed: one line for every control, with the one reason.
        ids = ", ".join(sorted(f.rule_id for f in findings))
        return (f'<p class="fl">{_status(Status.NOT_ASSESSED)} ({len(findings)}) '
                f'<span class="ids">{h(ids)}</span><br>{h(reason)}</p>')
    lines = []
    same: list[Finding] = []
    for f in sorted((f for f in findings if f.status in LINED),
                    key=lambda f: _order(_key(f))):
        if _key(f) in shared:
            same.append(f)
        else:
            lines.append(_finding_text(_key(f)))
    for status in LINED:
        group = [f.rule_id for f in same if f.status is status]
        if group:
            lines.append(f'{_status(status)} ({len(group)}, shared, above) '
                         f'<span class="ids">{h(", ".join(group))}</span>')
    for status in LISTED:
        group = sorted(f.rule_id for f in findings if f.status is status)
        if group:
            lines.append(f'{_status(status)} ({len(group)}) <span class="ids">'
                         f'{h(", ".join(group))}</span>')
    return f'<p class="fl">{"<br>".join(lines) or "No findings."}</p>'


def _account_block(r: AccountResult, shared: Mapping[FindingKey, Any]) -> str:
    cov = "" if r.coverage is Coverage.ASSESSED else f" · {h(r.coverage.value.replace('_', ' '))}"
    fails = sum(f.status is Status.FAIL for f in r.findings)
    return (f'<div class="acct"><h4>{h(r.account.name)} <span class="id">{h(r.account.id)}'
            f'</span><span class="meta">{fails} FAIL of {len(r.findings)}{cov}</span></h4>'
            f"{_findings_lines(r.findings, shared, r.reason)}</div>")


def _shared_block(shared: Mapping[FindingKey, Sequence[AccountResult]]) -> str:
    if not shared:
        return ""
    items = "".join(
        f'<p class="fl shared">{_finding_text(k)}<br><span class="who">{len(rs)} accounts: '
        f'<span class="ids">{h(", ".join(r.account.id for r in rs))}</span></span></p>'
        for k, rs in shared.items())
    return (f'<div class="acct"><h4>Shared findings <span class="meta">the same finding, '
            f"word for word, in several accounts of this OU</span></h4>{items}</div>")


def _findings(report: AuditReport) -> str:
    result = report.result
    by_ou: dict[str, list[AccountResult]] = {}
    for r in result.accounts:
        by_ou.setdefault(r.account.ou_path, []).append(r)
    parts = []
    if result.org_findings:
        parts.append('<h3 class="ou">Organization</h3><div class="acct">'
                     f"{_findings_lines(result.org_findings, {})}</div>")
    order = [u["path"] for u in report.units] + sorted(set(by_ou) - {u["path"]
                                                                      for u in report.units})
    for path in order:
        accounts = sorted(by_ou.get(path, ()), key=lambda r: (r.account.name, r.account.id))
        if not accounts:
            continue
        shared = _shared(accounts)
        parts.append(f'<h3 class="ou">{h(path)} <span class="meta">{len(accounts)} '
                     "account(s)</span></h3>" + _shared_block(shared))
        parts += [_account_block(r, shared) for r in accounts]
    total = len(result.findings)
    return ('<section class="break"><h2 id="findings">Findings by OU and account</h2>'
            f'<p class="note">All {total} findings, per OU (the accounts directly in it) and '
            "account. A finding that did not pass is written with its message, worst first; "
            "one that reads the same in several accounts of an OU is written once under "
            "“Shared findings” with those accounts' ids, and named by rule in each account. "
            "Passes and not-applicable findings are listed by rule id. findings.json holds "
            "every finding with its evidence.</p>"
            f'{"".join(parts)}</section>')


# --- appendix: root events -------------------------------------------------------------------

def _event_line(e: Mapping[str, Any]) -> str:
    used = e.get("MFAUsed")
    mfa = "MFA" if used is True else "no MFA" if used is False else ""
    bits = [str(e.get("class") or ""), str(e.get("channel") or ""), mfa,
            str(e.get("awsRegion") or ""), str(e.get("sourceIPAddress") or ""),
            str(e.get("errorCode") or "")]
    return (f"{h(when(e.get('eventTime')))} <b>{h(e.get('eventName'))}</b> "
            f"{h(' · '.join(b for b in bits if b))} "
            f'<span class="id">{h(e.get("eventID"))}</span>')


def _appendix(report: AuditReport) -> str:
    blocks = []
    for row in report.root_use.rows:
        events = [e for e in row.record.get("events") or [] if isinstance(e, Mapping)]
        omitted = int(row.record.get("events_omitted") or 0)
        if not events and not omitted:
            continue
        more = (f"<br>{omitted} more event(s) beyond the record's limit are counted, not "
                "listed." if omitted else "")
        blocks.append(
            f'<div class="acct"><h4>{h(row.account.name)} <span class="id">'
            f'{h(row.account.id)}</span><span class="meta">{len(events)} event(s) · '
            f'{h(row.account.ou_path)}</span></h4><p class="fl events">'
            f'{"<br>".join(_event_line(e) for e in events)}{more}</p></div>')
    body = "".join(blocks) or '<p class="note">No root event in the window.</p>'
    return ('<section class="break"><h2 id="events">Appendix: root events</h2>'
            '<p class="note">Every root event the sources returned for the window, per account: '
            "time, CloudTrail's event name, orgscan's class, channel, MFA, region, source IP, "
            f"error, event id.</p>{body}</section>")


def pdf_css() -> str:
    return asset("report-pdf.css")


def pdf_body(report: AuditReport) -> str:
    """Every section of one organization's report, from its cover to the appendix (the
    combined report of several organizations puts one after another: report/combinedpdf.py)."""
    return (_cover(report) + _root_use(report) + _charts(report) + _per_ou(report.units)
            + _not_assessed(report.result) + _findings(report) + _appendix(report))


def running_header(report: AuditReport) -> str:
    result = report.result
    return (f'<div class="running">'
            f'{h(f"orgscan · {result.org.id} · scan {result.scan_id}")}</div>')


def render_pdf_html(report: AuditReport) -> str:
    """The HTML WeasyPrint lays out (print only: no script, no interaction)."""
    result = report.result
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>orgscan report · {h(result.org.id)} · {h(when(result.started))}</title>"
        f'<meta name="author" content="{h(result.caller_arn)}">'
        f'<meta name="generator" content="orgscan {h(result.tool_version)}">'
        f"<style>{pdf_css()}</style></head><body>"
        + running_header(report) + pdf_body(report) + "</body></html>")


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict[str, Any]:
    # The document is self-contained: nothing is ever fetched, whatever a name holds.
    raise ValueError(f"report.pdf fetches nothing (asked for {url[:80]!r})")


def write_pdf(report: AuditReport, out: Path) -> list[Path]:
    return [write_pdf_document(render_pdf_html(report), out / PDF_NAME)]


def write_pdf_document(html: str, path: Path) -> Path:
    """``html`` laid out by WeasyPrint into ``path`` (written whole or not at all; nothing
    fetched)."""
    require_pdf()
    weasyprint: Any = importlib.import_module("weasyprint")
    tmp = path.with_suffix(".pdf.tmp")
    weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf(str(tmp))
    tmp.replace(path)
    return path


__all__ = ["PDF_NAME", "pdf_body", "pdf_css", "render_pdf_html",
           "require_pdf", "running_header", "write_pdf", "write_pdf_document"]

"""report.html: one self-contained page an auditor can open from a file, offline.

Everything is inline (CSS, JS, the findings as a JSON block); a Content-Security-Policy meta
tag allows only that inline CSS and JS, by hash, and nothing from anywhere else, so the page
cannot fetch, and an injected script could not run even if escaping failed. Every text from
AWS or the config is HTML-escaped here or written with textContent by the script.

The tree, root-usage, OU and framework sections are plain HTML (readable without JS), with the
pictures of ``charts`` inline as SVG; the findings table is drawn by the script from the JSON
block, with filters. Every matching finding is in the document: "Show more" pages the screen
view only, and the print stylesheet shows all of them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

from scanner.core.audit_report import AuditReport, RootUseRow
from scanner.core.models import Finding, Severity, Status
from scanner.core.results import AccountResult, Coverage, ScanResult
from scanner.report.charts import control_compliance, findings_by_ou, root_timeline
from scanner.report.files import write_text
from scanner.report.markdown import regions_statement, when
from scanner.report.markup import asset, csp_hash, h

HTML_NAME = "report.html"
STATUS_ORDER = {s: i for i, s in enumerate((Status.FAIL, Status.ERROR, Status.NOT_ASSESSED,
                                            Status.MUTED, Status.PASS, Status.NOT_APPLICABLE))}


def script_json(data: Any) -> str:
    """JSON for a <script type="application/json"> block: '<', '>' and '&' as \\u escapes, so
    no value (an account named '</script><script>...') can close the block."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def pct_class(pct: float | None) -> str:
    if pct is None:
        return "c-none"
    return "c-good" if pct >= 90 else "c-warn" if pct >= 70 else "c-bad"


def pct_badge(pct: float | None) -> str:
    label = "n/a" if pct is None else f"{pct:g}%"
    return f'<span class="pct {pct_class(pct)}" title="PASS / (PASS + FAIL + ERROR)">{label}</span>'


def bar(pct: float | None) -> str:
    # SVG geometry attributes are not inline styles: the strict CSP allows them.
    fill = "" if pct is None else (f'<rect class="{pct_class(pct)}" width="{pct:g}" '
                                   'height="8"/>')
    return ('<svg class="bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">'
            f'<rect class="track" width="100" height="8"/>{fill}</svg>')


def pill(status: Status | str) -> str:
    value = status.value if isinstance(status, Status) else status
    return f'<span class="pill st-{h(value)}">{h(value)}</span>'


def filter_link(kind: str, value: str, label: str = "findings") -> str:
    return (f'<button type="button" class="link" data-filter="{h(kind)}" '
            f'data-value="{h(value)}">{h(label)}</button>')


def account_cell(name: str, account_id: str) -> str:
    return f'<div class="acct">{h(name)}</div><div class="acct-id">{h(account_id)}</div>'


# --- page parts ------------------------------------------------------------------------------

def _header(result: ScanResult) -> str:
    cov = result.coverage_counts()
    mgmt = result.org.management_account_id
    items = [
        ("Organization", f"{result.org.id} · management account {mgmt}"),
        ("Scan", f"{when(result.started)} → {when(result.finished)}"),
        ("Caller", result.caller_arn),
        ("Coverage", f"{cov['assessed']} assessed, {cov['partial']} partial, "
                     f"{cov['not_assessed']} not assessed of {len(result.accounts)} in scope"),
        ("Root-usage window", f"{result.lookback_days} days before the scan"),
        ("Regions", regions_statement(result)),
        ("Scan id", result.scan_id),
        ("orgscan", result.tool_version),
    ]
    dl = "".join(f"<div><dt>{h(k)}</dt><dd>{h(v)}</dd></div>" for k, v in items)
    return (f'<header class="top"><div class="brand">orgscan · AWS Organizations audit</div>'
            f"<h1>Root use and protection across {h(result.org.id)}</h1><dl>{dl}</dl></header>")


def _banners(result: ScanResult) -> str:
    out = []
    if result.interrupted:
        out.append('<div class="banner bad"><b>Incomplete:</b> the scan was interrupted; '
                   "these results are partial.</div>")
    missing = [r for r in result.accounts if r.coverage is not Coverage.ASSESSED]
    if missing:
        out.append(f'<div class="banner bad"><b>Partial coverage:</b> {len(missing)} '
                   "account(s) could not be fully assessed; their controls are not passes "
                   '(<a href="#coverage">see why</a>).</div>')
    elif not result.complete and not result.interrupted:
        out.append(f'<div class="banner bad"><b>Incomplete:</b> {result.undecided()} ERROR '
                   "verdict(s): not every control was decided.</div>")
    if result.regions is not None:
        out.append('<div class="banner warn"><b>Narrowed regions:</b> '
                   f"{h(regions_statement(result))}.</div>")
    return "".join(out)


def _cards(report: AuditReport) -> str:
    result = report.result
    statuses, fails = report.findings_by_status, report.fails_by_severity
    used, unknown = len(report.root_use.used), len(report.root_use.unknown)
    root_unit = report.root_unit
    pct = root_unit["findings"]["compliance"]["percent"] if root_unit else None
    cards = [
        ("Accounts in scope", len(result.accounts),
         f"{len(result.out_of_scope)} out of scope", False),
        ("Root used", used, f"in {result.lookback_days} days · unknown for {unknown}", used > 0),
        ("Critical / high FAIL", f"{fails[Severity.CRITICAL]} / {fails[Severity.HIGH]}",
         f"{statuses[Status.FAIL]} FAIL in all", fails[Severity.CRITICAL] > 0),
        ("ERROR / NOT_ASSESSED", f"{statuses[Status.ERROR]} / {statuses[Status.NOT_ASSESSED]}",
         "undecided: never passes", False),
        ("Compliance", "n/a" if pct is None else f"{pct:g}%", "PASS / (PASS + FAIL + ERROR)",
         False),
    ]
    return '<div class="cards">' + "".join(
        f'<div class="card{" alert" if alert else ""}"><div class="k">{h(k)}</div>'
        f'<div class="v">{h(v)}</div><div class="s">{h(s)}</div></div>'
        for k, v, s, alert in cards) + "</div>"


def _tree(report: AuditReport) -> str:
    by_parent: dict[str | None, list[Mapping[str, Any]]] = {}
    for u in report.units:
        by_parent.setdefault(u["parent_id"], []).append(u)
    accounts_in: dict[str, list[AccountResult]] = {}
    for r in report.result.accounts:
        accounts_in.setdefault(r.account.parent_id, []).append(r)
    used = {x.account.id: x.used for x in report.root_use.rows}

    def account_li(r: AccountResult) -> str:
        c = report.account_compliance[r.account.id]
        flags = ""
        if used.get(r.account.id) is True:
            flags += '<span class="flag">root used</span>'
        elif used.get(r.account.id) is None:
            flags += '<span class="flag unk">root unknown</span>'
        if r.coverage is not Coverage.ASSESSED:
            flags += f'<span class="flag unk">{h(r.coverage.value)}</span>'
        return (f'<li><div class="leaf">{pct_badge(c["percent"])}<span class="name">'
                f'{h(r.account.name)}</span><span class="meta mono">{h(r.account.id)}</span>'
                f"{flags}</div></li>")

    def unit_li(u: Mapping[str, Any]) -> str:
        f = u["findings"]
        ru = u["root_usage"]
        meta = (f'{u["accounts"]["total"]} accounts · {f["by_status"]["FAIL"]} FAIL'
                + (f' · {ru["using_root"]} used root' if ru["using_root"] else ""))
        children = "".join(unit_li(c) for c in by_parent.get(u["id"], []))
        children += "".join(account_li(r) for r in sorted(accounts_in.get(u["id"], []),
                                                          key=lambda r: r.account.name))
        return (f'<li class="unit" data-path="{h(u["path"])}"><details open><summary>'
                f'{pct_badge(f["compliance"]["percent"])}<span class="name">{h(u["name"])}'
                f'</span><span class="meta">{h(meta)}</span>'
                f'{filter_link("ou", u["path"])}</summary><ul>{children}</ul></details></li>')

    roots = "".join(unit_li(u) for u in by_parent.get(None, []))
    return (f'<section class="panel" id="tree"><h2>Organization<span class="sub">compliance by '
            f"unit and account; click “findings” to filter</span></h2>"
            f'<div class="pad tree" id="org-tree"><ul>{roots}</ul></div></section>')


# The root-usage table's header row; its rows are ``root_usage_tr``'s.
ROOT_USAGE_HEAD = (
    "<tr><th>Last used</th><th>Account</th><th>OU</th><th>Channels</th>"
    '<th class="num" title="successful root console sign-ins (without MFA)">'
    'Console (no MFA)</th><th class="num">Failed sign-ins</th>'
    '<th class="num">API calls</th><th class="num">AssumeRoot</th>'
    '<th class="num">Password recovery</th><th>Source IPs</th><th>MFA</th>'
    '<th class="num">Active keys</th></tr>')


def root_usage_tr(row: RootUseRow) -> str:
    r = row.record
    chips = "".join(f'<span class="chip {h(c)}">{h(c)}</span>' for c in r.get("channels") or [])
    if r.get("use_basis") and not any(e.get("counted_as_use") for e in r.get("events") or []):
        # No event shows the use (the credential report alone does): say so beside it.
        chips += f'<div class="reason basis">{h(r["use_basis"])}</div>'
    keys = r.get("active_access_keys")
    return (
        f'<tr data-account="{h(row.account.id)}"><td>{h(when(r.get("last_used")))}</td>'
        f"<td>{account_cell(row.account.name, row.account.id)}</td>"
        f'<td class="path">{h(row.account.ou_path)}</td><td>{chips}</td>'
        f'<td class="num">{h(r.get("console_logins", 0))} '
        f'({h(r.get("console_logins_without_mfa", 0))})</td>'
        f'<td class="num">{h(r.get("failed_logins", 0))}</td>'
        f'<td class="num">{h(r.get("api_calls", 0))}</td>'
        f'<td class="num">{h(r.get("assume_root_sessions", 0))}</td>'
        f'<td class="num">{h(r.get("password_recovery_requests", 0))}</td>'
        f'<td class="mono">{h(", ".join(r.get("source_ips") or []) or "-")}</td>'
        f'<td>{h(r.get("mfa_kind") or "unknown")}</td>'
        f'<td class="num">{h("unknown" if keys is None else keys)}</td></tr>')


def _root_usage(report: AuditReport) -> tuple[str, str]:
    """The accounts that used root (newest first) and the per-OU counts, as two panels."""
    result = report.result
    used, unknown = report.root_use.used, report.root_use.unknown
    timeline = "".join(root_timeline(report.root_use))
    head = ROOT_USAGE_HEAD
    body = [root_usage_tr(r) for r in used]
    for r in unknown:
        body.append(
            f'<tr data-account="{h(r.account.id)}" class="unknown"><td>unknown</td>'
            f"<td>{account_cell(r.account.name, r.account.id)}</td>"
            f'<td class="path">{h(r.account.ou_path)}</td><td colspan="9" class="reason">'
            f'<span class="flag unk">root use unknown</span> '
            f'{h(r.reason or "root.usage not collected")}</td></tr>')
    if not body:
        body.append('<tr><td colspan="12" class="empty">No account used root in the window.'
                    "</td></tr>")
    ou_rows = "".join(
        f'<tr><td class="path">{h(u["path"])}</td><td class="num">{u["accounts"]["total"]}'
        f'</td><td class="num">{u["root_usage"]["using_root"]}</td>'
        f'<td class="num">{u["root_usage"]["unknown"]}</td></tr>' for u in report.units)
    start = report.root_use.window_start
    note = (f"Root credentials used in the {result.lookback_days} days before the scan"
            + (f" (since {when(start)})" if start else "") + f"; regions: "
            f"{regions_statement(result)}. Newest first. Unknown is never counted as unused.")
    return (f'<section class="panel" id="root-usage"><h2>Root usage<span class="sub">'
            f"{len(used)} account(s) used root · {len(unknown)} unknown</span></h2>"
            f'<div class="pad"><p class="note">{h(note)}</p></div>'
            f'<div class="pad chart-box" id="root-timeline">{timeline}</div>'
            f'<div class="scroll"><table id="root-usage-table"><thead>{head}</thead><tbody>'
            f'{"".join(body)}</tbody></table></div></section>',
            f'<section class="panel" id="root-usage-ous"><h2>Root use by OU<span class="sub">'
            "accounts in each unit's subtree</span></h2>"
            '<div class="scroll"><table id="root-usage-by-ou"><thead><tr><th>OU</th>'
            '<th class="num">Accounts</th><th class="num">Used root</th>'
            f'<th class="num">Unknown</th></tr></thead><tbody>{ou_rows}</tbody></table></div>'
            "</section>")


def _per_ou(units: Sequence[Mapping[str, Any]]) -> str:
    chart = "".join(findings_by_ou(units))
    rows = []
    for u in units:
        f, a = u["findings"], u["accounts"]
        pct = f["compliance"]["percent"]
        worst = ", ".join(o["name"] for o in u["worst_offenders"][:3])
        rows.append(
            f'<tr><td class="path">{h(u["path"])}</td><td class="num">{a["total"]}</td>'
            f'<td class="num">{a["not_assessed"] + a["partial"]}</td>'
            f'<td class="num">{f["by_status"]["FAIL"]}</td>'
            f'<td class="num">{f["by_status"]["ERROR"]}</td>'
            f'<td class="num">{f["by_status"]["PASS"]}</td>'
            f'<td>{pct_badge(pct)}</td><td>{bar(pct)}</td>'
            f'<td class="num">{u["root_usage"]["using_root"]}</td>'
            f"<td>{h(worst) or '-'}</td><td>{filter_link('ou', u['path'])}</td></tr>")
    return ('<section class="panel" id="ous"><h2>Per-OU summary<span class="sub">each unit '
            "with its whole subtree · compliance = PASS / (PASS + FAIL + ERROR)</span></h2>"
            f'<div class="pad chart-box" id="ou-chart">{chart}</div>'
            '<div class="scroll"><table id="ou-table"><thead><tr><th>OU</th>'
            '<th class="num">Accounts</th><th class="num">Not assessed</th>'
            '<th class="num">FAIL</th><th class="num">ERROR</th><th class="num">PASS</th>'
            '<th>Compliance</th><th></th><th class="num">Used root</th>'
            f'<th>Worst accounts</th><th></th></tr></thead><tbody>{"".join(rows)}</tbody>'
            "</table></div></section>")


def _coverage(result: ScanResult) -> str:
    missing = [r for r in result.accounts if r.coverage is not Coverage.ASSESSED]
    if not missing:
        body = ('<div class="pad"><p class="note">Every account in scope was fully assessed.'
                "</p></div>")
    else:
        rows = "".join(
            f"<tr><td>{account_cell(r.account.name, r.account.id)}</td>"
            f'<td class="path">{h(r.account.ou_path)}</td>'
            f'<td>{pill("NOT_ASSESSED") if r.coverage is Coverage.NOT_ASSESSED else h("partial")}'
            f'</td><td class="reason">{h(r.reason)}</td></tr>' for r in missing)
        body = ('<div class="scroll"><table id="not-assessed"><thead><tr><th>Account</th>'
                f"<th>OU</th><th>Coverage</th><th>Reason</th></tr></thead><tbody>{rows}"
                "</tbody></table></div>")
    return (f'<section class="panel" id="coverage"><h2>Accounts not assessed<span class="sub">'
            f"{len(missing)} account(s) · what could not be read is never PASS: NOT_ASSESSED "
            "(ERROR where a fact failed); root use that organization-level evidence proves "
            "is FAIL"
            f"</span></h2>{body}</section>")


def _frameworks(report: AuditReport) -> str:
    parts = []
    for fw, summaries in report.frameworks.items():
        rows = "".join(
            f'<tr><td class="mono">{h(s.control)}</td><td>{pill(s.status)}</td>'
            f'<td class="num">{s.counts.get(Status.PASS, 0)}</td>'
            f'<td class="num">{s.counts.get(Status.FAIL, 0)}</td>'
            f'<td class="num">{s.counts.get(Status.ERROR, 0)}</td>'
            f'<td class="num">{s.counts.get(Status.NOT_ASSESSED, 0)}</td>'
            f'<td class="num">{s.counts.get(Status.NOT_APPLICABLE, 0)}</td>'
            f'<td class="mono">{h(", ".join(s.rule_ids))}</td>'
            f"<td>{filter_link('control', f'{fw}:{s.control}')}</td></tr>"
            for s in summaries)
        chart = "".join(control_compliance(fw, summaries))
        parts.append(
            f'<h3 class="fw">{h(fw)}</h3><div class="pad chart-box fw-chart">{chart}</div>'
            '<div class="scroll"><table class="fw"><thead><tr>'
            "<th>Control</th>"
            '<th>Status</th><th class="num">PASS</th><th class="num">FAIL</th>'
            '<th class="num">ERROR</th><th class="num">NOT_ASSESSED</th>'
            '<th class="num">NOT_APPLICABLE</th><th>Rules</th><th></th>'
            f"</tr></thead><tbody>{rows}</tbody></table></div>")
    return ('<section class="panel" id="frameworks"><h2>Frameworks<span class="sub">a '
            "control's status is the worst of its findings: FAIL, then ERROR, NOT_ASSESSED, "
            f"MUTED, PASS, NOT_APPLICABLE</span></h2>{''.join(parts)}</section>")


def _findings_panel() -> str:
    sev = "".join(f'<option value="{s.value}">{s.value}</option>' for s in Severity)
    st = "".join(f'<option value="{s.value}">{s.value}</option>'
                 for s in STATUS_ORDER)
    return (
        '<section class="panel" id="findings"><h2>Findings<span class="sub">click a row for '
        "its evidence and remediation</span></h2>"
        '<div class="filters" role="search">'
        '<label>OU<select id="f-ou"><option value="">All OUs</option></select></label>'
        f'<label>Severity<select id="f-sev"><option value="">All</option>{sev}</select></label>'
        '<label>Status<select id="f-status"><option value="">All</option>'
        f'<option value="OPEN">Not passed (FAIL, ERROR, …)</option>{st}</select></label>'
        '<label>Rule<select id="f-rule"><option value="">All rules</option></select></label>'
        '<label>Control<select id="f-control"><option value="">All controls</option>'
        "</select></label>"
        '<label>Account or text<input id="f-q" type="search" placeholder="name, id, resource">'
        '</label><button type="button" id="f-reset">Reset</button>'
        '<span class="count" id="f-count"></span></div>'
        '<div class="scroll"><table id="findings-table"><thead><tr><th>Status</th>'
        "<th>Severity</th><th>Account</th><th>OU</th><th>Rule</th><th>Message</th></tr>"
        '</thead><tbody id="findings-body"><tr><td colspan="6" class="empty">The findings '
        "table needs JavaScript; findings.json and findings.csv hold the same data."
        '</td></tr></tbody></table></div><div class="more" id="findings-more" hidden>'
        '<button type="button">Show more</button></div></section>')


def _finding_json(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule_id, "title": f.title, "sev": f.severity.value,
            "status": f.status.value, "acct": f.account_id, "name": f.account_name,
            "ou": f.ou_path, "region": f.region, "res": f.resource, "msg": f.message,
            "comp": [f"{fw}:{c}" for fw in sorted(f.compliance) for c in f.compliance[fw]],
            "rem": f.remediation.strip(), "muted": f.muted_by, "ev": dict(f.evidence)}


def page_data(result: ScanResult) -> dict[str, Any]:
    findings = sorted(result.findings, key=lambda f: (
        STATUS_ORDER[f.status], -f.severity.rank, f.ou_path, f.account_name, f.rule_id))
    return {
        "findings": [_finding_json(f) for f in findings],
        "ous": [u.path for u in result.org.units],
        "rules": sorted({f.rule_id for f in findings}),
        "controls": sorted({c for f in findings for c in _finding_json(f)["comp"]}),
    }


def render_html(report: AuditReport) -> str:
    result = report.result
    css, js = asset("report.css"), asset("report.js")
    csp = (f"default-src 'none'; script-src '{csp_hash(js)}'; style-src '{csp_hash(css)}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    toc = "".join(f'<a href="#{i}">{h(t)}</a>' for i, t in (
        ("root-usage", "Root usage"), ("tree", "Organization"), ("ous", "Per OU"),
        ("findings", "Findings"), ("coverage", "Not assessed"), ("frameworks", "Frameworks")))
    used_panel, by_ou_panel = _root_usage(report)
    body = "".join([
        f'<nav class="toc">{toc}</nav>', _banners(result), _cards(report),
        used_panel,
        f'<div class="twocol">{_tree(report)}'
        f"<div>{by_ou_panel}{_coverage(result)}</div></div>",
        _per_ou(report.units), _findings_panel(), _frameworks(report),
    ])
    return Template(asset("report.html")).substitute(
        csp=csp, version=h(result.tool_version), scan_id=h(result.scan_id),
        title=h(f"orgscan · {result.org.id} · {when(result.started)}"), css=css,
        header=_header(result), body=body, data=script_json(page_data(result)), js=js)


def write_html(report: AuditReport, out: Path) -> list[Path]:
    path = out / HTML_NAME
    write_text(path, render_html(report))
    return [path]

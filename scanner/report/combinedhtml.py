"""report.html of a multi-organization run: the overview an auditor opens first.

One self-contained page (inline CSS allowed by its hash, no script, nothing fetched): every
organization with its status (and the reason when not assessed), coverage, accounts using root
and compliance; a chart of accounts using root and compliance per organization; the accounts
that used root, by organization; and a link into each organization's own report.html. It
renders the same entries as organizations.json (scanner/core/multiorg.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scanner.core.multiorg import OrgReport, organization_entry, totals
from scanner.report.files import write_text
from scanner.report.markdown import when
from scanner.report.markup import csp_hash, h

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem;color:#1b1f24}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.3rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa;overflow-wrap:normal;word-break:normal}td.n{text-align:right}
td.id{white-space:nowrap}
.NOT_ASSESSED{color:#a40e26;font-weight:600}.incomplete{color:#9a6700;font-weight:600}
.ASSESSED{color:#1a7f37;font-weight:600}.reason{color:#57606a;font-size:.9em}
svg text{font:12px system-ui,sans-serif}
@media print{a{color:inherit;text-decoration:none}}
"""
BAR_W, ROW_H, LABEL_W = 260, 22, 150


def overview_sentence(entries: Sequence[Mapping[str, Any]], generated_at: str) -> str:
    sums = totals(entries)
    return (f"<p>Generated {h(when(generated_at))}. {sums['organizations']} organization(s): "
            f"{sums['organizations_by_status']['ASSESSED']} assessed "
            f"({sums['organizations_complete']} completely), "
            f"{sums['organizations_by_status']['NOT_ASSESSED']} not assessed. "
            f"{sums['coverage']['accounts']} account(s) in scope; root used in "
            f"{sums['root_use']['accounts_using_root']}.</p>")


def write_combined_html(orgs: Sequence[OrgReport], out: Path, *, generated_at: str) -> Path:
    entries = [organization_entry(o) for o in orgs]
    body = [
        "<h1>Root-user audit: several organizations</h1>",
        overview_sentence(entries, generated_at),
        "<h2>Organizations</h2>", overview_table(entries, out), overview_chart(entries),
        "<h2>Accounts that used root</h2>", root_users_table(orgs),
    ]
    csp = f"default-src 'none'; style-src '{csp_hash(CSS)}'; img-src 'none'"
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">"
        "<title>orgscan: several organizations</title>"
        f"<style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
    path = out / "report.html"
    write_text(path, page)
    return path


def overview_table(entries: Sequence[Mapping[str, Any]], out: Path | None) -> str:
    """Every organization's row; with ``out``, each assessed one's label links into its own
    report.html there (report.pdf has no links: ``out`` None)."""
    rows = ["<table><tr><th>organization</th><th>id</th><th>management account</th>"
            "<th>status</th><th>accounts</th><th>assessed</th><th>partial</th>"
            "<th>not assessed</th><th>using root</th><th>compliance</th><th>FAIL</th></tr>"]
    for e in entries:
        own = None if out is None else out / e["directory"] / "report.html"
        label = (f"<a href=\"{h(e['directory'])}/report.html\">{h(e['label'])}</a>"
                 if e["status"] != "NOT_ASSESSED" and own is not None and own.is_file()
                 else h(e["label"]))
        reason = f"<div class=\"reason\">{h(e['reason'])}</div>" if e["reason"] else ""
        pct = e["compliance"]["percent"]
        rows.append(
            f"<tr><td>{label}</td><td class=\"id\">{h(e['organization_id'] or '-')}</td>"
            f"<td class=\"id\">{h(e['management_account_id'] or '-')}</td>"
            f"<td><span class=\"{h(e['status'])}\">{h(e['status'])}</span>"
            + ("" if e["complete"] or e["status"] == "NOT_ASSESSED" else
               " <span class=\"incomplete\">(incomplete)</span>")
            + f"{reason}</td>"
            + "".join(f"<td class=\"n\">{e['coverage'][k]}</td>"
                      for k in ("accounts", "assessed", "partial", "not_assessed"))
            + f"<td class=\"n\">{e['root_use']['accounts_using_root']}</td>"
            f"<td class=\"n\">{'n/a' if pct is None else f'{pct:g} %'}</td>"
            f"<td class=\"n\">{e['compliance']['failed']}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows)


def overview_chart(entries: Sequence[Mapping[str, Any]]) -> str:
    """Two bars per organization: accounts using root (of its accounts) and compliance %."""
    height = ROW_H * 2 * len(entries) + 30
    width = LABEL_W + BAR_W + 120
    parts = [f"<svg role=\"img\" aria-label=\"accounts using root and compliance per "
             f"organization\" width=\"{width}\" height=\"{height}\" "
             f"viewBox=\"0 0 {width} {height}\">"]
    y = 10
    for e in entries:
        accounts = e["coverage"]["accounts"]
        used = e["root_use"]["accounts_using_root"]
        pct = e["compliance"]["percent"]
        parts.append(f"<text x=\"0\" y=\"{y + 15}\">{h(e['label'])}</text>")
        w_used = round(BAR_W * used / accounts) if accounts else 0
        parts.append(f"<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w_used}\" height=\"{ROW_H - 6}\" "
                     "fill=\"#cf222e\"></rect>")
        parts.append(f"<text x=\"{LABEL_W + w_used + 6}\" y=\"{y + 13}\">root used: {used}"
                     f"/{accounts}</text>")
        y += ROW_H
        w_pct = round(BAR_W * (pct or 0) / 100)
        parts.append(f"<rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w_pct}\" height=\"{ROW_H - 6}\" "
                     "fill=\"#1a7f37\"></rect>")
        shown = "not assessed" if e["status"] == "NOT_ASSESSED" else (
            "n/a" if pct is None else f"{pct:g} % compliant")
        parts.append(f"<text x=\"{LABEL_W + w_pct + 6}\" y=\"{y + 13}\">{h(shown)}</text>")
        y += ROW_H
    parts.append("</svg>")
    return "".join(parts)


def root_users_table(orgs: Sequence[OrgReport]) -> str:
    rows = ["<table><tr><th>organization</th><th>account</th><th>name</th><th>OU</th>"
            "<th>last used</th><th>channels</th></tr>"]
    count = 0
    for org in orgs:
        if org.report is None:
            continue
        for row in org.report.root_use.used:
            count += 1
            channels = ", ".join(row.record.get("channels") or []) or "-"
            rows.append(f"<tr><td>{h(org.label)}</td><td class=\"id\">{h(row.account.id)}</td>"
                        f"<td>{h(row.account.name)}</td><td>{h(row.account.ou_path)}</td>"
                        f"<td>{h(when(row.record.get('last_used')))}</td>"
                        f"<td>{h(channels)}</td></tr>")
    rows.append("</table>")
    return "\n".join(rows) if count else "<p>None in any organization assessed.</p>"

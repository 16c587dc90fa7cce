"""The outputs of ``orgscan trail-report``: root use from CloudTrail log files on disk.

``root-usage.json`` and ``root-usage.csv`` are a scan's (``scanner.report.rootusage_writer``),
with one more block in the JSON, ``log_files``: what was read, the window and where it came
from, and every file that could not be read (a gap). ``root-usage.html`` is one self-contained
page with the HTML report's root-usage table (its rows, escaping and stylesheet), the gaps and
the accounts seen without root use.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from string import Template
from typing import Any

from scanner.core.audit_report import RootUseRow
from scanner.core.models import JSON, Account, AccountState
from scanner.core.results import Coverage
from scanner.core.rootusage import ORG_TRAIL, RootUsage
from scanner.report.html import ROOT_USAGE_HEAD, account_cell, root_usage_tr
from scanner.report.markdown import when
from scanner.report.markup import asset, csp_hash, h
from scanner.report.rootusage_writer import render_json, root_usage_document, write_root_usage_csv

HTML_NAME = "root-usage.html"

def _account(account_id: str) -> Account:
    """The logs name accounts, nothing more: no name, no OU."""
    return Account(id=account_id, name="", email="", arn="", status=AccountState.ACTIVE,
                   joined_method="", joined_timestamp="", parent_id="", ou_path="")


def trail_report_document(records: Sequence[RootUsage], log_files: Mapping[str, JSON], *,
                          generated_at: str, organization_id: str) -> dict[str, JSON]:
    doc = root_usage_document(records, [], generated_at=generated_at,
                              organization_id=organization_id,
                              lookback_days=records[0].window_days if records else 1,
                              sources=[ORG_TRAIL])
    doc["log_files"] = dict(log_files)
    return doc


def _rows(records: Sequence[RootUsage]) -> tuple[list[str], list[str], list[str]]:
    used, unknown, not_used = [], [], []
    newest_first = sorted(records, key=lambda r: r.last_used or "", reverse=True)
    for rec in newest_first:
        data = rec.to_json()
        row = RootUseRow(_account(rec.account_id), Coverage.ASSESSED, data,
                         "; ".join(s.detail for s in rec.sources if not s.complete))
        if rec.used_in_window is True:
            used.append(root_usage_tr(row))
        elif rec.used_in_window is None:
            unknown.append(
                f'<tr data-account="{h(rec.account_id)}" class="unknown"><td>unknown</td>'
                f'<td>{account_cell("", rec.account_id)}</td><td class="path"></td>'
                f'<td colspan="9" class="reason"><span class="flag unk">root use unknown</span> '
                f"{h(row.reason)}</td></tr>")
        else:
            not_used.append(f"<li>{h(rec.account_id)}</li>")
    return used, unknown, not_used


def render_page(records: Sequence[RootUsage], log_files: Mapping[str, Any], *,
                version: str) -> str:
    css = asset("report.css")
    # The HTML report's page, with no script to run (the empty one is allowed by its hash).
    csp = (f"default-src 'none'; script-src '{csp_hash('')}'; style-src '{csp_hash(css)}'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    window = log_files.get("window") or {}
    used, unknown, not_used = _rows(records)
    body = used + unknown or ['<tr><td colspan="12" class="empty">No account used root in '
                              "the window.</td></tr>"]
    gaps = log_files.get("gaps") or []
    banners = ""
    if log_files.get("gap_count"):
        banners = (f'<div class="banner bad"><b>Gaps:</b> {h(log_files["gap_count"])} file(s) '
                   "could not be read; root use they may hold is not counted "
                   '(<a href="#gaps">see which</a>).</div>')
    gap_rows = "".join(f'<tr><td class="mono">{h(g["path"])}</td><td>{h(g["error"])}</td>'
                       f'<td>{h(g["detail"])}</td></tr>' for g in gaps)
    items = [
        ("Window", f"{when(window.get('start'))} → {when(window.get('end'))} "
                   f"({window.get('from', '')})"),
        ("Files read", f"{log_files.get('files', 0)} ({log_files.get('compressed_bytes', 0)} "
                       f"bytes), {log_files.get('matched_files', 0)} with root records"),
        ("Accounts", str(len(records))),
        ("Gaps", str(log_files.get("gap_count", 0))),
    ]
    dl = "".join(f"<div><dt>{h(k)}</dt><dd>{h(v)}</dd></div>" for k, v in items)
    header = ('<header class="top"><div class="brand">orgscan · trail report</div>'
              f"<h1>Root use in CloudTrail log files</h1><dl>{dl}</dl></header>")
    sections = [
        banners,
        f'<section class="panel" id="root-usage"><h2>Root usage<span class="sub">'
        f"{len(used)} account(s) used root · {len(unknown)} unknown</span></h2>"
        f'<div class="pad"><p class="note">{h(_note(window))}</p></div>'
        f'<div class="scroll"><table id="root-usage-table"><thead>{ROOT_USAGE_HEAD}</thead><tbody>'
        f'{"".join(body)}</tbody></table></div></section>',
        f'<section class="panel" id="gaps"><h2>Files not read<span class="sub">'
        f'{h(log_files.get("gap_count", 0))} gap(s)</span></h2><div class="scroll"><table>'
        "<thead><tr><th>File</th><th>Error</th><th>Detail</th></tr></thead>"
        f"<tbody>{gap_rows}</tbody></table></div></section>" if gaps else "",
        f'<section class="panel" id="not-used"><h2>No root use seen<span class="sub">'
        f"{len(not_used)} account(s)</span></h2>"
        f'<div class="pad"><ul>{"".join(not_used)}</ul></div></section>' if not_used else "",
    ]
    return Template(asset("report.html")).substitute(
        csp=csp, version=h(version), scan_id="trail-report", title=h("orgscan · trail report"),
        css=css, header=header, body="".join(sections), data="{}", js="")


def _note(window: Mapping[str, Any]) -> str:
    return (f"Root credentials used between {when(window.get('start'))} and "
            f"{when(window.get('end'))}, as the log files show it; newest first. "
            "Unknown is never counted as unused. MFA and keys: not in the logs (a scan reads "
            "them).")


def write_trail_report(records: Sequence[RootUsage], log_files: Mapping[str, JSON], out: Path,
                       *, generated_at: str, organization_id: str,
                       version: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    doc = trail_report_document(records, log_files, generated_at=generated_at,
                                organization_id=organization_id)
    json_path = out / "root-usage.json"
    json_path.write_text(render_json(doc), encoding="utf-8")
    csv_path = write_root_usage_csv(out / "root-usage.csv", records, [])
    html_path = out / HTML_NAME
    html_path.write_text(render_page(records, log_files, version=version), encoding="utf-8")
    return [json_path, csv_path, html_path]


__all__ = ["HTML_NAME", "render_page", "trail_report_document", "write_trail_report"]

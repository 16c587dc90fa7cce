"""report.pdf of a multi-organization run: the overview of every organization, then each one's
part.

The overview is the combined report.html's (report/combinedhtml.py): per organization its
status (and the reason when not assessed), coverage, accounts using root and compliance, the
chart of both, and the accounts that used root by organization. Then, from a new page, each
assessed organization's own report.pdf content (report/pdf.py's sections, cover to appendix),
under its label. An organization not assessed has no part: the overview says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from scanner.core.multiorg import OrgReport, organization_entry
from scanner.report.combinedhtml import (
    overview_chart,
    overview_sentence,
    overview_table,
    root_users_table,
)
from scanner.report.markup import h
from scanner.report.pdf import PDF_NAME, pdf_body, pdf_css, running_header, write_pdf_document

# The overview's classes (combinedhtml's) in the PDF's look.
CSS = """
.overview table { border-collapse: collapse; width: 100%; font-size: 7pt;
  margin-bottom: 4mm; }
.overview th { text-align: left; font-size: 6pt; text-transform: uppercase; color: #5b6470;
  border-bottom: 1pt solid #bfc6ce; padding: 1mm 0.8mm; overflow-wrap: normal; }
.overview td { border-bottom: 0.5pt solid #e3e7ec; padding: 1mm 1mm; vertical-align: top;
  overflow-wrap: anywhere; }
.overview td.n { text-align: right; white-space: nowrap; }
.overview td.id { white-space: nowrap; overflow-wrap: normal; }
.overview .NOT_ASSESSED { color: #b42318; font-weight: bold; }
.overview .ASSESSED { color: #067647; font-weight: bold; }
.overview .incomplete { color: #b54708; font-weight: bold; }
.overview .reason { color: #5b6470; font-size: 6.5pt; }
.overview svg { display: block; width: 130mm; height: auto; margin: 2mm 0 4mm; }
.org-part { break-before: page; }
.org-part > h1.org { font-size: 11pt; color: #1f4e8c; margin: 0; }
"""


def render_combined_pdf_html(orgs: Sequence[OrgReport], *, generated_at: str) -> str:
    entries = [organization_entry(o) for o in orgs]
    overview = (
        '<section class="overview"><div class="brand">orgscan · AWS Organizations audit</div>'
        "<h1>Root use and protection across several organizations</h1>"
        f"{overview_sentence(entries, generated_at)}"
        '<h2>Organizations</h2><p class="note">Each organization\'s status (and why, when it '
        "could not be assessed), its coverage, the accounts that used root and its "
        "compliance; its own part follows, each from a new page.</p>"
        f"{overview_table(entries, None)}{overview_chart(entries)}"
        f"<h2>Accounts that used root</h2>{root_users_table(orgs)}</section>")
    parts = [
        f'<div class="org-part">{running_header(o.report)}'
        f'<h1 class="org">Organization {h(o.label)}</h1>{pdf_body(o.report)}</div>'
        for o in orgs if o.report is not None]
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>orgscan report · several organizations</title>"
        f"<style>{pdf_css()}{CSS}</style></head><body>"
        f'<div class="running">{h("orgscan · several organizations")}</div>'
        + overview + "".join(parts) + "</body></html>")


def write_combined_pdf(orgs: Sequence[OrgReport], out: Path, *, generated_at: str) -> Path:
    return write_pdf_document(render_combined_pdf_html(orgs, generated_at=generated_at),
                              out / PDF_NAME)

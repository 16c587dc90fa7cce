"""``diff.md`` and ``diff.json``: a computed diff (``scanner.report.diff``) as Markdown that
cannot carry markup, and as JSON."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from scanner.report.diff import CLASSES
from scanner.report.files import write_json, write_text

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|<>#])")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def md_cell(value: Any) -> str:
    """Text safe in a Markdown table cell: no markup, links, HTML or control characters."""
    text = "" if value is None else str(value)
    text = _CONTROL.sub(" ", text)
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text[:300] + ("…" if len(text) > 300 else "")


def _table(header: tuple[str, ...], rows: Iterable[Iterable[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows]
    return out


def diff_markdown(d: Mapping[str, Any]) -> str:
    s = d["summary"]
    lines = ["# orgscan diff", "",
             f"Old: {md_cell(d['old']['source'])} (scan {md_cell(d['old']['scan_id'])}, "
             f"{md_cell(d['old']['started'])})  ",
             f"New: {md_cell(d['new']['source'])} (scan {md_cell(d['new']['scan_id'])}, "
             f"{md_cell(d['new']['started'])})", ""]
    lines += [f"> **Warning:** {md_cell(w)}" for w in d["warnings"]]
    lines += ["", "## Summary", "", *_table(
        ("new FAIL", "resolved", "changed", "removed", "added", "unchanged",
         "started using root", "stopped using root", "coverage changed"),
        [(s["new"], s["resolved"], s["changed"], s["removed"], s["added"], s["unchanged"],
          s["root_started"], s["root_stopped"], s["coverage_changed"])])]
    ru = d["root_usage"]
    for title, rows in (("Accounts that started using root", ru["started"]),
                        ("Accounts that stopped using root", ru["stopped"]),
                        ("Accounts whose root use became unknown", ru["became_unknown"])):
        if rows:
            lines += ["", f"## {title}", "", *_table(
                ("account", "name", "OU", "before", "now"),
                [(r["account_id"], r["name"], r["ou_path"], _tri(r["old"]), _tri(r["new"]))
                 for r in rows])]
    if d["coverage"]:
        lines += ["", "## Coverage changes", "", *_table(
            ("account", "name", "OU", "before", "now", "reason"),
            [(r["account_id"], r["name"], r["ou_path"], r["old"] or "absent",
              r["new"] or "absent", r["reason"]) for r in d["coverage"]])]
    titles = {"new": "New failures", "resolved": "Resolved", "changed": "Changed",
              "removed": "Removed (no longer evaluated; not resolved)",
              "added": "Added (not failing)"}
    for cls in CLASSES:
        rows = d["findings"][cls]
        if rows:
            lines += ["", f"## {titles[cls]} ({len(rows)})", "", *_table(
                ("rule", "account", "OU", "resource", "region", "before", "now", "severity"),
                [(r["rule_id"], f"{r['account_id']} {r['account_name']}", r["ou_path"],
                  r["resource"], r["region"], _status(r, "old"), _status(r, "new"),
                  r["new_severity"] or r["old_severity"]) for r in rows])]
    if d["by_ou"]:
        lines += ["", "## By OU (each OU includes its sub-OUs)", "", *_table(
            ("OU", *CLASSES, "root started", "root stopped", "coverage changed"),
            [(ou, *(row[c] for c in CLASSES), row["root_started"], row["root_stopped"],
              row["coverage_changed"]) for ou, row in d["by_ou"].items()])]
    return "\n".join(lines) + "\n"


def _tri(v: bool | None) -> str:
    return "unknown" if v is None else "used" if v else "not used"


def _status(r: Mapping[str, Any], side: str) -> str:
    status = r[f"{side}_status"]
    muted = r[f"{side}_muted_by"]
    if status is None:
        return "absent"
    return f"{status} ({muted})" if muted else str(status)


def write_diff(d: Mapping[str, Any], out: Path) -> list[Path]:
    """``diff.json`` and ``diff.md`` in ``out``."""
    md = out / "diff.md"
    write_text(md, diff_markdown(d))
    return [write_json(out / "diff.json", d), md]


__all__ = ["diff_markdown", "md_cell", "write_diff"]

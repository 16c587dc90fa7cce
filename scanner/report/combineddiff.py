"""`orgscan diff OLD NEW` of two multi-organization runs: organizations added and removed (by
label), organizations whose status changed, and, for each organization assessed in both,
its own diff (``diffload.diff_paths`` over its two directories). The same, written as the
combined ``diff.json`` / ``diff.md`` of a run given ``--baseline`` (``write_combined_diff``);
``earlier_directories`` gives each organization's own directory in that baseline."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scanner.core.errors import ConfigError
from scanner.report.combined import ORGANIZATIONS
from scanner.report.diffload import diff_paths
from scanner.report.diffrender import diff_markdown, md_cell
from scanner.report.files import write_json, write_text


def is_combined_run(path: Path) -> bool:
    return path.is_dir() and (path / ORGANIZATIONS).is_file()


def _entries(run: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads((run / ORGANIZATIONS).read_text("utf-8"))
        return {str(e["label"]): e for e in doc["organizations"]}
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(str(run / ORGANIZATIONS), f"not a multi-organization run: {exc}") from exc


def earlier_directories(run: Path) -> dict[str, Path]:
    """Each organization assessed in an earlier multi-organization run: its directory there."""
    if not is_combined_run(run):
        raise ConfigError(str(run), f"not an earlier multi-organization run (no {ORGANIZATIONS})",
                          hint="with organizations:, --baseline takes the directory of an "
                               "earlier run over them; compare one organization's directories "
                               "with `orgscan diff OLD NEW`")
    return {label: run / str(e["directory"]) for label, e in _entries(run).items()
            if e["status"] != "NOT_ASSESSED"}


def write_combined_diff(old: Path, new: Path) -> list[Path]:
    """``diff.json`` and ``diff.md`` beside ``new``'s organizations.json."""
    d = diff_combined(old, new)
    md = write_text(new / "diff.md", combined_diff_markdown(d))
    return [write_json(new / "diff.json", d), md]


def diff_combined(old: Path, new: Path) -> dict[str, Any]:
    a, b = _entries(old), _entries(new)
    per_org: dict[str, Any] = {}
    status: list[dict[str, Any]] = []
    for label in [lb for lb in b if lb in a]:
        was, now = a[label], b[label]
        if (was["status"], was["organization_id"]) != (now["status"], now["organization_id"]):
            status.append({"label": label, "old": was["status"], "new": now["status"],
                           "old_organization_id": was["organization_id"],
                           "new_organization_id": now["organization_id"],
                           "reason": now["reason"]})
        if was["status"] != "NOT_ASSESSED" and now["status"] != "NOT_ASSESSED":
            per_org[label] = diff_paths(old / was["directory"], new / now["directory"])
    return {
        "old": str(old), "new": str(new),
        "organizations_added": [lb for lb in b if lb not in a],
        "organizations_removed": [lb for lb in a if lb not in b],
        "status_changed": status,
        "organizations": per_org,
    }


def combined_diff_markdown(d: Mapping[str, Any]) -> str:
    lines = ["# orgscan diff: several organizations", "",
             f"Old: {md_cell(d['old'])}  ", f"New: {md_cell(d['new'])}", ""]
    for title, key in (("Organizations added", "organizations_added"),
                       ("Organizations removed", "organizations_removed")):
        lines.append(f"{title}: " + (", ".join(md_cell(x) for x in d[key]) or "none"))
    for s in d["status_changed"]:
        lines.append(f"- {md_cell(s['label'])}: {s['old']} -> {s['new']}"
                     + (f" ({md_cell(s['reason'])})" if s["reason"] else ""))
    for label, one in d["organizations"].items():
        # Each organization's own diff, its headings one level down.
        body = diff_markdown(one).replace("\n## ", "\n### ").replace("# orgscan diff", "",
                                                                     1).strip()
        lines += ["", f"## {md_cell(label)}", "", body]
    return "\n".join(lines) + "\n"

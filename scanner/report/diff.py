"""What changed between two scans: findings, root use, coverage, per OU (``orgscan diff``,
and ``diff.json`` / ``diff.md`` beside a scan run with ``--baseline OLD``).

A finding is identified by (rule id, account id, resource, region). Each identity present in
either scan lands in exactly one class:

- ``new``: FAIL now, and absent or not FAIL before (a regression PASS -> FAIL is new);
- ``resolved``: FAIL before, PASS or NOT_APPLICABLE now (a decision that it is fixed);
- ``changed``: in both, any other change of status, severity or exception (FAIL -> ERROR or
  FAIL -> NOT_ASSESSED is *not* resolved: unknown never passes; FAIL -> MUTED is accepted,
  not fixed);
- ``removed``: only in the old scan (rule dropped, account out of scope): not resolved;
- ``added``: only in the new scan, and not FAIL (a new rule or account that passes);
- otherwise unchanged (counted).

Root use compares ``root.usage.used_in_window``: ``started`` (true now, not true before,
including unknown before), ``stopped`` (true before, false now), ``became_unknown``.
Coverage lists every account whose coverage differs (absent counts as ``null``).

Inputs are scan output directories (findings.json, coverage.json, and journal.jsonl for root
use) or evidence bundles (directory or zip).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.core.errors import ConfigError
from scanner.core.results import JOURNAL_NAME, ScanResult
from scanner.report.bundle import bundle_names, is_bundle, read_bundle_file
from scanner.report.core import findings_json
from scanner.report.files import write_json
from scanner.report.rollup import root_used

DIFF_SCHEMA_VERSION = "1.0"
CLASSES = ("new", "resolved", "changed", "removed", "added")
_RESOLVED_TO = ("PASS", "NOT_APPLICABLE")

Key = tuple[str, str, str, str, int]


@dataclass(frozen=True)
class Snapshot:
    """The parts of one scan a diff compares."""

    source: str
    scan: Mapping[str, Any]
    findings: tuple[Mapping[str, Any], ...]
    accounts: Mapping[str, Mapping[str, Any]]  # id -> {name, ou_path, coverage, reason}
    root_usage: Mapping[str, bool | None]  # id -> used_in_window; None: unknown


def snapshot_of(result: ScanResult, source: str = "this scan") -> Snapshot:
    return Snapshot(
        source=source,
        scan=findings_json(result)["scan"] | {"organization_id": result.org.id},
        findings=tuple(f.to_json() for f in result.findings),
        accounts={r.account.id: {"name": r.account.name, "ou_path": r.account.ou_path,
                                 "coverage": r.coverage.value, "reason": r.reason}
                  for r in result.accounts},
        root_usage={r.account.id: root_used(r) for r in result.accounts})


def _used(usage: Any) -> bool | None:
    if isinstance(usage, Mapping) and isinstance(usage.get("used_in_window"), bool):
        return bool(usage["used_in_window"])
    return None


def _json(data: bytes | None, where: str) -> Any:
    if data is None:
        raise ConfigError(where, "missing: not a scan output directory or evidence bundle")
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ConfigError(where, f"not valid JSON: {exc}") from exc


def _journal_usage(path: Path) -> Iterator[tuple[str, bool | None]]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            try:
                account = json.loads(line).get("account")
            except ValueError:
                continue  # a line cut short by a kill
            if isinstance(account, dict):
                yield account["account"]["id"], _used(account.get("facts", {}).get("root.usage"))


def _from_parts(source: str, findings: Any, coverage: Any,
                usage: Mapping[str, bool | None]) -> Snapshot:
    try:
        accounts = {a["account_id"]: {"name": a.get("name", ""), "ou_path": a.get("ou_path", ""),
                                      "coverage": a["coverage"], "reason": a.get("reason", "")}
                    for a in coverage["accounts"]}
        return Snapshot(source, dict(findings["scan"]), tuple(findings["findings"]), accounts,
                        {a: usage.get(a) for a in accounts})
    except (KeyError, TypeError) as exc:
        raise ConfigError(source, f"not an orgscan output: missing {exc}") from exc


def load_snapshot(path: Path) -> Snapshot:
    """A scan output directory, or an evidence bundle (directory or zip)."""
    if not path.exists():
        raise ConfigError(str(path), "no such file or directory")
    if is_bundle(path):
        findings = _json(read_bundle_file(path, "reports/findings.json"),
                         f"{path}: reports/findings.json")
        coverage = _json(read_bundle_file(path, "reports/coverage.json"),
                         f"{path}: reports/coverage.json")
        usage: dict[str, bool | None] = {}
        for name in bundle_names(path):
            m = re.fullmatch(r"evidence/(\d{12})\.json", name)
            if m:
                ev = _json(read_bundle_file(path, name), f"{path}: {name}")
                usage[m.group(1)] = _used(ev.get("root_usage"))
        return _from_parts(str(path), findings, coverage, usage)
    if not path.is_dir():
        raise ConfigError(str(path), "not a scan output directory or evidence bundle")
    findings = _json(_read(path / "findings.json"), str(path / "findings.json"))
    coverage = _json(_read(path / "coverage.json"), str(path / "coverage.json"))
    journal = path / JOURNAL_NAME
    usage = dict(_journal_usage(journal)) if journal.is_file() else {}
    return _from_parts(str(path), findings, coverage, usage)


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.is_file() else None


# --- comparing ------------------------------------------------------------------------------

def _index(findings: Iterable[Mapping[str, Any]]) -> dict[Key, Mapping[str, Any]]:
    out: dict[Key, Mapping[str, Any]] = {}
    seen: dict[tuple[str, str, str, str], int] = {}
    for f in findings:
        base = (str(f["rule_id"]), str(f["account_id"]), str(f["resource"]), str(f["region"]))
        n = seen.get(base, 0)  # the same identity twice in one scan: kept apart by order
        seen[base] = n + 1
        out[(*base, n)] = f
    return out


def _entry(key: Key, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
           ) -> dict[str, Any]:
    cur = new if new is not None else old
    assert cur is not None
    return {
        "rule_id": key[0], "account_id": key[1], "resource": key[2], "region": key[3],
        "account_name": cur.get("account_name", ""), "ou_path": cur.get("ou_path", ""),
        "title": cur.get("title", ""),
        "old_status": old["status"] if old else None, "new_status": new["status"] if new else None,
        "old_severity": old["severity"] if old else None,
        "new_severity": new["severity"] if new else None,
        "old_muted_by": old.get("muted_by") if old else None,
        "new_muted_by": new.get("muted_by") if new else None,
        "message": cur.get("message", ""),
    }


def classify(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> str | None:
    """The class of one identity (see the module docstring); None when unchanged."""
    o = old["status"] if old else None
    n = new["status"] if new else None
    if n == "FAIL" and o != "FAIL":
        return "new"
    if o == "FAIL" and n in _RESOLVED_TO:
        return "resolved"
    if new is None:
        return "removed"
    if old is None:
        return "added"
    if (o != n or old.get("severity") != new.get("severity")
            or old.get("muted_by") != new.get("muted_by")):
        return "changed"
    return None


def _prefixes(ou_path: str) -> list[str]:
    parts = ou_path.split("/") if ou_path else []
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def diff(old: Snapshot, new: Snapshot) -> dict[str, Any]:
    old_f, new_f = _index(old.findings), _index(new.findings)
    findings: dict[str, list[dict[str, Any]]] = {c: [] for c in CLASSES}
    unchanged = 0
    for key in sorted(set(old_f) | set(new_f)):
        cls = classify(old_f.get(key), new_f.get(key))
        if cls is None:
            unchanged += 1
        else:
            findings[cls].append(_entry(key, old_f.get(key), new_f.get(key)))

    def account(aid: str) -> dict[str, Any]:
        a = new.accounts.get(aid) or old.accounts.get(aid) or {}
        return {"account_id": aid, "name": a.get("name", ""), "ou_path": a.get("ou_path", "")}

    ids = sorted(set(old.accounts) | set(new.accounts))
    started, stopped, unknown = [], [], []
    for aid in ids:
        was, now = old.root_usage.get(aid), new.root_usage.get(aid)
        row = {**account(aid), "old": was, "new": now}
        if now is True and was is not True:
            started.append(row)
        elif was is True and now is False:
            stopped.append(row)
        elif was is not None and now is None and aid in new.accounts:
            unknown.append(row)
    coverage = []
    for aid in ids:
        o, n = old.accounts.get(aid), new.accounts.get(aid)
        oc, nc = (o or {}).get("coverage"), (n or {}).get("coverage")
        if oc != nc:
            coverage.append({**account(aid), "old": oc, "new": nc,
                             "reason": (n or {}).get("reason", "")})

    by_ou: dict[str, dict[str, int]] = {}

    def count(ou_path: str, what: str) -> None:
        for p in _prefixes(ou_path):
            row = by_ou.setdefault(p, dict.fromkeys(
                (*CLASSES, "root_started", "root_stopped", "coverage_changed"), 0))
            row[what] += 1

    for cls, rows in findings.items():
        for r in rows:
            count(r["ou_path"], cls)
    for what, rows in (("root_started", started), ("root_stopped", stopped),
                       ("coverage_changed", coverage)):
        for r in rows:
            count(r["ou_path"], what)

    warnings = []
    if old.scan.get("organization_id") != new.scan.get("organization_id"):
        warnings.append(f"the scans are of different organizations "
                        f"({old.scan.get('organization_id')} vs {new.scan.get('organization_id')})")
    for label, snap in (("old", old), ("new", new)):
        if snap.scan.get("complete") is False:
            warnings.append(f"the {label} scan is incomplete: some accounts were not assessed")
        if snap.accounts and all(v is None for v in snap.root_usage.values()):
            warnings.append(f"the {label} scan holds no root-usage records (no journal or "
                            "evidence): root use reads as unknown")
    return {
        "schema_version": DIFF_SCHEMA_VERSION,
        "old": _meta(old), "new": _meta(new),
        "warnings": warnings,
        "summary": {**{c: len(findings[c]) for c in CLASSES}, "unchanged": unchanged,
                    "root_started": len(started), "root_stopped": len(stopped),
                    "root_became_unknown": len(unknown), "coverage_changed": len(coverage)},
        "findings": findings,
        "root_usage": {"started": started, "stopped": stopped, "became_unknown": unknown},
        "coverage": coverage,
        "by_ou": dict(sorted(by_ou.items())),
    }


def _meta(s: Snapshot) -> dict[str, Any]:
    return {"source": s.source, "scan_id": s.scan.get("scan_id"),
            "started": s.scan.get("started"), "organization_id": s.scan.get("organization_id"),
            "complete": s.scan.get("complete"), "accounts": len(s.accounts)}


def _under(path: str, ou_path: str) -> bool:
    return path == ou_path or path.startswith(ou_path + "/")


def restrict_snapshot(s: Snapshot, ou_path: str) -> Snapshot:
    """The snapshot limited to the accounts under ``ou_path`` (organization findings kept),
    so that a scan run with ``--ou`` is compared with the same part of its baseline."""
    ou_path = ou_path.strip().rstrip("/")
    accounts = {a: v for a, v in s.accounts.items() if _under(str(v.get("ou_path", "")), ou_path)}
    return Snapshot(
        source=f"{s.source} (under {ou_path})", scan=s.scan,
        findings=tuple(f for f in s.findings if f.get("scope") == "organization"
                       or _under(str(f.get("ou_path", "")), ou_path)),
        accounts=accounts, root_usage={a: s.root_usage.get(a) for a in accounts})


def diff_against(old_dir: Path, result: ScanResult, ou_path: str | None = None
                 ) -> dict[str, Any]:
    """``--baseline OLD``: this scan compared with an earlier scan's outputs or bundle.
    ``ou_path`` (a path or an OU id, as given to ``--ou``) limits the baseline to the same
    subtree as ``result``."""
    old = load_snapshot(old_dir)
    if ou_path is not None:
        by_id = {u.id: u.path for u in result.org.units}
        old = restrict_snapshot(old, by_id.get(ou_path, ou_path))
    return diff(old, snapshot_of(result))


def diff_paths(old: Path, new: Path, ou_path: str | None = None) -> dict[str, Any]:
    a, b = load_snapshot(old), load_snapshot(new)
    if ou_path is not None:
        a, b = restrict_snapshot(a, ou_path), restrict_snapshot(b, ou_path)
    return diff(a, b)


# --- Markdown -------------------------------------------------------------------------------

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
    md.write_text(diff_markdown(d), encoding="utf-8")
    return [write_json(out / "diff.json", d), md]

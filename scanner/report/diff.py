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

This module compares two loaded snapshots and nothing else: ``diffload`` reads them from scan
output directories or evidence bundles, ``diffrender`` writes diff.md and diff.json.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.core.audit_report import root_used
from scanner.core.results import ScanResult
from scanner.report.core import findings_head

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
        scan=findings_head(result)["scan"] | {"organization_id": result.org.id},
        findings=tuple(f.to_json() for f in result.findings),
        accounts={r.account.id: {"name": r.account.name, "ou_path": r.account.ou_path,
                                 "coverage": r.coverage.value, "reason": r.reason}
                  for r in result.accounts},
        root_usage={r.account.id: root_used(r) for r in result.accounts})


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
    # Every key comes from one scan or both: the newer side names the finding.
    cur: Mapping[str, Any] = new if new is not None else old if old is not None else {}
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


__all__ = ["CLASSES", "DIFF_SCHEMA_VERSION", "Snapshot", "classify", "diff", "restrict_snapshot",
           "snapshot_of"]

"""Per-OU roll-ups: every root and OU with the accounts, findings, compliance and root use of
its whole subtree; and ``restrict`` for reports limited to one OU (``--ou PATH``).

Definitions (docs/auditing.md repeats them for auditors):

- Accounts: every in-scope account under the unit, by coverage (assessed / partial /
  not assessed); accounts walked but filtered out by the config are counted apart.
- Compliance: ``passed / (passed + failed + errors)`` over the account-scope findings of the
  subtree. ERROR is in the denominator (an undecided control is not a pass), NOT_ASSESSED and
  NOT_APPLICABLE are not (they are counted and shown, and not-assessed accounts have their own
  column). MUTED (a FAIL accepted by an exception) is out of ``percent`` and counted as a
  failure in ``percent_strict``. No decision at all gives ``null``, never 100.
- Organization-scope findings count in the root only (they are about the organization).
- Root use: ``root.usage.used_in_window`` true / false; anything else (the fact missing, a
  collection error, null, an account not assessed) is unknown and counted apart.
- Worst offenders: accounts with the most critical, then high, FAIL findings.

PURE apart from the writer at the bottom.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import networkx as nx

from scanner.core import graph as orggraph
from scanner.core.errors import ConfigError
from scanner.core.frameworks import frameworks_of, summarize
from scanner.core.models import Finding, Organization, Severity, Status
from scanner.core.results import AccountResult, Coverage, ScanResult
from scanner.report.csvout import write_csv
from scanner.report.files import write_json

OU_SUMMARY_SCHEMA_VERSION = "1.0"
WORST_OFFENDERS = 5
STATUSES = tuple(s.value for s in Status)
SEVERITIES = tuple(s.value for s in Severity)


def root_used(r: AccountResult) -> bool | None:
    """``root.usage.used_in_window`` when known; None for unknown (absent, error, null)."""
    usage = r.facts.get("root.usage")
    if not isinstance(usage, Mapping):
        return None
    used = usage.get("used_in_window")
    return used if isinstance(used, bool) else None


def compliance(counts: Mapping[str, int]) -> dict[str, Any]:
    """The compliance block for one set of status counts (see the module docstring)."""
    passed = counts.get("PASS", 0)
    failed = counts.get("FAIL", 0)
    errors = counts.get("ERROR", 0)
    muted = counts.get("MUTED", 0)
    decisions = passed + failed + errors
    strict = decisions + muted
    return {
        "passed": passed, "failed": failed, "errors": errors, "muted": muted,
        "not_assessed": counts.get("NOT_ASSESSED", 0),
        "not_applicable": counts.get("NOT_APPLICABLE", 0),
        "decisions": decisions,
        "percent": round(100.0 * passed / decisions, 1) if decisions else None,
        "percent_strict": round(100.0 * passed / strict, 1) if strict else None,
    }


def _unit_findings(findings: Iterable[Finding]) -> dict[str, Any]:
    fs = list(findings)
    by_status = Counter(f.status.value for f in fs)
    by_severity: dict[str, dict[str, int]] = {s: dict.fromkeys(STATUSES, 0) for s in SEVERITIES}
    by_rule: dict[str, Counter[str]] = {}
    for f in fs:
        by_severity[f.severity.value][f.status.value] += 1
        by_rule.setdefault(f.rule_id, Counter())[f.status.value] += 1
    controls: dict[str, dict[str, Any]] = {}
    for fw in frameworks_of(fs):
        controls[fw] = {}
        for s in summarize(fs, fw):
            counts = {k.value: v for k, v in s.counts.items()}
            controls[fw][s.control] = {"status": s.status.value, "rule_ids": list(s.rule_ids),
                                       **compliance(counts)}
    return {
        "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        "by_severity": by_severity,
        "compliance": compliance(by_status),
        "by_rule": {rule: {"counts": {s: c.get(s, 0) for s in STATUSES}, **compliance(c)}
                    for rule, c in sorted(by_rule.items())},
        "by_control": controls,
    }


def _offenders(results: Sequence[AccountResult], limit: int) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for r in results:
        crit = sorted({f.rule_id for f in r.findings
                       if f.status is Status.FAIL and f.severity is Severity.CRITICAL})
        high = sorted({f.rule_id for f in r.findings
                       if f.status is Status.FAIL and f.severity is Severity.HIGH})
        n_crit = sum(f.status is Status.FAIL and f.severity is Severity.CRITICAL
                     for f in r.findings)
        n_high = sum(f.status is Status.FAIL and f.severity is Severity.HIGH for f in r.findings)
        if n_crit or n_high:
            rows.append({"account_id": r.account.id, "name": r.account.name,
                         "ou_path": r.account.ou_path, "critical_fails": n_crit,
                         "high_fails": n_high, "failing_rules": crit + high})
    rows.sort(key=lambda x: (-x["critical_fails"], -x["high_fails"], x["account_id"]))
    return rows[:limit]


def ou_rollups(result: ScanResult, *, worst: int = WORST_OFFENDERS) -> list[dict[str, Any]]:
    """One roll-up per root and OU, parents before children (the walk's order)."""
    g = orggraph.build(result.org)
    by_id = {r.account.id: r for r in result.accounts}
    out_of_scope = set(result.out_of_scope)
    units = []
    for u in result.org.units:
        under = orggraph.accounts_under(g, u.id)
        results = [by_id[a] for a in under if a in by_id]
        findings: list[Finding] = [f for r in results for f in r.findings]
        if u.is_root:
            findings = [*result.org_findings, *findings]
        cov = Counter(r.coverage.value for r in results)
        used = {r.account.id: root_used(r) for r in results}
        units.append({
            "id": u.id, "name": u.name, "path": u.path, "kind": "root" if u.is_root else "ou",
            "parent_id": u.parent_id, "depth": u.path.count("/"),
            "accounts": {"total": len(results), **{c.value: cov.get(c.value, 0) for c in Coverage},
                         "out_of_scope": sum(a in out_of_scope for a in under)},
            "not_assessed_accounts": [
                {"account_id": r.account.id, "name": r.account.name,
                 "coverage": r.coverage.value, "reason": r.reason}
                for r in results if r.coverage is not Coverage.ASSESSED],
            "root_usage": {
                "using_root": sum(v is True for v in used.values()),
                "not_using_root": sum(v is False for v in used.values()),
                "unknown": sum(v is None for v in used.values()),
                "accounts_using_root": sorted(a for a, v in used.items() if v is True),
                "accounts_unknown": sorted(a for a, v in used.items() if v is None),
            },
            "findings": _unit_findings(findings),
            "worst_offenders": _offenders(results, worst),
        })
    return units


def ou_summary_json(result: ScanResult) -> dict[str, Any]:
    return {
        "schema_version": OU_SUMMARY_SCHEMA_VERSION,
        "scan": {"scan_id": result.scan_id, "organization_id": result.org.id,
                 "started": result.started, "finished": result.finished,
                 "complete": result.complete, "interrupted": result.interrupted,
                 "lookback_days": result.lookback_days,
                 "regions": list(result.regions) if result.regions else "all enabled"},
        "definitions": {
            "percent": "PASS / (PASS + FAIL + ERROR) over account findings of the subtree; "
                       "MUTED, NOT_APPLICABLE and NOT_ASSESSED excluded; null when no decision",
            "percent_strict": "PASS / (PASS + FAIL + ERROR + MUTED): accepted risks count "
                              "as failures",
            "root_usage": "root.usage.used_in_window; unknown when absent, null or an error",
            "organization_findings": "counted in the root unit only",
        },
        "units": ou_rollups(result),
    }


# --- CSV ------------------------------------------------------------------------------------

CSV_COLUMNS = (
    "path", "id", "kind", "accounts_total", "assessed", "partial", "not_assessed",
    "out_of_scope", *STATUSES, *(f"fail_{s}" for s in SEVERITIES),
    "compliance_percent", "compliance_percent_strict", "accounts_using_root",
    "accounts_root_unknown", "using_root_ids", "worst_offenders",
)


def ou_summary_rows(units: Sequence[Mapping[str, Any]]) -> list[tuple[object, ...]]:
    """One row per unit, CSV_COLUMNS order (raw values: ``write_csv`` makes them safe)."""
    rows = []
    for u in units:
        acc, fnd, ru = u["accounts"], u["findings"], u["root_usage"]
        rows.append((
            u["path"], u["id"], u["kind"], acc["total"], acc["assessed"], acc["partial"],
            acc["not_assessed"], acc["out_of_scope"],
            *(fnd["by_status"][s] for s in STATUSES),
            *(fnd["by_severity"][s]["FAIL"] for s in SEVERITIES),
            fnd["compliance"]["percent"], fnd["compliance"]["percent_strict"],
            ru["using_root"], ru["unknown"], " ".join(ru["accounts_using_root"]),
            " ".join(o["account_id"] for o in u["worst_offenders"]),
        ))
    return rows


def write_ou_summary(result: ScanResult, out: Path) -> list[Path]:
    """``ou-summary.json`` and ``ou-summary.csv`` (schema: schemas/ou-summary.schema.json;
    the CSV is written the way every orgscan CSV is: csvout.write_csv)."""
    data = ou_summary_json(result)
    return [write_json(out / "ou-summary.json", data),
            write_csv(out / "ou-summary.csv", CSV_COLUMNS, ou_summary_rows(data["units"]))]


# --- --ou PATH ------------------------------------------------------------------------------

def _unit_by_path(org: Organization, ou_path: str) -> str:
    wanted = ou_path.strip().rstrip("/")
    for u in org.units:
        if u.path == wanted or u.id == wanted:
            return u.id
    known = ", ".join(u.path for u in org.units)
    raise ConfigError("--ou", f"no OU with path {ou_path!r}", hint=f"known: {known}")


def restrict(result: ScanResult, ou_path: str) -> ScanResult:
    """The scan as if the organization held only the subtree under ``ou_path`` (a path such
    as ``Root/Workloads/Prod``, or an OU id). Kept: the units above it (so paths and the graph
    stay whole), the organization-scope findings and facts. Dropped: accounts elsewhere, from
    the results, the organization's account list and the out-of-scope list."""
    org = result.org
    target = _unit_by_path(org, ou_path)
    g = orggraph.build(org)
    keep_units = set(orggraph.ancestors_path(g, target)) | set(nx.descendants(g, target))
    keep_units = {n for n in keep_units if g.nodes[n]["kind"] != "account"}
    keep_accounts = set(orggraph.accounts_under(g, target))
    new_org = replace(
        org,
        units=tuple(u for u in org.units if u.id in keep_units),
        accounts=tuple(a for a in org.accounts if a.id in keep_accounts))
    return replace(
        result, org=new_org,
        accounts=tuple(r for r in result.accounts if r.account.id in keep_accounts),
        out_of_scope=tuple(a for a in result.out_of_scope if a in keep_accounts))

"""Everything the reports say about one scan, derived once: ``build_audit_report``.

The writers (scanner/report) render an ``AuditReport`` and derive nothing: the organization graph,
the per-OU roll-ups, the root-usage records, the framework summaries and the coverage by OU are
computed here, once per run, so two outputs cannot tell two stories.

Per-OU roll-ups (ou-summary.json; docs/auditing.md repeats these definitions for auditors):

- Accounts: every in-scope account under the unit, by coverage (assessed / partial /
  not assessed); accounts walked but filtered out by the config are counted apart.
- Compliance: ``passed / (passed + failed + errors)`` over the account-scope findings of the
  subtree. ERROR is in the denominator (an undecided control is not a pass), NOT_ASSESSED and
  NOT_APPLICABLE are not (they are counted and shown, and not-assessed accounts have their own
  column). MUTED (a FAIL accepted by an exception) is out of ``percent`` and counted as a
  failure in ``percent_strict``. No decision at all gives ``null``, never 100.
- Organization-scope findings count in the root only (they are about the organization).
- Root use: the account's root-usage record (the one root-usage.json holds) says
  ``used_in_window`` true / false; anything else (null, a collection error, an account not
  assessed with no use proven) is unknown and counted apart.
- Worst offenders: accounts with the most critical, then high, FAIL findings.

PURE: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from scanner.core.errors import ConfigError
from scanner.core.frameworks import ControlSummary, frameworks_of, summarize
from scanner.core.models import Account, FactError, Finding, Organization, Severity, Status
from scanner.core.results import AccountResult, Coverage, ScanResult
from scanner.core.rootusage import Window, record_without_account_facts

if TYPE_CHECKING:
    import networkx as nx

# networkx and the organization graph (scanner.core.graph) are imported where a report is built,
# not with this module: a scan imports this at start-up, long before it has an organization.

WORST_OFFENDERS = 5
STATUSES = tuple(s.value for s in Status)
SEVERITIES = tuple(s.value for s in Severity)


@dataclass(frozen=True)
class RootUseRow:
    """One account in scope with its root-usage record and what the reports show beside it."""

    account: Account
    coverage: Coverage
    record: Mapping[str, Any]  # the ``root.usage`` record (``RootUsage.to_json()`` form)
    reason: str  # why use may be unknown: the fact's error, the record's notes, the account's

    @property
    def used(self) -> bool | None:
        """``used_in_window``; None (unknown) for anything but a boolean."""
        used = self.record.get("used_in_window")
        return used if isinstance(used, bool) else None


@dataclass(frozen=True)
class RootUse:
    """The root-usage records of every account in scope, and their ranking for the reports."""

    rows: tuple[RootUseRow, ...]  # one per account in scope, in the scan's order
    used: tuple[RootUseRow, ...]  # used in the window, newest use first
    unknown: tuple[RootUseRow, ...]  # neither used nor not used: never counted as not used
    not_used: tuple[RootUseRow, ...]
    sources: tuple[str, ...]  # every source named by some record, sorted
    window_start: str | None  # the window the reports state: the first in the order above


@dataclass(frozen=True)
class AuditReport:
    """One scan as every report renders it. Built by ``build_audit_report``, never by a writer."""

    result: ScanResult  # the scan as reported: exceptions applied, limited to ``ou``
    ou: str | None  # the --ou restriction as given (a path or an OU id), None for the whole org
    graph: nx.DiGraph  # the organization graph of ``result.org`` (core.graph)
    units: tuple[Mapping[str, Any], ...]  # per root and OU, parents first (ou-summary.json form)
    root_use: RootUse
    frameworks: Mapping[str, tuple[ControlSummary, ...]]  # org-wide, by framework name
    coverage_by_ou: Mapping[str, Mapping[str, int]]  # OU path -> coverage value -> accounts
    account_compliance: Mapping[str, Mapping[str, Any]]  # account id -> its compliance block
    findings_by_status: Mapping[Status, int]  # every status, zeros included
    fails_by_severity: Mapping[Severity, int]  # FAIL findings, every severity
    rules_digest: str | None = None  # the rule set's digest (core.rules.rules_digest), if known

    @property
    def root_unit(self) -> Mapping[str, Any] | None:
        return next((u for u in self.units if u["kind"] == "root"), None)


def build_audit_report(result: ScanResult, *, ou: str | None = None,
                       rules_digest: str | None = None) -> AuditReport:
    """The one model of ``result`` (limited to the subtree ``ou`` when given: see
    ``restrict``). The organization graph is built here, once. ``rules_digest`` names the rule
    set the scan evaluated (the reports that state versions print it)."""
    from scanner.core import graph as orggraph
    g = orggraph.build(result.org)
    if ou:
        result, g = _restrict(result, g, ou)
    findings = result.findings
    by_status = Counter(f.status for f in findings)
    fails = Counter(f.severity for f in findings if f.status is Status.FAIL)
    use = root_use(result)
    return AuditReport(
        result=result, ou=ou or None, graph=g,
        units=tuple(ou_rollups(result, g, use=use)),
        root_use=use,
        frameworks={fw: tuple(summarize(findings, fw)) for fw in frameworks_of(findings)},
        coverage_by_ou=coverage_by_ou(result, g),
        account_compliance={r.account.id: compliance(Counter(f.status.value for f in r.findings))
                            for r in result.accounts},
        findings_by_status={s: by_status.get(s, 0) for s in Status},
        fails_by_severity={s: fails.get(s, 0) for s in Severity},
        rules_digest=rules_digest,
    )


# --- coverage --------------------------------------------------------------------------------

def coverage_by_ou(result: ScanResult, g: nx.DiGraph | None = None) -> dict[str, dict[str, int]]:
    """Accounts in scope per root and OU path by coverage, each unit counting its whole subtree
    (the scope every per-OU count has: ou-summary, root-usage's by_ou); units without an
    account in scope are left out. ``g`` is the graph of ``result.org``."""
    from scanner.core import graph as orggraph
    g = orggraph.build(result.org) if g is None else g
    coverage = {r.account.id: r.coverage.value for r in result.accounts}
    out: dict[str, dict[str, int]] = {}
    for u in result.org.units:
        under = [coverage[a] for a in orggraph.accounts_under(g, u.id) if a in coverage]
        if under:
            out[u.path] = {c.value: under.count(c.value) for c in Coverage}
    return dict(sorted(out.items()))


# --- root use --------------------------------------------------------------------------------

def root_used(r: AccountResult) -> bool | None:
    """``root.usage.used_in_window`` when known; None for unknown (absent, error, null)."""
    usage = r.facts.get("root.usage")
    if not isinstance(usage, Mapping):
        return None
    used = usage.get("used_in_window")
    return used if isinstance(used, bool) else None


def root_usage_record(result: ScanResult, r: AccountResult) -> Mapping[str, Any]:
    """The account's ``root.usage`` fact or, where that could not be collected, a record from
    organization-level evidence or marked unknown (never "not used" for want of evidence)."""
    fact = r.facts.get("root.usage")
    if isinstance(fact, dict):
        return fact
    reason = fact.message if isinstance(fact, FactError) else (r.reason or "not collected")
    window = Window.ending(datetime.fromisoformat(result.started), result.lookback_days)
    return record_without_account_facts(r.account.id, result.org_facts, window,
                                        reason).to_json()


def _unknown_reason(r: AccountResult, record: Mapping[str, Any]) -> str:
    fact = r.facts.get("root.usage")
    if isinstance(fact, FactError):
        return f"{fact.code}: {fact.message}"
    notes = [str(n) for n in record.get("notes") or [] if n]
    return "; ".join(notes) or r.reason


def root_use(result: ScanResult) -> RootUse:
    rows = []
    for r in result.accounts:
        record = root_usage_record(result, r)
        rows.append(RootUseRow(r.account, r.coverage, record, _unknown_reason(r, record)))
    used = sorted((x for x in rows if x.used is True),
                  key=lambda x: str(x.record.get("last_used") or ""), reverse=True)
    unknown = [x for x in rows if x.used is None]
    not_used = [x for x in rows if x.used is False]
    ranked = used + unknown + not_used
    return RootUse(
        rows=tuple(rows), used=tuple(used), unknown=tuple(unknown), not_used=tuple(not_used),
        sources=tuple(sorted({s["name"] for x in rows for s in x.record.get("sources") or []})),
        window_start=next((x.record["window_start"] for x in ranked
                           if x.record.get("window_start")), None),
    )


# --- per-OU roll-ups -------------------------------------------------------------------------

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


def ou_rollups(result: ScanResult, g: nx.DiGraph, *, use: RootUse | None = None,
               worst: int = WORST_OFFENDERS) -> list[dict[str, Any]]:
    """One roll-up per root and OU, parents before children (the walk's order); ``g`` is the
    graph of ``result.org``. Root use is read from ``use`` (the report's root-usage records,
    so the per-OU summary and root-usage.json count the same accounts)."""
    from scanner.core import graph as orggraph
    by_id = {r.account.id: r for r in result.accounts}
    use_of = {row.account.id: row.used for row in (use or root_use(result)).rows}
    out_of_scope = set(result.out_of_scope)
    units = []
    for u in result.org.units:
        under = orggraph.accounts_under(g, u.id)
        results = [by_id[a] for a in under if a in by_id]
        findings: list[Finding] = [f for r in results for f in r.findings]
        if u.is_root:
            findings = [*result.org_findings, *findings]
        cov = Counter(r.coverage.value for r in results)
        used = {r.account.id: use_of.get(r.account.id) for r in results}
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
    from scanner.core import graph as orggraph
    return _restrict(result, orggraph.build(result.org), ou_path)[0]


def _restrict(result: ScanResult, g: nx.DiGraph,
              ou_path: str) -> tuple[ScanResult, nx.DiGraph]:
    """``restrict``, with the graph of the restricted organization cut from ``g`` (the whole
    organization's) rather than built again. Removing nodes keeps the others' order, so the cut
    is the graph ``orggraph.build`` would give for the restricted organization."""
    import networkx as nx

    from scanner.core import graph as orggraph
    org = result.org
    target = _unit_by_path(org, ou_path)
    keep_units = set(orggraph.ancestors_path(g, target)) | set(nx.descendants(g, target))
    keep_units = {n for n in keep_units if g.nodes[n]["kind"] != "account"}
    keep_accounts = set(orggraph.accounts_under(g, target))
    new_org = replace(
        org,
        units=tuple(u for u in org.units if u.id in keep_units),
        accounts=tuple(a for a in org.accounts if a.id in keep_accounts))
    cut = g.copy()
    cut.remove_nodes_from([n for n in g if n not in keep_units and n not in keep_accounts])
    restricted = replace(
        result, org=new_org,
        accounts=tuple(r for r in result.accounts if r.account.id in keep_accounts),
        out_of_scope=tuple(a for a in result.out_of_scope if a in keep_accounts))
    return restricted, cut


__all__ = [
    "SEVERITIES",
    "STATUSES",
    "WORST_OFFENDERS",
    "AuditReport",
    "RootUse",
    "RootUseRow",
    "build_audit_report",
    "compliance",
    "coverage_by_ou",
    "ou_rollups",
    "restrict",
    "root_usage_record",
    "root_use",
    "root_used",
]

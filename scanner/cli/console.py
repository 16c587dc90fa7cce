"""What a finished scan prints on the console: coverage by OU, findings by status, root use,
read from the same AuditReport the report files render."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from scanner.report.markdown import when

if TYPE_CHECKING:
    from scanner.core.audit_report import AuditReport
    from scanner.core.models import Finding
    from scanner.run.runner import RunOutcome


def print_summary(outcome: RunOutcome, out: Path) -> None:
    report = outcome.report
    result = report.result
    counts = result.coverage_counts()
    print(f"Organization {result.org.id}: {len(result.accounts)} account(s) in scope, "
          f"{counts['assessed']} assessed, {counts['partial']} partial, "
          f"{counts['not_assessed']} not assessed")
    print(f"  {'OU':40} {'accounts':>8} {'assessed':>8} {'partial':>8} {'not assessed':>13}")
    for path, row in report.coverage_by_ou.items():
        print(f"  {path:40} {sum(row.values()):>8} {row['assessed']:>8} {row['partial']:>8} "
              f"{row['not_assessed']:>13}")
    for r in result.accounts:
        if r.reason:
            print(f"  ! {r.account.id} {r.account.name} ({r.account.ou_path}): {r.reason}")
    by_status = sorted((s.value, n) for s, n in report.findings_by_status.items() if n)
    print("Findings: " + (", ".join(f"{k} {v}" for k, v in by_status) or "none"))
    _print_root_use(report)
    if outcome.exceptions is not None:
        c = outcome.exceptions.to_json()["counts"]
        print(f"Exceptions: {c['active']} active muting {c['muted_findings']} finding(s), "
              f"{c['expired']} expired, {c['stale']} stale (see exceptions-report.json)")
    if result.interrupted:
        print("INCOMPLETE: the scan was interrupted; rerun with --resume to finish it.")
    elif not result.complete:
        print("INCOMPLETE: " + ", ".join(result.incomplete_reasons())
              + "; not every verdict was decided.")
    print(f"Reports in {out}/" + (f"; evidence bundle {outcome.bundle_dir}/ (+ .zip)"
                                  if outcome.bundle_dir else ""))


def _print_root_use(report: AuditReport) -> None:
    """The headline: which accounts used root in the window, newest first (the root-usage
    records of report.md and root-usage.json)."""
    used, unknown = report.root_use.used, report.root_use.unknown
    print(f"Root used in the last {report.result.lookback_days} days: {len(used)} account(s)"
          + (f", unknown for {len(unknown)}" if unknown else ""))
    for row in used:
        channels = ",".join(row.record.get("channels") or []) or "-"
        # In UTC, saying so: the terminal's reader may be in any time zone.
        print(f"  {row.account.id} {row.account.name:24} {row.account.ou_path:32} "
              f"last {when(row.record.get('last_used'))} via {channels}")


def print_framework_summary(findings: Sequence[Finding], framework: str, out: Path, *,
                            title: str) -> None:
    """``--framework``: the control summary of ``findings``, printed under ``title`` and
    written as ``out/framework-<name>.json``."""
    import json

    from scanner.core.frameworks import format_summary, summarize
    from scanner.report.files import write_text

    summaries = summarize(findings, framework)
    print(f"\n{title}:")
    print(format_summary(summaries))
    write_text(out / f"framework-{framework}.json",
               json.dumps([s.to_json() for s in summaries], indent=2) + "\n")

"""What a finished scan prints on the console: coverage by OU, findings by status, root use."""

from __future__ import annotations

from pathlib import Path

from scanner.core.results import ScanResult
from scanner.run.runner import RunOutcome


def print_summary(outcome: RunOutcome, out: Path) -> None:
    from scanner.report.coverage import summary_by_ou

    result = outcome.result
    counts = result.coverage_counts()
    print(f"Organization {result.org.id}: {len(result.accounts)} account(s) in scope, "
          f"{counts['assessed']} assessed, {counts['partial']} partial, "
          f"{counts['not_assessed']} not assessed")
    print(f"  {'OU':40} {'accounts':>8} {'assessed':>8} {'partial':>8} {'not assessed':>13}")
    for path, row in summary_by_ou(result).items():
        print(f"  {path:40} {sum(row.values()):>8} {row['assessed']:>8} {row['partial']:>8} "
              f"{row['not_assessed']:>13}")
    for r in result.accounts:
        if r.reason:
            print(f"  ! {r.account.id} {r.account.name} ({r.account.ou_path}): {r.reason}")
    by_status: dict[str, int] = {}
    for f in result.findings:
        by_status[f.status.value] = by_status.get(f.status.value, 0) + 1
    print("Findings: " + (", ".join(f"{k} {v}" for k, v in sorted(by_status.items())) or "none"))
    _print_root_use(result)
    if outcome.exceptions is not None:
        c = outcome.exceptions.to_json()["counts"]
        print(f"Exceptions: {c['active']} active muting {c['muted_findings']} finding(s), "
              f"{c['expired']} expired, {c['stale']} stale (see exceptions-report.json)")
    if result.interrupted:
        print("INCOMPLETE: the scan was interrupted; rerun with --resume to finish it.")
    print(f"Reports in {out}/" + (f"; evidence bundle {outcome.bundle_dir}/ (+ .zip)"
                                  if outcome.bundle_dir else ""))


def _print_root_use(result: ScanResult) -> None:
    """The headline: which accounts used root in the window, newest first."""
    used, unknown = [], []
    for r in result.accounts:
        u = r.facts.get("root.usage")
        if isinstance(u, dict) and u.get("used_in_window") is True:
            used.append((str(u.get("last_used") or ""), r, u))
        elif not isinstance(u, dict) or u.get("used_in_window") is None:
            unknown.append(r)
    print(f"Root used in the last {result.lookback_days} days: {len(used)} account(s)"
          + (f", unknown for {len(unknown)}" if unknown else ""))
    for last, r, u in sorted(used, key=lambda x: x[0], reverse=True):
        channels = ",".join(u.get("channels") or []) or "-"
        print(f"  {r.account.id} {r.account.name:24} {r.account.ou_path:32} "
              f"last {last[:19] or '?'} via {channels}")

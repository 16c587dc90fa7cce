"""`orgscan scan` over a config's ``organizations:`` list: the run, the combined summary and
the exit code of several organizations."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from scanner.cli.exits import (
    EXIT_AWS,
    EXIT_BUNDLE,
    EXIT_FINDINGS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_PARTIAL,
    exit_code,
    signal_code,
)
from scanner.core.errors import ConfigError

if TYPE_CHECKING:
    from scanner.run.multiorg import MultiOutcome


def scan_many(args: argparse.Namespace, overrides: dict[str, Any]) -> int:
    """``args``: `orgscan scan`'s."""
    from scanner.run.multiorg import check_options, run_many
    from scanner.run.orgconfig import has_organizations, load_organizations
    from scanner.run.runner import RunOptions

    if args.config is None or not has_organizations(args.config):
        where = args.config or "no --config given"
        raise ConfigError("--organization", f"the config ({where}) lists no organizations")
    opts = RunOptions(resume=args.resume, quiet=args.quiet, ou=args.ou,
                      baseline=args.baseline, bundle=not args.no_bundle)
    check_options(opts, args.shard)  # --framework: checked by cli.scan before
    base, orgs = load_organizations(args.config, only=tuple(args.organizations or ()),
                                    **overrides)
    outcome = run_many(base, orgs, opts)
    print_combined_summary(outcome)
    for framework in args.frameworks or ():
        print_framework_summaries(outcome, framework)
    if opts.baseline is not None:
        print_combined_diff(outcome)
    return multi_exit_code(outcome, args.fail_on)


def print_framework_summaries(outcome: MultiOutcome, framework: str) -> None:
    """``--framework``: each organization's control summary (printed, and written as its
    ``framework-<name>.json`` as a one-organization scan writes it), then the combined one over
    every organization assessed (the combined ``framework-<name>.json`` names them and those
    not assessed, whose controls it does not cover)."""
    from scanner.cli.console import print_framework_summary
    from scanner.core.frameworks import format_summary, summarize
    from scanner.report.files import write_json

    findings = []
    for r in outcome.orgs:
        if r.outcome is None:
            print(f"\n{framework}, {r.label}: not assessed ({r.reason})")
            continue
        print_framework_summary(r.outcome.result.findings, framework,
                                outcome.out_dir / r.label, title=f"{framework}, {r.label}")
        findings += r.outcome.result.findings
    combined = summarize(findings, framework)
    assessed = [r.label for r in outcome.orgs if r.outcome is not None]
    print(f"\n{framework}, every organization assessed ({', '.join(assessed) or 'none'}):")
    print(format_summary(combined))
    write_json(outcome.out_dir / f"framework-{framework}.json", {
        "framework": framework, "organizations": assessed,
        "not_assessed": [r.label for r in outcome.orgs if r.outcome is None],
        "controls": [s.to_json() for s in combined]})


def print_combined_diff(outcome: MultiOutcome) -> None:
    """``--baseline``: the combined diff.json's headline (each organization's diff is in its
    own directory, all of them in the combined diff.md)."""
    import json

    d = json.loads((outcome.out_dir / "diff.json").read_text("utf-8"))
    added, removed = d["organizations_added"], d["organizations_removed"]
    print(f"\nAgainst {d['old']}: {len(added)} organization(s) added"
          + (f" ({', '.join(added)})" if added else "") + f", {len(removed)} removed"
          + (f" ({', '.join(removed)})" if removed else "")
          + f", {len(d['status_changed'])} changed status")
    for label, one in d["organizations"].items():
        s = one["summary"]
        print(f"  {label}: {s['new']} new, {s['resolved']} resolved, {s['changed']} changed; "
              f"root started {s['root_started']}, stopped {s['root_stopped']}")
    print(f"Diff in {outcome.out_dir}/diff.md and diff.json")


def print_combined_summary(outcome: MultiOutcome) -> None:
    """One line per organization, then the totals (organizations.json's numbers)."""
    import json

    doc = json.loads((outcome.out_dir / "organizations.json").read_text("utf-8"))
    print(f"{len(doc['organizations'])} organization(s):")
    print(f"  {'label':20} {'organization':16} {'status':13} {'accounts':>8} {'assessed':>8} "
          f"{'root used':>9} {'FAIL':>5}")
    for e in doc["organizations"]:
        status = e["status"] if e["complete"] or e["status"] == "NOT_ASSESSED" else \
            f"{e['status']}*"
        print(f"  {e['label']:20} {e['organization_id'] or '-':16} {status:13} "
              f"{e['coverage']['accounts']:>8} {e['coverage']['assessed']:>8} "
              f"{e['root_use']['accounts_using_root']:>9} {e['compliance']['failed']:>5}")
    for e in doc["organizations"]:
        if e["reason"]:
            print(f"  ! {e['label']}: {e['reason']}")
    for r in outcome.orgs:
        if r.bundle_error:
            print(f"  ! {r.label}: evidence bundle withheld: {r.bundle_error}")
    if not all(e["complete"] for e in doc["organizations"] if e["status"] == "ASSESSED"):
        print("  * assessed, with accounts not (fully) assessed: see its coverage.json")
    t = doc["totals"]
    print(f"Total: {t['coverage']['accounts']} account(s), {t['coverage']['assessed']} assessed, "
          f"{t['coverage']['partial']} partial, {t['coverage']['not_assessed']} not assessed; "
          f"root used in {t['root_use']['accounts_using_root']} account(s); "
          f"{t['compliance']['failed']} FAIL")
    if outcome.interrupted:
        print("INCOMPLETE: the run was interrupted; rerun with --resume to finish it.")
    combined = ", ".join(p.name for p in outcome.written)
    print(f"Reports in {outcome.out_dir}/ ({combined}) and one directory per organization; "
          f"`orgscan verify {outcome.out_dir}` checks them all")


def multi_exit_code(outcome: MultiOutcome, fail_on: str | None) -> int:
    """Interrupted first; then a withheld bundle; then an organization not assessed (all of
    them: nothing could be scanned, exit 4); then each organization's own code, the most
    serious first."""
    if outcome.interrupted:
        return signal_code(outcome.signum)
    if any(r.bundle_error for r in outcome.orgs):
        return EXIT_BUNDLE
    scanned = [r.outcome.result for r in outcome.orgs if r.outcome is not None]
    if not scanned:
        return EXIT_AWS
    if len(scanned) < len(outcome.orgs):
        return EXIT_PARTIAL
    codes = [exit_code(result, fail_on) for result in scanned]
    for code in (EXIT_INTERRUPTED, EXIT_PARTIAL, EXIT_FINDINGS):
        if code in codes:
            return code
    return max(codes, default=EXIT_OK)

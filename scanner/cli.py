"""orgscan's command line: subcommands and exit codes, nothing else."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from scanner import __version__
from scanner.aws import AwsSettings
from scanner.config import load_config
from scanner.errors import AwsError, ConfigError
from scanner.models import Severity, Status
from scanner.report.bundle import BundleError
from scanner.results import ScanResult
from scanner.runner import RunOptions, RunOutcome, load_selected_rules, run

EXIT_OK = 0
EXIT_FINDINGS = 1  # FAIL findings at or above --fail-on
EXIT_USAGE = 2  # bad arguments, config, rules or other input files
EXIT_PARTIAL = 3  # some accounts not (fully) assessed
EXIT_AWS = 4  # nothing could be scanned: no credentials, no organization, no endpoint
EXIT_BUNDLE = 5  # reports written, but the evidence bundle failed its secrets check
EXIT_INTERRUPTED = 130  # Ctrl-C; partial reports were written

ALL_FORMATS = ("json", "csv", "graph", "html", "markdown", "ocsf", "asff", "junit")

EXIT_CODES = f"""exit codes:
  {EXIT_OK}    scan complete; no FAIL at or above --fail-on
  {EXIT_FINDINGS}    FAIL findings at or above --fail-on
  {EXIT_USAGE}    usage, config or rule error (nothing was scanned)
  {EXIT_PARTIAL}    partial coverage: some accounts could not be (fully) assessed
  {EXIT_AWS}    AWS error before any account could be scanned
  {EXIT_BUNDLE}    reports written; the evidence bundle was withheld (it would hold a secret)
  {EXIT_INTERRUPTED}  interrupted; the reports written are marked incomplete"""


def _scan_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, help="config file (see config.example.yaml)")
    p.add_argument("--role-name", help="audit role in member accounts")
    p.add_argument("--region", action="append", dest="regions", metavar="REGION",
                   help="region to scan (repeatable; 'all' for every enabled region)")
    p.add_argument("--out", help="output directory")
    p.add_argument("--concurrency", type=int, help="accounts scanned at once")
    p.add_argument("--profile", help="AWS profile for the management credentials")
    p.add_argument("--endpoint-url", help="send every AWS call here (a simulator)")
    p.add_argument("--lookback-days", type=int, help="root-usage window in days")
    p.add_argument("--format", action="append", dest="formats", metavar="FORMAT",
                   help="output format (repeatable): json csv html markdown ocsf asff junit graph")
    p.add_argument("--fail-on", choices=[s.value for s in Severity],
                   help="exit 1 when a FAIL at or above this severity exists")
    p.add_argument("--ou", metavar="PATH",
                   help="limit every report to this OU subtree (path such as Root/Workloads, "
                        "or an OU id); the whole organization is still walked")
    p.add_argument("--exceptions", metavar="FILE",
                   help="accepted risks (mutelist) YAML: matching FAILs become MUTED")
    p.add_argument("--baseline", type=Path, metavar="OLD",
                   help="an earlier scan's output directory or bundle: write diff.json/diff.md")
    p.add_argument("--no-bundle", action="store_true",
                   help="do not write the evidence bundle (evidence-bundle/ and its zip)")
    p.add_argument("--framework", action="append", dest="frameworks", metavar="FRAMEWORK",
                   help="print each control's status across the org for this framework "
                        "(e.g. cis-aws-foundations-5.0) and write framework-<name>.json")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted scan from the journal in --out")
    p.add_argument("--shard", metavar="I/N",
                   help="scan only shard I of N (accounts split by a hash of their id); "
                        "combine the shards' --out directories with `orgscan merge`")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _overrides(args: argparse.Namespace) -> dict[str, object]:
    return {"role_name": args.role_name, "regions": args.regions, "out": args.out,
            "concurrency": args.concurrency, "profile": args.profile,
            "endpoint_url": args.endpoint_url, "lookback_days": args.lookback_days,
            "formats": args.formats, "exceptions": args.exceptions}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="orgscan",
        description="Audit root-user use and protection across an AWS Organization.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"orgscan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    scan = sub.add_parser("scan", help="scan the organization", epilog=EXIT_CODES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    _scan_options(scan)
    scan.set_defaults(func=cmd_scan)

    demo = sub.add_parser("demo", help="scan the built-in simulated organization",
                          epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--scenario", default="demo", help="bundled scenario name or YAML file")
    demo.add_argument("--out", default="orgscan-demo", help="output directory")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=cmd_demo)

    perms = sub.add_parser("permissions", help="print the least-privilege IAM policies a scan "
                           "needs, and write the audit role's StackSet template")
    perms.add_argument("--config", type=Path, help="config file (rule and source selection)")
    perms.add_argument("--role-name", help="audit role in member accounts")
    perms.add_argument("--management", action="store_true",
                       help="print the management credentials' policy instead")
    perms.add_argument("--deploy-dir", type=Path,
                       help="also write audit-role-stackset.json and both policies here")
    perms.set_defaults(func=cmd_permissions)

    from scanner import cli_merge, cli_report, cli_rules
    cli_rules.add_parser(sub)
    cli_report.add_parser(sub)
    cli_merge.add_parser(sub)
    from scanner.sim import cli as sim_cli  # the demo path: only the CLI imports the simulator
    sim_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        # Ctrl-C before the fan-out (walk, organization facts): no account was scanned.
        # During the fan-out the scan itself stops and writes partial reports instead.
        print("orgscan: interrupted before any account was scanned; no reports written",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


def exit_code(result: ScanResult, fail_on: str | None) -> int:
    if result.interrupted:
        return EXIT_INTERRUPTED
    if not result.complete:
        return EXIT_PARTIAL
    if fail_on is not None:
        floor = Severity(fail_on).rank
        if any(f.status is Status.FAIL and f.severity.rank >= floor for f in result.findings):
            return EXIT_FINDINGS
    return EXIT_OK


def cmd_scan(args: argparse.Namespace) -> int:
    config = load_config(args.config, **_overrides(args))
    if args.shard:
        from scanner.shard import parse_shard
        config = replace(config, shard=parse_shard(args.shard))
    _check_frameworks(args.frameworks or ())
    opts = RunOptions(resume=args.resume, quiet=args.quiet, ou=args.ou,
                      baseline=args.baseline, bundle=not args.no_bundle)
    try:
        outcome = run(config, opts)
    except AwsError as exc:
        print(f"orgscan: cannot scan: {exc}", file=sys.stderr)
        return EXIT_AWS
    except BundleError as exc:
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_BUNDLE
    result = outcome.result
    _print_summary(outcome, Path(config.output_dir))
    for framework in args.frameworks or ():
        _framework_summary(result, framework, Path(config.output_dir))
    return exit_code(result, args.fail_on)


def _check_frameworks(frameworks: Sequence[str]) -> None:
    from scanner.rules import KNOWN_FRAMEWORKS

    for framework in frameworks:
        if framework not in KNOWN_FRAMEWORKS:
            raise ConfigError("--framework", f"unknown framework {framework!r}",
                              hint=f"known: {', '.join(sorted(KNOWN_FRAMEWORKS))}")


def _framework_summary(result: ScanResult, framework: str, out: Path) -> None:
    import json

    from scanner.frameworks import format_summary, summarize

    summaries = summarize(result.findings, framework)
    print(f"\n{framework}:")
    print(format_summary(summaries))
    (out / f"framework-{framework}.json").write_text(
        json.dumps([s.to_json() for s in summaries], indent=2) + "\n", encoding="utf-8")


def cmd_demo(args: argparse.Namespace) -> int:
    from scanner.sim import SimServer

    t0 = time.monotonic()
    print("orgscan demo: starting the simulated organization ...", file=sys.stderr)
    with SimServer(args.scenario) as sim:
        creds = sim.credentials
        aws = AwsSettings(endpoint_url=sim.endpoint, region="us-east-1",
                          credentials=(creds["aws_access_key_id"], creds["aws_secret_access_key"]))
        # The demo shows every output orgscan can write, and reads the organization trail too
        # so that root use is reported even for the accounts it cannot assess.
        config = load_config(None, out=args.out, formats=ALL_FORMATS, root_usage_sources=[
            "credential_report", "event_history", "org_trail"])
        config = replace(config, aws=aws)
        print(f"orgscan demo: simulator up in {time.monotonic() - t0:.1f}s at {sim.endpoint}; "
              "scanning ...", file=sys.stderr)
        outcome = run(config, RunOptions(quiet=args.quiet))
    result = outcome.result
    _print_summary(outcome, Path(args.out))
    print(f"orgscan demo: done in {time.monotonic() - t0:.1f}s", file=sys.stderr)
    # The demo organization holds a suspended account and one without the audit role on
    # purpose, so its coverage is partial by design: a demo that ran to the end succeeded.
    # (`orgscan scan` keeps exit 3 for partial coverage.)
    if result.interrupted:
        return EXIT_INTERRUPTED
    print("orgscan demo: the 2 accounts not assessed are part of the demo (a suspended account "
          "and one without the audit role); a real scan would exit 3 here.", file=sys.stderr)
    return EXIT_OK


def cmd_permissions(args: argparse.Namespace) -> int:
    import json

    from scanner import permissions
    from scanner.engine import facts_needed

    config = load_config(args.config, role_name=args.role_name)
    acts = permissions.actions(facts_needed(load_selected_rules(config)),
                               config.collector_options,
                               all_regions=config.regions is None)
    role = config.aws.role_name
    member = permissions.member_policy(acts)
    management = permissions.management_policy(acts, role)
    print(json.dumps(management if args.management else member, indent=2))
    if args.deploy_dir is not None:
        args.deploy_dir.mkdir(parents=True, exist_ok=True)
        (args.deploy_dir / "audit-role-stackset.json").write_text(
            permissions.stackset_template(acts, role), encoding="utf-8")
        for name, doc in (("audit-role-policy.json", member),
                          ("management-policy.json", management)):
            (args.deploy_dir / name).write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
        print(f"orgscan: wrote the StackSet template and policies to {args.deploy_dir}/",
              file=sys.stderr)
        deployed = permissions.template_role_name(role)
        if deployed != role:
            print(f"orgscan: the template deploys the read-only role {deployed!r} (not "
                  f"{role!r}, which Organizations creates with admin rights): scan with "
                  f"--role-name {deployed}", file=sys.stderr)
    return EXIT_OK


def _print_summary(outcome: RunOutcome, out: Path) -> None:
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


if __name__ == "__main__":
    raise SystemExit(main())

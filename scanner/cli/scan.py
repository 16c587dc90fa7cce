"""`orgscan scan`: its options, and one audit run from them."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner.cli.exits import (
    EXIT_AWS,
    EXIT_BUNDLE,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_OUTPUT,
    exit_code,
    signal_code,
)
from scanner.core.errors import AwsError, ConfigError, OutputError
from scanner.core.models import Severity


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
                   help="output format (repeatable): json csv html markdown ocsf asff junit graph "
                        "pdf (pdf needs the orgscan[pdf] extra)")
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
    p.add_argument("--organization", action="append", dest="organizations", metavar="LABEL",
                   help="scan only this organization of the config's organizations: list "
                        "(repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress output")


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    return {"role_name": args.role_name, "regions": args.regions, "out": args.out,
            "concurrency": args.concurrency, "profile": args.profile,
            "endpoint_url": args.endpoint_url, "lookback_days": args.lookback_days,
            "formats": args.formats, "exceptions": args.exceptions}


def cmd_scan(args: argparse.Namespace) -> int:
    from scanner.run.orgconfig import has_organizations

    if getattr(args, "organizations", None) or has_organizations(args.config):
        # A config's organizations: list (or --organization): several organizations, one run.
        from scanner.cli.multiorg import scan_many
        check_frameworks(args.frameworks or ())
        from scanner.report.bundle import BundleError
        from scanner.run.interrupts import Interrupted
        from scanner.run.outlock import OutputLocked

        try:
            return scan_many(args, _overrides(args))
        except (AwsError, BundleError, OutputLocked, OutputError, Interrupted) as exc:
            return _failed(exc, Path(args.out or "."))
    # Imported here, not at module level: building the parser (``orgscan --help``, every other
    # subcommand) must not pay for the SDK, networkx and the report writers.
    from scanner.cli.console import print_framework_summary, print_summary
    from scanner.report.bundle import BundleError
    from scanner.run.config import load_config
    from scanner.run.interrupts import Interrupted, Stop
    from scanner.run.outlock import OutputLocked
    from scanner.run.runner import RunOptions, run

    config = load_config(args.config, **_overrides(args))
    if args.shard:
        from scanner.run.shard import parse_shard
        config = replace(config, shard=parse_shard(args.shard))
    check_frameworks(args.frameworks or ())
    opts = RunOptions(resume=args.resume, quiet=args.quiet, ou=args.ou,
                      baseline=args.baseline, bundle=not args.no_bundle)
    out = Path(config.output_dir)
    try:
        outcome = run(config, opts)
    except (AwsError, BundleError, OutputLocked, OutputError, Interrupted) as exc:
        return _failed(exc, out)
    result = outcome.result
    # The reports are written; a signal now cuts only the console summary short.
    with Stop().installed():
        try:
            print_summary(outcome, out)
            for framework in args.frameworks or ():
                print_framework_summary(result.findings, framework, out, title=framework)
        except Interrupted as exc:
            print(f"orgscan: interrupted ({exc}) after the reports were written to {out}/; "
                  "the summary printed here (and any --framework file) may be incomplete",
                  file=sys.stderr)
            return signal_code(exc.signum)
    if outcome.notice:
        print(f"orgscan: {outcome.notice}", file=sys.stderr)
    code = exit_code(result, args.fail_on)
    return signal_code(outcome.signum) if code == EXIT_INTERRUPTED else code


def _failed(exc: BaseException, out: Path) -> int:
    """One line on stderr for a run that ended without reports, and its exit code."""
    from scanner.core.results import JOURNAL_NAME
    from scanner.run.interrupts import Interrupted
    from scanner.run.outlock import OutputLocked

    if isinstance(exc, AwsError):
        # A failed call names it; a failure before any call (credentials) is code and message.
        print(f"orgscan: cannot scan: {exc if exc.operation else f'{exc.code}: {exc.message}'}",
              file=sys.stderr)
        return EXIT_AWS
    if isinstance(exc, OutputLocked):
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    if isinstance(exc, OutputError):
        kept = (out / JOURNAL_NAME).is_file()
        print(f"orgscan: {exc}" + ("; the journal keeps every account scanned (fix it and "
                                   "rerun with --resume)" if kept else ""), file=sys.stderr)
        return EXIT_OUTPUT
    if isinstance(exc, Interrupted):
        where = ("during the organization walk" if exc.stage == "walk"
                 else "before the scan began")
        print(f"orgscan: interrupted ({exc}) {where}: no account was scanned by this run and "
              "no reports were written", file=sys.stderr)
        return signal_code(exc.signum)
    print(f"orgscan: {exc}", file=sys.stderr)  # BundleError: the reports stand, no bundle
    return EXIT_BUNDLE


def check_frameworks(frameworks: Sequence[str]) -> None:
    """Every ``--framework`` names a framework the rules can map to (`scan`, `rules list`)."""
    from scanner.core.rules import KNOWN_FRAMEWORKS

    for framework in frameworks:
        if framework not in KNOWN_FRAMEWORKS:
            raise ConfigError("--framework", f"unknown framework {framework!r}",
                              hint=f"known: {', '.join(sorted(KNOWN_FRAMEWORKS))}")

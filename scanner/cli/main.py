"""orgscan's command line: subcommands and exit codes, nothing else."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from scanner import __version__
from scanner.cli.exits import DEMO_EXIT_CODES, EXIT_CODES, EXIT_INTERRUPTED, EXIT_OUTPUT, EXIT_USAGE
from scanner.cli.scan import _scan_options, cmd_scan
from scanner.core.errors import ConfigError, OutputError
from scanner.run.gctune import resume_collections


# The demo and permissions commands import the run layer: only when they run.
def cmd_demo(args: argparse.Namespace) -> int:
    from scanner.cli.demo import cmd_demo as run_demo
    return run_demo(args)


def cmd_permissions(args: argparse.Namespace) -> int:
    from scanner.cli.permissions import cmd_permissions as run_permissions
    return run_permissions(args)


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
                          epilog=DEMO_EXIT_CODES,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("--scenario", default="demo", help="bundled scenario name or YAML file")
    demo.add_argument("--out", default="orgscan-demo", help="output directory")
    demo.add_argument("--organizations", type=int, metavar="N",
                      help="scan N simulated organizations of different shapes in one run "
                           "(the last with management credentials that fail)")
    demo.add_argument("--quiet", action="store_true",
                      help="no progress or status lines; the summary still prints")
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

    from scanner.cli import merge as cli_merge
    from scanner.cli import report as cli_report
    from scanner.cli import rules as cli_rules
    cli_rules.add_parser(sub)
    cli_report.add_parser(sub)
    cli_merge.add_parser(sub)
    from scanner.cli import sim as cli_sim
    cli_sim.add_parser(sub)
    from scanner.cli import trailreport as cli_trailreport
    cli_trailreport.add_parser(sub)
    return parser


# Commands whose runs turn the collector back on themselves, once the scan's modules are loaded
# (run.gctune); every other command turns it on before it starts.
_RESUME_IN_RUN = frozenset({"scan", "demo"})


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if args.command not in _RESUME_IN_RUN:
            resume_collections()
        return _dispatch(args)
    finally:
        resume_collections()


def _dispatch(args: argparse.Namespace) -> int:
    try:
        code: int = args.func(args)
    except ConfigError as exc:
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OutputError as exc:
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt:
        # Ctrl-C outside a run's own handling (parsing, loading the config): nothing started.
        # A scan handles its signals itself (run.interrupts; cli.scan prints what was left).
        print("orgscan: interrupted before anything was scanned; no reports written",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    raise SystemExit(main())

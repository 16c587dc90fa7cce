"""`orgscan merge DIR... --out DIR`: one set of reports from sharded scans (scanner/merge.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from scanner.core.models import Severity


def add_parser(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "merge", help="combine the outputs of `scan --shard i/n` runs into one set of reports",
        description="Combine sharded scans' output directories (each with journal.jsonl and "
                    "shard.json) into one scan: every account from the shard that scanned it, "
                    "a missing shard's accounts NOT_ASSESSED, organization rules evaluated "
                    "once over all of them; then write the reports as `scan` does.")
    p.add_argument("dirs", nargs="+", type=Path, metavar="DIR", help="shard output directories")
    p.add_argument("--out", required=True, help="output directory of the merged reports")
    p.add_argument("--config", type=Path,
                   help="the config the shards were scanned with (rules, exceptions, formats)")
    p.add_argument("--format", action="append", dest="formats", metavar="FORMAT",
                   help="output format (repeatable), as for scan")
    p.add_argument("--exceptions", metavar="FILE", help="accepted risks (mutelist) YAML")
    p.add_argument("--no-bundle", action="store_true", help="do not write the evidence bundle")
    p.add_argument("--fail-on", choices=[s.value for s in Severity],
                   help="exit 1 when a FAIL at or above this severity exists")
    p.set_defaults(func=cmd_merge)


def cmd_merge(args: argparse.Namespace) -> int:
    from scanner.cli.console import print_summary
    from scanner.cli.exits import EXIT_BUNDLE, EXIT_LOCKED, exit_code
    from scanner.core.rules import rules_digest
    from scanner.report.bundle import BundleError
    from scanner.run.config import load_config
    from scanner.run.inputs import load_exceptions
    from scanner.run.merge import load_shard, merge, write_merged_journal
    from scanner.run.outlock import OutputLocked, locked_output
    from scanner.run.runner import RunOptions, finish, load_selected_rules

    config = load_config(args.config, out=args.out, formats=args.formats,
                         exceptions=args.exceptions)
    rules = load_selected_rules(config)
    exceptions = (load_exceptions(Path(config.exceptions_file))
                  if config.exceptions_file else None)
    shards = [load_shard(d) for d in args.dirs]
    result = merge(shards, rules)
    out = Path(config.output_dir)
    try:
        with locked_output(out):
            result = write_merged_journal(result, out, rules_digest(rules))
            outcome = finish(result, config, RunOptions(bundle=not args.no_bundle), rules,
                             exceptions)
    except OutputLocked as exc:
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except BundleError as exc:
        print(f"orgscan: {exc}", file=sys.stderr)
        return EXIT_BUNDLE
    print(f"Merged {len(shards)} shard(s) of {shards[0].shard[1]}: "
          + ", ".join(str(s.directory) for s in shards))
    print_summary(outcome, out)
    return exit_code(outcome.result, args.fail_on)

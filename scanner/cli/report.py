"""`orgscan verify BUNDLE` and `orgscan diff OLD NEW`: the auditor's commands.

verify exit codes: 0 every file matches the manifest and every finding follows from the bundled
rules and evidence; 1 a file is tampered, missing, extra, damaged, outside the bundle or a
symlink, or a finding does not follow (each named); 2 not a readable evidence bundle (not a
zip, a truncated zip, a limit exceeded: docs/auditing.md). diff exit codes: 0 the diff was
produced; 2 an input is not a scan output directory or bundle.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from scanner.cli.exits import EXIT_OK, EXIT_TAMPERED, EXIT_USAGE


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = subparsers.add_parser(
        "verify", help="check an evidence bundle against its manifest",
        description="Recompute the SHA-256 of every file of an evidence bundle (directory or "
                    "zip) and report each tampered, missing, extra or damaged file, zip member "
                    "outside the bundle and symlink; then re-evaluate the bundled rules over "
                    "the bundled evidence and report each finding that does not follow. "
                    "Exit 0 clean, 1 a problem (each named), 2 not a readable bundle.")
    p.add_argument("bundle", type=Path, help="evidence bundle directory or .zip")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=verify_any)

    p = subparsers.add_parser(
        "diff", help="compare two scans (output directories or evidence bundles)",
        description="New, resolved and changed findings, accounts that started or stopped "
                    "using root, coverage changes, per OU. Exit 0, or 2 on unreadable input.")
    p.add_argument("old", type=Path, help="the earlier scan's output directory or bundle")
    p.add_argument("new", type=Path, help="the later scan's output directory or bundle")
    p.add_argument("--format", choices=("md", "json"), default="md", dest="diff_format",
                   help="output format (default: md)")
    p.add_argument("--out", type=Path, default=None, help="write to this file (default: stdout)")
    p.add_argument("--ou", default=None, metavar="PATH",
                   help="compare only the accounts under this OU path (e.g. Root/Workloads)")
    p.set_defaults(func=cmd_diff)


def cmd_verify(args: argparse.Namespace, out: TextIO | None = None,
               err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from scanner.core.errors import ConfigError
    from scanner.run.reevaluate import verify_bundle

    try:
        result = verify_bundle(args.bundle)
    except ConfigError as exc:
        print(f"orgscan: {exc}", file=err)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result.to_json(), indent=2), file=out)
    else:
        print(result.text(), file=out)
    return EXIT_OK if result.ok else EXIT_TAMPERED


def cmd_diff(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    from scanner.core.errors import ConfigError
    from scanner.report.combineddiff import is_combined_run
    from scanner.report.diffload import diff_paths
    from scanner.report.diffrender import diff_markdown

    if is_combined_run(args.old) or is_combined_run(args.new):
        return _diff_combined(args, out, err)
    try:
        d = diff_paths(args.old, args.new, getattr(args, "ou", None))
    except ConfigError as exc:
        print(f"orgscan: {exc}", file=err)
        return EXIT_USAGE
    if _emit(args, d, diff_markdown, out):
        s = d["summary"]
        print(f"orgscan diff: {s['new']} new, {s['resolved']} resolved, {s['changed']} changed; "
              f"root started {s['root_started']}, stopped {s['root_stopped']} -> {args.out}",
              file=err)
    return EXIT_OK


def _emit(args: argparse.Namespace, d: dict[str, Any],
          markdown: Callable[[dict[str, Any]], str], out: TextIO) -> bool:
    """The diff as JSON or Markdown, to ``--out`` (written atomically; True) or ``out``."""
    from scanner.report.files import write_text

    text = (json.dumps(d, indent=2, ensure_ascii=False) + "\n" if args.diff_format == "json"
            else markdown(d))
    if args.out is None:
        out.write(text)
        return False
    write_text(args.out, text)
    return True


def _diff_combined(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Two multi-organization runs: organizations added, removed, changed, and each one's
    own diff."""
    from scanner.core.errors import ConfigError
    from scanner.report.combineddiff import combined_diff_markdown, diff_combined

    try:
        if getattr(args, "ou", None):
            raise ConfigError("--ou", "an OU path belongs to one organization: diff its two "
                              "directories instead")
        d = diff_combined(args.old, args.new)
    except ConfigError as exc:
        print(f"orgscan: {exc}", file=err)
        return EXIT_USAGE
    if _emit(args, d, combined_diff_markdown, out):
        print(f"orgscan diff: {len(d['organizations_added'])} organization(s) added, "
              f"{len(d['organizations_removed'])} removed, {len(d['status_changed'])} changed "
              f"status -> {args.out}", file=err)
    return EXIT_OK


def verify_any(args: argparse.Namespace, out: TextIO | None = None,
               err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    """`orgscan verify PATH`: a multi-organization run's directory (its
    organizations-manifest.json) or one evidence bundle (``cmd_verify``)."""
    from scanner.report.combinedverify import is_combined

    if is_combined(args.bundle):
        return _verify_combined(args, out, err)
    return cmd_verify(args, out, err)


def _verify_combined(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`orgscan verify DIR` of a multi-organization run: every combined file and bundle
    against organizations-manifest.json, then every bundle as `orgscan verify BUNDLE` checks
    one (its files against its manifest, its findings re-evaluated)."""
    from scanner.core.errors import ConfigError
    from scanner.report.combinedverify import verify_combined
    from scanner.run.reevaluate import verify_bundle

    try:
        result = verify_combined(args.bundle, verify_bundle)
    except ConfigError as exc:
        print(f"orgscan: {exc}", file=err)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(result.to_json(), indent=2), file=out)
    else:
        print(result.text(), file=out)
    return EXIT_OK if result.ok else EXIT_TAMPERED

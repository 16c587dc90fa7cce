"""`orgscan rules list|validate|test`: inspect, validate and test the rule pack.

Exit codes: 0 success; 1 a rule test failed; 2 invalid rule files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from scanner.cli.exits import EXIT_OK, EXIT_TEST_FAILED, EXIT_USAGE
from scanner.core.settings import RuleSelection

if TYPE_CHECKING:
    from scanner.core.rules import Rule


def add_parser(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    rules = subparsers.add_parser("rules", help="list, validate and test the rule pack")
    sub = rules.add_subparsers(dest="rules_command", required=True)

    p = sub.add_parser("list", help="table of rules: id, severity, scope, frameworks")
    p.add_argument("--rules-dir", type=Path, default=None,
                   help="directory of rule files (default: the built-in pack)")
    p.add_argument("--framework", default=None,
                   help="only rules mapped to this framework, e.g. cis-aws-foundations-5.0")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("validate", help="validate rule files (exit 0 valid, 2 invalid)")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or directories")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("test", help="run the test cases embedded in rule files")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or directories")
    p.set_defaults(func=cmd_test)


def _load(paths: list[Path] | None, err: TextIO) -> list[Rule] | None:
    # The rule pack (and, through the collectors' fact catalogue, the SDK): only when used.
    from scanner.run.rulepack import validate_rules

    rules, errors = validate_rules(paths or None)
    for e in errors:
        print(e, file=err)
    return None if errors else rules


def cmd_list(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    rules_dir: Path | None = args.rules_dir
    framework: str | None = args.framework
    if framework is not None:
        from scanner.cli.scan import check_frameworks
        from scanner.core.errors import ConfigError

        try:
            check_frameworks([framework])
        except ConfigError as exc:  # an empty table would read as "no rule maps to it"
            print(f"orgscan: {exc}", file=err)
            return EXIT_USAGE
    rules = _load([rules_dir] if rules_dir else None, err)
    if rules is None:
        return EXIT_USAGE
    from scanner.core.selection import select

    wanted = RuleSelection(frameworks=(framework,) if framework is not None else ())
    rows = [(r.id, r.severity.value, r.scope, ", ".join(
        f"{fw} {'/'.join(ids)}" for fw, ids in sorted(r.compliance.items())) or "-")
        for r in select(rules, wanted)]
    header = ("ID", "SEVERITY", "SCOPE", "FRAMEWORKS")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(3)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row[:3], widths, strict=True))
              + "  " + row[3], file=out)
    return EXIT_OK


def cmd_validate(args: argparse.Namespace, out: TextIO | None = None,
                 err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    rules = _load(args.paths, err)
    if rules is None:
        return EXIT_USAGE
    print(f"{len(rules)} rule(s) valid", file=out)
    return EXIT_OK


def cmd_test(args: argparse.Namespace, out: TextIO | None = None,
             err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    rules = _load(args.paths, err)
    if rules is None:
        return EXIT_USAGE
    from scanner.core.ruletest import run_rule_tests
    from scanner.run.rulepack import default_rules_dir

    results = run_rule_tests(rules)
    for r in results:
        print(r, file=out)
    failed = sum(not r.passed for r in results)
    print(f"{len(results) - failed} passed, {failed} failed ({len(rules)} rule(s), "
          f"from {', '.join(map(str, args.paths)) or default_rules_dir()})", file=out)
    return EXIT_TEST_FAILED if failed else EXIT_OK

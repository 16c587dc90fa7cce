"""`orgscan rules list|validate|test`."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from scanner.cli import rules as cli_rules


def run(argv: list[str]) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="orgscan")
    cli_rules.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    rc = args.func(args, out, err)
    return rc, out.getvalue(), err.getvalue()


def test_list_and_framework_filter() -> None:
    rc, out, _ = run(["rules", "list"])
    assert rc == 0 and "root-mfa-enabled" in out and "org-centralized-root-access" in out
    rc, out, _ = run(["rules", "list", "--framework", "cis-aws-foundations-7.0"])
    assert "org-centralized-root-access" in out and "password-policy-min-length" not in out


def test_validate_ok_and_broken(tmp_path: Path) -> None:
    assert run(["rules", "validate"])[0] == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: bad\ntitle: t\nseverity: high\nscope: acount\n", encoding="utf-8")
    rc, _, err = run(["rules", "validate", str(bad)])
    assert rc == 2
    assert f"{bad}:4: bad: scope: 'acount' is not one of: account, organization " \
           "(did you mean 'account'?)" in err


def test_test_runs_cases_and_fails_on_a_wrong_expectation(tmp_path: Path) -> None:
    rc, out, _ = run(["rules", "test"])
    assert rc == 0 and "0 failed" in out
    src = Path(cli_rules.__file__).resolve().parents[2] / "rules" / "root-mfa-enabled.yaml"
    broken = tmp_path / "root-mfa-enabled.yaml"
    broken.write_text(src.read_text().replace("expect: NOT_APPLICABLE", "expect: PASS"))
    rc, out, _ = run(["rules", "test", str(broken)])
    assert rc == 1 and "FAIL " in out and "1 failed" in out


@pytest.mark.parametrize("argv", [["rules"], ["rules", "nope"]])
def test_subcommand_required(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        run(argv)

"""`orgscan rules list|validate|test`."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from scanner.aws.collectors import fact_scopes
from scanner.cli import rules as cli_rules
from scanner.cli.main import main
from scanner.core.errors import ConfigError
from scanner.core.rules import BUILTIN_FACTS, Rule
from scanner.core.settings import RuleSelection, ScanConfig
from scanner.run.rulepack import default_rules_dir, validate_rules
from scanner.run.runner import load_selected_rules
from tests.core.pack import FACTS as core_test_facts

REPO = Path(__file__).resolve().parents[2]


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
    assert "org-centralized-root-access" in out and "cloudtrail-cloudwatch-logs" not in out


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
    broken.write_text(src.read_text().replace("expect: NOT_APPLICABLE", "expect: PASS", 1))
    rc, out, _ = run(["rules", "test", str(broken)])
    assert rc == 1 and "FAIL " in out and "1 failed" in out


@pytest.mark.parametrize("argv", [["rules"], ["rules", "nope"]])
def test_subcommand_required(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        run(argv)


# -- fact names: the collector registry's, the same for `rules validate` and `scan` ----------

DRIFTED = ["cloudtrail.root_events", "orgtrail.root_events", "athena.root_events",
           "cloudtrail.assume_root_calls"]


def write_rule(directory: Path, fact: str) -> Path:
    """An account-scope rule reading ``fact`` (a per-account rule may read any fact)."""
    rule_id = fact.replace(".", "-").replace("_", "-")
    path = directory / f"{rule_id}.yaml"
    path.write_text(f"""\
id: {rule_id}
title: t
severity: low
scope: account
resource: {fact}
on_empty: fail
message: m
remediation: r
tests:
  - {{name: t, facts: {{{fact}: []}}, expect: FAIL}}
""", encoding="utf-8")
    return path


def scan_loads(directory: Path) -> list[Rule]:
    """What `orgscan scan` (and permissions, merge) loads: the config's rule directories."""
    return load_selected_rules(ScanConfig(rules=RuleSelection(dirs=(str(directory),))))


@pytest.mark.parametrize("fact", DRIFTED)
def test_validate_and_scan_accept_every_collector_fact(tmp_path: Path, fact: str) -> None:
    write_rule(tmp_path, fact)
    assert main(["rules", "validate", str(tmp_path)]) == 0
    assert [r.resource for r in scan_loads(tmp_path)] == [fact]


def test_validate_and_scan_accept_exactly_the_same_fact_names(tmp_path: Path) -> None:
    names = sorted({*fact_scopes(), *BUILTIN_FACTS})
    for name in names:
        write_rule(tmp_path, name)
    rc, out, err = run(["rules", "validate", str(tmp_path)])
    assert (rc, out, err) == (0, f"{len(names)} rule(s) valid\n", "")
    assert sorted(r.resource for r in scan_loads(tmp_path)) == names
    # ... and reject the same: a name no collector provides.
    write_rule(tmp_path, "iam.no_such_fact")
    rc, _, err = run(["rules", "validate", str(tmp_path)])
    assert rc == 2 and "unknown fact 'iam.no_such_fact'" in err
    with pytest.raises(ConfigError, match=r"unknown fact 'iam\.no_such_fact'"):
        scan_loads(tmp_path)


def test_the_cores_test_copy_of_the_facts_is_the_registry() -> None:
    assert core_test_facts == fact_scopes()


def test_every_fact_is_documented() -> None:
    docs = (REPO / "docs" / "facts.md").read_text(encoding="utf-8")
    assert [n for n in sorted({*fact_scopes(), *BUILTIN_FACTS}) if f"`{n}`" not in docs] == []


def test_pack_is_found_from_the_package() -> None:
    assert default_rules_dir() == REPO / "rules"
    assert {p.stem for p in default_rules_dir().glob("*.yaml")} == {
        r.id for r in validate_rules()[0]}


def test_duplicate_ids_across_directories(tmp_path: Path) -> None:
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        write_rule(tmp_path / d, "root.mfa")
    rc, _, err = run(["rules", "validate", str(tmp_path / "a"), str(tmp_path / "b")])
    assert rc == 2
    assert err == (f"{tmp_path / 'b' / 'root-mfa.yaml'}:1: root-mfa: id: duplicate rule id "
                   f"(also in {tmp_path / 'a' / 'root-mfa.yaml'})\n")

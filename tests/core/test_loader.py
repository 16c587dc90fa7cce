"""Rule files: schema and semantic errors point at file, line, rule id and YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.core.rules import collect_rules

from .pack import parse_file

GOOD = """\
id: {id}
title: Root user has an active access key
severity: critical
scope: account
resource: iam.credential_report
where: {{key: user, op: eq, value: "<root_account>"}}
fail_when:
  any:
    - {{key: access_key_1_active, op: is_true}}
    - {{key: access_key_2_active, op: is_true}}
message: m
remediation: r
tests:
  - name: t
    facts: {{iam.credential_report: [{{user: "<root_account>", access_key_1_active: true,
                                       access_key_2_active: false}}]}}
    expect: FAIL
"""


def write(tmp_path: Path, stem: str, text: str) -> Path:
    p = tmp_path / f"{stem}.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_good_rule_loads(tmp_path: Path) -> None:
    rule, errors = parse_file(write(tmp_path, "k", GOOD.format(id="k")))
    assert errors == [] and rule is not None
    assert rule.facts == {"iam.credential_report"}
    assert rule.tests[0].line == 14


def test_broken_operator_is_reported_at_its_exact_location(tmp_path: Path) -> None:
    text = GOOD.format(id="k").replace("access_key_2_active, op: is_true",
                                       "access_key_2_active, op: is_ture")
    path = write(tmp_path, "k", text)
    _, (err,) = parse_file(path)
    assert (err.path, err.line, err.rule_id, err.yaml_path) == (path, 10, "k",
                                                                "fail_when.any[1].op")
    assert err.hint == "did you mean 'is_true'?"
    assert str(err).startswith(f"{path}:10: k: fail_when.any[1].op: 'is_ture' is not one of")


def test_misspelt_top_level_key_gets_closest_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "k", GOOD.format(id="k").replace("fail_when:", "fial_when:"))
    _, errors = parse_file(path)
    assert [(e.line, e.yaml_path, e.hint) for e in errors] == [
        (7, "fial_when", "did you mean 'fail_when'?")]


def test_misspelt_condition_key(tmp_path: Path) -> None:
    path = write(tmp_path, "k", GOOD.format(id="k").replace(
        "{key: access_key_1_active", "{kye: access_key_1_active"))
    _, errors = parse_file(path)
    assert any(e.yaml_path == "fail_when.any[0].kye" and e.line == 9
               and e.hint == "did you mean 'key'?" for e in errors)


@pytest.mark.parametrize(
    ("old", "new", "yaml_path", "line", "needle"),
    [
        ("{key: access_key_1_active, op: is_true}",
         "{key: access_key_1_active, op: within_days, value: soon}",
         "fail_when.any[0].value", 9, "expected integer"),
        ("{key: access_key_1_active, op: is_true}",
         "{key: access_key_1_active, op: is_true, value: true}",
         "fail_when.any[0].value", 9, "takes no value"),
        ("{key: access_key_1_active, op: is_true}",
         "{key: access_key_1_active, op: matches, value: '(('}",
         "fail_when.any[0].value", 9, "invalid regular expression"),
        ("resource: iam.credential_report", "resource: iam.credential_reprot",
         "resource", 5, "unknown fact"),
        ("{key: access_key_1_active, op: is_true}",
         "{fact: root.mfaa, key: mfa_active, op: is_true}",
         "fail_when.any[0].fact", 9, "unknown fact"),
        ("severity: critical", "severity: critcal", "severity", 3, "is not one of"),
        ("id: k", "id: other", "id", 1, "must equal the file stem"),
        ("message: m", "message: m\ncompliance: {cis-aws-foundation-5.0: ['1.3']}",
         "compliance.cis-aws-foundation-5.0", 12, "unknown framework"),
        ("scope: account", "scope: organization", "resource", 5, "cannot read an account fact"),
    ],
)
def test_semantic_and_schema_errors(tmp_path: Path, old: str, new: str, yaml_path: str,
                                    line: int, needle: str) -> None:
    path = write(tmp_path, "k", GOOD.format(id="k").replace(old, new))
    _, errors = parse_file(path)
    assert errors, "expected an error"
    assert any(e.yaml_path == yaml_path and e.line == line and needle in e.message
               for e in errors), [str(e) for e in errors]


def test_duplicate_ids(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write(tmp_path / "a", "k", GOOD.format(id="k"))
    second = write(tmp_path / "b", "k", GOOD.format(id="k"))
    rules, errors = collect_rules([parse_file(first), parse_file(second)])
    assert len(rules) == 1 and rules[0].path == first
    assert [(e.path, e.message) for e in errors] == [
        (second, f"duplicate rule id (also in {first})")]


def test_known_facts_are_the_callers(tmp_path: Path) -> None:
    """The core has no list of collector facts: a name is known when the caller says so."""
    text = GOOD.format(id="k").replace("iam.credential_report", "custom.fact")
    path = write(tmp_path, "k", text)
    assert parse_file(path)[1]
    rule, errors = parse_file(path, {"custom.fact": "account"})
    assert not errors and rule is not None and rule.resource == "custom.fact"


def test_an_organization_rule_may_not_read_an_account_fact_of_the_callers(
        tmp_path: Path) -> None:
    text = GOOD.format(id="k").replace("scope: account", "scope: organization")
    path = write(tmp_path, "k", text.replace("iam.credential_report", "custom.fact"))
    (err,) = parse_file(path, {"custom.fact": "account"})[1]
    assert (err.yaml_path, err.message) == (
        "resource", "an organization-scope rule cannot read an account fact")
    assert not parse_file(path, {"custom.fact": "organization"})[1]


def test_invalid_yaml_has_a_line(tmp_path: Path) -> None:
    _, errors = parse_file(write(tmp_path, "k", "id: k\ntitle: [unclosed\n"))
    assert errors[0].line is not None and "invalid YAML" in errors[0].message


def test_timestamps_stay_strings(tmp_path: Path) -> None:
    text = GOOD.format(id="k").replace("access_key_2_active: false}",
                                       "access_key_2_active: false, d: 2025-01-01T00:00:00Z}")
    rule, errors = parse_file(write(tmp_path, "k", text))
    assert rule is not None, errors
    assert rule.tests[0].facts["iam.credential_report"][0]["d"] == "2025-01-01T00:00:00Z"


def test_schema_errors_show_the_value_and_every_unknown_key(tmp_path: Path) -> None:
    """The one formatter of every user file (scanner.core.yamldoc): the value as written (not
    a Python type), every unknown key at once, the valid keys when none is close."""
    text = GOOD.format(id="k").replace("title: Root user has an active access key\n",
                                       "title: null\nzzz: 1\nseverity_: 2\n")
    path = write(tmp_path, "k", text)
    _, errors = parse_file(path)
    assert [(e.line, e.yaml_path, e.message, e.hint) for e in errors] == [
        (2, "title", "expected string, got null", None),
        (3, "zzz", "unknown key 'zzz'",
         "valid keys: applies_when, compliance, description, fail_when, id, message, "
         "not_applicable_message, on_empty, pass_message, references, region, remediation, "
         "resource, resource_id, scope, severity, tests, title, where"),
        (4, "severity_", "unknown key 'severity_'", "did you mean 'severity'?"),
    ]

"""Config loading: defaults, overrides, and errors that name the file, line, path and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.core.errors import ConfigError, ConfigErrors
from scanner.core.settings import (
    CollectorOptions,
    CredentialReportOptions,
    OrgTrailOptions,
    RootUsageOptions,
)
from scanner.run.config import collector_options, load_config

REPO = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "orgscan.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_defaults_without_a_file() -> None:
    c = load_config(None)
    assert c.aws.role_name == "OrganizationAccountAccessRole"
    assert c.regions is None  # every enabled region: docs/semantics.md's "all regions"
    assert c.lookback_days == 90
    assert c.concurrency == 32


def test_the_example_config_is_valid_and_complete() -> None:
    c = load_config(REPO / "config.example.yaml")
    assert c.source.endswith("config.example.yaml")
    # Every top-level option the schema knows is documented in the example.
    from scanner.core.yamldoc import load_schema

    text = (REPO / "config.example.yaml").read_text()
    for key in load_schema("config.schema.json")["properties"]:
        assert f"\n{key}:" in text or f"\n# {key}:" in text, key


def test_cli_overrides_win_over_the_file(tmp_path: Path) -> None:
    p = write(tmp_path, "aws: {member_role_name: FromFile, profile: audit}\n"
                        "scan: {concurrency: 4}\n")
    c = load_config(p, role_name="FromCli", concurrency=9, regions=["all"], out="x")
    assert (c.aws.role_name, c.aws.profile, c.concurrency, c.regions, c.output_dir) == (
        "FromCli", "audit", 9, None, "x")


def test_misspelt_key_names_line_path_and_suggestion(tmp_path: Path) -> None:
    p = write(tmp_path, "aws:\n  member_role_name: Audit\n  regoin: eu-west-1\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    text = str(err.value)
    assert f"{p}:3: aws.regoin: unknown key 'regoin'" in text
    assert "did you mean 'region'?" in text


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    p = write(tmp_path, "scan:\n  concurrency: many\nregions: [us-east-1, nowhere]\n"
                        "output: {formats: [json, docx]}\n")
    with pytest.raises(ConfigErrors) as err:
        load_config(p)
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert any(":2: scan.concurrency: expected integer" in x for x in lines)
    assert any(":3: regions[1]" in x for x in lines)
    assert any("output.formats[1]" in x and "'docx' is not one of: json" in x for x in lines)


def test_yaml_syntax_error_has_a_line(tmp_path: Path) -> None:
    p = write(tmp_path, "aws:\n  region: [us-east-1\nscan: {}\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert err.value.line is not None and "not valid YAML" in str(err.value)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_config(write(tmp_path, "- just\n- a list\n"))


def test_bad_values_are_explained(tmp_path: Path) -> None:
    p = write(tmp_path, "scope:\n  include:\n    accounts: ['12345']\n"
                        "aws: {role_session_duration: 60}\n")
    with pytest.raises(ConfigErrors) as err:
        load_config(p)
    text = str(err.value)
    assert "scope.include.accounts[0]" in text
    assert "aws.role_session_duration" in text and "900" in text


def test_collector_options_are_typed_once_with_their_defaults(tmp_path: Path) -> None:
    p = write(tmp_path, "root_usage:\n  sources: [org_trail]\n"
                        "  org_trail: {prefix: '', concurrency: 4}\n"
                        "  athena: {database: ''}\n"
                        "credential_report: {timeout: 5}\n")
    o = load_config(p).collector_options
    # "" is a prefix (the bucket's top), but leaves a name at its default, as it always did.
    assert o.root_usage == RootUsageOptions(
        sources=("org_trail",), org_trail=OrgTrailOptions(prefix="", concurrency=4))
    assert o.root_usage.athena.database == "default"
    assert o.credential_report == CredentialReportOptions(timeout=5)
    assert o.alternate_contacts.types == ("SECURITY",)
    assert load_config(None).collector_options == CollectorOptions()
    assert load_config(None, lookback_days=7).lookback_days == 7


def test_an_option_no_collector_could_use_names_file_line_and_key(tmp_path: Path) -> None:
    p = write(tmp_path, "credential_report:\n  initial_delay: 10\n  max_delay: 2\n")
    with pytest.raises(ConfigError) as err:
        load_config(p)
    assert str(err.value).startswith(
        f"{p}:3: credential_report.max_delay: must be at least initial_delay")
    with pytest.raises(ConfigError, match=r"root_usage\.org_trail\.concurrency: must be at"):
        collector_options({"root_usage": {"org_trail": {"concurrency": 0}}})


@pytest.mark.parametrize(("text", "expected"), [
    ("aws: {region: xx-fake-9}\n",
     ":1: aws.region: 'xx-fake-9' is not a region name of any partition"),
    ("regions: [us-east-1, xx-fake-9]\n",
     ":1: regions[1]: 'xx-fake-9' is not a region of the aws partition"),
    ("aws: {region: cn-north-1}\nregions: [us-east-1]\n",
     ":2: regions[0]: 'us-east-1' is not a region of the aws-cn partition"),
    ("root_usage: {event_history_regions: [eu-wst-1]}\n",
     ":1: root_usage.event_history_regions[0]: 'eu-wst-1' is not a region of the aws partition "
     "(did you mean 'eu-west-1'?)"),
])
def test_regions_must_exist_in_the_home_partition(tmp_path: Path, text: str,
                                                  expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, text))
    assert f"{tmp_path / 'orgscan.yaml'}{expected}" in str(err.value)


def test_a_bad_override_names_its_flag_not_the_defaults() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(None, concurrency=0, regions=["bogus-1"])
    assert str(err.value).splitlines() == [
        "--concurrency: must be at least 1, got 0",
        "--region bogus-1: not a region name; expected like us-east-1 (or 'all' alone: every "
        "region enabled in each account)"]

"""The organizations: list: each entry inherits the top level and changes only its own keys;
errors name the file, the entry and the key; a single-organization config is unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from scanner.core.errors import ConfigError
from scanner.run.config import load_config
from scanner.run.orgconfig import has_organizations, load_organizations

TOP = """\
aws: {member_role_name: TopRole, profile: base, external_id: top-id}
regions: [us-east-1]
scan: {concurrency: 12}
scope: {exclude: {ous: [Root/Sandbox]}}
root_usage: {sources: [credential_report], lookback_days: 30}
output: {directory: audits/q3}
"""
ORGS = """\
organizations:
  - label: client-a
    profile: client-a
  - label: client-b
    role_arn: arn:aws:iam::222222222222:role/OrgscanManagement
    external_id: client-b-id
    role_name: AuditRole
    regions: [eu-west-1]
    scope: {include: {ous: [Root/Prod]}}
    root_usage: {sources: [credential_report, org_trail]}
  - label: lab
    endpoint_url: http://127.0.0.1:5000
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "orgscan.yaml"
    p.write_text(text, encoding="utf-8")
    return p


def test_each_entry_inherits_the_top_level_and_sets_its_own_way_in(tmp_path: Path) -> None:
    path = write(tmp_path, TOP + ORGS)
    assert has_organizations(path)
    base, orgs = load_organizations(path)
    a, b, lab = (o.config for o in orgs)
    assert [o.label for o in orgs] == ["client-a", "client-b", "lab"]
    # Its own profile; everything else from the top level.
    assert (a.aws.profile, a.aws.management_role_arn, a.aws.role_name) == (
        "client-a", None, "TopRole")
    assert (a.regions, a.concurrency, a.lookback_days) == (("us-east-1",), 12, 30)
    assert a.exclude.ous == ("Root/Sandbox",)
    assert a.output_dir == str(Path("audits/q3") / "client-a")
    # A role assumed from the base credentials, with its own id, role, regions, scope, sources.
    assert (b.aws.profile, b.aws.management_role_arn) == (
        "base", "arn:aws:iam::222222222222:role/OrgscanManagement")
    assert (b.aws.external_id, b.aws.role_name, b.regions) == (
        "client-b-id", "AuditRole", ("eu-west-1",))
    assert (b.include.ous, b.exclude.ous) == (("Root/Prod",), ("Root/Sandbox",))
    assert b.collector_options.root_usage.sources == ("credential_report", "org_trail")
    assert b.lookback_days == 30
    assert (lab.aws.endpoint_url, lab.aws.external_id) == ("http://127.0.0.1:5000", "top-id")
    assert base.output_dir == "audits/q3"


def test_organization_flag_limits_the_run_and_an_unknown_label_lists_the_labels(
        tmp_path: Path) -> None:
    path = write(tmp_path, TOP + ORGS)
    _, orgs = load_organizations(path, only=("lab", "client-a"))
    assert [o.label for o in orgs] == ["client-a", "lab"]  # the file's order
    with pytest.raises(ConfigError) as err:
        load_organizations(path, only=("client-c",))
    assert str(err.value) == (f"--organization: unknown organization 'client-c' in {path} "
                              "(labels: client-a, client-b, lab)")


def test_cli_overrides_reach_every_organization(tmp_path: Path) -> None:
    _, orgs = load_organizations(write(tmp_path, TOP + ORGS), out="elsewhere", concurrency=3)
    assert [o.config.output_dir for o in orgs] == [
        str(Path("elsewhere") / label) for label in ("client-a", "client-b", "lab")]
    assert {o.config.concurrency for o in orgs} == {3}


@pytest.mark.parametrize(("entry", "expected"), [
    ("  - label: x\n    role_arn: not-an-arn\n", "organizations[0].role_arn"),
    ("  - label: x\n", "organizations[0]"),  # no way in
    ("  - label: x\n    profile: p\n    colour: red\n", "organizations[0]"),
    ("  - label: ../x\n    profile: p\n", "organizations[0].label"),
    ("  - label: x\n    profile: p\n    regions: [mars-1]\n", "organizations[0].regions[0]"),
])
def test_a_bad_entry_names_the_file_the_entry_and_the_key(
        tmp_path: Path, entry: str, expected: str) -> None:
    path = write(tmp_path, "organizations:\n" + entry)
    with pytest.raises(ConfigError) as err:
        load_organizations(path)
    assert str(err.value).startswith(f"{path}:"), err.value
    assert expected in str(err.value), err.value


def test_a_region_outside_the_partition_names_the_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "organizations:\n  - label: x\n    profile: p\n"
                           "  - label: y\n    profile: q\n    regions: [us-gov-west-1]\n")
    with pytest.raises(ConfigError) as err:
        load_organizations(path)
    assert "organizations[1].regions[0]" in str(err.value)
    assert "not a region of the aws partition" in str(err.value)


def test_labels_are_unique_ignoring_case(tmp_path: Path) -> None:
    path = write(tmp_path, "organizations:\n  - {label: Acme, profile: a}\n"
                           "  - {label: acme, profile: b}\n")
    with pytest.raises(ConfigError) as err:
        load_organizations(path)
    assert "organizations[1].label" in str(err.value)
    assert "already used by entry 0 ('Acme')" in str(err.value)


def test_a_label_cannot_be_a_combined_output(tmp_path: Path) -> None:
    path = write(tmp_path, "organizations:\n  - {label: Root-Usage.json, profile: a}\n")
    with pytest.raises(ConfigError) as err:
        load_organizations(path)
    assert "organizations[0].label" in str(err.value)
    assert "is the name of a combined output" in str(err.value)


def test_a_single_organization_config_is_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path, TOP)
    assert not has_organizations(path)
    assert not has_organizations(None)
    config = load_config(path)
    assert (config.aws.profile, config.output_dir, config.regions) == (
        "base", "audits/q3", ("us-east-1",))
    # The organizations list does not change what the top level means on its own.
    assert load_config(write(tmp_path, TOP + ORGS)) == config

"""Trails as AWS lists them: ListTrails names every trail of the account, in every region;
DescribeTrails answers for its own region only."""

from __future__ import annotations

import pytest

from scanner.sim import SimServer
from scanner.sim.scenario import ScenarioError
from scanner.sim.trails import trail_spec
from tests.sim.conftest import assume, client

DATA_DEV = "347215163044"  # the demo's account with a single-region trail in eu-west-1


def test_list_trails_names_every_region(demo_sim: SimServer) -> None:
    listed = assume(demo_sim, DATA_DEV, "cloudtrail").list_trails()["Trails"]
    homes = {t["Name"]: t["HomeRegion"] for t in listed}
    assert homes == {"data-dev-eu-audit": "eu-west-1", "org-trail": "us-east-1"}
    (eu,) = [t for t in listed if t["Name"] == "data-dev-eu-audit"]
    assert eu["TrailARN"] == f"arn:aws:cloudtrail:eu-west-1:{DATA_DEV}:trail/data-dev-eu-audit"
    # The same from any region.
    again = assume(demo_sim, DATA_DEV, "cloudtrail", "eu-central-1").list_trails()["Trails"]
    assert again == listed


def test_single_region_trail_is_described_in_its_home_region_only(demo_sim: SimServer) -> None:
    us = assume(demo_sim, DATA_DEV, "cloudtrail").describe_trails()["trailList"]
    assert [t["Name"] for t in us] == ["org-trail"]
    eu_client = assume(demo_sim, DATA_DEV, "cloudtrail", "eu-west-1")
    eu = {t["Name"]: t for t in eu_client.describe_trails()["trailList"]}
    trail = eu["data-dev-eu-audit"]
    assert trail["HomeRegion"] == "eu-west-1" and trail["IsMultiRegionTrail"] is False
    assert trail["LogFileValidationEnabled"] is False and trail["KmsKeyId"].startswith(
        "arn:aws:kms:eu-west-1:")
    assert eu_client.get_trail_status(Name=trail["TrailARN"])["IsLogging"] is True


def test_management_account_lists_its_own_trails(demo_sim: SimServer) -> None:
    listed = client(demo_sim, "cloudtrail", region_name="eu-west-1").list_trails()["Trails"]
    assert [(t["Name"], t["HomeRegion"]) for t in listed] == [("org-trail", "us-east-1")]


def test_trail_spec_defaults_and_checks() -> None:
    spec = trail_spec("123456789012", {"name": "t"})
    assert spec["region"] == "us-east-1" and spec["multi_region"] is False
    assert spec["logging"] is True and spec["log_file_validation"] is False
    with pytest.raises(ScenarioError, match="unknown keys"):
        trail_spec("123456789012", {"name": "t", "regoin": "eu-west-1"})
    with pytest.raises(ScenarioError, match="needs a name"):
        trail_spec("123456789012", {"region": "eu-west-1"})

"""Per-account enabled regions: DescribeRegions answers each account with its own opt-in
regions, LookupEvents refuses a region the account has not enabled, scenarios are checked."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from scanner.sim import SimServer
from scanner.sim.generate import generate
from scanner.sim.regions import DEFAULT_REGIONS, opt_in_choices
from scanner.sim.scenario import ScenarioError, normalise
from tests.sim.conftest import assume, client

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})
OPTED = "222222222222"
PLAIN = "333333333333"


def scenario() -> dict[str, Any]:
    return {
        "name": "opt-in", "seed": 3,
        "accounts": [
            {"id": OPTED, "name": "opted", "opt_in_regions": ["af-south-1", "ap-east-1"],
             "events": [{"kind": "api_call", "at": "-2d", "region": "af-south-1"}]},
            {"id": PLAIN, "name": "plain"},
        ],
    }


@pytest.fixture(scope="module")
def opt_sim() -> Iterator[SimServer]:
    with SimServer(scenario()) as server:
        yield server


def _statuses(sim: SimServer, account: str, **kw: Any) -> dict[str, str]:
    ec2 = assume(sim, account, "ec2")
    return {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(**kw)["Regions"]}


def test_describe_regions_lists_the_accounts_enabled_regions(opt_sim: SimServer) -> None:
    opted = _statuses(opt_sim, OPTED)
    assert set(opted) == set(DEFAULT_REGIONS) | {"af-south-1", "ap-east-1"}
    assert opted["af-south-1"] == opted["ap-east-1"] == "opted-in"
    assert opted["us-east-1"] == "opt-in-not-required"
    assert set(_statuses(opt_sim, PLAIN)) == set(DEFAULT_REGIONS)
    # No other partition's regions (moto lists China and GovCloud too).
    assert not any(r.startswith(("cn-", "us-gov-")) for r in opted)


def test_describe_regions_all_regions_shows_not_opted_in(opt_sim: SimServer) -> None:
    every = _statuses(opt_sim, PLAIN, AllRegions=True)
    assert every["af-south-1"] == "not-opted-in" and every["eu-west-1"] == "opt-in-not-required"
    picked = _statuses(opt_sim, OPTED, AllRegions=True, Filters=[
        {"Name": "opt-in-status", "Values": ["opted-in"]}])
    assert picked == {"af-south-1": "opted-in", "ap-east-1": "opted-in"}
    assert set(_statuses(opt_sim, OPTED, RegionNames=["ap-east-1"])) == {"ap-east-1"}


def test_account_list_regions_per_account(opt_sim: SimServer) -> None:
    acct = assume(opt_sim, OPTED, "account")
    rows = [r for page in acct.get_paginator("list_regions").paginate()
            for r in page["Regions"]]
    status = {r["RegionName"]: r["RegionOptStatus"] for r in rows}
    assert status["af-south-1"] == "ENABLED" and status["us-east-1"] == "ENABLED_BY_DEFAULT"
    assert status["me-south-1"] == "DISABLED"
    enabled = acct.list_regions(RegionOptStatusContains=["ENABLED"], MaxResults=50)["Regions"]
    assert {r["RegionName"] for r in enabled} == {"af-south-1", "ap-east-1"}
    # The management account asks for a member's; a member may not ask for another's.
    mgmt = client(opt_sim, "account", region_name="us-east-1")
    of_plain = mgmt.list_regions(AccountId=PLAIN, RegionOptStatusContains=["ENABLED"])
    assert of_plain["Regions"] == []
    with pytest.raises(ClientError) as info:
        acct.list_regions(AccountId=PLAIN)
    assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_lookup_events_refused_where_not_enabled(opt_sim: SimServer) -> None:
    ct = assume(opt_sim, PLAIN, "cloudtrail", region="af-south-1", config=NO_RETRY)
    with pytest.raises(ClientError) as info:
        ct.lookup_events()
    assert info.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    events = assume(opt_sim, OPTED, "cloudtrail", region="af-south-1").lookup_events(
        LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}])["Events"]
    assert [e["EventName"] for e in events] == ["ListBuckets"]


@pytest.mark.parametrize(("account", "message"), [
    ({"name": "a", "opt_in_regions": ["us-east-1"]}, "account a: opt_in_regions: us-east-1 is "
     "enabled by default"),
    ({"name": "a", "opt_in_regions": ["xx-fake-9"]}, "'xx-fake-9' is not a region of the aws"),
    ({"name": "a", "opt_in_regions": "af-south-1"}, "must be a list of region names"),
    ({"name": "a", "events": [{"kind": "api_call", "region": "me-south-1"}]},
     "account a: events[0] is in me-south-1, a region the account has not enabled"),
])
def test_bad_opt_in_regions_named(account: dict[str, Any], message: str) -> None:
    with pytest.raises(ScenarioError, match=message.replace("[", r"\[").replace("]", r"\]")):
        normalise({"accounts": [account]})


def test_generator_opts_some_accounts_in_deterministically() -> None:
    first, _ = generate(200, seed=7)
    again, _ = generate(200, seed=7)
    opted = {a["name"]: a["opt_in_regions"] for a in first["accounts"] if a.get("opt_in_regions")}
    assert opted == {a["name"]: a["opt_in_regions"] for a in again["accounts"]
                     if a.get("opt_in_regions")}
    assert 20 <= len(opted) <= 60  # about one in five
    assert all(2 <= len(r) <= 4 and not set(r) & set(DEFAULT_REGIONS) for r in opted.values())
    normalise(first)  # a valid scenario


def test_generator_spreads_root_api_calls_over_enabled_regions() -> None:
    raw, _ = generate(300, seed=7)
    calls = [(a, e) for a in raw["accounts"] for e in a["events"] if e["kind"] == "api_call"]
    regions = {e["region"] for _, e in calls}
    assert len(regions) >= 6 and "us-east-1" in regions
    assert regions & set(opt_in_choices())  # some in an account's opt-in region
    for account, event in calls:
        assert event["region"] in set(DEFAULT_REGIONS) | set(account.get("opt_in_regions", []))
    # Sign-ins stay where AWS records them.
    assert all("region" not in e for a in raw["accounts"] for e in a["events"]
               if e["kind"] != "api_call")
    normalise(raw)

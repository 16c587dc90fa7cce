"""The seeded organization, seen through real boto3 clients over HTTP."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from scanner.sim import SimServer
from tests.sim.conftest import assume, client


def test_organization_and_accounts(sim: SimServer) -> None:
    org = client(sim, "organizations")
    desc = org.describe_organization()["Organization"]
    assert desc["Id"] == sim.organization_id
    assert desc["MasterAccountId"] == "111111111111" == sim.management_account_id
    assert desc["FeatureSet"] == "ALL"
    accounts = {a["Id"]: a for a in org.list_accounts()["Accounts"]}
    assert set(accounts) == {
        "111111111111", "222222222222", "333333333333", "444444444444", "555555555555"
    }
    assert accounts["555555555555"]["Status"] == "SUSPENDED"
    assert accounts["111111111111"]["Name"] == "management"


def test_nested_ous_and_placement(sim: SimServer) -> None:
    org = client(sim, "organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    top = {o["Name"]: o["Id"] for o in
           org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    assert set(top) == {"Security", "Workloads", "Suspended"}
    sub = {o["Name"]: o["Id"] for o in
           org.list_organizational_units_for_parent(ParentId=top["Workloads"])["OrganizationalUnits"]}
    assert set(sub) == {"Prod", "Dev"}
    in_prod = [a["Id"] for a in org.list_accounts_for_parent(ParentId=sub["Prod"])["Accounts"]]
    assert in_prod == ["333333333333"]


def test_scp_attached_to_ou(sim: SimServer) -> None:
    org = client(sim, "organizations")
    workloads = sim.info["ou_ids"]["Root/Workloads"]
    names = [p["Name"] for p in org.list_policies_for_target(
        TargetId=workloads, Filter="SERVICE_CONTROL_POLICY")["Policies"]]
    assert "DenyRootUser" in names


def test_tags(sim: SimServer) -> None:
    org = client(sim, "organizations")
    tags = org.list_tags_for_resource(ResourceId="333333333333")["Tags"]
    assert {"Key": "env", "Value": "prod"} in tags


def test_assume_role_works_in_member(sim: SimServer) -> None:
    sts = assume(sim, "333333333333", "sts")
    arn = sts.get_caller_identity()["Arn"]
    assert arn.startswith("arn:aws:sts::333333333333:assumed-role/OrganizationAccountAccessRole/")


def test_assume_role_refused_when_role_missing(sim: SimServer) -> None:
    before = sim.counters()["assume_role_denials"].get("444444444444", 0)
    with pytest.raises(ClientError) as info:
        assume(sim, "444444444444", "sts")
    err = info.value.response
    assert err["Error"]["Code"] == "AccessDenied"
    assert err["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "sts:AssumeRole" in err["Error"]["Message"]
    assert sim.counters()["assume_role_denials"]["444444444444"] == before + 1

"""The seeded organization, seen through real boto3 clients over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from scanner.sim import SimServer
from scanner.sim.scenario import ScenarioError, normalise, read_raw
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


# -- a delegated administrator -------------------------------------------------------------

ADMIN = "666666666666"


@pytest.fixture(scope="module")
def delegated_sim() -> Iterator[SimServer]:
    """The minimal organization with a security-tooling member registered as a delegated
    administrator (for Account Management), trusted by the members' audit roles only."""
    raw = read_raw("minimal")
    raw["accounts"] = [*raw["accounts"], {"id": ADMIN, "name": "security-tooling",
                                          "ou": "Root/Security"}]
    raw["organization"]["delegated_administrator"] = {"account": "security-tooling"}
    with SimServer(raw, caller="delegated_administrator") as server:
        yield server


def as_admin(sim: SimServer, service: str) -> Any:
    assert sim.delegated_admin_credentials is not None
    return boto3.client(service, endpoint_url=sim.endpoint, **sim.delegated_admin_credentials)


def test_the_delegated_administrator_is_registered(delegated_sim: SimServer) -> None:
    assert delegated_sim.delegated_admin_account_id == ADMIN
    # caller="delegated_administrator": the default credentials are its operator's.
    assert delegated_sim.credentials == delegated_sim.delegated_admin_credentials
    who = as_admin(delegated_sim, "sts").get_caller_identity()
    assert who["Account"] == ADMIN
    admins = client(delegated_sim, "organizations", **delegated_sim.management_credentials)\
        .list_delegated_administrators()["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [ADMIN]
    services = as_admin(delegated_sim, "organizations").list_delegated_services_for_account(
        AccountId=ADMIN)["DelegatedServices"]
    assert [s["ServicePrincipal"] for s in services] == ["account.amazonaws.com"]


def test_the_delegated_administrator_reads_the_organization(delegated_sim: SimServer) -> None:
    org = as_admin(delegated_sim, "organizations")
    assert org.describe_organization()["Organization"]["MasterAccountId"] == "111111111111"
    assert {a["Id"] for a in org.list_accounts()["Accounts"]} == {
        "111111111111", "222222222222", "333333333333", "444444444444", "555555555555", ADMIN}
    root = org.list_roots()["Roots"][0]["Id"]
    top = {o["Name"]: o["Id"] for o in
           org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    assert set(top) == {"Security", "Workloads", "Suspended"}
    in_security = {a["Id"] for a in
                   org.list_accounts_for_parent(ParentId=top["Security"])["Accounts"]}
    assert in_security == {"222222222222", ADMIN}
    policies = {p["Name"]: p["Id"] for p in
                org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    assert "DenyRootUser" in policies
    assert org.describe_policy(PolicyId=policies["DenyRootUser"])["Policy"]["Content"]
    targets = org.list_targets_for_policy(PolicyId=policies["DenyRootUser"])["Targets"]
    assert [t["TargetId"] for t in targets] == [top["Workloads"]]
    tags = org.list_tags_for_resource(ResourceId="333333333333")["Tags"]
    assert {"Key": "env", "Value": "prod"} in tags
    with pytest.raises(ClientError) as info:
        org.list_accounts_for_parent(ParentId="ou-none-00000000")
    assert info.value.response["Error"]["Code"] == "ParentNotFoundException"


def test_other_members_may_describe_the_organization_and_nothing_more(
        delegated_sim: SimServer) -> None:
    creds = client(delegated_sim, "sts", **delegated_sim.management_credentials).assume_role(
        RoleArn="arn:aws:iam::333333333333:role/OrganizationAccountAccessRole",
        RoleSessionName="orgscan-test")["Credentials"]
    org = boto3.client("organizations", endpoint_url=delegated_sim.endpoint,
                       region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                       aws_secret_access_key=creds["SecretAccessKey"],
                       aws_session_token=creds["SessionToken"])
    assert org.describe_organization()["Organization"]["Id"] == delegated_sim.organization_id
    for call in (org.list_accounts, org.list_roots):
        with pytest.raises(ClientError) as info:
            call()
        assert info.value.response["Error"]["Code"] == "AccessDeniedException"


def test_centralized_root_access_is_refused_to_a_delegated_administrator_of_another_service(
        delegated_sim: SimServer) -> None:
    with pytest.raises(ClientError) as info:
        as_admin(delegated_sim, "iam").list_organizations_features()
    assert info.value.response["Error"]["Code"] == (
        "AccountNotManagementOrDelegatedAdministratorException")


def test_assume_role_follows_the_roles_trust_policy(delegated_sim: SimServer) -> None:
    sts = as_admin(delegated_sim, "sts")
    role = "arn:aws:iam::{}:role/OrganizationAccountAccessRole"
    arn = sts.assume_role(RoleArn=role.format("333333333333"),
                          RoleSessionName="orgscan-test")["AssumedRoleUser"]["Arn"]
    assert arn.startswith("arn:aws:sts::333333333333:assumed-role/")
    before = delegated_sim.counters()["assume_role_denials"].get("111111111111", 0)
    # AWS creates no such role in the management account, and the scenario deploys none.
    with pytest.raises(ClientError) as info:
        sts.assume_role(RoleArn=role.format("111111111111"), RoleSessionName="orgscan-test")
    err = info.value.response["Error"]
    assert err["Code"] == "AccessDenied"
    assert f"arn:aws:iam::{ADMIN}:user/orgscan-operator" in err["Message"]
    assert delegated_sim.counters()["assume_role_denials"]["111111111111"] == before + 1


def test_a_role_that_does_not_trust_the_caller_refuses_it() -> None:
    raw = read_raw("minimal")
    raw["accounts"] = [*raw["accounts"], {"id": ADMIN, "name": "security-tooling"}]
    raw["organization"]["delegated_administrator"] = {
        "account": ADMIN, "service_principals": ["account.amazonaws.com", "iam.amazonaws.com"],
        "trusted_by": ["management", "log-archive"]}
    with SimServer(raw) as sim:
        sts = as_admin(sim, "sts")
        role = "arn:aws:iam::{}:role/OrganizationAccountAccessRole"
        for trusting in ("111111111111", "222222222222"):
            sts.assume_role(RoleArn=role.format(trusting), RoleSessionName="orgscan-test")
        with pytest.raises(ClientError) as info:
            sts.assume_role(RoleArn=role.format("333333333333"), RoleSessionName="orgscan-test")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
        # A delegated administrator for IAM may read centralized root access.
        features = as_admin(sim, "iam").list_organizations_features()["EnabledFeatures"]
        assert "RootCredentialsManagement" in features


def test_a_scenario_cannot_delegate_to_the_management_account() -> None:
    raw = read_raw("minimal")
    raw["organization"]["delegated_administrator"] = {"account": "management"}
    with pytest.raises(ScenarioError, match="own delegated administrator"):
        normalise(raw)

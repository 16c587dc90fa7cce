"""Several simulated organizations at once, each authenticating as AWS does: its own keys
work (the operator's and those AssumeRole issued), a key it never issued and a wrong secret
are refused before anything is read, and every request is counted under the key that
signed it."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from scanner.sim import SimFleet
from scanner.sim.generate import generate

from .conftest import assume, client


@pytest.fixture(scope="module")
def fleet() -> Iterator[SimFleet]:
    with SimFleet([("a", "minimal"),
                   ("b", generate(8, seed=23, management_account_id="222222222222")[0])]) as f:
        yield f


def _code(call: object) -> str:
    with pytest.raises(ClientError) as err:
        call()  # type: ignore[operator]
    return str(err.value.response["Error"]["Code"])


def test_each_organization_has_its_own_management_credentials(fleet: SimFleet) -> None:
    a, b = fleet["a"], fleet["b"]
    assert a.endpoint != b.endpoint
    assert a.credentials["aws_access_key_id"] != b.credentials["aws_access_key_id"]
    assert a.management_account_id != b.management_account_id == "222222222222"
    for sim in (a, b):
        ident = client(sim, "sts").get_caller_identity()
        assert ident["Account"] == sim.management_account_id
        org = client(sim, "organizations").describe_organization()["Organization"]
        assert org["Id"] == sim.organization_id


def test_another_organizations_key_is_refused(fleet: SimFleet) -> None:
    a, b = fleet["a"], fleet["b"]
    foreign = boto3.client("sts", endpoint_url=a.endpoint, **b.credentials)
    assert _code(foreign.get_caller_identity) == "InvalidClientTokenId"
    foreign_org = boto3.client("organizations", endpoint_url=a.endpoint, **b.credentials)
    assert _code(foreign_org.describe_organization) == "InvalidClientTokenId"
    counted = a.counters()["by_access_key"]
    assert counted.get(b.credentials["aws_access_key_id"]) == 2


def test_a_wrong_secret_is_refused(fleet: SimFleet) -> None:
    a = fleet["a"]
    wrong = {**a.credentials, "aws_secret_access_key": "not-" + a.credentials[
        "aws_secret_access_key"]}
    sts = boto3.client("sts", endpoint_url=a.endpoint, **wrong)
    assert _code(sts.get_caller_identity) == "SignatureDoesNotMatch"


def test_assumed_role_credentials_are_authentic(fleet: SimFleet) -> None:
    b = fleet["b"]
    member = next(acct["id"] for acct in b.scenario["accounts"]
                  if acct["id"] != b.management_account_id and not acct.get("role_missing")
                  and acct.get("status", "ACTIVE") == "ACTIVE")
    iam = assume(b, member, "iam")
    assert "SummaryMap" in iam.get_account_summary()
    issued = {c["access_key_id"] for c in b.issued_credentials()}
    assert issued & set(b.counters()["by_access_key"])

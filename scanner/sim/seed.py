"""Seed moto's backends in-process from a normalised scenario: organization, OUs, accounts, SCPs.

Seeding calls the backends directly instead of going over HTTP: a 500-account organization is
created in well under a second this way, against tens of seconds through the API.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.iam.models import iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends

from scanner.sim.scenario import DEFAULT_ROLE, Scenario

PARTITION = "aws"
HOME_REGION = "us-east-1"
OPERATOR_USER = "orgscan-operator"


@dataclass
class SeedResult:
    organization_id: str
    root_id: str
    management_account_id: str
    access_key_id: str
    secret_access_key: str
    ou_ids: dict[str, str] = field(default_factory=dict)  # path -> ou id
    policy_ids: dict[str, str] = field(default_factory=dict)  # name -> policy id


@contextmanager
def _account_ids(queue: list[str]) -> Iterator[None]:
    """Make moto's next created accounts take the scenario's ids, in order.

    moto draws account ids at random inside FakeAccount; the scenario's ids must be stable so
    that tests and ground truth can name accounts.
    """
    original = org_utils.make_random_account_id

    def next_id() -> str:
        return queue.pop(0) if queue else original()

    org_utils.make_random_account_id = next_id
    try:
        yield
    finally:
        org_utils.make_random_account_id = original


def _operator_credentials(management_id: str) -> tuple[str, str]:
    """An IAM user with a key in the management account: moto maps the key to its account."""
    iam = iam_backends[management_id][PARTITION]
    iam.create_user(region_name=HOME_REGION, user_name=OPERATOR_USER)
    key = iam.create_access_key(user_name=OPERATOR_USER)
    return str(key.access_key_id), str(key.secret_access_key)


def _iam_policies(scenario: Scenario, mgmt_id: str, members: list[dict[str, Any]]) -> None:
    """Inline policies for the operator user and every member's audit role (enforced only
    under iam_auth)."""
    policies: dict[str, Any] = scenario.get("iam_policies") or {}
    if policies.get("operator") is not None:
        iam_backends[mgmt_id][PARTITION].put_user_policy(
            OPERATOR_USER, "orgscan-operator", json.dumps(policies["operator"]))
    if policies.get("audit_role") is not None:
        doc = json.dumps(policies["audit_role"])
        for acct in members:
            if not acct["role_missing"]:
                iam_backends[acct["id"]][PARTITION].put_role_policy(
                    DEFAULT_ROLE, "orgscan-audit", doc)


def seed_organization(scenario: Scenario) -> SeedResult:
    mgmt_id: str = scenario["organization"]["management_account_id"]
    orgs = organizations_backends[mgmt_id][PARTITION]
    orgs.create_organization(region=HOME_REGION, FeatureSet="ALL")
    org = orgs.org
    assert org is not None
    accounts: list[dict[str, Any]] = scenario["accounts"]
    mgmt = next(a for a in accounts if a["management"])
    org.master_account_email = mgmt["email"]
    for fake in orgs.accounts:
        if fake.id == mgmt_id:
            fake.name = mgmt["name"]
            fake.email = mgmt["email"]
            fake.tags.update({str(k): str(v) for k, v in mgmt["tags"].items()})

    key_id, secret = _operator_credentials(mgmt_id)
    result = SeedResult(org.id, org.root_id, mgmt_id, key_id, secret)
    result.ou_ids["Root"] = org.root_id

    for path in scenario["ous"]:  # parents come before children (normalise guarantees it)
        parent, name = path.rsplit("/", 1)
        created = orgs.create_organizational_unit(ParentId=result.ou_ids[parent], Name=name)
        result.ou_ids[path] = created["OrganizationalUnit"]["Id"]

    members = [a for a in accounts if not a["management"]]
    with _account_ids([a["id"] for a in members]):
        for acct in members:
            orgs.create_account(
                AccountName=acct["name"],
                Email=acct["email"],
                Tags=[{"Key": str(k), "Value": str(v)} for k, v in acct["tags"].items()],
            )
    for acct in members:
        fake = orgs.get_account_by_id(acct["id"])
        fake.parent_id = result.ou_ids[acct["ou"]]
        if acct["status"] == "SUSPENDED":
            fake.close()
        if acct["role_missing"]:
            # The audit role was never deployed (or was deleted): nothing to assume.
            iam_backends[acct["id"]][PARTITION].delete_role(DEFAULT_ROLE)

    _iam_policies(scenario, mgmt_id, members)

    for pol in scenario["scps"]:
        created = orgs.create_policy(
            Name=pol["name"],
            Description=pol["description"],
            Type="SERVICE_CONTROL_POLICY",
            Content=json.dumps(pol["content"]),
        )
        pid = created["Policy"]["PolicySummary"]["Id"]
        result.policy_ids[pol["name"]] = pid
        for target in pol["targets"]:
            orgs.attach_policy(PolicyId=pid, TargetId=result.ou_ids.get(target, target))
    return result

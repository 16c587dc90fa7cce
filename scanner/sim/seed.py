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
    # account_id, service_principals, aws_access_key_id, aws_secret_access_key of the
    # delegated administrator's operator user; None without one.
    delegated_administrator: dict[str, Any] | None = None


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


def _operator_credentials(account_id: str) -> tuple[str, str]:
    """An IAM user with a key in the account (the management account, or the delegated
    administrator): moto maps the key to its account."""
    iam = iam_backends[account_id][PARTITION]
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


def _trust_policy(*accounts: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]}}]})


def _delegate(scenario: Scenario, orgs: Any, delegated: dict[str, Any]) -> dict[str, Any]:
    """Register the delegated administrator as AWS requires (trusted access first), give it an
    operator user, and make the audit roles named by ``trusted_by`` trust its account."""
    from moto.organizations.models import FakeDelegatedAdministrator, FakeServiceAccess

    mgmt_id: str = scenario["organization"]["management_account_id"]
    admin_id: str = delegated["account_id"]
    for principal in delegated["service_principals"]:
        # moto knows only some services' principals (not IAM's or Account Management's).
        for known in (FakeServiceAccess.TRUSTED_SERVICES,
                      FakeDelegatedAdministrator.SUPPORTED_SERVICES):
            if principal not in known:
                known.append(principal)
        orgs.enable_aws_service_access(ServicePrincipal=principal)
        orgs.register_delegated_administrator(AccountId=admin_id, ServicePrincipal=principal)
    policies: dict[str, Any] = scenario.get("iam_policies") or {}
    key_id, secret = _operator_credentials(admin_id)
    if policies.get("operator") is not None:
        iam_backends[admin_id][PARTITION].put_user_policy(
            OPERATOR_USER, "orgscan-operator", json.dumps(policies["operator"]))
    missing = {a["id"] for a in scenario["accounts"] if a["role_missing"]}
    for account_id in delegated["trusted_by"]:
        if account_id in missing:
            continue
        iam = iam_backends[account_id][PARTITION]
        if account_id == mgmt_id:
            # AWS creates no such role in the management account: it exists only because the
            # scenario deploys the audit role there for the delegated administrator.
            iam.create_role(role_name=DEFAULT_ROLE,
                            assume_role_policy_document=_trust_policy(mgmt_id, admin_id),
                            path="/", permissions_boundary=None, description="",
                            tags=[], max_session_duration="3600")
            if policies.get("audit_role") is not None:
                iam.put_role_policy(DEFAULT_ROLE, "orgscan-audit",
                                    json.dumps(policies["audit_role"]))
        else:
            iam.update_assume_role_policy(DEFAULT_ROLE, _trust_policy(mgmt_id, admin_id))
    return {"account_id": admin_id, "service_principals": list(delegated["service_principals"]),
            "aws_access_key_id": key_id, "aws_secret_access_key": secret}


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

    delegated = scenario["organization"].get("delegated_administrator")
    if delegated is not None:
        result.delegated_administrator = _delegate(scenario, orgs, delegated)

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

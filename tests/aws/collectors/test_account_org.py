"""account.alternate_contacts, org.account_policies and org.summary; and every collector's
declared IAM actions against the calls it really makes."""

from __future__ import annotations

from typing import Any

import pytest

from scanner.aws.collectors import COLLECTORS, closure
from scanner.aws.collectors.orgfacts import account_policies
from scanner.aws.org import walk
from scanner.aws.session import Aws, account_scope
from scanner.core.models import Account, AccountState, Organization, OrgUnit, Policy
from scanner.core.settings import AwsSettings
from scanner.sim import SimServer
from tests.aws.collectors.conftest import APP, HW, MGMT, PEND, SEC, TOOLS, scanning

pytestmark = pytest.mark.usefixtures("aws_env")


async def walked(sim: SimServer) -> Organization:
    async with Aws(AwsSettings(endpoint_url=sim.endpoint)) as aws:
        base = await aws.base_scope()
        with account_scope(base):
            return await walk(aws)


SECURITY = {"name": "Sec Team", "email": "sec@example.com", "phone": "+1-555-0101",
            "title": "CISO"}


async def test_alternate_contacts_security_by_default(sim: SimServer) -> None:
    async with scanning(sim, APP) as scan:
        contacts = await scan.ok("account.alternate_contacts")
        calls = scan.calls(APP)
    # One call: the bundled rules read the security contact only.
    assert contacts == {"security": SECURITY}
    assert calls == {"account:GetAlternateContact": 1}


async def test_alternate_contacts_all_types_on_request(sim: SimServer) -> None:
    options = {"alternate_contacts": {"types": ["SECURITY", "BILLING", "OPERATIONS"]}}
    async with scanning(sim, APP, options=options) as scan:
        contacts = await scan.ok("account.alternate_contacts")
        calls = scan.calls(APP)
    assert contacts == {"security": SECURITY, "billing": None, "operations": None}
    assert calls == {"account:GetAlternateContact": 3}


async def test_no_alternate_contacts(sim: SimServer) -> None:
    async with scanning(sim, SEC) as scan:
        assert await scan.ok("account.alternate_contacts") == {"security": None}


async def test_account_policies_from_the_walk(sim: SimServer) -> None:
    org = await walked(sim)
    deny_id = next(p.id for p in org.policies.values() if p.name == "DenyRootUser")
    workloads = next(u for u in org.units if u.path == "Root/Workloads")
    async with scanning(sim, APP, org=org) as scan:
        app = await scan.ok("org.account_policies")
        calls = scan.calls(APP)
    assert calls == {}  # no API call
    assert app["account_id"] == APP and app["scps_apply"] is True
    assert {"id": deny_id, "name": "DenyRootUser", "attached_to": workloads.id,
            "path": "Root/Workloads"} in app["inherited_scps"]
    assert app["root_deny_scps"] == [deny_id]
    # Outermost first: whatever sits on the root comes before the OU's attachments.
    paths = [s["path"] for s in app["inherited_scps"]]
    assert paths == sorted(paths, key=len)
    async with scanning(sim, SEC, org=org) as scan:
        sec = await scan.ok("org.account_policies")
    assert deny_id not in [s["id"] for s in sec["inherited_scps"]]
    assert sec["root_deny_scps"] == []
    async with scanning(sim, MGMT, org=org) as scan:
        mgmt = await scan.ok("org.account_policies")
    assert mgmt["scps_apply"] is False  # SCPs never restrict the management account


async def test_org_summary(sim: SimServer) -> None:
    org = await walked(sim)
    async with scanning(sim, MGMT, org=org, scope="organization") as scan:
        summary = await scan.ok("org.summary")
    assert summary == {"organization_id": sim.organization_id, "feature_set": "ALL",
                       "accounts_total": 7}


DENY_ROOT: dict[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                   "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}],
}
ALLOW_ALL: dict[str, Any] = {"Version": "2012-10-17",
                             "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def test_account_policies_attachments_types_and_unknown_policies() -> None:
    units = (
        OrgUnit("r-1", "Root", "arn:r", None, "Root", ("p-full",)),
        OrgUnit("ou-a", "A", "arn:a", "r-1", "Root/A", ("p-tag", "p-missing")),
        OrgUnit("ou-b", "B", "arn:b", "ou-a", "Root/A/B", ()),
    )
    acct = Account("123456789012", "leaf", "l@example.com", "arn:acct", AccountState.ACTIVE,
                   "CREATED", "2024-01-01T00:00:00+00:00", "ou-b", "Root/A/B",
                   policy_ids=("p-deny", "p-full"))
    policies = {
        "p-full": Policy("p-full", "FullAWSAccess", "SERVICE_CONTROL_POLICY", True, ALLOW_ALL),
        "p-tag": Policy("p-tag", "Tags", "TAG_POLICY", False, {}),
        "p-deny": Policy("p-deny", "DenyRoot", "SERVICE_CONTROL_POLICY", False, DENY_ROOT),
    }
    org = Organization("o-1", "arn:o", "ALL", "999999999999", "m@example.com", units, (acct,),
                       policies)
    out = account_policies(org, acct)
    assert out["inherited_scps"] == [
        {"id": "p-full", "name": "FullAWSAccess", "attached_to": "r-1", "path": "Root"},
        {"id": "p-missing", "name": None, "attached_to": "ou-a", "path": "Root/A"},
        {"id": "p-deny", "name": "DenyRoot", "attached_to": acct.id, "path": "Root/A/B/leaf"},
        {"id": "p-full", "name": "FullAWSAccess", "attached_to": acct.id,
         "path": "Root/A/B/leaf"},
    ]
    assert out["root_deny_scps"] == ["p-deny"]
    assert out["scps_apply"] is True
    consolidated = Organization("o-1", "arn:o", "CONSOLIDATED_BILLING", "999999999999",
                                "m@example.com", units, (acct,), policies)
    assert account_policies(consolidated, acct)["scps_apply"] is False


# botocore's event service ids where they differ from the IAM action prefix.
_PREFIX = {"cloudwatch-logs": "logs"}


@pytest.mark.parametrize("account_id", [APP, HW, SEC, TOOLS, PEND])
async def test_declared_actions_cover_every_call(sim: SimServer, account_id: str) -> None:
    names = [n for n, c in COLLECTORS.items() if c.scope == "account" and n != "root.usage"]
    for name in names:
        async with scanning(sim, account_id,
                            options={"credential_report": {"initial_delay": 0.05}}) as scan:
            await scan.ok(name)
            made = {f"{_PREFIX.get(s, s)}:{op}" for s, op in
                    (k.split(":", 1) for k in scan.calls(account_id))}
        declared = {a for n in closure({name}, COLLECTORS) for a in COLLECTORS[n].actions}
        assert made <= declared, (name, made - declared)

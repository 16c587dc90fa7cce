"""Collectors against the simulated organization, over HTTP, through orgscan's own AWS layer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3  # type: ignore[import-untyped]
import pytest

from scanner.aws.collectors import COLLECTORS, CollectContext, FactStore
from scanner.aws.session import Aws, account_scope
from scanner.core.models import JSON, Account, AccountState, FactError, Organization, OrgUnit
from scanner.core.settings import AwsSettings
from scanner.run.config import collector_options
from scanner.sim import SimServer
from tests.conftest import use_simulator

MGMT = "111111111111"
SEC = "222222222222"  # root credentials centrally removed
APP = "333333333333"  # root password, virtual MFA, an active key
HW = "444444444444"  # root password, hardware MFA
TOOLS = "666666666666"  # no root state in the scenario; IAM/CloudTrail/monitoring seeded here
PEND = "777777777777"  # monitoring chain whose only subscription is pending
EU = "888888888888"  # only single-region trails of its own, homed outside us-east-1
EU_KEY = f"arn:aws:kms:eu-central-1:{EU}:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"

SCENARIO: dict[str, Any] = {
    "name": "collectors",
    "seed": 7,
    "regions": ["us-east-1", "eu-west-1"],
    "organization": {
        "management_account": {"id": MGMT, "name": "management"},
        "features": {"root_credentials_management": True, "root_sessions": False},
        "trail": {"name": "org-trail", "log_archive_account": "security",
                  "cloudwatch_logs_log_group": "aws-controltower/CloudTrailLogs"},
    },
    "background": {"events_per_day": 1, "days": 1},
    "scps": [{
        "name": "DenyRootUser",
        "description": "Deny every action by the root user",
        "content": {
            "Version": "2012-10-17",
            "Statement": [{
                "Sid": "DenyRoot", "Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
            }],
        },
        "targets": ["Root/Workloads"],
    }],
    "accounts": [
        {"id": SEC, "name": "security", "ou": "Root/Security",
         "root": {"centrally_removed": True}},
        {"id": APP, "name": "app", "ou": "Root/Workloads/Prod",
         "root": {"password": True, "mfa": "virtual",
                  "access_keys": [{"active": True, "last_rotated": "-400d"}]},
         "monitoring": {"chain": "complete"},
         "alternate_contacts": {"security": {"name": "Sec Team", "email": "sec@example.com",
                                             "phone": "+1-555-0101", "title": "CISO"}}},
        {"id": HW, "name": "hw", "ou": "Root/Workloads/Dev",
         "root": {"password": True, "mfa": "hardware"},
         "monitoring": {"chain": "wrong_case"}},
        {"id": TOOLS, "name": "tools", "ou": "Root/Workloads/Dev"},
        {"id": PEND, "name": "pending", "ou": "Root/Security",
         "monitoring": {"chain": "pending_subscription"}},
        # A whole CIS chain in eu-west-1 on a single-region trail, and a single-region trail
        # in eu-central-1: neither is visible from us-east-1's DescribeTrails.
        {"id": EU, "name": "eu-only", "ou": "Root/Workloads/Dev",
         "monitoring": {"chain": "single_region_trail", "region": "eu-west-1"},
         "trails": [{"name": "central-audit", "region": "eu-central-1",
                     "log_file_validation": True, "kms_key_id": EU_KEY}]},
    ],
}


@pytest.fixture(scope="session")
def sim() -> Iterator[SimServer]:
    with SimServer(SCENARIO) as server:
        yield server


@pytest.fixture
def aws_env(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """orgscan's AWS layer reads the standard credential chain: point it at the simulator."""
    use_simulator(sim, monkeypatch)
    yield
    sim.set_faults({})


def boto(sim: SimServer, account_id: str, service: str, region: str = "us-east-1") -> Any:
    """A plain boto3 client in ``account_id`` (for seeding state), through the access role."""
    base = boto3.client("sts", endpoint_url=sim.endpoint, **sim.credentials)
    if account_id == sim.management_account_id:
        return boto3.client(service, endpoint_url=sim.endpoint,
                            **(sim.credentials | {"region_name": region}))
    creds = base.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="seed")["Credentials"]
    return boto3.client(
        service, endpoint_url=sim.endpoint, region_name=region,
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"])


def hand_org(sim: SimServer) -> Organization:
    """A minimal Organization for facts that do not read the walk."""
    accounts = tuple(
        Account(id=a, name=a, email=f"{a}@example.com", arn=f"arn:aws:organizations::{MGMT}:"
                f"account/{sim.organization_id}/{a}", status=AccountState.ACTIVE,
                joined_method="CREATED", joined_timestamp="2024-01-01T00:00:00+00:00",
                parent_id="r-root", ou_path="Root", is_management=a == MGMT)
        for a in (MGMT, SEC, APP, HW, TOOLS, PEND, EU)
    )
    return Organization(id=sim.organization_id, arn="arn:aws:organizations::org",
                        feature_set="ALL", management_account_id=MGMT,
                        management_account_email="m@example.com",
                        units=(OrgUnit("r-root", "Root", "arn:aws:organizations::root", None,
                                       "Root"),),
                        accounts=accounts)


@dataclass
class Scan:
    aws: Aws
    store: FactStore

    async def get(self, name: str) -> JSON | FactError:
        return await self.store.get(name)

    async def ok(self, name: str) -> JSON:
        value = await self.store.get(name)
        assert not isinstance(value, FactError), value
        return value

    def calls(self, account_id: str) -> dict[str, int]:
        return self.aws.stats.calls_for(account_id)


@asynccontextmanager
async def scanning(sim: SimServer, account_id: str, *, org: Organization | None = None,
                   options: dict[str, Any] | None = None,
                   scope: str = "account") -> AsyncIterator[Scan]:
    """A fact store for one account, signed as that account, as the orchestrator builds it."""
    async with Aws(AwsSettings(endpoint_url=sim.endpoint, max_attempts=2)) as aws:
        base = await aws.base_scope()
        target = base if account_id == base.account_id else await aws.assume(base, account_id)
        organization = org or hand_org(sim)
        account = None if scope == "organization" else organization.account(account_id)
        with account_scope(target):
            store = FactStore(
                COLLECTORS,
                make_context=lambda fs: CollectContext(
                    aws=aws, org=organization, account=account, account_id=account_id,
                    regions=("us-east-1", "eu-west-1"), now=datetime.now(UTC),
                    options=collector_options(options or {}), facts=fs),
            )
            yield Scan(aws, store)

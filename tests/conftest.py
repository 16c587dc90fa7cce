"""What every test shares: no test reads this machine's AWS configuration or credentials
(``isolate_aws_environment``), ``use_simulator`` points the standard credential chain at a
simulator, and a simulated organization shaped to exercise the walk: nested OUs four deep, an OU
holding more accounts than one Organizations page (20), tags, SCPs on several levels, a
suspended account and one whose audit role is missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scanner.core.settings import AwsSettings
from scanner.sim import SimServer

# Variables through which a developer's own AWS setup could leak into a test.
_AWS_ENVIRONMENT = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID",
                    "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ROLE_ARN",
                    "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI")


@pytest.fixture(autouse=True)
def isolate_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in _AWS_ENVIRONMENT:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask an instance for creds


def use_simulator(sim: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The standard credential chain (what orgscan reads) leads to ``sim``."""
    for k, v in sim.env.items():
        monkeypatch.setenv(k, v)


MGMT = "100000000000"
DENIED = "100000000099"
SUSPENDED = "100000000098"


def walk_scenario() -> dict[str, Any]:
    accounts: list[dict[str, Any]] = []
    for i in range(25):  # one page of ListAccountsForParent holds at most 20
        accounts.append({"id": f"1000000001{i:02d}", "name": f"prod-{i:02d}",
                         "ou": "Root/Workloads/Prod", "tags": {"env": "prod", "team": f"t{i % 3}"}})
    for i in range(3):
        accounts.append({"id": f"1000000002{i:02d}", "name": f"deep-{i}",
                         "ou": "Root/Workloads/Dev/Team-A/Experiments", "tags": {"env": "dev"}})
    accounts += [
        {"id": "100000000300", "name": "log-archive", "ou": "Root/Security",
         "tags": {"team": "security"}},
        {"id": DENIED, "name": "no-audit-role", "ou": "Root/Workloads/Dev", "role_missing": True},
        {"id": SUSPENDED, "name": "closed", "ou": "Root/Suspended", "status": "SUSPENDED"},
    ]
    return {
        "name": "walk",
        "seed": 7,
        "regions": ["us-east-1"],
        "background": {"events_per_day": 0, "days": 1},
        "organization": {"management_account": {"id": MGMT, "name": "management",
                                                "email": "mgmt@example.com"}},
        "scps": [
            {"name": "DenyRoot", "description": "deny root",
             "content": {"Version": "2012-10-17", "Statement": [{
                 "Effect": "Deny", "Action": "*", "Resource": "*",
                 "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}}}]},
             "targets": ["Root/Workloads"]},
            {"name": "DenyRegions", "description": "regions",
             "content": {"Version": "2012-10-17", "Statement": [{
                 "Effect": "Deny", "NotAction": "iam:*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]},
             "targets": ["Root/Workloads/Dev/Team-A", "100000000300"]},
        ],
        "accounts": accounts,
    }


@pytest.fixture(scope="session")
def walk_sim() -> Iterator[SimServer]:
    with SimServer(walk_scenario()) as sim:
        yield sim


def settings_for(sim: SimServer, **kw: Any) -> AwsSettings:
    c = sim.credentials
    return AwsSettings(endpoint_url=sim.endpoint,
                       credentials=(c["aws_access_key_id"], c["aws_secret_access_key"]), **kw)

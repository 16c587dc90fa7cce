"""One simulator per test session per scenario: starting one costs about a second."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from scanner.sim import SimServer


@pytest.fixture(scope="session")
def sim() -> Iterator[SimServer]:
    with SimServer("minimal") as server:
        yield server


@pytest.fixture(scope="session")
def demo_sim() -> Iterator[SimServer]:
    with SimServer("demo") as server:
        yield server


def client(sim: SimServer, service: str, **kw: Any) -> Any:
    return boto3.client(service, endpoint_url=sim.endpoint, **(sim.credentials | kw))


def assume(
    sim: SimServer, account_id: str, service: str, region: str = "us-east-1", **kw: Any
) -> Any:
    """A client in ``account_id`` through the org's access role, as the scanner does it."""
    creds = client(sim, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole",
        RoleSessionName="orgscan-test",
    )["Credentials"]
    return boto3.client(
        service,
        endpoint_url=sim.endpoint,
        region_name=region,
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        **kw,
    )

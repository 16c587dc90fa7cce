"""The caller identity: asked of STS once per scan, and the partition every role ARN is built
in (the scan may run in aws-us-gov or aws-cn, never only in aws)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scanner.aws.session import Aws, CallerIdentity, arn_partition, iam_role_arn
from scanner.core.errors import ScopeError
from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from tests.aws.collectors.conftest import APP, MGMT

pytestmark = pytest.mark.usefixtures("aws_env")


@pytest.mark.parametrize(("caller_arn", "partition"), [
    ("arn:aws:iam::111111111111:user/auditor", "aws"),
    ("arn:aws-us-gov:sts::111111111111:assumed-role/Audit/orgscan", "aws-us-gov"),
    ("arn:aws-cn:iam::111111111111:root", "aws-cn"),
])
def test_role_arns_are_built_in_the_callers_partition(caller_arn: str, partition: str) -> None:
    caller = CallerIdentity("111111111111", caller_arn)
    assert caller.partition == partition
    assert iam_role_arn(caller.partition, "222222222222", "OrgscanAudit") == (
        f"arn:{partition}:iam::222222222222:role/OrgscanAudit")


@pytest.mark.parametrize("text", ["", "111111111111", "arn::iam::1:root", "urn:aws:iam::1:x"])
def test_a_caller_that_is_not_an_arn_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not an ARN"):
        arn_partition(text)


async def test_base_scope_records_the_caller(sim: SimServer) -> None:
    sim.reset_counters()
    async with Aws(AwsSettings(endpoint_url=sim.endpoint)) as aws:
        with pytest.raises(ScopeError):
            _ = aws.caller  # not known before base_scope: never a guessed partition
        base = await aws.base_scope()
        await aws.assume(base, APP)
        caller = aws.caller
        role = aws.role_arn(APP)
    assert caller.account_id == MGMT == base.account_id
    assert caller.arn.startswith(f"arn:aws:iam::{MGMT}:") and caller.partition == "aws"
    assert role == f"arn:aws:iam::{APP}:role/OrganizationAccountAccessRole"
    assert sim.counters()["by_action"]["sts:GetCallerIdentity"] == 1


async def test_a_scan_asks_sts_who_the_caller_is_once(sim: SimServer, tmp_path: Path) -> None:
    creds = sim.credentials
    config = replace(load_config(None), aws=AwsSettings(
        endpoint_url=sim.endpoint,
        credentials=(creds["aws_access_key_id"], creds["aws_secret_access_key"])))
    rules = [r for r in load_rules() if r.id == "root-access-keys-present"]
    sim.reset_counters()
    result = await scan(config, rules, out_dir=tmp_path)
    assert sim.counters()["by_action"]["sts:GetCallerIdentity"] == 1
    assert result.caller_arn.startswith(f"arn:aws:iam::{MGMT}:")

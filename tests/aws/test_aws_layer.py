"""Shared clients signing per account, AssumeRole per account, the read-only guard."""

from __future__ import annotations

import pytest

from scanner.aws.session import Aws, RateLimiter, account_scope, is_read_operation
from scanner.core.errors import AccessDenied, ReadOnlyViolation, ScopeError
from scanner.sim import SimServer
from tests.conftest import DENIED, MGMT, settings_for


async def test_each_scope_signs_as_its_own_account(walk_sim: SimServer) -> None:
    async with Aws(settings_for(walk_sim)) as aws:
        base = await aws.base_scope()
        assert base.account_id == MGMT
        sts = await aws.client("sts")
        scopes = [await aws.assume(base, f"1000000001{i:02d}") for i in range(3)]
        for scope in scopes:
            with account_scope(scope):
                ident = await sts.get_caller_identity()
            assert ident["Account"] == scope.account_id
            assert ":assumed-role/OrganizationAccountAccessRole/orgscan" in ident["Arn"]
        # One client served every account: connections are reused across accounts.
        assert len(aws._clients) == 1


async def test_missing_role_is_access_denied(walk_sim: SimServer) -> None:
    async with Aws(settings_for(walk_sim)) as aws:
        base = await aws.base_scope()
        with pytest.raises(AccessDenied) as err:
            await aws.assume(base, DENIED)
        assert err.value.code == "AccessDenied"
        assert err.value.account_id == DENIED


async def test_read_only_guard_refuses_writes_before_sending(walk_sim: SimServer) -> None:
    walk_sim.reset_counters()
    async with Aws(settings_for(walk_sim)) as aws:
        base = await aws.base_scope()
        iam = await aws.client("iam")
        org = await aws.client("organizations")
        with account_scope(base):
            with pytest.raises(ReadOnlyViolation):
                await iam.create_user(UserName="should-never-exist")
            with pytest.raises(ReadOnlyViolation):
                await org.create_organizational_unit(ParentId="r-xxxx", Name="nope")
            users = await iam.list_users()
    assert "should-never-exist" not in {u["UserName"] for u in users["Users"]}
    sent = walk_sim.counters()["by_action"]
    assert sent.get("iam:ListUsers") == 1  # the read went through ...
    assert "iam:CreateUser" not in sent  # ... the writes never left the client
    assert "organizations:CreateOrganizationalUnit" not in sent


async def test_calls_outside_a_scope_are_refused(walk_sim: SimServer) -> None:
    async with Aws(settings_for(walk_sim)) as aws:
        iam = await aws.client("iam")
        with pytest.raises(ScopeError):
            await iam.list_users()


def test_read_operation_classification() -> None:
    assert is_read_operation("iam", "GetCredentialReport")
    assert is_read_operation("iam", "GenerateCredentialReport")
    assert is_read_operation("cloudtrail", "LookupEvents")
    assert is_read_operation("sts", "AssumeRole")
    assert not is_read_operation("iam", "DeleteAccessKey")
    assert not is_read_operation("sts", "AssumeRoot")
    assert not is_read_operation("organizations", "AttachPolicy")
    assert not is_read_operation("s3", "PutObject")


async def test_rate_limiter_spaces_calls() -> None:
    import time

    lim = RateLimiter(rate=20.0, burst=1)
    t0 = time.monotonic()
    for _ in range(5):
        await lim.acquire()
    # 5 calls at 20/s: the first is immediate, the rest 50 ms apart.
    assert time.monotonic() - t0 >= 0.19


async def test_rate_limiter_burst_and_charge_at_completion() -> None:
    import asyncio
    import time

    lim = RateLimiter(rate=10.0, burst=2)
    t0 = time.monotonic()
    await lim.acquire()  # the burst: two calls back to back
    lim.completed()
    await lim.acquire()
    assert time.monotonic() - t0 < 0.05
    await asyncio.sleep(0.2)  # a slow answer: that call may have arrived only now
    lim.completed()
    t1 = time.monotonic()
    await lim.acquire()  # the bucket has refilled one token since the first call
    lim.completed()
    await lim.acquire()  # but not two: paced by send times alone this one would go at once
    assert time.monotonic() - t1 >= 0.09


def test_a_refresh_that_returns_expired_credentials_is_a_credential_failure() -> None:
    from scanner.core.errors import AccessDenied, translate

    exc = RuntimeError("Credentials were refreshed, but the refreshed credentials are still "
                       "expired.")
    err = translate(exc, service="iam", account_id="123456789012")
    assert isinstance(err, AccessDenied) and err.code == "CredentialRefresh"

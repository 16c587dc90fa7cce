"""Shared clients signing per account, AssumeRole per account, the read-only guard."""

from __future__ import annotations

import copy
import ssl
from typing import Any

import pytest
from botocore.context import ClientContext, get_context, reset_context, set_context

from scanner.aws import session as session_module
from scanner.aws.ratelimit import CallStats
from scanner.aws.session import (
    Aws,
    RateLimiter,
    account_scope,
    is_read_operation,
    shared_loader,
    shared_tls_context,
)
from scanner.core.errors import AccessDenied, ReadOnlyViolation, ScopeError
from scanner.core.settings import AwsSettings
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


class FakeClock:
    """A clock the rate limiter reads and sleeps on: the tests check when each call would be
    let go, exactly, instead of timing a busy machine."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


async def test_rate_limiter_spaces_calls() -> None:
    clock = FakeClock()
    lim = RateLimiter(rate=20.0, burst=1, clock=clock, sleep=clock.sleep)
    for _ in range(5):
        await lim.acquire()
    # 5 calls at 20/s: the first is immediate, the rest 50 ms apart.
    assert clock.sleeps == [0.05, 0.05, 0.05, 0.05]


async def test_rate_limiter_burst_and_charge_at_completion() -> None:
    clock = FakeClock()
    lim = RateLimiter(rate=10.0, burst=2, clock=clock, sleep=clock.sleep)
    await lim.acquire()  # the burst: two calls back to back
    lim.completed()
    await lim.acquire()
    assert clock.sleeps == []
    clock.now += 0.2  # a slow answer: that call may have arrived only now
    lim.completed()
    await lim.acquire()  # the bucket has refilled one token since the first call
    lim.completed()
    assert clock.sleeps == []
    await lim.acquire()  # but not two: paced by send times alone this one would go at once
    assert clock.sleeps == [0.1]


def test_a_refresh_that_returns_expired_credentials_is_a_credential_failure() -> None:
    from scanner.aws.errors import classify
    from scanner.core.errors import AccessDenied

    exc = RuntimeError("Credentials were refreshed, but the refreshed credentials are still "
                       "expired.")
    err = classify(exc, service="iam", account_id="123456789012")
    assert isinstance(err, AccessDenied) and err.code == "CredentialRefresh"


def test_a_bug_is_not_an_aws_failure() -> None:
    """classify answers None for what is not an AWS failure, so callers re-raise it."""
    from scanner.aws.errors import classify

    assert classify(KeyError("Credentials")) is None
    assert classify(TypeError("unsupported operand")) is None
    assert classify(RuntimeError("something else")) is None


def test_throttle_codes_are_counted_and_classified_alike() -> None:
    """One set of throttle codes: what the call counter counts as throttled is what a
    throttle that outlived the retries is classified as."""
    from botocore.exceptions import ClientError

    from scanner.aws.errors import THROTTLE_CODES, classify, is_throttle
    from scanner.core.errors import Throttled

    for code in sorted(THROTTLE_CODES):
        assert is_throttle(code)
        exc = ClientError({"Error": {"Code": code, "Message": "slow down"}}, "LookupEvents")
        assert isinstance(classify(exc), Throttled), code
    assert not is_throttle("AccessDenied")


async def test_one_tls_context_for_every_client(walk_sim: SimServer,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """aiobotocore would build a TLS context per client and load the CA bundle into each."""
    loads: list[object] = []
    load = ssl.SSLContext.load_verify_locations

    def counting_load(self: ssl.SSLContext, *args: Any, **kw: Any) -> None:
        loads.append(args)
        load(self, *args, **kw)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counting_load)
    monkeypatch.setattr(session_module, "_TLS_CONTEXTS", {})
    async with Aws(settings_for(walk_sim)) as aws:
        base = await aws.base_scope()
        with account_scope(base):
            await (await aws.client("iam")).list_users()
            for region in ("us-east-1", "eu-west-1", "ap-south-1"):
                await (await aws.client("cloudtrail", region)).describe_trails()
        contexts = {id(client._endpoint.http_session._sessions[None].connector._ssl)
                    for client in aws._clients.values()}
        assert len(aws._clients) == 5
    assert len(contexts) == 1
    assert len(loads) == 1
    assert shared_tls_context(True) is shared_tls_context(True)


def _ua_parts(header: str) -> list[str]:
    """A User-Agent's components, the feature ids (``m/A,B``: a set's order) sorted."""
    return sorted(f"m/{','.join(sorted(p[2:].split(',')))}" if p.startswith("m/") else p
                  for p in header.split(" "))


async def test_user_agent_is_the_one_botocore_builds(walk_sim: SimServer) -> None:
    """The header is built once per set of feature ids (session.cache_user_agent): every
    request still carries what botocore would have built for it, feature ids included."""
    sent: list[tuple[str, frozenset[str]]] = []

    def capture(request: Any, **_: Any) -> None:
        context = get_context()
        header = request.headers["User-Agent"]
        sent.append((header.decode() if isinstance(header, bytes) else header,
                     frozenset(context.features) if context else frozenset()))

    async with Aws(settings_for(walk_sim)) as aws:
        base = await aws.base_scope()
        org = await aws.client("organizations")
        org.meta.events.register("before-send.*.*", capture)
        with account_scope(base):
            await org.describe_organization()
            [page async for page in org.get_paginator("list_accounts").paginate()]
            await org.describe_organization()
        creator = org._user_agent_creator
        for header, features in sent:
            token = set_context(ClientContext(features=set(features)))
            try:
                built = type(creator).to_string(creator)  # botocore's own, uncached
            finally:
                reset_context(token)
            assert _ua_parts(header) == _ua_parts(built)
            assert "orgscan/" in header
    # The paginated call registers a feature id of its own: two different headers were sent.
    assert len({features for _, features in sent}) >= 2
    assert len({header for header, _ in sent}) >= 2


def test_client_context_copies_are_deep() -> None:
    context = ClientContext(features={"A"})
    copied = copy.deepcopy(context)
    copied.features.add("B")
    assert context.features == {"A"} and copied.features == {"A", "B"}


async def test_sessions_share_one_data_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    """Endpoint data and service models are decoded once per process, not per session; a
    custom data path (AWS_DATA_PATH) still gets a loader of its own, as botocore builds it."""
    settings = AwsSettings(endpoint_url="http://127.0.0.1:9", credentials=("k", "s"))
    async with Aws(settings) as one, Aws(settings) as two:
        assert one._session.get_component("data_loader") is shared_loader()
        assert two._session.get_component("data_loader") is shared_loader()
    monkeypatch.setenv("AWS_DATA_PATH", "/nonexistent-models")
    async with Aws(settings) as custom:
        loader = custom._session.get_component("data_loader")
        assert loader is not shared_loader()
        assert "/nonexistent-models" in loader.search_paths


def test_call_counts_by_account() -> None:
    stats = CallStats()
    for account, op in [("a", "iam:GetAccountSummary"), ("b", "sts:AssumeRole"),
                        ("a", "iam:GetAccountSummary"), ("a", "ec2:DescribeRegions")]:
        stats.attempted(account, op)
    assert stats.calls_for("a") == {"iam:GetAccountSummary": 2, "ec2:DescribeRegions": 1}
    assert stats.calls_for("b") == {"sts:AssumeRole": 1}
    assert stats.calls_for("c") == {}
    assert stats.attempts[("a", "iam:GetAccountSummary")] == 2

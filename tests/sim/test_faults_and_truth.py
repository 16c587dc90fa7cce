"""Faults and counters; async clients; demo ground truth; generator determinism."""

from __future__ import annotations

import http.client
from urllib.parse import urlparse

import aiobotocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from scanner.sim import SimServer
from scanner.sim.generate import generate
from tests.sim.conftest import client

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def test_faults_throttle_error_drop_and_counters(sim: SimServer) -> None:
    sim.reset_counters()
    sim.set_faults({"rules": [
        {"kind": "throttle", "service": "organizations", "action": "ListRoots", "count": 1},
        {"kind": "error", "service": "iam", "action": "ListUsers", "count": 1,
         "status": 503, "code": "ServiceUnavailable"},
        {"kind": "latency", "service": "sts", "latency_ms": 50, "jitter_ms": 10},
        {"kind": "drop", "service": "organizations", "action": "ListPolicies", "count": 1},
    ]})
    try:
        org = client(sim, "organizations", config=NO_RETRY)
        with pytest.raises(ClientError) as info:
            org.list_roots()
        assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert org.list_roots()["Roots"]  # count exhausted
        with pytest.raises(ClientError) as info:
            client(sim, "iam", config=NO_RETRY).list_users()
        assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
        with pytest.raises(Exception, match=r"(?i)connection|endpoint"):
            org.list_policies(Filter="SERVICE_CONTROL_POLICY")
        client(sim, "sts").get_caller_identity()
        counts = sim.counters()
        assert counts["throttled"]["organizations:ListRoots"] == 1
        assert counts["faults"]["error"] == 1 and counts["faults"]["drop"] == 1
        assert counts["faults"]["latency"] >= 1
        assert counts["by_action"]["organizations:ListRoots"] == 2
        assert counts["by_account"]["111111111111"] >= 4
    finally:
        sim.set_faults({})


def test_access_denied_fault_on_assume_role(sim: SimServer) -> None:
    sim.set_faults({"assume_role_denied": ["333333333333"]})
    try:
        with pytest.raises(ClientError) as info:
            client(sim, "sts").assume_role(
                RoleArn="arn:aws:iam::333333333333:role/OrganizationAccountAccessRole",
                RoleSessionName="denied")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        sim.set_faults({})


def test_bad_fault_spec_rejected(sim: SimServer) -> None:
    url = urlparse(sim.endpoint)
    conn = http.client.HTTPConnection(url.hostname or "", url.port)
    conn.request("POST", "/_sim/faults", body=b'{"rules": [{"kind": "explode"}]}')
    assert conn.getresponse().status == 400


async def test_async_clients_parse_simulated_apis(sim: SimServer) -> None:
    session = aiobotocore.session.get_session()
    creds = {k: v for k, v in sim.credentials.items() if k != "region_name"}
    async with session.create_client("iam", region_name="us-east-1",
                                     endpoint_url=sim.endpoint, **creds) as iam:
        got = await iam.list_organizations_features()
        assert got["OrganizationId"] == sim.organization_id
        summary = (await iam.get_account_summary())["SummaryMap"]
        assert summary["AccountMFAEnabled"] == 1
    async with session.create_client("cloudtrail", region_name="eu-west-1",
                                     endpoint_url=sim.endpoint, **creds) as ct:
        events = []
        async for page in ct.get_paginator("lookup_events").paginate():
            events += page["Events"]
        assert all("CloudTrailEvent" in e for e in events)


def test_generator_is_deterministic_and_consistent() -> None:
    a, truth_a = generate(60, seed=3)
    b, truth_b = generate(60, seed=3)
    assert a == b
    assert truth_a["accounts"].keys() == truth_b["accounts"].keys()
    assert len(truth_a["accounts"]) == 61
    assert generate(60, seed=4)[0] != a
    for acct in truth_a["accounts"].values():
        u = acct["usage"]
        counted = u["console_logins"] + u["api_calls"]
        used = counted > 0 or bool(u["channels"])
        # An account not assessed: use seen is use; none seen is unknown, never "not used".
        assert u["used_in_window"] == (used if acct["assessable"] else (used or None))
        if not acct["assessable"]:
            assert set(acct["root"].values()) == {"NOT_ASSESSED"}


def test_demo_ground_truth_story(demo_sim: SimServer) -> None:
    truth = demo_sim.ground_truth
    by_name = {a["name"]: a for a in truth["accounts"].values()}
    assert len(by_name) >= 41
    assert by_name["payments-prod"]["usage"]["last_used_channel"] in ("console", "api")
    assert by_name["payments-prod"]["root"]["mfa"] == "FAIL"
    assert by_name["retail-prod"]["root"]["access_keys"] == "FAIL"
    assert "keys" in by_name["retail-prod"]["usage"]["channels"]
    assert by_name["data-prod"]["usage"]["failed_logins"] == 8
    assert by_name["data-prod"]["usage"]["used_in_window"] is False
    assert by_name["identity-prod"]["usage"]["password_recovery_requests"] == 1
    assert by_name["search-prod"]["usage"]["used_in_window"] is False
    assert by_name["ledger-prod"]["usage"]["assume_root_sessions"] == 2
    assert by_name["ledger-prod"]["root"]["centralized_root_access"] == "PASS"
    assert by_name["retail-dev"]["assessable"] is False
    assert by_name["retail-dev"]["usage"]["console_logins"] == 1
    assert by_name["closed-experiment"]["assessable"] is False
    assert by_name["old-login-prod"]["usage"]["used_in_window"] is False
    assert by_name["management"]["root"]["centralized_root_access"] == "NOT_APPLICABLE"
    org = client(demo_sim, "organizations")
    ids = {a["Id"] for p in org.get_paginator("list_accounts").paginate() for a in p["Accounts"]}
    assert ids == set(truth["accounts"])

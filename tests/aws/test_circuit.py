"""The circuit per endpoint: it opens only after consecutive failures to connect spanning the
configured time, any answer closes the streak, and once open a call fails before it is sent."""

from __future__ import annotations

import socket
import time

import pytest
from aiobotocore.credentials import AioCredentials
from aiohttp import ClientConnectorError
from aiohttp.client_reqrep import ConnectionKey
from botocore.exceptions import ConnectionClosedError, EndpointConnectionError

from scanner.aws.circuit import ENDPOINT_DOWN, Circuits, EndpointDown, is_connect_failure
from scanner.aws.session import AccountScope, Aws, account_scope
from scanner.core.settings import AwsSettings

EP = "http://127.0.0.1:9"


def _refused() -> EndpointConnectionError:
    key = ConnectionKey("127.0.0.1", 9, False, True, None, None, None)
    cause = ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))
    return EndpointConnectionError(endpoint_url=EP, error=cause)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_only_a_failure_to_connect_counts() -> None:
    assert is_connect_failure(_refused())
    assert not is_connect_failure(ConnectionClosedError(endpoint_url=EP))
    assert not is_connect_failure(None)


def test_opens_after_n_failures_spanning_t_seconds_and_not_before() -> None:
    clock = Clock()
    c = Circuits(failures=5, seconds=10, clock=clock)
    for _ in range(20):  # many failures in a short burst: not yet
        clock.now += 0.1
        c.attempted(EP, answered=False, failure=_refused())
    assert c.open_message(EP) is None
    clock.now += 10
    c.attempted(EP, answered=False, failure=_refused())
    assert c.open_message(EP) == f"endpoint {EP} refused every connection for 12 s"
    assert c.open_message("http://127.0.0.1:10") is None  # per endpoint


def test_few_failures_over_a_long_time_or_an_answer_between_never_open() -> None:
    clock = Clock()
    c = Circuits(failures=5, seconds=10, clock=clock)
    for _ in range(4):
        clock.now += 30
        c.attempted(EP, answered=False, failure=_refused())
    assert c.open_message(EP) is None
    c.attempted(EP, answered=True)
    for _ in range(50):  # a flaky endpoint that still answers now and then
        for _ in range(4):
            clock.now += 5
            c.attempted(EP, answered=False, failure=_refused())
        c.attempted(EP, answered=True)
    assert c.open_message(EP) is None
    for _ in range(50):  # dropped answers are the retries' business
        clock.now += 5
        c.attempted(EP, answered=False, failure=ConnectionClosedError(endpoint_url=EP))
    assert c.open_message(EP) is None


async def test_a_refused_endpoint_gives_up_and_then_fails_fast() -> None:
    """Real clients against a port nothing listens on: the call that opens the circuit stops
    retrying, and the next call fails before it is sent."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: refused
    endpoint = f"http://127.0.0.1:{port}"
    settings = AwsSettings(endpoint_url=endpoint, credentials=("AKIDEXAMPLE", "secret"),
                           max_attempts=20)
    async with Aws(settings) as aws:
        aws.circuits = Circuits(failures=3, seconds=0.5)
        creds = AioCredentials("AKIDEXAMPLE", "secret")
        with account_scope(AccountScope("111111111111", creds)):
            sts = await aws.client("sts")
            t0 = time.monotonic()
            with pytest.raises(EndpointDown) as first:
                await sts.get_caller_identity()
            assert time.monotonic() - t0 < 30  # 20 attempts would back off for minutes
            assert first.value.code == ENDPOINT_DOWN
            assert f"endpoint {endpoint} refused every connection" in first.value.message
            t0 = time.monotonic()
            with pytest.raises(EndpointDown):
                await (await aws.client("iam")).get_account_summary()
            # No backoff (the attempt count below proves nothing was sent); the bound leaves
            # room for a machine loaded by parallel tests.
            assert time.monotonic() - t0 < 5
            assert aws.stats.attempts[("111111111111", "IAM:GetAccountSummary")] == 0

"""Connections are kept alive, as AWS keeps them: a scan opens one TCP connection per
(client, pool slot in use), not one per request (on AWS each would be a TLS handshake)."""

from __future__ import annotations

import asyncio
import http.client
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.aws.session import Aws
from scanner.core.settings import AwsSettings
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer


def _get(conn: http.client.HTTPConnection, path: str) -> tuple[int, bytes, str | None]:
    conn.request("GET", path)
    resp = conn.getresponse()
    return resp.status, resp.read(), resp.getheader("Connection")


def test_one_connection_serves_many_requests(sim: SimServer) -> None:
    host, port = sim.endpoint.removeprefix("http://").split(":")
    sim.reset_counters()
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        for _ in range(5):
            status, body, connection = _get(conn, "/_sim/info")
            assert status == 200 and body.startswith(b"{")
            assert connection is None  # no "Connection: close"
        # A request with a body the application does not read: the next request on the same
        # connection is still read from its first byte.
        conn.request("POST", "/_sim/unknown", body=b"x" * 10_000)
        conn.getresponse().read()
        status, _, _ = _get(conn, "/_sim/info")
        assert status == 200
    finally:
        conn.close()
    # This connection, and the one that reads the counters.
    assert sim.counters()["connections"] == 2


def test_a_scan_reuses_its_connections(demo_sim: SimServer, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    clients: set[tuple[str, str]] = set()
    shared_client = Aws.client

    async def counting_client(self: Aws, service: str, region: str | None = None) -> Any:
        clients.add((service, region or self.settings.region))
        return await shared_client(self, service, region)

    monkeypatch.setattr(Aws, "client", counting_client)
    c = demo_sim.credentials
    pool = 4
    aws = AwsSettings(endpoint_url=demo_sim.endpoint, max_pool_connections=pool,
                      credentials=(c["aws_access_key_id"], c["aws_secret_access_key"]))
    config = replace(load_config(None), aws=aws)
    demo_sim.reset_counters()
    asyncio.run(scan(config, list(load_rules()), out_dir=tmp_path))
    counted = demo_sim.counters()
    requests, connections = counted["requests"], counted["connections"]
    assert requests > 1000
    # At most one connection per (client, pool slot), and the one reading the counters.
    assert connections <= len(clients) * pool + 1, (connections, len(clients), requests)
    # Before connections were kept alive: one per request.
    assert connections * 5 < requests, (connections, requests)

"""Athena: DDL and query text, result parsing, and the client path against the simulator.

moto does not run SQL: GetQueryResults returns whatever rows were queued through its
``/moto-api/static/athena/query-results`` endpoint. So the simulator test checks the calls
(StartQueryExecution, GetQueryExecution polling, GetQueryResults), the header-row handling and
the classification of returned rows -- not that the SQL selects the right records."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from scanner.aws import athena
from scanner.core.models import FactError
from scanner.core.rootclassify import Kind
from scanner.core.rootevents import RootEvent
from scanner.sim import SimServer
from tests.core.events import documented_assume_root

from .conftest import org_scan

START = datetime(2025, 12, 1, 12, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_ddl_has_partition_projection() -> None:
    sql = athena.ddl(database="audit", table="org_trail", bucket="aws-cloudtrail-logs-1-org",
                     prefix="", organization_id="o-abc123", accounts=["111111111111"],
                     regions=["us-east-1", "eu-west-1"])
    assert "CREATE EXTERNAL TABLE IF NOT EXISTS audit.org_trail" in sql
    assert "'projection.account.values'='111111111111'" in sql
    assert "'projection.region.values'='us-east-1,eu-west-1'" in sql
    assert ("'storage.location.template'='s3://aws-cloudtrail-logs-1-org/AWSLogs/o-abc123/"
            "${account}/CloudTrail/${region}/${timestamp}'") in sql
    assert "assumedroot: STRING" in sql


@pytest.mark.parametrize("bad", [{"database": "x; DROP"}, {"table": "t'--"}])
def test_identifiers_are_checked(bad: dict[str, str]) -> None:
    args = {"database": "audit", "table": "t", "start": START, "end": END} | bad
    with pytest.raises(ValueError):
        athena.root_events_query(**args)  # type: ignore[arg-type]


def test_query_prunes_partitions_and_bounds_the_window() -> None:
    sql = athena.root_events_query(database="audit", table="t", start=START, end=END)
    assert "`timestamp` BETWEEN '2025/12/01' AND '2026/03/01'" in sql
    assert "eventtime >= '2025-12-01T12:00:00Z' AND eventtime <= '2026-03-01T12:00:00Z'" in sql
    assert "useridentity.type = 'Root'" in sql and "eventname = 'AssumeRoot'" in sql


def _result(rows: list[dict[str, Any]]) -> dict[str, Any]:
    names = [c[0] for c in athena.QUERY_COLUMNS]
    data = [{"Data": [{"VarCharValue": n} for n in names]}]
    data += [{"Data": [({"VarCharValue": r[n]} if r.get(n) is not None else {})
                       for n in names]} for r in rows]
    return {"rows": data, "column_info": [{"Name": n, "Label": n, "Type": "varchar"}
                                          for n in names]}


LOGIN_ROW = {"eventid": "e-1", "eventtime": "2026-02-01T10:00:00Z", "eventname": "ConsoleLogin",
             "eventsource": "signin.amazonaws.com", "eventtype": "AwsConsoleSignIn",
             "awsregion": "us-east-1", "sourceipaddress": "203.0.113.5",
             "recipientaccountid": "333333333333", "identity_type": "Root",
             "console_login": "Success", "mfa_used": "No"}


def test_rows_to_events() -> None:
    res = _result([LOGIN_ROW])
    page = {"ResultSet": {"Rows": res["rows"],
                          "ResultSetMetadata": {"ColumnInfo": res["column_info"]}}}
    rows = athena.rows_from_results([page])
    assert len(rows) == 1
    e = RootEvent.from_cloudtrail(athena.record_from_row(rows[0]), "athena")
    assert e is not None and e.kind is Kind.CONSOLE_LOGIN and e.mfa_used is False


def queue_results(endpoint: str, body: dict[str, Any]) -> int:
    req = urllib.request.Request(endpoint + "/moto-api/static/athena/query-results",
                                 data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return int(resp.status)


async def test_athena_client_path_against_simulator(demo_env: SimServer) -> None:
    sim = demo_env
    mgmt = sim.management_account_id
    member = next(a for a, v in sim.ground_truth["accounts"].items() if v["name"] == "data-prod")
    row = LOGIN_ROW | {"recipientaccountid": member,
                       "eventtime": (sim.now - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    body = {"account_id": mgmt, "region": "us-east-1", "results": [_result([row])]}
    assert queue_results(sim.endpoint, body) == 201
    opts = {"root_usage": {"sources": ["athena"],
                           "athena": {"database": "default", "table": "cloudtrail_org",
                                      "workgroup": "primary",
                                      "output_location": "s3://athena-results/orgscan/"}}}
    async with org_scan(sim, opts) as scan:
        fact = await scan.org_store.get("athena.root_events")
        assert not isinstance(fact, FactError), fact
        calls: dict[str, int] = {}
        for (_, op), n in scan.aws.stats.attempts.items():
            calls[op] = calls.get(op, 0) + n
    assert calls.get("athena:StartQueryExecution") == 1
    assert calls.get("athena:GetQueryExecution", 0) >= 1
    assert calls.get("athena:GetQueryResults") == 1
    events = fact["accounts"][member]["events"]
    assert [e["eventID"] for e in events] == ["e-1"]
    assert events[0]["sources"] == ["athena"]


def test_record_without_event_id_gets_the_same_derived_id_from_athena() -> None:
    """Athena hands back only the query's columns; a record with no eventID (AWS's AssumeRoot
    example has none) must still derive the id the full record derives, so the two merge."""
    rec = documented_assume_root()
    row: dict[str, str | None] = {}
    for alias, _, path in athena.QUERY_COLUMNS:
        node: Any = rec
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        row[alias] = None if node is None else str(node)
    full = RootEvent.from_cloudtrail(rec, "org_trail")
    rebuilt = RootEvent.from_cloudtrail(athena.record_from_row(row), "athena")
    assert full is not None and rebuilt is not None
    assert full.event_id_derived and rebuilt.event_id == full.event_id
    assert rebuilt.kind is Kind.ASSUME_ROOT and rebuilt.session_id == full.session_id

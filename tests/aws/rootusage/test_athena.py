"""Athena: DDL and query text, and result parsing. The query executed end to end against the
simulator (which runs the SQL) is in test_sql_sources.py."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.aws import athena
from scanner.core.rootclassify import Kind
from scanner.core.rootevents import RootEvent
from tests.core.events import documented_assume_root

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
    assert "\"timestamp\" BETWEEN '2025/12/01' AND '2026/03/01'" in sql
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

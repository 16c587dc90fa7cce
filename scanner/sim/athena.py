"""Amazon Athena over the organization trail's log files: the SQL is executed.

moto's Athena stores a query and answers GetQueryResults with rows queued through its own API;
it runs nothing. Here StartQueryExecution runs the statement (``scanner.sim.sqlengine``) over
the CloudTrail table the operator would have created over the trail's bucket
(``organization.trail.athena_table`` in the scenario, default ``default.cloudtrail_org``),
built from the log files in the simulated bucket at the first query (rebuilt when the bucket's
files change). GetQueryExecution answers RUNNING for the first poll, then SUCCEEDED or FAILED
with Athena's StateChangeReason; GetQueryResults pages the rows with Athena's conventions:
every value a VarCharValue string, NULL an empty Datum, the first row of the first page the
column names, MaxResults up to 1,000, NextToken.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from moto.s3.models import s3_backends

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.querytables import load_athena
from scanner.sim.request import SimRequest
from scanner.sim.sqlengine import QueryError, Result, SqlEngine, Table, varchar
from scanner.sim.state import SimState

RUNNING_POLLS = 1  # GetQueryExecution answers RUNNING this many times before the outcome
MAX_RESULTS = 1000
_TYPES = {"VARCHAR": "varchar", "BOOLEAN": "boolean", "TIMESTAMP": "timestamp",
          "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double", "DATE": "date",
          "HUGEINT": "decimal"}


def trino_type(duck: str) -> str:
    head = duck.split("(", 1)[0].strip().upper()
    if duck.endswith("[]"):
        return "array"
    return {"STRUCT": "row", "MAP": "map"}.get(head) or _TYPES.get(head, head.lower())


@dataclass
class Execution:
    id: str
    sql: str
    database: str
    workgroup: str
    output: str
    submitted: float
    result: Result | None = None
    error: QueryError | None = None
    polls: int = 0
    finished: float = field(default_factory=time.time)

    def state(self) -> str:
        if self.polls <= RUNNING_POLLS:
            return "RUNNING"
        return "FAILED" if self.error else "SUCCEEDED"


def _token(qid: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([qid, offset]).encode()).decode()


def _offset(token: str, qid: str) -> int | None:
    try:
        got, offset = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError):
        return None
    return int(offset) if got == qid and isinstance(offset, int) and offset >= 0 else None


class Athena:
    def __init__(self, state: SimState, bucket: Any, table: str) -> None:
        self.state = state
        self.bucket = bucket
        database, _, name = table.rpartition(".")
        self.database, self.table_name = (database or "default").lower(), name.lower()
        self.engine = SqlEngine()
        self.table: Table | None = None
        self.loaded_files = -1
        self.executions: dict[str, Execution] = {}
        self.lock = threading.Lock()

    def _catalog(self) -> Table:
        """The trail table, (re)built when the bucket's files changed since the last query."""
        with self.lock:
            files = len(self.bucket.keys)
            if self.table is None or files != self.loaded_files:
                self.table = load_athena(self.engine, "athena_cloudtrail", self.bucket,
                                         self.state.seeded.organization_id)
                self.loaded_files = files
            return self.table

    def start(self, req: SimRequest) -> Reply:
        body = req.json_body
        sql = body.get("QueryString")
        if not isinstance(sql, str) or not sql.strip():
            return awserrors.error("athena", 400, "InvalidRequestException",
                                   "QueryString must not be empty")
        context = body.get("QueryExecutionContext") or {}
        database = str(context.get("Database") or "default").lower()
        output = str((body.get("ResultConfiguration") or {}).get("OutputLocation")
                     or "s3://aws-athena-query-results/")
        ex = Execution(str(uuid.uuid4()), sql, database, str(body.get("WorkGroup") or "primary"),
                       output.rstrip("/") + "/", time.time())
        table = self._catalog()

        def resolve(db: str | None, name: str) -> Table | None:
            if name.lower() == self.table_name and (db or database).lower() == self.database:
                return table
            return None

        try:
            ex.result = self.engine.run(sql, resolve)
        except QueryError as exc:
            if exc.kind == "TABLE":
                exc.message = "TABLE_NOT_FOUND: " + exc.message
            ex.error = exc
        ex.finished = time.time()
        self.executions[ex.id] = ex
        return awserrors.json_ok({"QueryExecutionId": ex.id})

    def _find(self, req: SimRequest) -> Execution | Reply:
        qid = str(req.json_body.get("QueryExecutionId") or "")
        ex = self.executions.get(qid)
        if ex is None:
            return awserrors.error("athena", 400, "InvalidRequestException",
                                   f"QueryExecution {qid} was not found")
        return ex

    def get_execution(self, req: SimRequest) -> Reply:
        ex = self._find(req)
        if isinstance(ex, Reply):
            return ex
        ex.polls += 1
        state = ex.state()
        status: dict[str, Any] = {"State": state, "SubmissionDateTime": ex.submitted}
        if state != "RUNNING":
            status["CompletionDateTime"] = ex.finished
        if state == "FAILED" and ex.error is not None:
            status["StateChangeReason"] = ex.error.message
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1100, "Retryable": False,
                                     "ErrorMessage": ex.error.message}
        stats: dict[str, Any] = {"EngineExecutionTimeInMillis":
                                 int((ex.finished - ex.submitted) * 1000)}
        if ex.result is not None and state == "SUCCEEDED":
            stats["DataScannedInBytes"] = ex.result.bytes_scanned
        return awserrors.json_ok({"QueryExecution": {
            "QueryExecutionId": ex.id, "Query": ex.sql, "StatementType": "DML",
            "ResultConfiguration": {"OutputLocation": f"{ex.output}{ex.id}.csv"},
            "QueryExecutionContext": {"Database": ex.database, "Catalog": "awsdatacatalog"},
            "Status": status, "Statistics": stats, "WorkGroup": ex.workgroup,
            "EngineVersion": {"SelectedEngineVersion": "AUTO",
                              "EffectiveEngineVersion": "Athena engine version 3"}}})

    def get_results(self, req: SimRequest) -> Reply:
        ex = self._find(req)
        if isinstance(ex, Reply):
            return ex
        state = ex.state()
        if state == "FAILED" and ex.error is not None:
            return awserrors.error("athena", 400, "InvalidRequestException", ex.error.message)
        if state != "SUCCEEDED" or ex.result is None:
            return awserrors.error("athena", 400, "InvalidRequestException",
                                   f"Query has not yet finished. Current state: {state}")
        body = req.json_body
        size = body.get("MaxResults", MAX_RESULTS)
        if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
            return awserrors.error("athena", 400, "InvalidRequestException",
                                   f"MaxResults must be between 1 and {MAX_RESULTS}")
        start = 0
        if body.get("NextToken"):
            got = _offset(str(body["NextToken"]), ex.id)
            if got is None:
                return awserrors.error("athena", 400, "InvalidRequestException",
                                       "Invalid NextToken")
            start = got
        result = ex.result
        names = [c for c, _ in result.columns]
        # Row 0 is the header (SELECT's column names), as Athena returns it.
        total = len(result.rows) + 1
        rows = []
        for i in range(start, min(total, start + size)):
            values = names if i == 0 else [varchar(v) for v in result.rows[i - 1]]
            rows.append({"Data": [{} if v is None else {"VarCharValue": v} for v in values]})
        answer: dict[str, Any] = {"UpdateCount": 0, "ResultSet": {
            "Rows": rows,
            "ResultSetMetadata": {"ColumnInfo": [
                {"CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": n,
                 "Label": n, "Type": trino_type(t), "Precision": 0, "Scale": 0,
                 "Nullable": "UNKNOWN", "CaseSensitive": trino_type(t) == "varchar"}
                for n, t in result.columns]}}}
        if start + size < total:
            answer["NextToken"] = _token(ex.id, start + size)
        return awserrors.json_ok(answer)


def install(state: SimState) -> None:
    trail = state.scenario["organization"]["trail"]
    if not trail:
        return
    bucket = s3_backends[trail["log_archive_account"]]["aws"].buckets[trail["bucket"]]
    athena = Athena(state, bucket, trail["athena_table"])
    state.extra["athena"] = athena
    state.handlers[("athena", "StartQueryExecution")] = athena.start
    state.handlers[("athena", "GetQueryExecution")] = athena.get_execution
    state.handlers[("athena", "GetQueryResults")] = athena.get_results


__all__ = ["Athena", "install", "trino_type"]

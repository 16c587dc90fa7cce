"""CloudTrail Lake (moto has none): event data stores and their SQL, executed.

The scenario's ``organization.event_data_stores`` are created in their owner's account (the
management account unless said) and region. An organization-enabled store holds every event of
every account (the same events the organization trail logs); otherwise only its owner's.
``StartQuery`` parses the statement at once (``InvalidQueryStatementException``), resolves
``FROM <event data store id>`` among the caller's stores (``EventDataStoreNotFoundException``,
``InactiveEventDataStoreException`` for a store not ``ENABLED``) and runs it through
``scanner.sim.sqlengine``; ``DescribeQuery`` answers ``RUNNING`` once, then ``FINISHED`` or
``FAILED`` with ``ErrorMessage``; ``GetQueryResults`` pages the rows (``MaxQueryResults`` 1..1000,
``NextToken``), each row a list of one-column objects, every value a string, NULL left out.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.events import Record, records_by_account
from scanner.sim.querytables import load_lake
from scanner.sim.request import SimRequest
from scanner.sim.sqlengine import QueryError, Result, SqlEngine, Table, varchar
from scanner.sim.state import SimState

RUNNING_POLLS = 1
MAX_RESULTS = 1000
# Lake names a store by its id in FROM/JOIN, unquoted although ids hold dashes.
_BARE_ID = re.compile(r"(?i)\b(FROM|JOIN)(\s+)([A-Za-z0-9][A-Za-z0-9-]*-[A-Za-z0-9-]*)")


def store_id(seed: int, name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"orgscan-sim/{seed}/eventdatastore/{name}"))


@dataclass
class Store:
    spec: dict[str, Any]
    arn: str
    id: str
    created: float
    table: Table | None = None

    def summary(self) -> dict[str, Any]:
        s = self.spec
        selectors = [{"Name": "Management events", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]}]}] \
            if s["management_events"] else [{"Name": "Data events", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]}]}]
        return {"EventDataStoreArn": self.arn, "Name": s["name"], "Status": s["status"],
                "AdvancedEventSelectors": selectors, "MultiRegionEnabled": s["multi_region"],
                "OrganizationEnabled": s["organization_enabled"],
                "RetentionPeriod": s["retention_days"], "TerminationProtectionEnabled": True,
                "CreatedTimestamp": self.created, "UpdatedTimestamp": self.created,
                "BillingMode": "EXTENDABLE_RETENTION_PRICING"}


@dataclass
class Query:
    id: str
    sql: str
    owner: str  # the account that started it
    created: float
    result: Result | None = None
    error: str | None = None
    polls: int = 0
    elapsed_ms: int = 0

    def status(self) -> str:
        if self.polls <= RUNNING_POLLS:
            return "RUNNING"
        return "FAILED" if self.error else "FINISHED"


def _error(code: str, message: str) -> Reply:
    return awserrors.error("cloudtrail", 400, code, message)


def _token(qid: str, offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([qid, offset]).encode()).decode()


class Lake:
    def __init__(self, state: SimState) -> None:
        self.state = state
        self.engine = SqlEngine()
        self.lock = threading.Lock()
        self.queries: dict[str, Query] = {}
        self.stores: list[Store] = []
        now = state.now.timestamp()
        for spec in state.scenario["organization"]["event_data_stores"]:
            sid = spec["id"] or store_id(state.scenario["seed"], spec["name"])
            arn = f"arn:aws:cloudtrail:{spec['region']}:{spec['owner']}:eventdatastore/{sid}"
            created = now - spec["created_days_ago"] * 86400
            self.stores.append(Store(spec, arn, sid, created))

    def _mine(self, req: SimRequest) -> list[Store]:
        return [s for s in self.stores
                if s.spec["owner"] == req.account and s.spec["region"] == req.region]

    def _records(self, store: Store) -> list[Record]:
        spec = store.spec
        if not spec["management_events"]:
            return []
        by_account = records_by_account(self.state.scenario, self.state.now)
        accounts = by_account if spec["organization_enabled"] else {
            spec["owner"]: by_account.get(spec["owner"], [])}
        since = self.state.now.timestamp() - min(spec["created_days_ago"],
                                                 spec["retention_days"]) * 86400
        out: list[Record] = []
        for recs in accounts.values():
            for rec in recs:
                if not spec["multi_region"] and rec.get("awsRegion") != spec["region"]:
                    continue
                if _epoch(rec["eventTime"]) >= since:
                    out.append(rec)
        out.sort(key=lambda r: (r["eventTime"], r["eventID"]))
        return out

    def _table(self, store: Store) -> Table:
        with self.lock:
            if store.table is None:
                store.table = load_lake(self.engine, f"lake_{store.id}", self._records(store))
            return store.table

    def _find_store(self, req: SimRequest, ref: str) -> Store | None:
        return next((s for s in self._mine(req) if ref in (s.arn, s.id)), None)

    # -- the API ----------------------------------------------------------------------------

    def list_stores(self, req: SimRequest) -> Reply:
        return awserrors.json_ok({"EventDataStores": [s.summary() for s in self._mine(req)]})

    def get_store(self, req: SimRequest) -> Reply:
        ref = str(req.json_body.get("EventDataStore") or "")
        store = self._find_store(req, ref)
        if store is None:
            return _error("EventDataStoreNotFoundException",
                          f"The specified event data store {ref} was not found.")
        return awserrors.json_ok(store.summary())

    def start(self, req: SimRequest) -> Reply:
        sql = req.json_body.get("QueryStatement")
        if not isinstance(sql, str) or not sql.strip():
            return _error("InvalidParameterException", "QueryStatement must not be empty")
        quoted = _BARE_ID.sub(lambda m: f'{m.group(1)}{m.group(2)}"{m.group(3)}"', sql)
        named: list[Store] = []
        missing: list[str] = []

        def resolve(db: str | None, name: str) -> Table | None:
            store = None if db else self._find_store(req, name)
            if store is None:
                missing.append(name)
                return None
            named.append(store)
            if store.spec["status"] != "ENABLED":
                return None
            return self._table(store)

        query = Query(str(uuid.uuid4()), sql, req.account, time.time())
        began = time.monotonic()
        try:
            query.result = self.engine.run(quoted, resolve)
        except QueryError as exc:
            if exc.kind == "PARSE":
                return _error("InvalidQueryStatementException", exc.message)
            if exc.kind == "TABLE":
                if missing:
                    return _error("EventDataStoreNotFoundException",
                                  f"The specified event data store {missing[0]} was not found.")
                return _error("InactiveEventDataStoreException",
                              f"The event data store {named[-1].id} is not enabled.")
            query.error = exc.message
        query.elapsed_ms = int((time.monotonic() - began) * 1000)
        self.queries[query.id] = query
        return awserrors.json_ok({"QueryId": query.id})

    def _query(self, req: SimRequest) -> Query | Reply:
        qid = str(req.json_body.get("QueryId") or "")
        query = self.queries.get(qid)
        if query is None or query.owner != req.account:
            return _error("QueryIdNotFoundException", f"The query ID {qid} does not exist.")
        return query

    def describe(self, req: SimRequest) -> Reply:
        query = self._query(req)
        if isinstance(query, Reply):
            return query
        query.polls += 1
        status = query.status()
        stats: dict[str, Any] = {"CreationTime": query.created}
        if status == "FINISHED" and query.result is not None:
            stats |= {"EventsMatched": len(query.result.rows),
                      "EventsScanned": query.result.rows_scanned,
                      "BytesScanned": query.result.bytes_scanned,
                      "ExecutionTimeInMillis": query.elapsed_ms}
        answer: dict[str, Any] = {"QueryId": query.id, "QueryString": query.sql,
                                  "QueryStatus": status, "QueryStatistics": stats}
        if status == "FAILED":
            answer["ErrorMessage"] = query.error
        return awserrors.json_ok(answer)

    def results(self, req: SimRequest) -> Reply:
        query = self._query(req)
        if isinstance(query, Reply):
            return query
        status = query.status()
        if status != "FINISHED" or query.result is None:
            answer: dict[str, Any] = {"QueryStatus": status, "QueryResultRows": []}
            if status == "FAILED":
                answer["ErrorMessage"] = query.error
            return awserrors.json_ok(answer)
        body = req.json_body
        size = body.get("MaxQueryResults", MAX_RESULTS)
        if not isinstance(size, int) or not 1 <= size <= MAX_RESULTS:
            return _error("InvalidMaxResultsException",
                          f"MaxQueryResults must be between 1 and {MAX_RESULTS}")
        start = 0
        if body.get("NextToken"):
            try:
                got, start = json.loads(base64.urlsafe_b64decode(str(body["NextToken"])))
                if got != query.id or not isinstance(start, int) or start < 0:
                    raise ValueError(start)
            except (ValueError, TypeError):
                return _error("InvalidNextTokenException", "The NextToken is not valid.")
        result = query.result
        names = [c for c, _ in result.columns]
        page = [[{n: v} for n, v in zip(names, map(varchar, r), strict=True) if v is not None]
                for r in result.rows[start:start + size]]
        answer = {"QueryStatus": status, "QueryResultRows": page,
                  "QueryStatistics": {"ResultsCount": len(page),
                                      "TotalResultsCount": len(result.rows),
                                      "BytesScanned": result.bytes_scanned}}
        if start + size < len(result.rows):
            answer["NextToken"] = _token(query.id, start + size)
        return awserrors.json_ok(answer)


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def install(state: SimState) -> None:
    lake = Lake(state)
    state.extra["lake"] = lake
    for action, handler in (("ListEventDataStores", lake.list_stores),
                            ("GetEventDataStore", lake.get_store),
                            ("StartQuery", lake.start), ("DescribeQuery", lake.describe),
                            ("GetQueryResults", lake.results)):
        state.handlers[("cloudtrail", action)] = handler


__all__ = ["Lake", "install", "store_id"]

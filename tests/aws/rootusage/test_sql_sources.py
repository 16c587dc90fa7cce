"""The SQL sources end to end: the simulator executes the SQL it receives (sqlglot + duckdb),
so Athena's (and CloudTrail Lake's) root-usage records must equal the organization-trail
streaming reader's, account by account, on a generated organization."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scanner.aws import athena
from scanner.aws.session import account_scope
from scanner.core.errors import AwsError
from scanner.core.models import FactError
from scanner.core.rootusage import Window, record_from_org_trail
from scanner.sim import SimServer
from scanner.sim.generate import generate
from tests.conftest import use_simulator

from .conftest import org_scan

ACCOUNTS = 120


@pytest.fixture(scope="module")
def generated() -> Iterator[SimServer]:
    scenario, _ = generate(ACCOUNTS, seed=23)
    with SimServer(scenario) as sim:
        yield sim


@pytest.fixture
def gen_env(generated: SimServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[SimServer]:
    use_simulator(generated, monkeypatch)
    yield generated
    generated.set_faults({})


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A root-usage record without what names the source it came from."""
    out = dict(record)
    out.pop("sources")
    out["events"] = [{k: v for k, v in e.items() if k != "sources"} for e in record["events"]]
    return out


def records(fact: Any, source: str, accounts: list[str], win: Window) -> dict[str, Any]:
    return {a: comparable(record_from_org_trail(a, fact, win, source=source).to_json())
            for a in accounts}


async def org_facts(sim: SimServer, sources: list[str], names: list[str],
                    extra: dict[str, Any] | None = None) -> tuple[dict[str, Any], list[str],
                                                                   dict[str, int]]:
    opts = {"root_usage": {"sources": sources, **(extra or {})}}
    async with org_scan(sim, opts) as scan:
        facts = {n: await scan.org_store.get(n) for n in names}
        accounts = [a.id for a in scan.org.accounts]
        calls: dict[str, int] = {}
        for (_, op), n in scan.aws.stats.attempts.items():
            calls[op] = calls.get(op, 0) + n
    return facts, accounts, calls


def assert_same_records(facts: dict[str, Any], name: str, source: str, accounts: list[str],
                        win: Window) -> None:
    trail = facts["orgtrail.root_events"]
    other = facts[name]
    assert not isinstance(trail, FactError), trail
    assert not isinstance(other, FactError), other
    expected = records(trail, "org_trail", accounts, win)
    got = records(other, source, accounts, win)
    used = [a for a, r in expected.items() if r["used_in_window"]]
    with_events = [a for a, r in expected.items() if r["events"]]
    # The organization is large and varied enough for the comparison to mean something.
    assert len(accounts) > 100 and len(used) >= 5 and len(with_events) >= 20
    for account in accounts:
        assert got[account] == expected[account], account


async def test_athena_records_equal_the_streaming_readers(gen_env: SimServer) -> None:
    sim = gen_env
    facts, accounts, calls = await org_facts(
        sim, ["org_trail", "athena"], ["orgtrail.root_events", "athena.root_events"])
    assert_same_records(facts, "athena.root_events", "athena", accounts,
                        Window.ending(sim.now, 90))
    assert calls["athena:StartQueryExecution"] == 1
    assert calls["athena:GetQueryExecution"] >= 2  # RUNNING first, then SUCCEEDED
    rows = int(facts["athena.root_events"]["detail"].split()[0])
    # 1,000 rows a page, the header row on the first: pages = ceil((rows + 1) / 1000).
    assert calls["athena:GetQueryResults"] == (rows + 1 + 999) // 1000


async def test_athena_pages_its_results(gen_env: SimServer) -> None:
    """Small pages: every row arrives once, the header only at the top of the first page."""
    sim = gen_env
    async with org_scan(sim, {"root_usage": {"sources": ["athena"]}}) as scan:
        client = await scan.aws.client("athena", "us-east-1")
        with account_scope(scan.base):
            sql = athena.root_events_query(database="default", table="cloudtrail_org",
                                           start=sim.now.replace(year=sim.now.year - 1),
                                           end=sim.now)
            started = await client.start_query_execution(QueryString=sql)
            qid = started["QueryExecutionId"]
            states = []
            while not states or states[-1] not in ("SUCCEEDED", "FAILED"):
                ex = await client.get_query_execution(QueryExecutionId=qid)
                states.append(ex["QueryExecution"]["Status"]["State"])
            pages = []
            token: str | None = None
            while True:
                kw: dict[str, Any] = {"QueryExecutionId": qid, "MaxResults": 7}
                if token:
                    kw["NextToken"] = token
                page = await client.get_query_results(**kw)
                pages.append(page)
                token = page.get("NextToken")
                if not token:
                    break
    assert states[0] == "RUNNING" and states[-1] == "SUCCEEDED"
    assert ex["QueryExecution"]["Statistics"]["DataScannedInBytes"] > 0
    header = [d["VarCharValue"] for d in pages[0]["ResultSet"]["Rows"][0]["Data"]]
    assert header == [c[0] for c in athena.QUERY_COLUMNS]
    assert all(len(p["ResultSet"]["Rows"]) == 7 for p in pages[:-1])
    rows = athena.rows_from_results(pages)
    assert len(pages) > 3 and len(rows) == sum(len(p["ResultSet"]["Rows"]) for p in pages) - 1
    assert len({r["eventid"] for r in rows}) == len(rows)
    assert all(r["identity_type"] in ("Root", "AssumedRole") for r in rows)


@pytest.mark.parametrize(("sql", "reason"), [
    ("SELEC eventid FROM cloudtrail_org", "line 1:1"),
    ("SELECT eventid FROM default.cloudtrail_org WHERE `timestamp` = '2026/01/01'",
     "backquoted identifiers are not supported"),
    ("SELECT eventid FROM default.no_such_table", "TABLE_NOT_FOUND: line 1:"),
    ("SELECT no_such_column FROM default.cloudtrail_org", "no_such_column"),
])
async def test_a_bad_query_fails_as_athena_fails(gen_env: SimServer, sql: str,
                                                 reason: str) -> None:
    async with org_scan(gen_env, {"root_usage": {"sources": ["athena"]}}) as scan:
        client = await scan.aws.client("athena", "us-east-1")
        async def call(method: str, **kwargs: Any) -> Any:
            with account_scope(scan.base):
                return await getattr(client, method)(**kwargs)

        with pytest.raises(AwsError) as caught:
            await athena.run_query(call, sql, database="default", workgroup=None,
                                   output_location=None, first_poll=0.01)
    assert caught.value.code == "QueryFailed"
    assert reason in str(caught.value)


async def test_a_failed_query_is_a_failed_source_never_no_use(gen_env: SimServer) -> None:
    sim = gen_env
    opts = {"root_usage": {"sources": ["athena"], "athena": {"table": "not_created"}}}
    async with org_scan(sim, opts) as scan:
        fact = await scan.org_store.get("athena.root_events")
        quiet = next(a.id for a in scan.org.accounts
                     if a.id != scan.base.account_id and a.status.value == "ACTIVE")
        record = await scan.fact(quiet, "root.usage")
    assert isinstance(fact, FactError) and "TABLE_NOT_FOUND" in fact.message
    assert not isinstance(record, FactError), record
    assert record["used_in_window"] is None
    [coverage] = [s for s in record["sources"] if s["name"] == "athena"]
    assert coverage["complete"] is False and "TABLE_NOT_FOUND" in coverage["detail"]

"""The SQL sources end to end: the simulator executes the SQL it receives (sqlglot + duckdb),
so Athena's (and CloudTrail Lake's) root-usage records must equal the organization-trail
streaming reader's, account by account, on a generated organization."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scanner.aws import athena, lake, sqlquery
from scanner.aws.session import account_scope
from scanner.aws.sqlquery import QueryApi
from scanner.core.errors import AwsError, ConfigError
from scanner.core.models import FactError
from scanner.core.rootusage import Window, record_from_org_trail
from scanner.run.config import load_config
from scanner.sim import SimServer
from scanner.sim.generate import generate
from scanner.sim.scenario import read_raw
from tests.conftest import use_simulator

from .conftest import org_scan

ACCOUNTS = 120


# Event data stores in the management account: only the first is the organization's store of
# management events; the others must not be chosen.
STORES = [
    {"name": "security-lake-copy", "organization_enabled": False},
    {"name": "org-data-events", "management_events": False},
    {"name": "org-stopped", "status": "STOPPED_INGESTION", "retention_days": 3000},
    {"name": "org-events", "retention_days": 2557},
    {"name": "org-events-eu", "multi_region": False, "region": "us-east-1"},
]


@pytest.fixture(scope="module")
def generated() -> Iterator[SimServer]:
    scenario, _ = generate(ACCOUNTS, seed=23)
    scenario["organization"]["event_data_stores"] = STORES
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
    if isinstance(out.get("use_basis"), str):  # "N event(s) counted as use in <source>"
        for name in ("org_trail", "athena", "cloudtrail_lake"):
            out["use_basis"] = out["use_basis"].replace(f" in {name}", " in <source>")
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
    assert facts["athena.root_events"]["stats"]["bytes_scanned"] > 0
    assert calls["athena:StartQueryExecution"] == 1
    assert calls["athena:GetQueryExecution"] >= 2  # RUNNING first, then SUCCEEDED
    rows = int(facts["athena.root_events"]["detail"].split()[0])
    # 1,000 rows a page, the header row on the first: pages = ceil((rows + 1) / 1000).
    assert calls["athena:GetQueryResults"] == (rows + 1 + 999) // 1000


async def small_pages(scan: Any, service: str, api: QueryApi, start_args: dict[str, Any],
                      size: int) -> tuple[list[Any], list[str], Mapping[str, Any]]:
    """Run a query through the scanner's runner with ``size``-row pages, recording every
    state the service reported: (pages, states, last describe answer)."""
    client = await scan.aws.client(service, "us-east-1")
    states: list[str] = []

    async def call(method: str, **kwargs: Any) -> Any:
        with account_scope(scan.base):
            answer = await getattr(client, method)(**kwargs)
        if method == api.describe:
            states.append(api.status(answer)[0])
        return answer

    small = replace(api, page_size=(api.page_size[0], size))
    pages, described = await sqlquery.run(call, small, start_args, first_poll=0.01)
    return list(pages), states, described


async def test_athena_pages_its_results(gen_env: SimServer) -> None:
    """Small pages: every row arrives once, the header only at the top of the first page."""
    sim = gen_env
    sql = athena.root_events_query(database="default", table="cloudtrail_org",
                                   start=sim.now.replace(year=sim.now.year - 1), end=sim.now)
    async with org_scan(sim, {"root_usage": {"sources": ["athena"]}}) as scan:
        pages, states, ex = await small_pages(scan, "athena", athena.API,
                                              {"QueryString": sql}, 7)
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


async def store_arn(scan: Any, name: str) -> str:
    client = await scan.aws.client("cloudtrail", "us-east-1")
    with account_scope(scan.base):
        listed = await client.list_event_data_stores()
    return str(next(s["EventDataStoreArn"] for s in listed["EventDataStores"]
                    if s["Name"] == name))


async def test_lake_records_equal_the_streaming_readers(gen_env: SimServer) -> None:
    sim = gen_env
    facts, accounts, calls = await org_facts(
        sim, ["org_trail", "cloudtrail_lake"], ["orgtrail.root_events", "lake.root_events"])
    assert_same_records(facts, "lake.root_events", "cloudtrail_lake", accounts,
                        Window.ending(sim.now, 90))
    fact = facts["lake.root_events"]
    assert fact["event_data_store"]["name"] == "org-events"
    assert "chosen among 5" in fact["event_data_store"]["chosen"]
    assert fact["complete"] and fact["stats"]["bytes_scanned"] > 0
    assert calls["cloudtrail:ListEventDataStores"] == 1
    assert calls["cloudtrail:GetEventDataStore"] == len(STORES)
    assert calls["cloudtrail:StartQuery"] == 1
    assert calls["cloudtrail:DescribeQuery"] >= 2  # RUNNING first, then FINISHED
    assert calls["cloudtrail:GetQueryResults"] == max(1, (fact["stats"]["rows"] + 999) // 1000)


async def test_lake_with_a_configured_store_and_small_pages(gen_env: SimServer) -> None:
    """A configured ARN skips the listing; the rows arrive once each across many pages."""
    sim = gen_env
    async with org_scan(sim, {"root_usage": {"sources": ["cloudtrail_lake"]}}) as scan:
        arn = await store_arn(scan, "org-events")
        sql = lake.root_events_query(store_id=arn.rsplit("/", 1)[1],
                                     start=sim.now.replace(year=sim.now.year - 1), end=sim.now)
        pages, states, got = await small_pages(scan, "cloudtrail", lake.API,
                                               {"QueryStatement": sql}, 5)
    assert states[0] == "RUNNING" and states[-1] == "FINISHED"
    rows = lake.rows_from_results(pages)
    assert len(pages) > 3 and all(len(p["QueryResultRows"]) == 5 for p in pages[:-1])
    assert len({r["eventid"] for r in rows}) == len(rows) == got["QueryStatistics"][
        "EventsMatched"]
    facts, _, calls = await org_facts(sim, ["cloudtrail_lake"], ["lake.root_events"],
                                      {"cloudtrail_lake": {"event_data_store": arn}})
    fact = facts["lake.root_events"]
    assert not isinstance(fact, FactError), fact
    assert fact["event_data_store"]["arn"] == arn and "configured" in fact[
        "event_data_store"]["chosen"]
    assert "cloudtrail:ListEventDataStores" not in calls


async def test_lake_a_store_that_is_not_the_organizations_is_incomplete(
        gen_env: SimServer) -> None:
    """A configured store that holds only its own account's events: that account's slice
    is read, every other account is unknown, never 'no use'."""
    sim = gen_env
    async with org_scan(sim, {"root_usage": {"sources": ["cloudtrail_lake"]}}) as scan:
        arn = await store_arn(scan, "security-lake-copy")
    facts, accounts, _ = await org_facts(sim, ["cloudtrail_lake"], ["lake.root_events"],
                                         {"cloudtrail_lake": {"event_data_store": arn}})
    fact = facts["lake.root_events"]
    assert not isinstance(fact, FactError), fact
    assert not fact["complete"] and "not an organization store" in fact["detail"]
    assert list(fact["accounts"]) == [sim.management_account_id]
    win = Window.ending(sim.now, 90)
    member = next(a for a in accounts if a != sim.management_account_id)
    record = record_from_org_trail(member, fact, win, source="cloudtrail_lake")
    assert record.used_in_window is None


@pytest.mark.parametrize(("sql", "code", "reason"), [
    ("SELEC eventID FROM {id}", "InvalidQueryStatementException", "line 1:1"),
    ("SELECT eventID FROM 0000-not-a-store", "EventDataStoreNotFoundException", "0000-not"),
    ("SELECT no_such_column FROM {id}", "QueryFailed", "no_such_column"),
])
async def test_a_bad_lake_query_fails_as_lake_fails(gen_env: SimServer, sql: str, code: str,
                                                    reason: str) -> None:
    async with org_scan(gen_env, {"root_usage": {"sources": ["cloudtrail_lake"]}}) as scan:
        client = await scan.aws.client("cloudtrail", "us-east-1")

        async def call(method: str, **kwargs: Any) -> Any:
            with account_scope(scan.base):
                try:
                    return await getattr(client, method)(**kwargs)
                except client.exceptions.ClientError as exc:
                    err = exc.response["Error"]
                    raise AwsError(err["Code"], err["Message"]) from None

        store = (await store_arn(scan, "org-events")).rsplit("/", 1)[1]
        with pytest.raises(AwsError) as caught:
            await lake.run_query(call, sql.format(id=store), first_poll=0.01)
    assert caught.value.code == code
    assert reason in str(caught.value)


async def test_lake_source_fails_clearly_for_a_store_that_does_not_exist(
        gen_env: SimServer) -> None:
    arn = "arn:aws:cloudtrail:us-east-1:111111111111:eventdatastore/0000-not-there"
    opts = {"root_usage": {"sources": ["cloudtrail_lake"],
                           "cloudtrail_lake": {"event_data_store": arn}}}
    async with org_scan(gen_env, opts) as scan:
        fact = await scan.org_store.get("lake.root_events")
        quiet = next(a.id for a in scan.org.accounts
                     if a.id != scan.base.account_id and a.status.value == "ACTIVE")
        record = await scan.fact(quiet, "root.usage")
    assert isinstance(fact, FactError)
    assert fact.code == "EventDataStoreNotFoundException" and "0000-not-there" in fact.message
    # A failed source is unknown use, never "not used".
    assert not isinstance(record, FactError), record
    assert record["used_in_window"] is None
    [coverage] = [s for s in record["sources"] if s["name"] == "cloudtrail_lake"]
    assert coverage["complete"] is False and "0000-not-there" in coverage["detail"]


@pytest.mark.parametrize("bad", ["arn:aws:cloudtrail:us-east-1:111111111111:trail/org",
                                 "0000-not-an-arn",
                                 "arn:aws:cloudtrail:us-east-1:1111:eventdatastore/x"])
def test_a_bad_store_arn_is_a_config_error(tmp_path: Path, bad: str) -> None:
    config = tmp_path / "orgscan.yaml"
    config.write_text("root_usage:\n  sources: [cloudtrail_lake]\n  cloudtrail_lake:\n"
                      f"    event_data_store: '{bad}'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    message = str(caught.value)
    assert "orgscan.yaml" in message and "event_data_store" in message
    assert "not an event data store ARN" in message and "\n" not in message.strip()


def management_policy(config: Path) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "permissions", "--config",
                           str(config), "--management"], capture_output=True, text=True,
                          timeout=120, check=True)
    policy: dict[str, Any] = json.loads(proc.stdout)
    return policy


@pytest.mark.parametrize("dropped", [None, "cloudtrail:StartQuery"])
async def test_lake_under_iam_with_the_printed_policy(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dropped: str | None) -> None:
    """With IAM enforced and the operator holding exactly what `orgscan permissions
    --management` prints for the Lake source, the query runs; without StartQuery it is
    refused, and the source fails rather than passing for 'no use'."""
    config = tmp_path / "orgscan.yaml"
    config.write_text("root_usage:\n  sources: [cloudtrail_lake]\n", encoding="utf-8")
    policy = management_policy(config)
    if dropped:
        policy["Statement"][0]["Action"].remove(dropped)
    raw = read_raw("minimal")
    raw["organization"]["event_data_stores"] = [{"name": "org-events"}]
    raw["iam_policies"] = {"operator": policy, "audit_role": policy}
    with SimServer(raw, iam_auth=True) as sim:
        use_simulator(sim, monkeypatch)
        async with org_scan(sim, {"root_usage": {"sources": ["cloudtrail_lake"]}}) as scan:
            fact = await scan.org_store.get("lake.root_events")
        denied = {k: n for k, n in sim.counters()["errors"].items() if k.endswith(" 403")}
    if dropped is None:
        assert not isinstance(fact, FactError), fact
        assert fact["complete"] and not denied, denied
    else:
        assert isinstance(fact, FactError) and "AccessDenied" in fact.code + fact.message
        assert denied == {"cloudtrail:StartQuery 403": 1}, denied

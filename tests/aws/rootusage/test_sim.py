"""Root-usage collectors against the simulated organization (demo scenario), compared with the
simulator's ground truth."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from scanner.core.models import FactError
from scanner.core.rootusage import Window, record_from_org_trail
from scanner.report.rootusage_writer import root_usage_document
from scanner.sim import SimServer
from tests.report.test_rootusage_writer import validate

from .conftest import org_scan

GT_FIELDS = ("used_in_window", "last_used", "last_used_channel", "channels", "console_logins",
             "failed_logins", "api_calls", "invoked_by_service_calls", "service_events",
             "assume_root_sessions", "password_recovery_requests")


def by_name(sim: SimServer, name: str) -> str:
    return next(a for a, v in sim.ground_truth["accounts"].items() if v["name"] == name)


def usage_subset(record: dict[str, Any]) -> dict[str, Any]:
    return {k: record[k] for k in GT_FIELDS}


async def test_event_history_under_throttling(demo_env: SimServer) -> None:
    sim = demo_env
    sim.set_faults({"lookup_events_throttle": True, "lookup_events_rate": 2.0})
    sim.reset_counters()
    opts = {"root_usage": {"sources": ["event_history"]}}
    accounts = [by_name(sim, n) for n in ("payments-prod", "retail-prod", "data-prod",
                                          "ledger-prod")]
    async with org_scan(sim, opts) as scan:
        facts = {a: await scan.fact(a, "cloudtrail.root_events") for a in accounts}
        throttles = sum(scan.aws.stats.throttles.values())
    counters = sim.counters()
    assert counters["throttled_total"] == 0, counters["throttled"]
    assert throttles == 0
    for fact in facts.values():
        assert not isinstance(fact, FactError), fact
        assert fact["complete"], fact["detail"]
        assert set(fact["regions"]) == {"us-east-1", "eu-west-1"}
    retail = facts[by_name(sim, "retail-prod")]
    assert len([e for e in retail["events"] if e["class"] == "api_call"]) == 10
    payments = facts[by_name(sim, "payments-prod")]
    denied = [e for e in payments["events"] if e["errorCode"] == "AccessDenied"]
    assert denied and denied[0]["awsRegion"] == "eu-west-1"
    ledger = facts[by_name(sim, "ledger-prod")]
    sessions = {e["session_id"] for e in ledger["events"] if e["class"] == "assume_root"}
    assert len(sessions) == 2
    # 8 failed sign-ins paginate by name and by user; each counted once.
    data = facts[by_name(sim, "data-prod")]
    assert len([e for e in data["events"] if e["class"] == "failed_login"]) == 8


async def test_org_trail_reads_the_log_archive_bucket(demo_env: SimServer) -> None:
    sim = demo_env
    async with org_scan(sim, {"root_usage": {"sources": ["org_trail"]}}) as scan:
        fact = await scan.org_store.get("orgtrail.root_events")
    assert not isinstance(fact, FactError), fact
    assert fact["stats"]["files"] > 0 and fact["stats"]["gaps"] == 0
    assert fact["stats"]["matched_files"] < fact["stats"]["files"]
    # One region discovery per account and one listing per (account, region) with files.
    n_accounts = len(fact["accounts"])
    n_pairs = sum(len(sl["regions"]) for sl in fact["accounts"].values())
    assert fact["stats"]["list_calls"] <= n_accounts + n_pairs
    archive = by_name(sim, "log-archive")
    assert fact["trail"]["read_as"] == archive
    # Every account that logs anything has a complete slice.
    for acct, sl in fact["accounts"].items():
        if sl["files"]:
            assert sl["complete"], (acct, sl["detail"])


async def test_root_usage_matches_ground_truth(demo_env: SimServer) -> None:
    sim = demo_env
    opts = {"root_usage": {"sources": ["credential_report", "event_history", "org_trail"]}}
    gt = sim.ground_truth["accounts"]
    mismatches: dict[str, Any] = {}
    records: list[dict[str, Any]] = []
    async with org_scan(sim, opts) as scan:
        org_fact = await scan.org_store.get("orgtrail.root_events")
        assert not isinstance(org_fact, FactError)
        window = Window.ending(sim.now, 90)
        assessable = [a for a, v in gt.items() if v["assessable"]]
        # Accounts concurrently, as the orchestrator scans them.
        facts = dict(zip(assessable, await asyncio.gather(
            *(scan.fact(a, "root.usage") for a in assessable)), strict=True))
        for acct, expected in gt.items():
            if expected["assessable"]:
                record = facts[acct]
                assert not isinstance(record, FactError), (acct, record)
                assert record["assessed"]
            else:
                record = record_from_org_trail(acct, org_fact, window).to_json()
                assert not record["assessed"]
            want = dict(expected["usage"])
            got = usage_subset(record)
            if got != want:
                mismatches[f"{acct} {expected['name']}"] = {"got": got, "want": want}
            records.append(record)
        doc = root_usage_document(records, scan.org.accounts, generated_at=sim.now.isoformat(),
                                  organization_id=scan.org.id, lookback_days=90,
                                  sources=opts["root_usage"]["sources"])
    assert not mismatches, mismatches
    validate(doc)
    assert doc["summary"]["accounts"] == len(gt)
    assert set(doc["summary"]["accounts_using_root_ids"]) == {
        a for a, v in gt.items() if v["usage"]["used_in_window"]}


async def test_sources_agree_with_each_other(demo_env: SimServer) -> None:
    """Event history alone and the organization trail alone see the same root activity."""
    sim = demo_env
    accounts = [by_name(sim, n) for n in ("payments-prod", "ledger-prod", "search-prod",
                                          "identity-prod")]
    results: dict[str, dict[str, Any]] = {}
    for source in ("event_history", "org_trail"):
        async with org_scan(sim, {"root_usage": {"sources": [source]}}) as scan:
            for a in accounts:
                record = await scan.fact(a, "root.usage")
                assert not isinstance(record, FactError)
                assert record["sources"][0]["complete"], record["sources"]
                results.setdefault(a, {})[source] = {
                    k: record[k] for k in GT_FIELDS if k not in ("last_used",
                                                                  "last_used_channel")}
    for a, both in results.items():
        assert both["event_history"] == both["org_trail"], a


async def test_unknown_when_no_event_source_covers(demo_env: SimServer) -> None:
    sim = demo_env
    acct = by_name(sim, "search-prod")
    sim.set_faults({"rules": [{"kind": "access_denied", "service": "cloudtrail",
                               "action": "LookupEvents", "account": acct}]})
    opts = {"root_usage": {"sources": ["credential_report", "event_history"]}}
    async with org_scan(sim, opts) as scan:
        record = await scan.fact(acct, "root.usage")
    assert not isinstance(record, FactError)
    assert record["used_in_window"] is None
    hist = next(s for s in record["sources"] if s["name"] == "event_history")
    assert not hist["complete"] and hist["error"]


@pytest.mark.parametrize("name", ["payments-prod"])
async def test_not_selected_sources_cost_nothing(demo_env: SimServer, name: str) -> None:
    sim = demo_env
    sim.reset_counters()
    async with org_scan(sim, {"root_usage": {"sources": ["credential_report"]}}) as scan:
        record = await scan.fact(by_name(sim, name), "root.usage")
        assert not isinstance(record, FactError)
        # The credential report alone proves use (password used 2 days ago), never non-use.
        assert record["used_in_window"] is True
        calls = scan.aws.stats.calls_for(by_name(sim, name))
    assert not any("LookupEvents" in op or "s3" in op for op in calls), calls

"""Root events from CloudTrail event history (LookupEvents), per account and region.

Event history holds 90 days of management events in each region. Root's API calls and
sign-ins are found by user name (one lookup per region searched), and AssumeRoot sessions by
the access keys that the management account's AssumeRoot calls issued (an organization-scope
fact, looked up once). docs/root-usage.md says why each lookup is needed and no other.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.aws.collectors.rootsources import not_selected, options, selected, sources, window
from scanner.aws.tasks import bounded_map
from scanner.core.errors import AwsError
from scanner.core.models import JSON, FactError
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import EVENT_HISTORY
from scanner.core.timefmt import iso

EVENT_HISTORY_DAYS = 90  # LookupEvents holds 90 days of management events
LOOKUP_RATE = 2.0  # LookupEvents: 2 requests/s per account per region
# AWS's token buckets hold at least one second of the rate; with the limiter charging each call
# at its answer (ratelimit.py), two back to back never overrun it, and save half a second
# wherever a region needs a second lookup (a second page, an AssumeRoot session's key).
LOOKUP_BURST = 2
REGIONS_AT_ONCE = 6  # event-history regions one account searches at the same time
GLOBAL_REGION = "us-east-1"  # IAM, STS (global endpoint) and console sign-in events land here
# Lookups per region. Username=root finds every event whose identity is the root user (event
# history names the root identity "root"): its API calls and, in us-east-1, its sign-ins,
# failed ones and password recovery included. Looking sign-in events up by name as well found
# nothing more: orgscan keeps only root-identity events, which Username=root already returns.
# AssumeRoot sessions are found by their access keys (see below).
ROOT_LOOKUPS = (("Username", "root"),)


def event_history_regions(ctx: CollectContext) -> list[str]:
    configured = options(ctx).event_history_regions or ctx.regions
    return list(dict.fromkeys([GLOBAL_REGION, *configured]))


async def _lookup(ctx: CollectContext, region: str, start: datetime, end: datetime,
                  attribute: tuple[str, str]) -> tuple[list[dict[str, Any]], int, int]:
    """Every event matching one lookup attribute in one region: (raw records, requests,
    events whose CloudTrailEvent was missing or unreadable)."""
    client = await ctx.aws.client("cloudtrail", region)
    limiter = ctx.aws.limiter(ctx.account_id, "cloudtrail:LookupEvents", region,
                              rate=LOOKUP_RATE, burst=LOOKUP_BURST)
    records: list[dict[str, Any]] = []
    token: str | None = None
    calls = unreadable = 0
    while True:
        kwargs: dict[str, Any] = {
            "LookupAttributes": [{"AttributeKey": attribute[0], "AttributeValue": attribute[1]}],
            "StartTime": start, "EndTime": end, "MaxResults": 50,
        }
        if token:
            kwargs["NextToken"] = token
        # The limiter spaces requests to the API's rate so the scan never depends on retries.
        await limiter.acquire()
        calls += 1
        try:
            page = await aws_call(ctx, client, "lookup_events", **kwargs)
        finally:
            limiter.completed()
        for item in page.get("Events", []):
            raw = _parse_event(item.get("CloudTrailEvent"))
            if raw is None:
                unreadable += 1
            else:
                records.append(raw)
        token = page.get("NextToken")
        if not token:
            return records, calls, unreadable


def _parse_event(text: Any) -> dict[str, Any] | None:
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


async def _history(ctx: CollectContext, regions: Sequence[str],
                   lookups: Mapping[str, Sequence[tuple[str, str]]], source: str,
                   keep_account: str | None) -> dict[str, Any]:
    win = window(ctx)
    start = max(win.start, win.end - timedelta(days=EVENT_HISTORY_DAYS))
    per_region: dict[str, JSON] = {}
    events: dict[str, RootEvent] = {}

    async def region(r: str) -> None:
        calls = unreadable = 0
        try:
            for attribute in lookups.get(r, ()):
                raws, n, bad = await _lookup(ctx, r, start, win.end, attribute)
                calls += n
                unreadable += bad
                for raw in raws:
                    ev = RootEvent.from_cloudtrail(raw, source)
                    if ev is None or not win.contains(ev.event_time):
                        continue
                    if keep_account is not None and ev.account_id not in (None, keep_account):
                        continue
                    events[ev.event_id] = ev
        except AwsError as exc:
            per_region[r] = {"ok": False, "error": exc.code, "message": exc.message,
                             "requests": calls}
            return
        if unreadable:
            # Each was returned by a root lookup: one we cannot read may be root use, so the
            # region did not cover the window (unknown, never "not used").
            per_region[r] = {"ok": False, "error": "UnreadableEvent",
                             "message": f"{unreadable} event(s) without a readable "
                                        "CloudTrailEvent", "requests": calls}
            return
        per_region[r] = {"ok": True, "error": None, "requests": calls}

    # Regions at once: LookupEvents' 2/s quota is per region, and each region has its own
    # limiter, so 17 regions cost a few regions' time, not the sum. Bounded, so that an
    # account in flight holds a handful of connections, not one per region.
    await bounded_map(REGIONS_AT_ONCE, regions, region)
    failed = sorted(r for r, v in per_region.items() if not v["ok"])
    reaches = start <= win.start
    detail = [f"{len(regions)} regions, {len(events)} root events"]
    if failed:
        detail.append("failed in " + ", ".join(
            f"{r} ({per_region[r]['error']})" for r in failed))
    if not reaches:
        detail.append(f"event history holds {EVENT_HISTORY_DAYS} days; the window is "
                      f"{win.days}")
    return {
        "selected": True,
        "source": source,
        "window_start": iso(start),
        "window_end": iso(win.end),
        "complete": not failed and reaches,
        "error": per_region[failed[0]]["error"] if failed else None,
        "regions": {r: per_region[r] for r in sorted(per_region)},
        "detail": "; ".join(detail),
        "events": [e.to_json() for e in sorted(events.values(),
                                               key=lambda e: (e.event_time, e.event_id))],
    }


async def fetch_assume_root_calls(ctx: CollectContext) -> JSON:
    """AssumeRoot calls in the management account's event history (organization scope), so
    that each member's sessions can be looked up by their access key."""
    if EVENT_HISTORY not in sources(ctx):
        return not_selected(EVENT_HISTORY)
    regions = event_history_regions(ctx)
    lookups = {r: (("EventName", "AssumeRoot"),) for r in regions}
    return await _history(ctx, regions, lookups, EVENT_HISTORY, keep_account=None)


async def fetch_event_history(ctx: CollectContext) -> JSON:
    if EVENT_HISTORY not in sources(ctx):
        return not_selected(EVENT_HISTORY)
    regions = event_history_regions(ctx)
    issued: list[RootEvent] = []
    issued_error: str | None = None
    calls = await ctx.facts.get("cloudtrail.assume_root_calls")
    if isinstance(calls, FactError):
        issued_error = calls.code
    elif isinstance(calls, Mapping) and calls.get("selected"):
        # Only this account's events are parsed: every account reads the organization's list,
        # so parsing it all made the fact's cost grow with the organization's size squared.
        issued = [RootEvent.from_json(j) for j in calls.get("events") or ()
                  if isinstance(j, Mapping) and j.get("recipientAccountId") == ctx.account_id]
    session_keys = sorted({e.session_id for e in issued if e.session_id})
    lookups: dict[str, list[tuple[str, str]]] = {}
    for r in regions:
        lookups[r] = list(ROOT_LOOKUPS) + [("AccessKeyId", k) for k in session_keys]
    fact = await _history(ctx, regions, lookups, EVENT_HISTORY, keep_account=ctx.account_id)
    win = window(ctx)
    mine = {e["eventID"]: e for e in fact["events"]}
    for e in issued:
        if win.contains(e.event_time):
            mine.setdefault(e.event_id, e.to_json())
    fact["events"] = sorted(mine.values(), key=lambda e: (e["eventTime"], e["eventID"]))
    fact["assume_root_calls_error"] = issued_error
    return fact


_HISTORY_ACTIONS = ("cloudtrail:LookupEvents",)

COLLECTORS: tuple[Collector, ...] = (
    Collector("cloudtrail.assume_root_calls", "organization", _HISTORY_ACTIONS,
              fetch_assume_root_calls,
              "AssumeRoot calls in the management account's event history",
              enabled=selected(EVENT_HISTORY)),
    Collector("cloudtrail.root_events", "account", _HISTORY_ACTIONS, fetch_event_history,
              "Root events from CloudTrail event history (LookupEvents)",
              uses=("cloudtrail.assume_root_calls",), enabled=selected(EVENT_HISTORY)),
)

__all__ = ["COLLECTORS", "event_history_regions"]

"""Root events from CloudTrail Lake: one SQL query over the organization's event data store.

The store is the configured ARN (``root_usage.cloudtrail_lake.event_data_store``) or the one
the organization has: ListEventDataStores in the home region, then GetEventDataStore on each
(the list's own status and organization fields are deprecated), keeping an enabled,
organization-enabled store of management events (multi-region first, then the longest
retention). The record says which store was used and how it was chosen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.aws import lake
from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.aws.collectors.rootsources import not_selected, options, selected, sources, window
from scanner.core.errors import AwsError, NotFound
from scanner.core.models import JSON
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import CLOUDTRAIL_LAKE
from scanner.core.timefmt import iso


async def _find_store(ctx: CollectContext, client: Any) -> tuple[Mapping[str, Any], str]:
    """(GetEventDataStore answer, how it was chosen)."""
    configured = options(ctx).cloudtrail_lake.event_data_store
    if configured:
        store = await aws_call(ctx, client, "get_event_data_store", EventDataStore=configured)
        return store, "configured (root_usage.cloudtrail_lake.event_data_store)"
    arns: list[str] = []
    token: str | None = None
    while True:
        kw: dict[str, Any] = {"NextToken": token} if token else {}
        page = await aws_call(ctx, client, "list_event_data_stores", **kw)
        arns += [str(s["EventDataStoreArn"]) for s in page.get("EventDataStores") or []
                 if s.get("EventDataStoreArn")]
        token = page.get("NextToken")
        if not token:
            break
    stores = [await aws_call(ctx, client, "get_event_data_store", EventDataStore=a)
              for a in arns]
    chosen = lake.choose(stores)
    if chosen is None:
        raise NotFound("NoOrganizationEventDataStore",
                       f"none of the {len(stores)} event data stores in {ctx.home_region} is an "
                       "enabled organization store of management events; set "
                       "root_usage.cloudtrail_lake.event_data_store", service="cloudtrail",
                       operation="ListEventDataStores", account_id=ctx.account_id)
    return chosen, (f"the organization's store, chosen among {len(stores)} in "
                    f"{ctx.home_region} (enabled, organization-enabled, management events)")


async def fetch_lake(ctx: CollectContext) -> JSON:
    if CLOUDTRAIL_LAKE not in sources(ctx):
        return not_selected(CLOUDTRAIL_LAKE)
    opts = options(ctx).cloudtrail_lake
    win = window(ctx)
    client = await ctx.aws.client("cloudtrail", opts.region or ctx.home_region)

    async def call(method: str, **kwargs: Any) -> Any:
        return await aws_call(ctx, client, method, **kwargs)

    store, how = await _find_store(ctx, client)
    arn = str(store.get("EventDataStoreArn") or opts.event_data_store)
    if store.get("Status") != "ENABLED":
        raise AwsError("EventDataStoreNotEnabled",
                       f"event data store {arn} is {store.get('Status')}, not ENABLED",
                       service="cloudtrail", operation="GetEventDataStore",
                       account_id=ctx.account_id)
    sql = lake.root_events_query(store_id=arn.rsplit("/", 1)[-1], start=win.start, end=win.end)
    run = await lake.run_query(call, sql)
    gaps = lake.coverage_gaps(store, win.start, win.end)
    owner = arn.split(":")[4]
    holds = ([a.id for a in ctx.org.accounts] if store.get("OrganizationEnabled")
             else [a.id for a in ctx.org.accounts if a.id == owner])
    accounts: dict[str, list[RootEvent]] = {a: [] for a in holds}
    for row in run.rows:
        ev = RootEvent.from_cloudtrail(lake.record_from_lake_row(row), CLOUDTRAIL_LAKE)
        if ev is not None and ev.account_id in accounts and win.contains(ev.event_time):
            accounts[ev.account_id].append(ev)
    name = str(store.get("Name") or arn)
    complete = not gaps
    detail = f"{len(run.rows)} rows from event data store {name}"
    if gaps:
        detail += "; " + "; ".join(gaps)
    stats = run.statistics
    return {
        "selected": True,
        "source": CLOUDTRAIL_LAKE,
        "window_start": iso(win.start),
        "window_end": iso(win.end),
        # One query over the organization's store: an account without rows had no root
        # event in it (when the store covers the whole organization and window).
        "complete": complete,
        "complete_without_events": complete,
        "detail": detail,
        "event_data_store": {"arn": arn, "name": name, "chosen": how},
        "stats": {"rows": len(run.rows), "bytes_scanned": stats.get("BytesScanned"),
                  "events_scanned": stats.get("EventsScanned")},
        "accounts": {a: {"events": [e.to_json() for e in evs], "complete": complete,
                         "detail": f"{len(evs)} root events from {name}"
                                   + ("; " + "; ".join(gaps) if gaps else "")}
                     for a, evs in accounts.items()},
    }


COLLECTORS: tuple[Collector, ...] = (
    Collector("lake.root_events", "organization",
              ("cloudtrail:ListEventDataStores", "cloudtrail:GetEventDataStore",
               "cloudtrail:StartQuery", "cloudtrail:DescribeQuery",
               "cloudtrail:GetQueryResults"),
              fetch_lake, "Root events from CloudTrail Lake (the organization event data store)",
              enabled=selected(CLOUDTRAIL_LAKE)),
)

__all__ = ["COLLECTORS"]

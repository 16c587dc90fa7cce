"""Root events from Athena over the organization trail's table: one query for the whole
organization (for organizations too large to read the logs file by file)."""

from __future__ import annotations

from typing import Any

from scanner.aws import athena
from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.aws.collectors.rootsources import not_selected, options, selected, sources, window
from scanner.core.models import JSON
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import ATHENA
from scanner.core.timefmt import iso


async def fetch_athena(ctx: CollectContext) -> JSON:
    if ATHENA not in sources(ctx):
        return not_selected(ATHENA)
    opts = options(ctx).athena
    win = window(ctx)
    database, table = opts.database, opts.table
    client = await ctx.aws.client("athena", ctx.home_region)

    async def call(method: str, **kwargs: Any) -> Any:
        return await aws_call(ctx, client, method, **kwargs)

    sql = athena.root_events_query(database=database, table=table, start=win.start, end=win.end)
    run = await athena.run_query(call, sql, database=database, workgroup=opts.workgroup,
                                 output_location=opts.output_location)
    rows = run.rows
    accounts: dict[str, list[RootEvent]] = {a.id: [] for a in ctx.org.accounts}
    for row in rows:
        ev = RootEvent.from_cloudtrail(athena.record_from_row(row), ATHENA)
        if ev is not None and ev.account_id in accounts and win.contains(ev.event_time):
            accounts[ev.account_id].append(ev)
    return {
        "selected": True,
        "source": ATHENA,
        "window_start": iso(win.start),
        "window_end": iso(win.end),
        # One query over every account's partitions: an account without rows had no root
        # event in the table (Athena cannot tell that apart from "no logs delivered").
        "complete": True,
        "complete_without_events": True,
        "detail": f"{len(rows)} rows from {database}.{table}",
        "stats": {"rows": len(rows),
                  "bytes_scanned": run.statistics.get("DataScannedInBytes")},
        "accounts": {a: {"events": [e.to_json() for e in evs], "complete": True,
                         "detail": f"{len(evs)} root events from {database}.{table}"}
                     for a, evs in accounts.items()},
    }


COLLECTORS: tuple[Collector, ...] = (
    Collector("athena.root_events", "organization",
              ("athena:StartQueryExecution", "athena:GetQueryExecution",
               "athena:GetQueryResults", "glue:GetTable", "glue:GetDatabase",
               "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject"),
              fetch_athena, "Root events from Athena over the organization trail",
              enabled=selected(ATHENA)),
)

__all__ = ["COLLECTORS"]

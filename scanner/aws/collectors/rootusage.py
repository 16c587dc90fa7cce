"""Root-usage facts: root events from each source, and the merged ``root.usage`` record.

Sources (``root_usage.sources`` in the config): the credential report's root row, CloudTrail
event history (LookupEvents, per account and region), the organization trail's logs in S3
(read once for the whole organization) and Athena over those logs. Each source reports what
it covered; ``root.usage`` merges them (one event per eventID) with ``scanner.core.rootusage``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from scanner.aws import athena
from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.aws.errors import classify
from scanner.aws.session import ORG_LABEL, AccountScope, account_scope, current_scope
from scanner.aws.tasks import bounded_map
from scanner.aws.trailreader import TrailLocation, read_org_trail
from scanner.core.errors import AwsError, NotFound
from scanner.core.models import JSON, FactError
from scanner.core.rootevents import RootEvent, iso
from scanner.core.rootusage import (
    ATHENA,
    CREDENTIAL_REPORT,
    EVENT_HISTORY,
    ORG_TRAIL,
    SourceCoverage,
    Window,
    build_root_usage,
    org_slice,
    root_row,
)

DEFAULT_SOURCES = (CREDENTIAL_REPORT, EVENT_HISTORY)
EVENT_HISTORY_DAYS = 90  # LookupEvents holds 90 days of management events
LOOKUP_RATE = 2.0  # LookupEvents: 2 requests/s per account per region
# AWS's token buckets hold at least one second of the rate; with the limiter charging each call
# at its answer (ratelimit.py), two back to back never overrun it, and save half a second per
# account on the critical path (three lookups in us-east-1: 1.1 s -> 0.7 s at 100 ms a call).
LOOKUP_BURST = 2
REGIONS_AT_ONCE = 6  # event-history regions one account searches at the same time
GLOBAL_REGION = "us-east-1"  # IAM, STS (global endpoint) and console sign-in events land here
# Lookups per region. Username=root finds root's API calls and sign-ins; the sign-in events are
# also looked up by name in us-east-1 in case their Username is not "root" (failed sign-ins,
# password recovery). AssumeRoot sessions are found by their access keys (see below).
ROOT_LOOKUPS = (("Username", "root"),)
GLOBAL_LOOKUPS = (("EventName", "ConsoleLogin"), ("EventName", "PasswordRecoveryRequested"))


def options(ctx: CollectContext) -> Mapping[str, Any]:
    opts = ctx.options.get("root_usage") or {}
    return opts if isinstance(opts, Mapping) else {}


def sources(ctx: CollectContext) -> tuple[str, ...]:
    return selected_sources(ctx.options)


def selected_sources(collector_options: Mapping[str, Any]) -> tuple[str, ...]:
    opts = collector_options.get("root_usage")
    chosen = opts.get("sources") if isinstance(opts, Mapping) else None
    return tuple(chosen) if chosen else DEFAULT_SOURCES


def _selected(source: str) -> Callable[[Mapping[str, Any]], bool]:
    """A collector's ``enabled``: on only when the config selects its source (so a scan
    asks for no permission it does not use)."""
    return lambda collector_options: source in selected_sources(collector_options)


def window(ctx: CollectContext) -> Window:
    return Window.ending(ctx.now, int(options(ctx).get("lookback_days") or 90))


def event_history_regions(ctx: CollectContext) -> list[str]:
    configured = options(ctx).get("event_history_regions") or list(ctx.regions)
    return list(dict.fromkeys([GLOBAL_REGION, *configured]))


def _not_selected(source: str) -> JSON:
    return {"selected": False, "source": source}


# --- event history ---------------------------------------------------------------------------


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
                   keep_account: str | None) -> JSON:
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
        return _not_selected(EVENT_HISTORY)
    regions = event_history_regions(ctx)
    lookups = {r: (("EventName", "AssumeRoot"),) for r in regions}
    return await _history(ctx, regions, lookups, EVENT_HISTORY, keep_account=None)


async def fetch_event_history(ctx: CollectContext) -> JSON:
    if EVENT_HISTORY not in sources(ctx):
        return _not_selected(EVENT_HISTORY)
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
        if r == GLOBAL_REGION:
            lookups[r] += list(GLOBAL_LOOKUPS)
    fact = await _history(ctx, regions, lookups, EVENT_HISTORY, keep_account=ctx.account_id)
    assert isinstance(fact, dict)
    win = window(ctx)
    mine = {e["eventID"]: e for e in fact["events"]}
    for e in issued:
        if win.contains(e.event_time):
            mine.setdefault(e.event_id, e.to_json())
    fact["events"] = sorted(mine.values(), key=lambda e: (e["eventTime"], e["eventID"]))
    fact["assume_root_calls_error"] = issued_error
    return fact


# --- organization trail ----------------------------------------------------------------------

_ACCOUNT_IN_NAME = re.compile(r"(?<!\d)(\d{12})(?!\d)")


async def _find_org_trail(ctx: CollectContext) -> Mapping[str, Any]:
    client = await ctx.aws.client("cloudtrail", ctx.home_region)
    resp = await aws_call(ctx, client, "describe_trails", includeShadowTrails=False)
    trails = [t for t in resp.get("trailList", []) if t.get("IsOrganizationTrail")]
    if not trails:
        raise NotFound("NoOrganizationTrail",
                       "no organization trail in the management account; set "
                       "root_usage.org_trail.bucket", service="cloudtrail",
                       operation="DescribeTrails", account_id=ctx.account_id)
    trails.sort(key=lambda t: (not t.get("IsMultiRegionTrail"), str(t.get("Name"))))
    return dict(trails[0])


def _bucket_accounts(ctx: CollectContext, bucket: str, configured: str | None) -> list[str]:
    """Whom to read the bucket as, in order: the configured log-archive account, an account of
    the organization whose id the bucket name embeds (Control Tower's
    aws-controltower-logs-<id>-<region>, the console's aws-cloudtrail-logs-<id>-<suffix>), then
    the management account."""
    order: list[str] = []
    if configured:
        order.append(configured)
    ids = {a.id for a in ctx.org.accounts}
    order += [m for m in _ACCOUNT_IN_NAME.findall(bucket) if m in ids]
    order.append(ctx.account_id)
    return list(dict.fromkeys(order))


async def _scope_in(ctx: CollectContext, account_id: str, role_name: str | None) -> AccountScope:
    base = current_scope()
    if account_id == base.account_id:
        return base
    # Reading the organization trail is organization-level work, whoever's role it uses.
    if role_name and role_name != ctx.aws.settings.role_name:
        arn = f"arn:aws:iam::{account_id}:role/{role_name}"
        return await ctx.aws.assume_role_arn(base, arn, label=ORG_LABEL)
    return await ctx.aws.assume(base, account_id, label=ORG_LABEL)


def _describe_error(exc: BaseException) -> tuple[str, str]:
    err = classify(exc, service="s3")
    if err is None:
        return type(exc).__name__, str(exc)
    return err.code, err.message


async def fetch_org_trail(ctx: CollectContext) -> JSON:
    if ORG_TRAIL not in sources(ctx):
        return _not_selected(ORG_TRAIL)
    opts = options(ctx).get("org_trail") or {}
    win = window(ctx)
    trail: Mapping[str, Any] = {}
    bucket, prefix = opts.get("bucket"), opts.get("prefix")
    if not bucket:
        trail = await _find_org_trail(ctx)
        bucket = trail.get("S3BucketName")
        prefix = prefix if prefix is not None else trail.get("S3KeyPrefix")
    if not bucket:
        raise NotFound("NoTrailBucket", "the organization trail names no S3 bucket")
    loc = TrailLocation(str(bucket), str(prefix or "").strip("/"), ctx.org.id)
    region = str(trail.get("HomeRegion") or ctx.home_region)
    accounts = [a.id for a in ctx.org.accounts]
    files_in_flight = int(opts.get("concurrency") or 32)
    s3 = await ctx.aws.client("s3", region)

    last: AwsError | None = None
    for reader in _bucket_accounts(ctx, loc.bucket, opts.get("log_archive_account")):
        try:
            scope = await _scope_in(ctx, reader, opts.get("role_name"))
            with account_scope(scope):
                # Probe once: a denied reader is replaced by the next candidate.
                await aws_call(ctx, s3, "list_objects_v2", Bucket=loc.bucket,
                               Prefix=loc.account_root(accounts[0] if accounts else ""),
                               MaxKeys=1)
                scan = await read_org_trail(
                    s3, loc, accounts, win.start, win.end,
                    list_concurrency=min(64, files_in_flight),
                    files_in_flight=files_in_flight, on_error=_describe_error)
        except AwsError as exc:
            last = exc
            continue
        break
    else:
        assert last is not None
        raise last

    by_account: dict[str, list[RootEvent]] = {a: [] for a in accounts}
    for sl in scan.accounts.values():
        for ev in sl.events:
            target = ev.account_id if ev.account_id in by_account else sl.account_id
            by_account[target].append(ev)
    out_accounts: dict[str, JSON] = {}
    for a in accounts:
        sl = scan.accounts[a]
        out_accounts[a] = {
            "events": [e.to_json() for e in sorted(by_account[a],
                                                   key=lambda e: (e.event_time, e.event_id))],
            "files": sl.files,
            "matched_files": sl.matched_files,
            "compressed_bytes": sl.compressed_bytes,
            "regions": sl.regions,
            "gap_count": len(sl.gaps),
            "gaps": sl.gaps[:20],
            "listing_errors": sl.listing_errors[:5],
            "complete": sl.complete,
            "detail": sl.detail(),
        }
    complete = all(scan.accounts[a].complete for a in accounts)
    return {
        "selected": True,
        "source": ORG_TRAIL,
        "trail": {"name": trail.get("Name"), "arn": trail.get("TrailARN"), "bucket": loc.bucket,
                  "prefix": loc.prefix, "home_region": region, "read_as": reader},
        "window_start": iso(win.start),
        "window_end": iso(win.end),
        "complete": complete,
        "regions": sorted({r for sl in scan.accounts.values() for r in sl.regions}),
        "stats": {"files": scan.files, "matched_files": scan.matched_files,
                  "compressed_bytes": scan.compressed_bytes,
                  "inflated_bytes": scan.inflated_bytes, "list_calls": scan.list_calls,
                  "gaps": sum(len(sl.gaps) for sl in scan.accounts.values())},
        "detail": f"{scan.files} files read as {reader}",
        "accounts": out_accounts,
    }


# --- Athena -----------------------------------------------------------------------------------


async def fetch_athena(ctx: CollectContext) -> JSON:
    if ATHENA not in sources(ctx):
        return _not_selected(ATHENA)
    opts = options(ctx).get("athena") or {}
    win = window(ctx)
    database = str(opts.get("database") or "default")
    table = str(opts.get("table") or "cloudtrail_org")
    client = await ctx.aws.client("athena", ctx.home_region)

    async def call(method: str, **kwargs: Any) -> Any:
        return await aws_call(ctx, client, method, **kwargs)

    sql = athena.root_events_query(database=database, table=table, start=win.start, end=win.end)
    rows = await athena.run_query(call, sql, database=database,
                                  workgroup=opts.get("workgroup") or "primary",
                                  output_location=opts.get("output_location"))
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
        "accounts": {a: {"events": [e.to_json() for e in evs], "complete": True,
                         "detail": f"{len(evs)} root events from {database}.{table}"}
                     for a, evs in accounts.items()},
    }


# --- root.usage -------------------------------------------------------------------------------


async def _optional(ctx: CollectContext, name: str) -> Mapping[str, Any] | None:
    value = await ctx.facts.get(name)
    return value if isinstance(value, Mapping) else None


async def fetch_root_usage(ctx: CollectContext) -> JSON:
    win = window(ctx)
    chosen = sources(ctx)
    coverage: list[SourceCoverage] = []
    events: list[RootEvent] = []
    row: Mapping[str, Any] | None = None
    notes: list[str] = []

    if CREDENTIAL_REPORT in chosen:
        report = await ctx.facts.get("iam.credential_report")
        if isinstance(report, FactError):
            coverage.append(SourceCoverage(CREDENTIAL_REPORT, None, None, False, report.message,
                                           report.code))
        else:
            row = root_row(report)
            generated = (row or {}).get("report_generated_time")
            coverage.append(SourceCoverage(
                CREDENTIAL_REPORT, None, generated, row is not None,
                "root row present" if row else "no <root_account> row in the report"))

    if EVENT_HISTORY in chosen:
        hist = await ctx.facts.get("cloudtrail.root_events")
        if isinstance(hist, FactError):
            coverage.append(SourceCoverage.failed(EVENT_HISTORY, win, hist.code, hist.message))
        elif isinstance(hist, Mapping):
            events += [RootEvent.from_json(e) for e in hist.get("events") or ()]
            coverage.append(SourceCoverage(
                EVENT_HISTORY, hist.get("window_start"), hist.get("window_end"),
                bool(hist.get("complete")), str(hist.get("detail") or ""), hist.get("error"),
                tuple(hist.get("regions") or ())))
            narrowed = set(ctx.regions) - set(hist.get("regions") or ())
            if narrowed:
                notes.append("event history not searched in: " + ", ".join(sorted(narrowed)))

    for name, fact_name in ((ORG_TRAIL, "orgtrail.root_events"), (ATHENA, "athena.root_events")):
        if name not in chosen:
            continue
        org_fact = await ctx.facts.get(fact_name)
        if isinstance(org_fact, FactError):
            coverage.append(SourceCoverage.failed(name, win, org_fact.code, org_fact.message))
            continue
        evs, cov = org_slice(org_fact, ctx.account_id, name, win)
        events += evs
        coverage.append(cov)

    record = build_root_usage(
        ctx.account_id, win, events, coverage, credential_row=row,
        root_mfa=await _optional(ctx, "root.mfa"),
        organizations_features=await _optional(ctx, "iam.organizations_features"),
        notes=notes,
    )
    return record.to_json()


_HISTORY_ACTIONS = ("cloudtrail:LookupEvents",)

COLLECTORS: tuple[Collector, ...] = (
    Collector("cloudtrail.assume_root_calls", "organization", _HISTORY_ACTIONS,
              fetch_assume_root_calls,
              "AssumeRoot calls in the management account's event history",
              enabled=_selected(EVENT_HISTORY)),
    Collector("cloudtrail.root_events", "account", _HISTORY_ACTIONS, fetch_event_history,
              "Root events from CloudTrail event history (LookupEvents)",
              uses=("cloudtrail.assume_root_calls",), enabled=_selected(EVENT_HISTORY)),
    Collector("orgtrail.root_events", "organization",
              ("cloudtrail:DescribeTrails", "s3:ListBucket", "s3:GetObject", "sts:AssumeRole"),
              fetch_org_trail, "Root events from the organization trail's logs in S3",
              enabled=_selected(ORG_TRAIL)),
    Collector("athena.root_events", "organization",
              ("athena:StartQueryExecution", "athena:GetQueryExecution",
               "athena:GetQueryResults", "glue:GetTable", "glue:GetDatabase",
               "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:PutObject"),
              fetch_athena, "Root events from Athena over the organization trail",
              enabled=_selected(ATHENA)),
    Collector("root.usage", "account", (), fetch_root_usage,
              "The root-usage record: every selected source merged",
              uses=("iam.credential_report", "cloudtrail.root_events", "orgtrail.root_events",
                    "athena.root_events", "root.mfa", "iam.organizations_features")),
)

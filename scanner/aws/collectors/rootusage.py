"""The ``root.usage`` record: root events from every selected source, merged.

Sources (``root_usage.sources`` in the config): the credential report's root row, CloudTrail
event history (``eventhistory``: LookupEvents, per account and region), the organization trail's
logs in S3 (``orgtrail``: read once for the whole organization), Athena over those logs
(``athenasource``) and CloudTrail Lake's organization event data store (``lakesource``).
Each source reports what it covered; ``root.usage`` merges them (one event per eventID) with
``scanner.core.rootusage``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.rootsources import sources, window
from scanner.core.models import JSON, FactError
from scanner.core.rootevents import RootEvent
from scanner.core.rootusage import (
    CREDENTIAL_REPORT,
    EVENT_HISTORY,
    ORG_SOURCES,
    SourceCoverage,
    build_root_usage,
    org_slice,
    root_row,
)


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

    for name, fact_name in ORG_SOURCES:
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


COLLECTORS: tuple[Collector, ...] = (
    Collector("root.usage", "account", (), fetch_root_usage,
              "The root-usage record: every selected source merged",
              uses=("iam.credential_report", "cloudtrail.root_events", "orgtrail.root_events",
                    "athena.root_events", "lake.root_events", "root.mfa",
                    "iam.organizations_features")),
)

__all__ = ["COLLECTORS"]

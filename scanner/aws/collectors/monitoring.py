"""The CIS root-usage monitoring chain, joined inside one account:
trail -> CloudWatch Logs group -> metric filter -> metric -> alarm -> SNS topic -> subscriptions.

Only the account's own trails count (docs/semantics.md): an organization trail seen here as a
shadow trail delivers to a log group in another account, and an alarm there does not monitor
this account's control, so shadow trails are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call, aws_list
from scanner.aws.collectors.normalize import arn_region, is_sns_topic_arn, log_group_name
from scanner.core.errors import AccessDenied, NotFound
from scanner.core.models import JSON
from scanner.core.patterns import is_cis_root_usage_pattern

PENDING = "PendingConfirmation"


async def _topic_subscriptions(ctx: CollectContext, topic_arn: str) -> tuple[int, int] | None:
    """(all, confirmed) subscriptions of a topic; None when the topic cannot be read (deleted,
    or in another account that does not let this one list it)."""
    sns = await ctx.aws.client("sns", arn_region(topic_arn) or ctx.home_region)
    try:
        subs = await aws_list(ctx, sns, "list_subscriptions_by_topic", "Subscriptions",
                              TopicArn=topic_arn)
    except (NotFound, AccessDenied):
        return None
    confirmed = sum(1 for s in subs if s.get("SubscriptionArn") not in (None, "", PENDING))
    return len(subs), confirmed


async def _alarms(ctx: CollectContext, region: str, namespace: str,
                  metric: str) -> list[JSON]:
    cw = await ctx.aws.client("cloudwatch", region)
    resp = await aws_call(ctx, cw, "describe_alarms_for_metric", MetricName=metric,
                          Namespace=namespace)
    out: list[JSON] = []
    for alarm in resp.get("MetricAlarms") or []:
        topics = sorted({str(a) for a in alarm.get("AlarmActions") or [] if is_sns_topic_arn(a)})
        counts = [await _topic_subscriptions(ctx, t) for t in topics]
        known = [c for c in counts if c is not None]
        unknown = len(known) < len(counts)
        total = sum(c[0] for c in known)
        confirmed = sum(c[1] for c in known)
        out.append({
            "alarm_name": alarm.get("AlarmName"),
            "actions_enabled": alarm.get("ActionsEnabled"),
            "sns_topic_arns": topics,
            # Unknown only matters while nothing readable is subscribed.
            "subscriptions": None if unknown and total == 0 else total,
            "confirmed_subscriptions": None if unknown and confirmed == 0 else confirmed,
        })
    return out


def chain_complete(entry: Mapping[str, Any]) -> bool | None:
    """docs/semantics.md: a multi-region trail that is logging, the CIS pattern, an alarm on
    the filter's metric, and a confirmed subscription on one of the alarm's topics (a pending
    one notifies nobody; CIS's audit asks for a real SubscriptionArn). False when a link is
    known to be missing, None when a link is unknown and nothing else is missing."""
    links: list[bool | None] = [
        entry.get("trail_is_multi_region"),
        entry.get("trail_is_logging"),
        entry.get("pattern_is_cis_root_usage"),
    ]
    alarms = entry.get("alarms") or []
    subscribed: list[bool | None] = [
        None if a.get("confirmed_subscriptions") is None else a["confirmed_subscriptions"] > 0
        for a in alarms
    ]
    if True in subscribed:
        links.append(True)
    elif None in subscribed:
        links.append(None)
    else:
        links.append(False)
    if False in links:
        return False
    if None in links:
        return None
    return True


async def _filters(ctx: CollectContext, trail: Mapping[str, Any]) -> list[JSON]:
    group_arn = str(trail["cloudwatch_logs_log_group_arn"])
    group = log_group_name(group_arn)
    if group is None:
        return []
    region = arn_region(group_arn) or str(trail.get("home_region") or ctx.home_region)
    logs = await ctx.aws.client("logs", region)
    filters = await aws_list(ctx, logs, "describe_metric_filters", "metricFilters",
                             logGroupName=group)
    out: list[JSON] = []
    for f in filters:
        pattern = f.get("filterPattern")
        base: dict[str, JSON] = {
            "trail_name": trail.get("name"),
            "trail_is_multi_region": trail.get("is_multi_region"),
            "trail_is_logging": trail.get("is_logging"),
            "log_group": group,
            "filter_name": f.get("filterName"),
            "filter_pattern": pattern,
            "pattern_is_cis_root_usage": bool(is_cis_root_usage_pattern(str(pattern or ""))),
        }
        # AWS allows one transformation per filter; the list form is kept general anyway.
        for t in f.get("metricTransformations") or []:
            entry = base | {
                "metric_namespace": t.get("metricNamespace"),
                "metric_name": t.get("metricName"),
                "alarms": await _alarms(ctx, region, str(t.get("metricNamespace")),
                                        str(t.get("metricName"))),
            }
            entry["chain_complete"] = chain_complete(entry)
            out.append(entry)
    return out


async def fetch_root_usage_alarms(ctx: CollectContext) -> JSON:
    trails = await ctx.facts.require("cloudtrail.trails")
    own = [t for t in trails if not t.get("is_shadow") and t.get("cloudwatch_logs_log_group_arn")]
    # Sequential on purpose: the orchestrator is the only place that creates tasks.
    return [entry for t in own for entry in await _filters(ctx, t)]


COLLECTORS: tuple[Collector, ...] = (
    Collector(
        "monitoring.root_usage_alarms", "account",
        ("logs:DescribeMetricFilters", "cloudwatch:DescribeAlarmsForMetric",
         "sns:ListSubscriptionsByTopic"),
        fetch_root_usage_alarms,
        "CIS root-usage metric filters on the account's own trails, their alarms and topics",
        uses=("cloudtrail.trails",),
    ),
)

__all__ = ["COLLECTORS", "chain_complete"]

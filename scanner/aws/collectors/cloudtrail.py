"""CloudTrail facts: every trail the account sees from the home region, with its status and
whether it records management events."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.aws.collectors.normalize import arn_account
from scanner.core.errors import AwsError, RegionDisabled, Throttled, Unavailable
from scanner.core.models import JSON

# Transient or infrastructural failures fail the whole fact; anything else on a trail that
# belongs to another account (an organization trail seen as a shadow trail) is recorded on
# that trail as unknown.
_NOT_DATA = (Throttled, Unavailable, RegionDisabled)


def _combine(kinds: set[str]) -> str | None:
    if not kinds:
        return None
    if "All" in kinds or {"ReadOnly", "WriteOnly"} <= kinds:
        return "All"
    return next(iter(kinds))


def management_selection(selectors: Mapping[str, Any]) -> tuple[bool, str | None]:
    """(records management events, their read/write type) from GetEventSelectors' answer,
    basic or advanced selectors."""
    kinds: set[str] = set()
    basic = selectors.get("EventSelectors") or []
    for sel in basic:
        if sel.get("IncludeManagementEvents", True):
            kinds.add(str(sel.get("ReadWriteType") or "All"))
    for sel in selectors.get("AdvancedEventSelectors") or []:
        fields = {str(f.get("Field")): f for f in sel.get("FieldSelectors") or []}
        category = fields.get("eventCategory")
        if category is None or "Management" not in (category.get("Equals") or []):
            continue
        read_only = fields.get("readOnly")
        values = [str(v).lower() for v in (read_only or {}).get("Equals") or []]
        if not values or set(values) == {"true", "false"}:
            kinds.add("All")
        elif values == ["true"]:
            kinds.add("ReadOnly")
        elif values == ["false"]:
            kinds.add("WriteOnly")
        else:
            kinds.add("All")
    return bool(kinds), _combine(kinds)


async def _describe(ctx: CollectContext, trail: Mapping[str, Any]) -> dict[str, JSON]:
    arn = str(trail.get("TrailARN") or "")
    home = str(trail.get("HomeRegion") or ctx.home_region)
    owner = arn_account(arn)
    is_shadow = owner is not None and owner != ctx.account_id
    out: dict[str, JSON] = {
        "name": trail.get("Name"),
        "arn": arn or None,
        "home_region": home,
        "is_multi_region": trail.get("IsMultiRegionTrail"),
        "is_organization_trail": trail.get("IsOrganizationTrail"),
        "is_shadow": is_shadow,
        "is_logging": None,
        "log_file_validation_enabled": trail.get("LogFileValidationEnabled"),
        "kms_key_id": trail.get("KmsKeyId"),
        "cloudwatch_logs_log_group_arn": trail.get("CloudWatchLogsLogGroupArn"),
        "s3_bucket_name": trail.get("S3BucketName"),
        "s3_key_prefix": trail.get("S3KeyPrefix"),
        "management_events": None,
        "read_write_type": None,
        "status_error": None,
    }
    # Status and selectors are only answered in the trail's home region, so ask there, by ARN.
    client = await ctx.aws.client("cloudtrail", home)
    name = arn or str(trail.get("Name"))
    try:
        status = await aws_call(ctx, client, "get_trail_status", Name=name)
        selectors = await aws_call(ctx, client, "get_event_selectors", TrailName=name)
    except _NOT_DATA:
        raise
    except AwsError as exc:
        if not is_shadow:
            raise
        out["status_error"] = exc.code
        return out
    out["is_logging"] = status.get("IsLogging")
    out["management_events"], out["read_write_type"] = management_selection(selectors)
    return out


async def fetch_trails(ctx: CollectContext) -> JSON:
    client = await ctx.aws.client("cloudtrail")
    resp = await aws_call(ctx, client, "describe_trails", includeShadowTrails=True)
    trails = resp.get("trailList") or []
    # Sequential on purpose: the orchestrator is the only place that creates tasks (an
    # account sees a handful of trails).
    return [await _describe(ctx, t) for t in trails]


COLLECTORS: tuple[Collector, ...] = (
    Collector(
        "cloudtrail.trails", "account",
        ("cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
         "cloudtrail:GetEventSelectors"),
        fetch_trails,
        "trails visible from the home region (shadow and organization trails included)",
    ),
)

__all__ = ["COLLECTORS", "management_selection"]

"""CloudTrail facts: every trail of the account in every region (and an organization trail
seen as a shadow trail), with its status and whether it records management events.

An organization trail's status and event selectors are the same whichever member asks, so they
are read once, in the account that owns the trail (``cloudtrail.organization_trails``), and
every member's ``cloudtrail.trails`` takes them from there; a member reads them itself only
when that organization-level read has nothing for the trail (it failed, or the trail is not
the organization's management account's)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call, aws_list
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


async def _status(ctx: CollectContext, arn: str, name: str,
                  home: str) -> tuple[Any, bool | None, str | None]:
    """(IsLogging, records management events, read/write type), read in the trail's home
    region by ARN (status and selectors are only answered there)."""
    client = await ctx.aws.client("cloudtrail", home)
    status = await aws_call(ctx, client, "get_trail_status", Name=arn or name)
    selectors = await aws_call(ctx, client, "get_event_selectors", TrailName=arn or name)
    management, read_write = management_selection(selectors)
    return status.get("IsLogging"), management, read_write


async def _organization_status(ctx: CollectContext) -> dict[str, Mapping[str, JSON]]:
    """The organization trails' status, by ARN, as read once for the organization (empty when
    that read failed: each account then reads its shadow trail itself)."""
    known = await ctx.facts.get("cloudtrail.organization_trails")
    if not isinstance(known, list):
        return {}
    return {str(t["arn"]): t for t in known if isinstance(t, dict) and t.get("arn")}


async def _describe(ctx: CollectContext, trail: Mapping[str, Any],
                    shared: Mapping[str, Mapping[str, JSON]]) -> dict[str, JSON]:
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
    known = shared.get(arn) if trail.get("IsOrganizationTrail") else None
    if known is not None:  # read once for the organization
        out["is_logging"] = known.get("is_logging")
        out["management_events"] = known.get("management_events")
        out["read_write_type"] = known.get("read_write_type")
        return out
    try:
        status = await _status(ctx, arn, str(trail.get("Name")), home)
    except _NOT_DATA:
        raise
    except AwsError as exc:
        if not is_shadow:
            raise
        out["status_error"] = exc.code
        return out
    out["is_logging"], out["management_events"], out["read_write_type"] = status
    return out


async def _described(ctx: CollectContext, client: Any) -> list[Mapping[str, Any]]:
    resp = await aws_call(ctx, client, "describe_trails", includeShadowTrails=True)
    return list(resp.get("trailList") or [])


async def _trails_of_account(ctx: CollectContext) -> list[Mapping[str, Any]]:
    """Every trail of the account, in every region.

    DescribeTrails answers for one region: there it shows the region's own trails and the
    multi-region (and organization) trails homed elsewhere, but not a single-region trail of
    another region. ListTrails names every trail of the account with its home region; each one
    the scan's home region did not describe is then described in its own home region."""
    client = await ctx.aws.client("cloudtrail")
    listed = await aws_list(ctx, client, "list_trails", "Trails")
    found: dict[str, Mapping[str, Any]] = {}
    for trail in await _described(ctx, client):
        found[str(trail.get("TrailARN") or trail.get("Name"))] = trail
    missing = {str(t.get("TrailARN")): str(t.get("HomeRegion") or "") for t in listed
               if t.get("TrailARN") and str(t.get("TrailARN")) not in found}
    # Sequential on purpose: the orchestrator is the only place that creates tasks (a trail
    # outside the home region's view is rare, and few regions ever hold one).
    for region in sorted({home for home in missing.values() if home}):
        regional = await ctx.aws.client("cloudtrail", region)
        for trail in await _described(ctx, regional):
            arn = str(trail.get("TrailARN") or "")
            if missing.get(arn) == region:
                found[arn] = trail
    return list(found.values())


async def fetch_trails(ctx: CollectContext) -> JSON:
    trails = await _trails_of_account(ctx)
    shared = (await _organization_status(ctx)
              if any(t.get("IsOrganizationTrail") for t in trails) else {})
    # Sequential on purpose, as above.
    return [await _describe(ctx, t, shared) for t in trails]


async def fetch_organization_trails(ctx: CollectContext) -> JSON:
    """The organization trails owned by the account in scope (the management account), each
    with its status and selectors, read once for every member's shadow trail. A trail whose
    status cannot be read here is left out (each member then reads it itself, and records the
    refusal on its shadow trail as before); a transient failure fails the fact, with the same
    fallback."""
    out: list[JSON] = []
    if ctx.account_id != ctx.org.management_account_id:
        return out  # only the management account owns organization trails
    for trail in await _trails_of_account(ctx):
        arn = str(trail.get("TrailARN") or "")
        if not (trail.get("IsOrganizationTrail") and arn and arn_account(arn) == ctx.account_id):
            continue
        home = str(trail.get("HomeRegion") or ctx.home_region)
        try:
            is_logging, management, read_write = await _status(
                ctx, arn, str(trail.get("Name")), home)
        except _NOT_DATA:
            raise
        except AwsError:
            continue
        out.append({"arn": arn, "name": trail.get("Name"), "home_region": home,
                    "is_logging": is_logging, "management_events": management,
                    "read_write_type": read_write})
    return out


COLLECTORS: tuple[Collector, ...] = (
    Collector(
        "cloudtrail.trails", "account",
        ("cloudtrail:ListTrails", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
         "cloudtrail:GetEventSelectors"),
        fetch_trails,
        "every trail of the account, in every region (shadow and organization trails "
        "included), read in its home region",
        uses=("cloudtrail.organization_trails",),
    ),
    # Read in the management account (it owns organization trails, including those a
    # delegated administrator created), once for the whole organization.
    Collector(
        "cloudtrail.organization_trails", "organization",
        ("cloudtrail:ListTrails", "cloudtrail:DescribeTrails", "cloudtrail:GetTrailStatus",
         "cloudtrail:GetEventSelectors"),
        fetch_organization_trails,
        "the organization trails the management account owns, with their status and event "
        "selectors, read once and shared by every member's shadow trail",
    ),
)

__all__ = ["COLLECTORS", "management_selection"]

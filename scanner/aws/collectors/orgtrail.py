"""Root events from the organization trail's logs in S3, read once for the whole organization.

The bucket is the configured one or the organization trail's; it is read as the first of the
candidate accounts that can list it (``_bucket_accounts``). The reading itself is
``scanner.aws.trailreader``: what it could not read is a gap in the account's coverage.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.iam import aws_call
from scanner.aws.collectors.rootsources import not_selected, options, selected, sources, window
from scanner.aws.session import ORG_LABEL, AccountScope, account_scope, current_scope
from scanner.aws.trailreader import OrgTrailScan, TrailLocation, read_org_trail
from scanner.core.errors import AwsError, NotFound
from scanner.core.models import JSON
from scanner.core.rootusage import ORG_TRAIL, Window
from scanner.core.settings import OrgTrailOptions
from scanner.core.timefmt import iso
from scanner.core.trailslices import account_json, by_named_account

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
    the management account (so never empty)."""
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
        arn = ctx.aws.role_arn(account_id, role_name)
        return await ctx.aws.assume_role_arn(base, arn, label=ORG_LABEL)
    return await ctx.aws.assume(base, account_id, label=ORG_LABEL)


async def _read_as_first_able(ctx: CollectContext, opts: OrgTrailOptions, s3: Any,
                              loc: TrailLocation, accounts: Sequence[str],
                              win: Window) -> tuple[str, OrgTrailScan]:
    """(the account that read the logs, what it read): each candidate in turn, until one can;
    the last candidate's failure is the fact's."""

    async def read_as(reader: str) -> OrgTrailScan:
        scope = await _scope_in(ctx, reader, opts.role_name)
        with account_scope(scope):
            # Probe once: a denied reader is replaced by the next candidate.
            await aws_call(ctx, s3, "list_objects_v2", Bucket=loc.bucket,
                           Prefix=loc.account_root(accounts[0] if accounts else ""), MaxKeys=1)
            return await read_org_trail(
                s3, loc, accounts, win.start, win.end,
                list_concurrency=min(64, opts.concurrency), files_in_flight=opts.concurrency)

    *others, last = _bucket_accounts(ctx, loc.bucket, opts.log_archive_account)
    for reader in others:
        try:
            return reader, await read_as(reader)
        except AwsError:
            continue
    return last, await read_as(last)


async def fetch_org_trail(ctx: CollectContext) -> JSON:
    if ORG_TRAIL not in sources(ctx):
        return not_selected(ORG_TRAIL)
    opts = options(ctx).org_trail
    win = window(ctx)
    trail: Mapping[str, Any] = {}
    bucket, prefix = opts.bucket, opts.prefix
    if not bucket:
        trail = await _find_org_trail(ctx)
        bucket = trail.get("S3BucketName")
        prefix = prefix if prefix is not None else trail.get("S3KeyPrefix")
    if not bucket:
        raise NotFound("NoTrailBucket", "the organization trail names no S3 bucket")
    loc = TrailLocation(str(bucket), str(prefix or "").strip("/"), ctx.org.id)
    region = str(trail.get("HomeRegion") or ctx.home_region)
    accounts = [a.id for a in ctx.org.accounts]
    s3 = await ctx.aws.client("s3", region)
    reader, scan = await _read_as_first_able(ctx, opts, s3, loc, accounts, win)

    by_account = by_named_account(scan.accounts.values(), accounts)
    return {
        "selected": True,
        "source": ORG_TRAIL,
        "trail": {"name": trail.get("Name"), "arn": trail.get("TrailARN"), "bucket": loc.bucket,
                  "prefix": loc.prefix, "home_region": region, "read_as": reader},
        "window_start": iso(win.start),
        "window_end": iso(win.end),
        "complete": all(scan.accounts[a].complete for a in accounts),
        "regions": sorted({r for sl in scan.accounts.values() for r in sl.regions}),
        "stats": {"files": scan.files, "matched_files": scan.matched_files,
                  "compressed_bytes": scan.compressed_bytes,
                  "inflated_bytes": scan.inflated_bytes, "list_calls": scan.list_calls,
                  "gaps": sum(len(sl.gaps) for sl in scan.accounts.values())},
        "detail": f"{scan.files} files read as {reader}",
        "accounts": {a: account_json(scan.accounts[a], by_account[a]) for a in accounts},
    }


COLLECTORS: tuple[Collector, ...] = (
    Collector("orgtrail.root_events", "organization",
              ("cloudtrail:DescribeTrails", "s3:ListBucket", "s3:GetObject", "sts:AssumeRole"),
              fetch_org_trail, "Root events from the organization trail's logs in S3",
              enabled=selected(ORG_TRAIL)),
)

__all__ = ["COLLECTORS"]

"""Which regions "all regions" means for one account.

The enabled-region call is made per account (opt-in regions differ per account); the regions
botocore knows for the home region's partition are worked out once per process, since loading
botocore's endpoint data is costly and the same for every account.
"""

from __future__ import annotations

from functools import cache

from botocore.exceptions import UnknownRegionError
from botocore.session import get_session

from scanner.aws.calls import call
from scanner.aws.session import Aws

# Regions an account answers for without opting in, or has opted in to.
_ENABLED = (None, "opt-in-not-required", "opted-in")


@cache
def partition_of(home_region: str) -> str | None:
    """The partition (aws, aws-cn, aws-us-gov, ...) ``home_region`` belongs to; None when the
    name fits no partition's region names."""
    try:
        return str(get_session().get_partition_for_region(home_region))
    except UnknownRegionError:
        return None


@cache
def partition_regions(home_region: str) -> frozenset[str]:
    """Every region botocore knows for EC2 in ``home_region``'s partition."""
    partition = partition_of(home_region)
    if partition is None:
        return frozenset()
    return frozenset(get_session().get_available_regions("ec2", partition))


async def enabled_regions(aws: Aws) -> tuple[str, ...]:
    """Regions enabled for the current account, in the home region's partition: "all regions"
    is found from the account, never a fixed list."""
    ec2 = await aws.client("ec2")
    resp = await call(ec2, "describe_regions", AllRegions=False)
    names = {r["RegionName"] for r in resp.get("Regions", []) if r.get("OptInStatus") in _ENABLED}
    return tuple(sorted(names & partition_regions(aws.settings.region)))

"""Which regions "all regions" means for one account.

The enabled-region call is made per account (opt-in regions differ per account); the regions
botocore knows for the home region's partition are worked out once per process, since loading
botocore's endpoint data is costly and the same for every account.
"""

from __future__ import annotations

from functools import cache

from botocore.exceptions import UnknownRegionError
from botocore.regions import EndpointResolver

from scanner.aws.calls import call
from scanner.aws.session import Aws, shared_loader

# Regions an account answers for without opting in, or has opted in to.
_ENABLED = (None, "opt-in-not-required", "opted-in")


@cache
def _endpoint_data() -> EndpointResolver:
    """botocore's endpoint data, read without a session: a session would read the AWS config
    files first (and fail on a profile that does not exist) to learn where the data is."""
    loader = shared_loader()
    data, path = loader.load_data_with_path("endpoints")
    return EndpointResolver(data, uses_builtin_data=loader.is_builtin_path(path))


@cache
def partition_of(home_region: str) -> str | None:
    """The partition (aws, aws-cn, aws-us-gov, ...) ``home_region`` belongs to; None when the
    name fits no partition's region names."""
    try:
        return str(_endpoint_data().get_partition_for_region(home_region))
    except UnknownRegionError:
        return None


@cache
def partition_regions(home_region: str) -> frozenset[str]:
    """Every region botocore knows for EC2 in ``home_region``'s partition."""
    partition = partition_of(home_region)
    if partition is None:
        return frozenset()
    return frozenset(_endpoint_data().get_available_endpoints("ec2", partition))


async def enabled_regions(aws: Aws) -> tuple[str, ...]:
    """Regions enabled for the current account, in the home region's partition: "all regions"
    is found from the account, never a fixed list."""
    ec2 = await aws.client("ec2")
    resp = await call(ec2, "describe_regions", AllRegions=False)
    names = {r["RegionName"] for r in resp.get("Regions", []) if r.get("OptInStatus") in _ENABLED}
    return tuple(sorted(names & partition_regions(aws.settings.region)))

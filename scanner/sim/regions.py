"""Which regions each simulated account has enabled.

AWS enables 17 regions in every account; the others are opt-in, enabled per account
(``accounts[].opt_in_regions``). Pure: no moto, so the test process can use it for ground truth.
"""

from __future__ import annotations

from functools import cache
from typing import Any

# Regions AWS enables in every account of the aws partition (opt-in-not-required).
DEFAULT_REGIONS = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)


@cache
def partition_regions() -> tuple[str, ...]:
    """Every region of the aws partition, as botocore's endpoint data lists them for EC2."""
    # Imported here: the CLI imports the simulator's package to build its parser.
    from botocore.loaders import create_loader
    from botocore.regions import EndpointResolver

    loader = create_loader()
    resolver = EndpointResolver(loader.load_data("endpoints"))
    return tuple(sorted(resolver.get_available_endpoints("ec2", "aws")))


def opt_in_choices() -> tuple[str, ...]:
    """The aws partition's regions an account must opt in to."""
    return tuple(r for r in partition_regions() if r not in DEFAULT_REGIONS)


def check_opt_in(account: str, value: Any) -> list[str]:
    """``opt_in_regions`` of ``account`` validated: a list of opt-in region names."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"account {account}: opt_in_regions must be a list of region names")
    for region in value:
        if region in DEFAULT_REGIONS:
            raise ValueError(f"account {account}: opt_in_regions: {region} is enabled by "
                             "default; list only opt-in regions")
        if region not in partition_regions():
            raise ValueError(f"account {account}: opt_in_regions: {region!r} is not a "
                             "region of the aws partition")
    return sorted(set(value))


def enabled_regions(account: dict[str, Any] | None) -> frozenset[str]:
    """The regions ``account`` (a normalised scenario account; None: unknown) answers in."""
    opted = account.get("opt_in_regions", []) if account else []
    return frozenset(DEFAULT_REGIONS) | frozenset(opted)

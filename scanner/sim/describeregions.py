"""EC2 DescribeRegions per account (moto answers every account alike, across partitions), and
the refusal AWS gives a call to a region the account has not enabled."""

from __future__ import annotations

from xml.sax.saxutils import escape

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.regions import DEFAULT_REGIONS, enabled_regions, partition_regions
from scanner.sim.request import SimRequest
from scanner.sim.state import SimState

_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def _indexed(req: SimRequest, prefix: str) -> list[str]:
    """Query-protocol list members ``<prefix>.1``, ``<prefix>.2``, ... in order."""
    out, n = [], 1
    while (value := req.param(f"{prefix}.{n}")) is not None:
        out.append(value)
        n += 1
    return out


def _filters(req: SimRequest) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    n = 1
    while (name := req.param(f"Filter.{n}.Name")) is not None:
        out.setdefault(name, set()).update(_indexed(req, f"Filter.{n}.Value"))
        n += 1
    return out


def region_statuses(state: SimState, account_id: str) -> dict[str, str]:
    """region -> OptInStatus for ``account_id``, every region of the aws partition."""
    enabled = enabled_regions(state.accounts.get(account_id))
    return {
        r: "opt-in-not-required" if r in DEFAULT_REGIONS else (
            "opted-in" if r in enabled else "not-opted-in")
        for r in partition_regions()
    }


def describe_regions(state: SimState, req: SimRequest) -> Reply:
    statuses = region_statuses(state, req.account)
    all_regions = (req.param("AllRegions") or "").lower() == "true"
    names = set(_indexed(req, "RegionName"))
    filters = _filters(req)
    rows = []
    for region, status in statuses.items():
        # Without AllRegions AWS lists only the regions the account has enabled.
        if not all_regions and status == "not-opted-in":
            continue
        if names and region not in names:
            continue
        if "region-name" in filters and region not in filters["region-name"]:
            continue
        if "opt-in-status" in filters and status not in filters["opt-in-status"]:
            continue
        rows.append(f"<item><regionName>{escape(region)}</regionName>"
                    f"<regionEndpoint>ec2.{escape(region)}.amazonaws.com</regionEndpoint>"
                    f"<optInStatus>{status}</optInStatus></item>")
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeRegionsResponse xmlns="{_NS}">'
           f"<requestId>{awserrors.request_id()}</requestId>"
           f"<regionInfo>{''.join(rows)}</regionInfo></DescribeRegionsResponse>")
    return Reply(200, xml.encode(), "text/xml")


def region_not_enabled(state: SimState, req: SimRequest) -> Reply | None:
    """AWS refuses an account's credentials in a region it has not enabled: the security
    token is not valid there (HTTP 400, ``UnrecognizedClientException`` for JSON protocols)."""
    if req.region in enabled_regions(state.accounts.get(req.account)):
        return None
    return awserrors.error(req.service, 400, "UnrecognizedClientException",
                           "The security token included in the request is invalid.")


def install(state: SimState) -> None:
    state.handlers[("ec2", "DescribeRegions")] = lambda req: describe_regions(state, req)

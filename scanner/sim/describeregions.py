"""Each account's regions: EC2 DescribeRegions (moto answers every account alike, across
partitions) and Account ListRegions (moto has none), and the refusal AWS gives a call to a
region the account has not enabled."""

from __future__ import annotations

import base64
import json
from typing import Any
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


# EC2's OptInStatus as the Account API spells it.
_ACCOUNT_STATUS = {"opt-in-not-required": "ENABLED_BY_DEFAULT", "opted-in": "ENABLED",
                   "not-opted-in": "DISABLED"}


def list_regions(state: SimState, req: SimRequest) -> Reply:
    """Account ListRegions: the caller's regions, or with ``AccountId`` a member's (the
    management account and the delegated administrator only), 1..50 a page."""
    body = req.json_body
    target = str(body.get("AccountId") or req.account)
    org = state.scenario["organization"]
    admin = (org.get("delegated_administrator") or {}).get("account_id")
    if target != req.account and req.account not in (org["management_account_id"], admin):
        return awserrors.error("account", 403, "AccessDeniedException",
                               f"User is not authorized to read the regions of {target}")
    wanted = set(body.get("RegionOptStatusContains") or [])
    rows: list[dict[str, Any]] = [
        {"RegionName": r, "RegionOptStatus": _ACCOUNT_STATUS[s]}
        for r, s in region_statuses(state, target).items()
        if not wanted or _ACCOUNT_STATUS[s] in wanted]
    size = int(body.get("MaxResults") or 20)
    if not 1 <= size <= 50:
        return awserrors.error("account", 400, "ValidationException",
                               "MaxResults must be between 1 and 50")
    offset = 0
    if body.get("NextToken"):
        try:
            offset = int(json.loads(base64.b64decode(body["NextToken"]))["o"])
        except (ValueError, KeyError, TypeError):
            return awserrors.error("account", 400, "ValidationException", "Invalid NextToken")
    out: dict[str, Any] = {"Regions": rows[offset:offset + size]}
    if offset + size < len(rows):
        out["NextToken"] = base64.b64encode(json.dumps({"o": offset + size}).encode()).decode()
    return awserrors.json_ok(out)


def install(state: SimState) -> None:
    state.handlers[("ec2", "DescribeRegions")] = lambda req: describe_regions(state, req)
    state.handlers[("account", "ListRegions")] = lambda req: list_regions(state, req)

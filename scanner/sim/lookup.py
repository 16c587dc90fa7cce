"""CloudTrail LookupEvents (moto has none): 90 days of management events per account+region.

Follows the API's limits: one lookup attribute per request, 1..50 results per page, newest
first, 2 requests/s per account per region (ThrottlingException beyond that).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.describeregions import region_not_enabled
from scanner.sim.events import Record, records_by_account
from scanner.sim.request import SimRequest
from scanner.sim.state import SimState

RETENTION_DAYS = 90


def username(rec: Record) -> str:
    """The Username LookupEvents shows: 'root' for root, the user, or the role session."""
    ident = rec.get("userIdentity") or {}
    kind = ident.get("type")
    if kind == "Root":
        return "root"
    if kind == "IAMUser":
        return str(ident.get("userName", ""))
    return str(ident.get("arn", "")).rsplit("/", 1)[-1]


def _resources(rec: Record) -> list[dict[str, str]]:
    return [
        {"ResourceType": str(r.get("type", "")), "ResourceName": str(r.get("ARN", ""))}
        for r in rec.get("resources") or []
    ]


def _matches(rec: Record, key: str, value: str) -> bool:
    if key == "EventName":
        return bool(rec["eventName"] == value)
    if key == "EventSource":
        return bool(rec["eventSource"] == value)
    if key == "EventId":
        return bool(rec["eventID"] == value)
    if key == "ReadOnly":
        return str(rec.get("readOnly", False)).lower() == value.lower()
    if key == "Username":
        return username(rec) == value
    if key == "AccessKeyId":
        return bool((rec.get("userIdentity") or {}).get("accessKeyId") == value)
    if key == "ResourceType":
        return any(r["ResourceType"] == value for r in _resources(rec))
    if key == "ResourceName":
        return any(r["ResourceName"] == value for r in _resources(rec))
    return False


def _time(value: Any) -> datetime:
    # botocore's JSON serializer sends epoch seconds; accept ISO too.
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, UTC)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _event(rec: Record) -> dict[str, Any]:
    ident = rec.get("userIdentity") or {}
    out: dict[str, Any] = {
        "EventId": rec["eventID"],
        "EventName": rec["eventName"],
        "ReadOnly": "true" if rec.get("readOnly") else "false",
        "EventTime": _time(rec["eventTime"]).timestamp(),
        "EventSource": rec["eventSource"],
        "Username": username(rec),
        "Resources": _resources(rec),
        "CloudTrailEvent": json.dumps(rec),
    }
    if ident.get("accessKeyId"):
        out["AccessKeyId"] = ident["accessKeyId"]
    return out


class LookupEvents:
    def __init__(self, state: SimState) -> None:
        self.state = state
        cutoff = (state.now - timedelta(days=RETENTION_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
        # (account, region) -> records newest first; older than retention is gone, as in AWS.
        self.index: dict[tuple[str, str], list[Record]] = {}
        for acct, recs in records_by_account(state.scenario, state.now).items():
            for rec in recs:
                if rec["eventTime"] >= cutoff:
                    self.index.setdefault((acct, rec["awsRegion"]), []).append(rec)

    def __call__(self, req: SimRequest) -> Reply:
        st = self.state
        refused = region_not_enabled(st, req)
        if refused is not None:
            return refused
        spec = st.faults.spec
        if spec.lookup_events_throttle and not st.buckets.allow(
            (req.account, req.region), spec.lookup_events_rate
        ):
            st.counters.throttle("cloudtrail", "LookupEvents")
            return awserrors.error("cloudtrail", 400, "ThrottlingException", "Rate exceeded")
        body = req.json_body
        attrs = body.get("LookupAttributes") or []
        if len(attrs) > 1:
            return _bad("InvalidLookupAttributesException",
                        "You cannot specify more than one lookup attribute.")
        max_results = int(body.get("MaxResults", 50))
        if not 1 <= max_results <= 50:
            return _bad("InvalidMaxResultsException", "MaxResults must be between 1 and 50.")
        if body.get("EventCategory") == "insight":
            return awserrors.json_ok({"Events": []})
        start = _time(body["StartTime"]) if "StartTime" in body else None
        end = _time(body["EndTime"]) if "EndTime" in body else None
        if start and end and start > end:
            return _bad("InvalidTimeRangeException",
                        "Start time must be earlier than end time.")
        query_key = json.dumps([attrs, body.get("StartTime"), body.get("EndTime")])
        offset = 0
        if body.get("NextToken"):
            try:
                token = json.loads(base64.b64decode(body["NextToken"]))
                offset, ok = int(token["o"]), token["q"] == query_key
            except (ValueError, KeyError, TypeError):
                ok = False
            if not ok:
                return _bad("InvalidNextTokenException", "Invalid NextToken.")
        selected = []
        for rec in self.index.get((req.account, req.region), []):
            t = _time(rec["eventTime"])
            if (start and t < start) or (end and t > end):
                continue
            if attrs and not _matches(rec, attrs[0]["AttributeKey"], attrs[0]["AttributeValue"]):
                continue
            selected.append(rec)
        page = selected[offset : offset + max_results]
        out: dict[str, Any] = {"Events": [_event(r) for r in page]}
        if offset + max_results < len(selected):
            raw = json.dumps({"o": offset + max_results, "q": query_key}).encode()
            out["NextToken"] = base64.b64encode(raw).decode()
        return awserrors.json_ok(out)


def _bad(code: str, message: str) -> Reply:
    return awserrors.error("cloudtrail", 400, code, message)


def install(state: SimState) -> None:
    state.handlers[("cloudtrail", "LookupEvents")] = LookupEvents(state)

"""The organization trail: the trail itself, its gzipped log files in S3, and shadow trails.

moto neither delivers logs nor shows an organization trail in member accounts; this module
writes the log files CloudTrail would have delivered and answers members' trail reads
(ListTrails, for every account, is scanner.sim.trails').
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections import defaultdict
from typing import Any

from moto.cloudtrail.models import cloudtrail_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.events import Record, records_by_account
from scanner.sim.request import SimRequest
from scanner.sim.state import SimState

ALL_MANAGEMENT = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]


def log_key(org_id: str, acct: str, region: str, stamp: str, salt: str) -> str:
    """AWSLogs/<org>/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<ts>_<16>.json.gz"""
    y, m, d = stamp[0:4], stamp[4:6], stamp[6:8]
    suffix = hashlib.sha256(salt.encode()).hexdigest()[:16]
    return (
        f"AWSLogs/{org_id}/{acct}/CloudTrail/{region}/{y}/{m}/{d}/"
        f"{acct}_CloudTrail_{region}_{stamp}_{suffix}.json.gz"
    )


def _stamp(rec: Record) -> str:
    # Files are delivered about every 5 minutes; one file per (account, region, 5-min slot).
    t = rec["eventTime"]  # 2026-11-27T02:20:50Z
    minute = int(t[14:16]) // 5 * 5
    return f"{t[0:4]}{t[5:7]}{t[8:10]}T{t[11:13]}{minute:02d}Z"


def seed_org_trail(state: SimState) -> dict[str, Any] | None:
    trail_spec = state.scenario["organization"]["trail"]
    if not trail_spec:
        return None
    mgmt = state.seeded.management_account_id
    home = trail_spec["home_region"]
    archive = trail_spec["log_archive_account"]
    bucket = trail_spec["bucket"]
    s3 = s3_backends[archive]["aws"]
    s3.create_bucket(bucket, home)
    cw_arn = None
    if trail_spec["cloudwatch_logs_log_group"]:
        group = trail_spec["cloudwatch_logs_log_group"]
        logs_backends[mgmt][home].create_log_group(group, {})
        cw_arn = f"arn:aws:logs:{home}:{mgmt}:log-group:{group}:*"
    # moto's annotations say str where None is accepted (and meant); hence Any.
    ct: Any = cloudtrail_backends[mgmt][home]
    trail = ct.create_trail(
        trail_spec["name"], bucket, None, None, True, trail_spec["multi_region"],
        trail_spec["log_file_validation"], True, cw_arn,
        f"arn:aws:iam::{mgmt}:role/CloudTrailRoleForCloudWatchLogs" if cw_arn else None,
        trail_spec["kms_key_id"], [],
    )
    trail.put_event_selectors(ALL_MANAGEMENT, [])
    if trail_spec["logging"]:
        trail.start_logging()

    files: dict[tuple[str, str, str], list[Record]] = defaultdict(list)
    for acct, recs in records_by_account(state.scenario, state.now).items():
        for rec in recs:
            files[(acct, rec["awsRegion"], _stamp(rec))].append(rec)
    org_id = state.seeded.organization_id
    for (acct, region, stamp), recs in files.items():
        recs.sort(key=lambda r: r["eventTime"])
        body = gzip.compress(json.dumps({"Records": recs}).encode(), mtime=0)
        key = log_key(org_id, acct, region, stamp, f"{state.scenario['seed']}{acct}{region}{stamp}")
        s3.put_object(bucket, key, body)
    state.extra["org_trail_files"] = len(files)
    return {"trail": trail, "home": home}


class ShadowTrails:
    """Members see the organization trail (same ARN, the management account's) as AWS shows it."""

    def __init__(self, state: SimState, trail: Any, home: str) -> None:
        self.state = state
        self.trail = trail
        self.home = home

    def _member(self, req: SimRequest) -> bool:
        return req.account != self.state.seeded.management_account_id and (
            req.account in self.state.accounts
        )

    def _visible(self, req: SimRequest) -> bool:
        return bool(self.trail.is_multi_region) or req.region == self.home

    def _names_org_trail(self, name: str | None) -> bool:
        return name in (self.trail.arn,)

    def describe(self, req: SimRequest) -> Reply | None:
        if not self._member(req):
            return None
        body = req.json_body
        shadow = body.get("includeShadowTrails", True)
        own = cloudtrail_backends[req.account][req.region].describe_trails(bool(shadow))
        trails = [t.description(include_region=True) for t in own]
        names = body.get("trailNameList") or []
        if shadow and self._visible(req):
            trails.append(self.trail.description(include_region=True))
        if names:
            trails = [t for t in trails if t["Name"] in names or t["TrailARN"] in names]
        return awserrors.json_ok({"trailList": trails})

    def status(self, req: SimRequest) -> Reply | None:
        if not self._member(req) or not self._names_org_trail(req.json_body.get("Name")):
            return None
        return awserrors.json_ok(self.trail.status.description())

    def selectors(self, req: SimRequest) -> Reply | None:
        if not self._member(req) or not self._names_org_trail(req.json_body.get("TrailName")):
            return None
        return awserrors.json_ok(
            {"TrailARN": self.trail.arn, "EventSelectors": self.trail.event_selectors}
        )

    def get_trail(self, req: SimRequest) -> Reply | None:
        if not self._member(req) or not self._names_org_trail(req.json_body.get("Name")):
            return None
        return awserrors.json_ok({"Trail": self.trail.description(include_region=True)})


def install(state: SimState) -> None:
    seeded = seed_org_trail(state)
    if seeded is None:
        return
    state.extra["org_trail"] = seeded["trail"]  # ListTrails (scanner.sim.trails) shows it
    shadow = ShadowTrails(state, seeded["trail"], seeded["home"])
    state.handlers[("cloudtrail", "DescribeTrails")] = shadow.describe
    state.handlers[("cloudtrail", "GetTrailStatus")] = shadow.status
    state.handlers[("cloudtrail", "GetEventSelectors")] = shadow.selectors
    state.handlers[("cloudtrail", "GetTrail")] = shadow.get_trail

"""An account's own trails from the scenario (``accounts[].trails``), and ListTrails as AWS
answers it: every trail of the account, in every region, each with its home region.

moto's ListTrails answers like DescribeTrails in the caller's region, so a single-region trail
homed in another region is missing from it; a scanner that trusted one region's view would
never see such a trail, and the simulator must not hide that mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.cloudtrail.models import cloudtrail_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.request import SimRequest
from scanner.sim.scenario import ScenarioError
from scanner.sim.state import SimState

ALL_MANAGEMENT = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}]


TRAIL_KEYS = {"name", "region", "multi_region", "logging", "log_file_validation", "kms_key_id",
              "cloudwatch_logs_log_group", "bucket"}


def trail_spec(acct: str, raw: Any) -> dict[str, Any]:
    """An ``accounts[].trails`` entry with its defaults: a logging single-region trail in
    us-east-1 without validation, encryption or CloudWatch Logs (each opted into)."""
    if not isinstance(raw, dict) or "name" not in raw:
        raise ScenarioError(f"account {acct}: each of trails needs a name")
    unknown = set(raw) - TRAIL_KEYS
    if unknown:
        raise ScenarioError(f"account {acct}: trails: unknown keys {sorted(unknown)}")
    spec = {"region": "us-east-1", "multi_region": False, "logging": True,
            "log_file_validation": False, "kms_key_id": None,
            "cloudwatch_logs_log_group": None} | raw
    spec.setdefault("bucket", f"aws-cloudtrail-logs-{acct}-{spec['name']}".lower())
    return spec


def seed_trail(acct: str, raw: dict[str, Any]) -> None:
    """One trail owned by ``acct``, in its home region."""
    spec = trail_spec(acct, raw)
    region = spec["region"]
    s3_backends[acct]["aws"].create_bucket(spec["bucket"], region)
    cw_arn = role = None
    if spec["cloudwatch_logs_log_group"]:
        group = spec["cloudwatch_logs_log_group"]
        logs: Any = logs_backends[acct][region]  # a log group lives in the trail's home region
        logs.create_log_group(group, {})
        cw_arn = f"arn:aws:logs:{region}:{acct}:log-group:{group}:*"
        role = f"arn:aws:iam::{acct}:role/CloudTrail_CloudWatchLogs_Role"
    # moto's annotations say str where None is accepted (and meant); hence Any.
    ct: Any = cloudtrail_backends[acct][region]
    trail = ct.create_trail(
        spec["name"], spec["bucket"], None, None, True, spec["multi_region"],
        spec["log_file_validation"], False, cw_arn, role, spec["kms_key_id"], [],
    )
    trail.put_event_selectors(ALL_MANAGEMENT, [])
    if spec["logging"]:
        trail.start_logging()


def list_trails(state: SimState) -> Callable[[SimRequest], Reply]:
    def handle(req: SimRequest) -> Reply:
        own = [
            trail.short()
            for backend in list(cloudtrail_backends[req.account].values())
            for trail in list(backend.trails.values())
        ]
        org_trail = state.extra.get("org_trail")
        if org_trail is not None and org_trail.account_id != req.account and (
                req.account in state.accounts):
            own.append(org_trail.short())  # members see the organization trail too
        own.sort(key=lambda t: (t["HomeRegion"], t["Name"]))
        return awserrors.json_ok({"Trails": own})

    return handle


def install(state: SimState) -> None:
    for acct in state.scenario["accounts"]:
        for spec in acct.get("trails") or []:
            seed_trail(acct["id"], spec)
    state.handlers[("cloudtrail", "ListTrails")] = list_trails(state)

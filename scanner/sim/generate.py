"""Generate a large, realistic organization scenario (deterministic in ``seed``)."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import yaml

from scanner.sim.groundtruth import ground_truth
from scanner.sim.regions import DEFAULT_REGIONS, opt_in_choices
from scanner.sim.scenario import normalise, now_utc

DENY_ROOT = {
    "Version": "2012-10-17",
    "Statement": [{
        "Sid": "DenyRootUser", "Effect": "Deny", "Action": "*", "Resource": "*",
        "Condition": {"StringLike": {"aws:PrincipalArn": "arn:aws:iam::*:root"}},
    }],
}
SCP_TARGETS = ("Root/Workloads", "Root/Sandbox")  # where DenyRootUser is attached
OU_PATHS = [
    "Root/Security", "Root/Infrastructure/Network", "Root/Infrastructure/Shared",
    "Root/Workloads/Prod/Payments", "Root/Workloads/Prod/Retail", "Root/Workloads/Prod/Data",
    "Root/Workloads/Dev/Payments", "Root/Workloads/Dev/Retail", "Root/Workloads/Staging",
    "Root/Sandbox", "Root/Sandbox/Experiments/ML",
]


def _root(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.35:
        return {"centrally_removed": True}
    root: dict[str, Any] = {"password": True, "mfa": rng.choice(["hardware", "virtual", "none"])}
    if rng.random() < 0.3:
        root["password_last_used"] = f"-{rng.randint(1, 400)}d"
    if rng.random() < 0.08:
        root["access_keys"] = [{
            "active": rng.random() < 0.8, "last_rotated": f"-{rng.randint(100, 900)}d",
            "last_used": f"-{rng.randint(1, 200)}d", "last_used_region": "us-east-1",
            "last_used_service": rng.choice(["s3", "ec2", "iam"]),
        }]
    if rng.random() < 0.03:
        root["signing_certs"] = [{"active": True, "last_rotated": "-500d"}]
    return root


def _events(rng: random.Random, root: dict[str, Any]) -> list[dict[str, Any]]:
    if root.get("centrally_removed"):
        if rng.random() < 0.2:
            return [{"kind": "assume_root", "at": f"-{rng.randint(1, 80)}d"}]
        return []
    out: list[dict[str, Any]] = []
    roll = rng.random()
    if roll < 0.15:
        out.append({"kind": "console_login", "at": f"-{rng.randint(1, 120)}d",
                    "mfa": root.get("mfa") != "none"})
        out.append({"kind": "api_call", "at": f"-{rng.randint(1, 120)}d",
                    "event_name": rng.choice(["ListBuckets", "DescribeInstances"]),
                    "event_source": rng.choice(["s3.amazonaws.com", "ec2.amazonaws.com"]),
                    "read_only": True})
    elif roll < 0.22:
        out.append({"kind": "console_login_failure", "at": f"-{rng.randint(1, 80)}d",
                    "repeat": rng.randint(1, 6), "every": "10m"})
    elif roll < 0.27:
        out.append({"kind": "password_recovery", "at": f"-{rng.randint(1, 80)}d"})
    elif roll < 0.35:
        out.append({"kind": "invoked_by_service", "at": f"-{rng.randint(1, 80)}d",
                    "invoked_by": rng.choice(["support.amazonaws.com", "signin.amazonaws.com"])})
    elif roll < 0.40:
        out.append({"kind": "service_event", "at": f"-{rng.randint(1, 80)}d"})
    keys = root.get("access_keys") or []
    if keys and keys[0]["active"] and rng.random() < 0.6:
        out.append({"kind": "api_call", "at": f"-{rng.randint(1, 60)}d", "event_name": "PutObject",
                    "event_source": "s3.amazonaws.com", "read_only": False,
                    "access_key_id": f"AKIA{rng.randrange(16**16):016X}"})
        # This draw once chose the call's region (now _spread's): kept, so that the rest of an
        # organization stays what it was for a seed.
        rng.choice(["us-east-1", "eu-west-1"])
    return out


def _opt_in(rng: random.Random) -> list[str]:
    """About one account in five has enabled two to four opt-in regions."""
    if rng.random() >= 0.2:
        return []
    return sorted(rng.sample(opt_in_choices(), rng.randint(2, 4)))


def _spread(rng: random.Random, events: list[dict[str, Any]], opted: list[str]) -> None:
    """Root API calls placed in the account's enabled regions, as a region's services record
    them: about half in us-east-1, the rest in another default region or, in an account with
    opt-in regions, one of those half the time. Sign-ins, password recovery and the calls of
    the global services stay in us-east-1 (events.py)."""
    others = [r for r in DEFAULT_REGIONS if r != "us-east-1"]
    for event in events:
        if event["kind"] != "api_call":
            continue
        roll = rng.random()
        if roll < 0.5:
            event["region"] = "us-east-1"
        elif opted and roll < 0.75:
            event["region"] = rng.choice(opted)
        else:
            event["region"] = rng.choice(others)


def generate(accounts: int, seed: int, *,
             management_account_id: str = "111111111111") -> tuple[dict[str, Any], dict[str, Any]]:
    """(scenario dict, ground truth) for an organization of ``accounts`` member accounts, one
    at least (the first is the organization trail's log archive; several organizations served
    at once each take a management account id of their own)."""
    if accounts < 1:
        raise ValueError(f"a generated organization needs 1 member account or more, not "
                         f"{accounts}")
    rng = random.Random(seed)
    # A generator of its own, so the rest of an organization stays what it was for a seed.
    regions_rng = random.Random(f"{seed}:opt-in-regions")
    spread_rng = random.Random(f"{seed}:root-event-regions")
    members: list[dict[str, Any]] = []
    fixed = [
        ("log-archive", "Root/Security"), ("audit", "Root/Security"),
        ("network", "Root/Infrastructure/Network"),
        ("shared-services", "Root/Infrastructure/Shared"),
    ]
    for i in range(accounts):
        name, ou = fixed[i] if i < len(fixed) else (f"acct-{i:04d}", rng.choice(OU_PATHS))
        root = _root(rng)
        env = ou.split("/")[2].lower() if "Workloads" in ou else "shared"
        acct: dict[str, Any] = {
            "name": name, "ou": ou, "root": root, "events": _events(rng, root),
            "tags": {"env": env},
        }
        opted = _opt_in(regions_rng)
        if opted:
            acct["opt_in_regions"] = opted
        _spread(spread_rng, acct["events"], opted)
        if rng.random() < 0.3:
            acct["monitoring"] = {"chain": rng.choice(
                ["complete", "complete", "complete", "wrong_case", "missing_clause",
                 "no_subscription", "pending_subscription"])}
        if i >= len(fixed) and rng.random() < 0.01:
            acct["role_missing"] = True
        if i >= len(fixed) and rng.random() < 0.01:
            acct["status"], acct["ou"] = "SUSPENDED", "Root/Suspended"
        members.append(acct)
    # Only OUs that hold accounts exist: a small organization may have neither of these.
    targets = [ou for ou in SCP_TARGETS
               if any(a["ou"] == ou or a["ou"].startswith(ou + "/") for a in members)]
    raw: dict[str, Any] = {
        "name": f"generated-{accounts}-{seed}",
        "seed": seed,
        "window_days": 90,
        "regions": ["us-east-1", "eu-west-1", "eu-central-1"],
        "background": {"events_per_day": 2, "days": 7},
        "organization": {
            "management_account": {"id": management_account_id, "name": "management"},
            "features": {"root_credentials_management": True, "root_sessions": True},
            "trail": {"name": "org-trail", "log_archive_account": "log-archive"},
        },
        "scps": [{"name": "DenyRootUser", "content": DENY_ROOT, "targets": targets}]
        if targets else [],
        "accounts": members,
    }
    return raw, ground_truth(normalise(raw), now_utc())


def write_generated(accounts: int, seed: int, out: Path) -> tuple[Path, Path]:
    scenario, truth = generate(accounts, seed)
    out.mkdir(parents=True, exist_ok=True)
    scenario_path, truth_path = out / "scenario.yaml", out / "ground-truth.json"
    scenario_path.write_text(yaml.safe_dump(scenario, sort_keys=False), "utf-8")
    truth_path.write_text(json.dumps(truth, indent=2), "utf-8")
    return scenario_path, truth_path

"""The verdicts a correct scanner must reach, computed from the scenario by the simulator.

Follows the product's definitions (docs/semantics.md) independently of the scanner:
the point is to catch the scanner when it disagrees.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scanner.sim.events import scenario_events
from scanner.sim.monitoring import CIS_PATTERN
from scanner.sim.rootmodel import RootModel, root_model
from scanner.sim.scenario import Scenario

NOT_ASSESSED = "NOT_ASSESSED"


def _verdicts(acct: dict[str, Any], m: RootModel, rcm: bool) -> dict[str, str]:
    creds = m.credentials_present
    mon = acct.get("monitoring") or {}
    complete = bool(mon) and mon.get("chain", "complete") == "complete" and (
        mon.get("pattern") in (None, CIS_PATTERN)
    )
    return {
        "access_keys": "FAIL" if m.active_keys else "PASS",
        "mfa": "NOT_APPLICABLE" if not creds else ("PASS" if m.mfa != "none" else "FAIL"),
        "hardware_mfa": "NOT_APPLICABLE" if not creds else (
            "PASS" if m.mfa == "hardware" else "FAIL"
        ),
        "signing_certs": "FAIL" if any(c.active for c in m.certs) else "PASS",
        "monitoring": "PASS" if complete else "FAIL",
        "centralized_root_access": "NOT_APPLICABLE" if acct["management"] else (
            "PASS" if rcm and not creds else "FAIL"
        ),
    }


def _empty_usage() -> dict[str, Any]:
    return {
        "used_in_window": False, "last_used": None, "last_used_channel": None, "channels": [],
        "console_logins": 0, "failed_logins": 0, "api_calls": 0,
        "invoked_by_service_calls": 0, "service_events": 0, "assume_root_sessions": 0,
        "password_recovery_requests": 0,
    }


def ground_truth(scenario: Scenario, now: datetime,
                 window_end: datetime | None = None) -> dict[str, Any]:
    """The verdicts for the scenario as seeded at ``now`` (its relative dates resolve there),
    judged over the window ending at ``window_end`` (default ``now``): a scan's window ends at
    its own start, which may come after the simulator started."""
    window = int(scenario["window_days"])
    end = window_end or now
    start = end - timedelta(days=window)
    features = scenario["organization"]["features"]
    rcm = bool(features["root_credentials_management"])
    usage: dict[str, dict[str, Any]] = {a["id"]: _empty_usage() for a in scenario["accounts"]}
    uses: dict[str, list[tuple[datetime, str]]] = {a["id"]: [] for a in scenario["accounts"]}

    for ex in scenario_events(scenario, now):
        if not start <= ex.at <= end:
            continue  # outside the window never counts, even if the org trail still has it
        u = usage[ex.account_id]
        if ex.kind == "console_login":
            u["console_logins"] += 1
            uses[ex.account_id].append((ex.at, "console"))
        elif ex.kind == "console_login_failure":
            u["failed_logins"] += 1
        elif ex.kind == "password_recovery":
            u["password_recovery_requests"] += 1
        elif ex.kind == "create_access_key" and not ex.spec.get("access_key_id"):
            # Created in a root console session (events.py writes it so): console use, not an
            # API call (docs/semantics.md, channels).
            uses[ex.account_id].append((ex.at, "console"))
        elif ex.kind in ("api_call", "create_access_key"):
            u["api_calls"] += 1
            key = str(ex.spec.get("access_key_id") or "")
            uses[ex.account_id].append((ex.at, "keys" if key.startswith("AKIA") else "api"))
            if key.startswith("AKIA"):
                uses[ex.account_id].append((ex.at, "api"))
        elif ex.kind == "invoked_by_service":
            u["invoked_by_service_calls"] += 1
        elif ex.kind == "service_event":
            u["service_events"] += 1
        elif ex.kind == "assume_root":
            u["assume_root_sessions"] += 1

    accounts: dict[str, Any] = {}
    for acct in scenario["accounts"]:
        aid = acct["id"]
        assessable = acct["status"] != "SUSPENDED" and not acct["role_missing"]
        m = root_model(acct, now)
        found = uses[aid]
        if assessable:  # the credential report is only readable inside the account
            if isinstance(m.password_last_used, datetime) and m.password_last_used >= start:
                found.append((m.password_last_used, "console"))
            for k in m.keys:
                if k.last_used and k.last_used >= start:
                    found.append((k.last_used, "keys"))
        u = usage[aid]
        if not assessable:
            # Only organization-level evidence reaches it: use seen there is use, no use seen
            # proves nothing (its credential report and event history were not read).
            u["used_in_window"] = None
        if found:
            last_at = max(t for t, _ in found)
            # On a tie the most specific channel wins: keys, then console, then api.
            rank = {"keys": 0, "console": 1, "api": 2}
            channel = min((c for t, c in found if t == last_at), key=rank.__getitem__)
            u.update(
                used_in_window=True,
                last_used=last_at.isoformat(),
                last_used_channel=channel,
                channels=sorted({c for _, c in found}),
            )
        verdicts = _verdicts(acct, m, rcm)
        accounts[aid] = {
            "name": acct["name"],
            "ou_path": acct["ou"],
            "assessable": assessable,
            "status": acct["status"],
            "management": acct["management"],
            "root": verdicts if assessable else dict.fromkeys(verdicts, NOT_ASSESSED),
            "usage": u,
        }
    return {
        "window_days": window,
        "window_start": start.isoformat(),
        "window_end": end.isoformat(),
        "accounts": accounts,
        "organization": {
            "root_credentials_management": rcm,
            "root_sessions": bool(features["root_sessions"]),
        },
    }

"""Load a scenario and normalise it into one plain dict both sides agree on.

The same normalisation runs in the test process (for ground truth) and in the server subprocess
(for seeding), so every derived value here -- account ids, dates -- must be deterministic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from scanner.sim.regions import check_opt_in, enabled_regions

Scenario = dict[str, Any]

_REL = re.compile(r"^([+-])((?:\d+[smhdw])+)$")
_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}

DEFAULT_MANAGEMENT_ID = "111111111111"
DEFAULT_ROLE = "OrganizationAccountAccessRole"
# What a delegated administrator is registered for unless the scenario says: AWS Account
# Management, one of the services whose delegated administrator may read Organizations.
DEFAULT_DELEGATED_SERVICES = ("account.amazonaws.com",)


class ScenarioError(ValueError):
    """A scenario that cannot be simulated; the message names the offending entry."""


def bundled_scenario(name: str = "demo") -> Path:
    """Path of a scenario shipped inside the package (``demo`` or ``minimal``)."""
    ref: Any = resources.files("scanner.sim") / "scenarios" / f"{name}.yaml"
    path = Path(str(ref))
    if not path.is_file():
        raise ScenarioError(f"no bundled scenario named {name!r}")
    return path


def load_scenario(source: str | Path | dict[str, Any]) -> Scenario:
    """Read (YAML file, bundled name or dict) and normalise a scenario."""
    return normalise(read_raw(source))


def read_raw(source: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The scenario as written (a YAML path, a bundled name such as ``demo``, or a dict)."""
    if isinstance(source, dict):
        raw: Any = source
    else:
        path = Path(source)
        # A bare name is a bundled scenario unless such a file exists (a directory of that
        # name in the working directory, e.g. a demo's output, does not hide it).
        if not path.is_file() and isinstance(source, str) and "/" not in source:
            path = bundled_scenario(source)
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ScenarioError("a scenario is a mapping at the top level")
    return raw


def when(value: Any, now: datetime) -> datetime | None:
    """Resolve ``-3d``, ``-2h30m`` (relative to ``now``) or ISO 8601; None stays None.

    Relative dates keep bundled scenarios from expiring: "-3d" is always inside a 90-day window.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    text = str(value).strip()
    m = _REL.match(text)
    if m:
        seconds = sum(int(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(m.group(2)))
        delta = timedelta(seconds=seconds)
        return now - delta if m.group(1) == "-" else now + delta
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ScenarioError(f"not a date or offset: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def duration(value: Any) -> timedelta:
    """``1d``, ``-2h30m`` or ``90s`` as a positive timedelta (the sign is ignored)."""
    text = str(value).strip().lstrip("+-")
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ScenarioError(f"not a duration: {value!r}")
    return timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))


def derived_account_id(seed: int, name: str, taken: set[str]) -> str:
    """A stable 12-digit id from the scenario seed and the account name."""
    counter = 0
    while True:
        digest = hashlib.sha256(f"{seed}:{name}:{counter}".encode()).hexdigest()
        candidate = f"{int(digest, 16) % 10**12:012d}"
        # Account ids never start with 0 in practice and 1111.. is reserved for management.
        if candidate[0] != "0" and candidate not in taken:
            return candidate
        counter += 1


def _ou_paths(path: str) -> list[str]:
    parts = path.split("/")
    if parts[0] != "Root":
        raise ScenarioError(f"OU path must start with 'Root': {path!r}")
    return ["/".join(parts[: i + 1]) for i in range(1, len(parts))]


def normalise(raw: dict[str, Any]) -> Scenario:
    """Fill defaults, assign ids, check references. Returns a new dict."""
    seed = int(raw.get("seed", 0))
    org_raw = dict(raw.get("organization") or {})
    mgmt = dict(org_raw.get("management_account") or {})
    mgmt.setdefault("id", DEFAULT_MANAGEMENT_ID)
    mgmt.setdefault("name", "management")
    mgmt.setdefault("email", f"aws-management@{raw.get('domain', 'example.com')}")
    mgmt["id"] = str(mgmt["id"])
    mgmt.setdefault("ou", "Root")
    mgmt["management"] = True

    taken = {mgmt["id"]}
    accounts: list[dict[str, Any]] = [mgmt]
    for entry in raw.get("accounts") or []:
        acct = dict(entry)
        if "name" not in acct:
            raise ScenarioError(f"account without a name: {entry!r}")
        if "id" in acct:
            acct["id"] = str(acct["id"])
            if not re.fullmatch(r"\d{12}", acct["id"]):
                raise ScenarioError(f"account {acct['name']}: id must be 12 digits")
            if acct["id"] in taken:
                raise ScenarioError(f"account {acct['name']}: duplicate id {acct['id']}")
        taken.add(acct.get("id", ""))
        accounts.append(acct)
    for acct in accounts:
        if not acct.get("id"):
            acct["id"] = derived_account_id(seed, acct["name"], taken)
            taken.add(acct["id"])
        acct.setdefault("email", f"aws+{acct['name']}@{raw.get('domain', 'example.com')}")
        acct.setdefault("ou", "Root")
        acct.setdefault("status", "ACTIVE")
        acct.setdefault("role_missing", False)
        acct.setdefault("tags", {})
        acct.setdefault("root", {})
        acct.setdefault("events", [])
        acct.setdefault("management", False)
        try:
            acct["opt_in_regions"] = check_opt_in(acct["name"], acct.get("opt_in_regions"))
        except ValueError as exc:
            raise ScenarioError(str(exc)) from None
        _check_event_regions(acct)

    ous: list[str] = []
    for ou in raw.get("ous") or []:
        for p in _ou_paths(str(ou)):
            if p not in ous:
                ous.append(p)
    for acct in accounts:
        if acct["ou"] != "Root":
            for p in _ou_paths(acct["ou"]):
                if p not in ous:
                    ous.append(p)

    by_name = {a["name"]: a["id"] for a in accounts}
    ids = set(by_name.values())

    def resolve_account(ref: Any, what: str) -> str:
        text = str(ref)
        if text in ids:
            return text
        if text in by_name:
            return str(by_name[text])
        raise ScenarioError(f"{what}: unknown account {ref!r}")

    scps = []
    for pol in raw.get("scps") or []:
        targets = []
        for t in pol.get("targets") or []:
            t = str(t)
            if t == "Root" or t in ous:
                targets.append(t)
            else:
                targets.append(resolve_account(t, f"scp {pol.get('name')}"))
        scps.append(
            {
                "name": pol["name"],
                "description": pol.get("description", ""),
                "content": pol["content"],
                "targets": targets,
            }
        )

    trail = org_raw.get("trail")
    if trail is not None:
        trail = dict(trail)
        trail.setdefault("name", "organization-trail")
        trail["log_archive_account"] = resolve_account(
            trail.get("log_archive_account", mgmt["id"]), "organization.trail"
        )
        trail.setdefault("bucket", f"aws-cloudtrail-logs-{trail['log_archive_account']}-org")
        trail.setdefault("multi_region", True)
        trail.setdefault("logging", True)
        trail.setdefault("log_file_validation", True)
        trail.setdefault("kms_key_id", None)
        trail.setdefault("cloudwatch_logs_log_group", None)
        trail.setdefault("home_region", "us-east-1")
        # The Athena table an operator created over the bucket (database.table).
        trail.setdefault("athena_table", "default.cloudtrail_org")

    stores = [_event_data_store(e, mgmt["id"], resolve_account)
              for e in org_raw.get("event_data_stores") or []]

    features = dict(org_raw.get("features") or {})
    delegated = _delegated_administrator(org_raw.get("delegated_administrator"), accounts,
                                         resolve_account)
    return {
        "name": str(raw.get("name", "scenario")),
        "seed": seed,
        "window_days": int(raw.get("window_days", 90)),
        "regions": list(raw.get("regions") or ["us-east-1", "eu-west-1"]),
        "background": dict(raw.get("background") or {"events_per_day": 2, "days": 7}),
        "organization": {
            "management_account_id": mgmt["id"],
            "features": {
                "root_credentials_management": bool(
                    features.get("root_credentials_management", False)
                ),
                "root_sessions": bool(features.get("root_sessions", False)),
            },
            "trail": trail,
            "event_data_stores": stores,
            "delegated_administrator": delegated,
        },
        "ous": ous,
        "accounts": accounts,
        "scps": scps,
        # IAM policies for SimServer(iam_auth=True): {"audit_role": {policy}, "operator":
        # {policy}}; the audit role's goes inline on every member's audit role.
        "iam_policies": dict(raw.get("iam_policies") or {}),
    }


def _event_data_store(raw: Any, management: str, resolve: Any) -> dict[str, Any]:
    """A CloudTrail Lake event data store (scanner.sim.lake)."""
    if not isinstance(raw, dict) or not raw.get("name"):
        raise ScenarioError("organization.event_data_stores: each needs a name")
    store = dict(raw)
    store["owner"] = resolve(store.get("owner", management), "organization.event_data_stores")
    store.setdefault("id", None)  # None: derived from the seed and the name
    store.setdefault("region", "us-east-1")
    store.setdefault("organization_enabled", True)
    store.setdefault("status", "ENABLED")
    store.setdefault("management_events", True)
    store.setdefault("multi_region", True)
    store.setdefault("retention_days", 2557)
    store.setdefault("created_days_ago", 400)
    return store


def _check_event_regions(acct: dict[str, Any]) -> None:
    """An event can only happen in a region the account has enabled."""
    enabled = enabled_regions(acct)
    for i, event in enumerate(acct["events"]):
        region = event.get("region") if isinstance(event, dict) else None
        if region is not None and region not in enabled:
            raise ScenarioError(f"account {acct['name']}: events[{i}] is in {region}, a region "
                                "the account has not enabled (see opt_in_regions)")


def _delegated_administrator(raw: Any, accounts: list[dict[str, Any]],
                             resolve: Callable[[Any, str], str]) -> dict[str, Any] | None:
    """``organization.delegated_administrator``: the member registered as a delegated
    administrator, for which service principals, and whose audit role trusts it.

    ``trusted_by``: ``members`` (default: every member's role), ``all`` (the management account
    gets the role too, trusting it), or a list of account names or ids.
    """
    if raw is None:
        return None
    if not isinstance(raw, dict) or "account" not in raw:
        raise ScenarioError("organization.delegated_administrator needs an account")
    account_id = resolve(raw["account"], "organization.delegated_administrator")
    mgmt_id = next(a["id"] for a in accounts if a["management"])
    if account_id == mgmt_id:
        raise ScenarioError("organization.delegated_administrator: the management account "
                            "cannot be its own delegated administrator")
    principals = [str(p) for p in raw.get("service_principals") or DEFAULT_DELEGATED_SERVICES]
    trusted = raw.get("trusted_by", "members")
    if trusted == "members":
        trusted_ids = [a["id"] for a in accounts if not a["management"]]
    elif trusted == "all":
        trusted_ids = [a["id"] for a in accounts]
    elif isinstance(trusted, list):
        trusted_ids = [resolve(t, "organization.delegated_administrator.trusted_by")
                       for t in trusted]
    else:
        raise ScenarioError("organization.delegated_administrator.trusted_by: members, all "
                            "or a list of accounts")
    return {"account_id": account_id, "service_principals": principals,
            "trusted_by": trusted_ids}


def now_utc() -> datetime:
    """Server start time, truncated to the second (credential reports have no fractions)."""
    return datetime.now(UTC).replace(microsecond=0)

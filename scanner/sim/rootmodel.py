"""The root user's credential state of one account, resolved from the scenario (pure data).

Used both by the server (to answer IAM) and by the ground truth, so both read one model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.sim.scenario import ScenarioError, when

MFA_KINDS = ("none", "virtual", "hardware")
# password_last_used may say these instead of a date (AWS spellings).
PASSWORD_USE_WORDS = ("N/A", "no_information")


@dataclass(frozen=True)
class RootKey:
    active: bool
    last_rotated: datetime
    last_used: datetime | None
    last_used_region: str | None
    last_used_service: str | None


@dataclass(frozen=True)
class RootCert:
    active: bool
    last_rotated: datetime


@dataclass(frozen=True)
class RootModel:
    account_id: str
    created: datetime
    password: bool
    password_last_used: datetime | str  # a date, "N/A" (never) or "no_information"
    mfa: str  # none | virtual | hardware
    mfa_enabled: datetime | None
    keys: tuple[RootKey, ...] = field(default=())
    certs: tuple[RootCert, ...] = field(default=())
    centrally_removed: bool = False

    @property
    def active_keys(self) -> int:
        return sum(1 for k in self.keys if k.active)

    @property
    def credentials_present(self) -> bool:
        return self.password or self.active_keys > 0


def root_model(account: dict[str, Any], now: datetime) -> RootModel:
    spec: dict[str, Any] = dict(account.get("root") or {})
    name = account.get("name")
    created = when(spec.get("created", "-1500d"), now) or now
    if spec.get("centrally_removed"):
        # Centralized root access deleted every root credential: nothing left to use or protect.
        return RootModel(account["id"], created, False, "N/A", "none", None, centrally_removed=True)
    mfa = str(spec.get("mfa", "virtual"))
    if mfa not in MFA_KINDS:
        raise ScenarioError(f"account {name}: root.mfa must be one of {MFA_KINDS}")
    used_raw = spec.get("password_last_used", "N/A")
    used: datetime | str
    if used_raw is None or str(used_raw) in PASSWORD_USE_WORDS:
        used = "N/A" if used_raw is None else str(used_raw)
    else:
        used = when(used_raw, now) or "N/A"
    keys = []
    for i, k in enumerate(spec.get("access_keys") or []):
        last_used = when(k.get("last_used"), now)
        keys.append(
            RootKey(
                active=bool(k.get("active", True)),
                last_rotated=when(k.get("last_rotated", f"-{400 + i}d"), now) or now,
                last_used=last_used,
                last_used_region=k.get("last_used_region", "us-east-1") if last_used else None,
                last_used_service=k.get("last_used_service", "iam") if last_used else None,
            )
        )
    certs = [
        RootCert(bool(c.get("active", True)), when(c.get("last_rotated", "-300d"), now) or now)
        for c in spec.get("signing_certs") or []
    ]
    if len(keys) > 2 or len(certs) > 2:
        raise ScenarioError(f"account {name}: root has at most 2 access keys and 2 certificates")
    password = bool(spec.get("password", True))
    if not password and isinstance(used, datetime):
        raise ScenarioError(f"account {name}: password_last_used set but no root password")
    return RootModel(
        account_id=account["id"],
        created=created,
        password=password,
        password_last_used=used,
        mfa=mfa,
        mfa_enabled=(when(spec.get("mfa_enabled", "-700d"), now) if mfa != "none" else None),
        keys=tuple(keys),
        certs=tuple(certs),
    )

"""The root user's credential state, derived in one place (PURE: no I/O, no AWS, no asyncio).

The credential report's root row decides first; the account summary (``GetAccountSummary``)
only where the row is silent; virtual MFA devices tell virtual from hardware MFA
(docs/semantics.md#root-credentials). The ``root.mfa`` fact is ``RootCredentials.to_json()``
and the root-usage record takes its credential fields, keys and report-remembered uses from
here, so the two can never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from scanner.core.models import JSON
from scanner.core.rootclassify import parse_time

# The user name AWS gives the root user's row in the credential report.
ROOT_USER = "<root_account>"
KEY_NUMBERS = (1, 2)  # the credential report has two access-key (and certificate) slots
MFA_KINDS = frozenset({"hardware", "virtual", "none"})


def root_row(credential_report: object) -> Mapping[str, Any] | None:
    """The root row of the ``iam.credential_report`` fact (a list of rows), if present."""
    if not isinstance(credential_report, list):
        return None
    for row in credential_report:
        if isinstance(row, Mapping) and row.get("user") == ROOT_USER:
            return row
    return None


def _known(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _flag(summary: Mapping[str, Any] | None, key: str) -> bool | None:
    """A ``SummaryMap`` count as a flag; anything but an integer is unknown."""
    value = (summary or {}).get(key)
    return bool(value) if isinstance(value, int) else None


def mfa_active(row: Mapping[str, Any] | None,
               summary: Mapping[str, Any] | None = None) -> bool | None:
    """The row's ``mfa_active``; where it is silent, the summary's ``AccountMFAEnabled``."""
    mfa = _known((row or {}).get("mfa_active"))
    return _flag(summary, "AccountMFAEnabled") if mfa is None else mfa


def active_access_keys(row: Mapping[str, Any] | None,
                       summary: Mapping[str, Any] | None = None) -> int | None:
    """Root's active access keys. Exact when both keys' states are known; when one is known
    active and the other is unknown, the known-active count (at least 1, a lower bound, as
    root-usage counts are: it already decides "has an active key"); 0 when the row is silent
    and the summary says root has no key at all; otherwise unknown."""
    states = [_known((row or {}).get(f"access_key_{n}_active")) for n in KEY_NUMBERS]
    if None not in states or True in states:
        return states.count(True)
    if _flag(summary, "AccountAccessKeysPresent") is False:
        return 0
    return None


@dataclass(frozen=True)
class RootCredentials:
    """What credentials the root user holds; ``None`` is unknown, never "absent"."""

    password_present: bool | None
    active_access_keys: int | None  # a lower bound when one key's state is unknown
    credentials_present: bool | None  # False: no password and no active key
    mfa_active: bool | None
    mfa_kind: str | None  # hardware | virtual | none
    virtual_device_serial: str | None

    def to_json(self) -> dict[str, JSON]:
        """The ``root.mfa`` fact (docs/facts.md)."""
        return {
            "password_present": self.password_present,
            "active_access_keys": self.active_access_keys,
            "credentials_present": self.credentials_present,
            "mfa_active": self.mfa_active,
            "mfa_kind": self.mfa_kind,
            "virtual_device_serial": self.virtual_device_serial,
        }

    @classmethod
    def from_fact(cls, fact: Mapping[str, Any]) -> RootCredentials:
        """Back from the ``root.mfa`` fact; a field missing or of the wrong type is unknown."""
        keys = fact.get("active_access_keys")
        kind = fact.get("mfa_kind")
        serial = fact.get("virtual_device_serial")
        return cls(
            password_present=_known(fact.get("password_present")),
            active_access_keys=keys if isinstance(keys, int) and not isinstance(keys, bool)
            else None,
            credentials_present=_known(fact.get("credentials_present")),
            mfa_active=_known(fact.get("mfa_active")),
            mfa_kind=kind if kind in MFA_KINDS else None,
            virtual_device_serial=serial if isinstance(serial, str) else None,
        )

    def centrally_removed(self, organizations_features: Mapping[str, Any] | None) -> bool | None:
        """Centralized root access is on and root holds no credential (``None``: unknown)."""
        central = (organizations_features or {}).get("root_credentials_management")
        if not isinstance(central, bool) or self.credentials_present is None:
            return None
        return central and not self.credentials_present


def derive_root_credentials(row: Mapping[str, Any] | None,
                            summary: Mapping[str, Any] | None = None,
                            devices: Sequence[object] | None = None) -> RootCredentials:
    """Root's credential state from the credential report's root row (None: no row), the
    account summary's ``SummaryMap`` (None: not read) and the virtual MFA devices as the
    ``iam.virtual_mfa_devices`` fact lists them (None: not read)."""
    password = _known((row or {}).get("password_enabled"))
    if password is None:
        # AWS writes not_supported here for root: the summary usually decides.
        password = _flag(summary, "AccountPasswordPresent")
    keys = active_access_keys(row, summary)
    mfa = mfa_active(row, summary)

    root_devices = [d for d in devices or () if isinstance(d, Mapping) and d.get("is_root")]
    kind: str | None
    if root_devices:
        kind = "virtual"  # even if a hardware device is registered as well
    elif mfa is False:
        kind = "none"
    elif mfa is None or devices is None:
        kind = None  # unknown MFA, or active MFA without the device list to tell its kind
    else:
        # Active MFA and no virtual device on the root ARN: a hardware device (TOTP token,
        # FIDO security key).
        kind = "hardware"

    present: bool | None
    if password is True or (keys or 0) > 0:
        present = True
    elif password is False and keys == 0:
        present = False
    else:
        present = None
    serial = root_devices[0].get("serial_number") if root_devices else None
    return RootCredentials(
        password_present=password,
        active_access_keys=keys,
        credentials_present=present,
        mfa_active=mfa,
        mfa_kind=kind,
        virtual_device_serial=serial if isinstance(serial, str) else None,
    )


@dataclass(frozen=True)
class RootKey:
    """One root access key, from the credential report."""

    number: int
    active: bool | None
    last_used: str | None
    last_used_region: str | None
    last_used_service: str | None
    last_rotated: str | None
    age_days: int | None

    def to_json(self) -> dict[str, JSON]:
        return {
            "key": self.number,
            "active": self.active,
            "last_used": self.last_used,
            "last_used_region": self.last_used_region,
            "last_used_service": self.last_used_service,
            "last_rotated": self.last_rotated,
            "age_days": self.age_days,
        }


def root_keys(row: Mapping[str, Any] | None, now: datetime) -> tuple[RootKey, ...]:
    """The root keys the row shows (active, or once rotated), ages counted up to ``now``."""
    if row is None:
        return ()
    keys = []
    for n in KEY_NUMBERS:
        active = _known(row.get(f"access_key_{n}_active"))
        rotated = row.get(f"access_key_{n}_last_rotated")
        if active is not True and rotated is None:
            continue  # no such key
        rotated_at = parse_time(rotated)
        keys.append(RootKey(
            number=n,
            active=active,
            last_used=row.get(f"access_key_{n}_last_used_date"),
            last_used_region=row.get(f"access_key_{n}_last_used_region"),
            last_used_service=row.get(f"access_key_{n}_last_used_service"),
            last_rotated=rotated,
            age_days=(now - rotated_at).days if rotated_at else None,
        ))
    return tuple(keys)


def report_uses(row: Mapping[str, Any] | None) -> list[tuple[datetime, str]]:
    """Every use the row remembers, of any age, with its channel: the password's last use
    (``console``) and each key's (``keys``)."""
    if row is None:
        return []
    dated = [(row.get("password_last_used"), "console")] + [
        (row.get(f"access_key_{n}_last_used_date"), "keys") for n in KEY_NUMBERS]
    uses = []
    for text, channel in dated:
        when = parse_time(text)
        if when is not None:
            uses.append((when, channel))
    return uses


__all__ = [
    "KEY_NUMBERS",
    "ROOT_USER",
    "RootCredentials",
    "RootKey",
    "active_access_keys",
    "derive_root_credentials",
    "mfa_active",
    "report_uses",
    "root_keys",
    "root_row",
]

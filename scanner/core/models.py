"""Frozen data shared by every part of orgscan: the organization as walked, and findings.

Everything here is plain data (no I/O, no AWS types) so that the pure modules (engine,
conditions, rootusage, graph) can depend on it without crossing the walls in docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

# A JSON-able value: what collectors return and what evidence holds.
JSON = Any


class Status(StrEnum):
    """Verdict of one rule for one account (or the organization)."""

    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    # The rule could not be decided: a fact was missing, unknown, or its collection failed.
    ERROR = "ERROR"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    # The account could not be scanned at all (role not assumable, suspended, deadline).
    NOT_ASSESSED = "NOT_ASSESSED"
    # A FAIL accepted by an exception in the mutelist.
    MUTED = "MUTED"


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFORMATIONAL = "informational"

    @property
    def rank(self) -> int:
        """Higher is worse; used by --fail-on and for sorting."""
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.INFORMATIONAL: 0,
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
}


class AccountState(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    PENDING_CLOSURE = "PENDING_CLOSURE"


@dataclass(frozen=True)
class Policy:
    """A service control policy (or another organization policy type)."""

    id: str
    name: str
    type: str
    aws_managed: bool
    content: JSON  # parsed policy document
    description: str = ""


@dataclass(frozen=True)
class OrgUnit:
    """A root or an organizational unit. The root's ``parent_id`` is None."""

    id: str
    name: str
    arn: str
    parent_id: str | None
    path: str  # "Root/Workloads/Prod"
    policy_ids: tuple[str, ...] = ()  # policies attached directly

    @property
    def is_root(self) -> bool:
        return self.parent_id is None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    email: str
    arn: str
    status: AccountState
    joined_method: str  # INVITED | CREATED
    joined_timestamp: str  # ISO 8601
    parent_id: str  # the OU or root that directly contains it
    ou_path: str
    tags: Mapping[str, str] = field(default_factory=dict)
    policy_ids: tuple[str, ...] = ()  # policies attached directly
    is_management: bool = False


@dataclass(frozen=True)
class Organization:
    id: str
    arn: str
    feature_set: str
    management_account_id: str
    management_account_email: str
    units: tuple[OrgUnit, ...]  # roots first, then OUs, parents before children
    accounts: tuple[Account, ...]  # every account walked, before scope filters
    policies: Mapping[str, Policy] = field(default_factory=dict)

    def unit(self, unit_id: str) -> OrgUnit:
        for u in self.units:
            if u.id == unit_id:
                return u
        raise KeyError(unit_id)

    def account(self, account_id: str) -> Account:
        for a in self.accounts:
            if a.id == account_id:
                return a
        raise KeyError(account_id)


@dataclass(frozen=True)
class FactError:
    """A fact that could not be collected. Rules reading it become ERROR, never PASS."""

    code: str  # AWS error code or an orgscan code such as "Timeout"
    message: str


@dataclass(frozen=True, slots=True)
class Finding:
    rule_id: str
    title: str
    severity: Severity
    status: Status
    account_id: str  # the management account id for organization-scope rules
    account_name: str
    ou_path: str
    region: str  # "global" for IAM and other global facts
    message: str
    resource: str  # ARN or identifier the verdict is about
    evidence: Mapping[str, JSON] = field(default_factory=dict)
    compliance: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    remediation: str = ""
    scope: str = "account"  # account | organization
    muted_by: str | None = None  # exception reference when MUTED

    def to_json(self) -> dict[str, JSON]:
        return {
            "rule_id": self.rule_id,
            "title": self.title,
            "severity": self.severity.value,
            "status": self.status.value,
            "scope": self.scope,
            "account_id": self.account_id,
            "account_name": self.account_name,
            "ou_path": self.ou_path,
            "region": self.region,
            "resource": self.resource,
            "message": self.message,
            "evidence": dict(self.evidence),
            "compliance": {k: list(v) for k, v in self.compliance.items()},
            "remediation": self.remediation,
            "muted_by": self.muted_by,
        }

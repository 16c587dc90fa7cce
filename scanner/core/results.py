"""What a scan produced: per-account results and the scan as a whole, with JSON round-trips
(the journal stores AccountResults so that --resume can rebuild a scan without rescanning)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from scanner.core.factcoverage import FailedFact
from scanner.core.models import (
    JSON,
    Account,
    AccountState,
    FactError,
    Finding,
    Organization,
    OrgUnit,
    Policy,
    Severity,
    Status,
)


class Coverage(StrEnum):
    ASSESSED = "assessed"  # every fact its selected rules need was collected
    PARTIAL = "partial"  # some needed fact failed (named in failed_facts); its rules are ERROR
    NOT_ASSESSED = "not_assessed"  # nothing could be collected (role, suspended, ...)


@dataclass(frozen=True, slots=True)  # thousands are held until the reports are written
class AccountResult:
    account: Account
    coverage: Coverage
    reason: str  # why not (fully) assessed; "" when assessed
    facts: Mapping[str, JSON | FactError]
    findings: tuple[Finding, ...]
    started: str
    duration_s: float
    calls: Mapping[str, int] = field(default_factory=dict)  # HTTP attempts by svc:Op
    # The facts its verdicts needed and did not get (why it is PARTIAL; docs/semantics.md).
    failed_facts: tuple[FailedFact, ...] = ()

    def to_json(self) -> dict[str, JSON]:
        return {
            "account": account_to_json(self.account),
            "coverage": self.coverage.value,
            "reason": self.reason,
            "facts": {k: fact_to_json(v) for k, v in self.facts.items()},
            "findings": [f.to_json() for f in self.findings],
            "started": self.started,
            "duration_s": round(self.duration_s, 3),
            "calls": dict(self.calls),
            "failed_facts": [f.to_json() for f in self.failed_facts],
        }

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> AccountResult:
        return cls(
            account=account_from_json(d["account"]),
            coverage=Coverage(d["coverage"]),
            reason=d.get("reason", ""),
            facts={k: fact_from_json(v) for k, v in d.get("facts", {}).items()},
            findings=tuple(finding_from_json(f) for f in d.get("findings", [])),
            started=d.get("started", ""),
            duration_s=float(d.get("duration_s", 0)),
            calls=dict(d.get("calls", {})),
            failed_facts=tuple(FailedFact.from_json(f) for f in d.get("failed_facts", ())),
        )


@dataclass(frozen=True)
class ScanResult:
    scan_id: str
    started: str
    finished: str
    tool_version: str
    caller_arn: str
    org: Organization
    accounts: tuple[AccountResult, ...]  # every account in scope, assessed or not
    org_facts: Mapping[str, JSON | FactError]
    org_findings: tuple[Finding, ...]
    out_of_scope: tuple[str, ...]  # account ids walked but filtered out by the config
    regions: tuple[str, ...] | None
    lookback_days: int
    rule_ids: tuple[str, ...]
    interrupted: bool = False  # Ctrl-C: the reports are partial and say so
    # HTTP attempts made for the organization as a whole (walk, AssumeRole, org facts).
    org_calls: Mapping[str, int] = field(default_factory=dict)

    @property
    def findings(self) -> list[Finding]:
        return [*self.org_findings, *(f for r in self.accounts for f in r.findings)]

    def coverage_counts(self) -> dict[str, int]:
        counts = {c.value: 0 for c in Coverage}
        for r in self.accounts:
            counts[r.coverage.value] += 1
        return counts

    def undecided(self) -> int:
        """ERROR verdicts of the selected rules, account and organization findings alike."""
        return sum(f.status is Status.ERROR for f in self.findings)

    def incomplete_reasons(self) -> list[str]:
        """Why the scan is not complete (empty when it is): what exit 3 and the reports'
        ``complete: false`` stand for."""
        counts = self.coverage_counts()
        reasons = ["the scan was interrupted"] if self.interrupted else []
        if counts[Coverage.PARTIAL.value]:
            reasons.append(f"{counts[Coverage.PARTIAL.value]} account(s) partial")
        if counts[Coverage.NOT_ASSESSED.value]:
            reasons.append(f"{counts[Coverage.NOT_ASSESSED.value]} account(s) not assessed")
        if errors := self.undecided():
            reasons.append(f"{errors} ERROR verdict(s)")
        return reasons

    @property
    def complete(self) -> bool:
        """Not interrupted, every account assessed, every verdict decided (no ERROR): the
        only result that exits 0 (or 1 with --fail-on)."""
        return not self.incomplete_reasons()


def fact_to_json(value: JSON | FactError) -> JSON:
    if isinstance(value, FactError):
        return {"__error__": {"code": value.code, "message": value.message}}
    return value


def fact_from_json(value: JSON) -> JSON | FactError:
    if isinstance(value, dict) and set(value) == {"__error__"}:
        return FactError(value["__error__"]["code"], value["__error__"]["message"])
    return value


def account_to_json(a: Account) -> dict[str, JSON]:
    return {
        "id": a.id, "name": a.name, "email": a.email, "arn": a.arn, "status": a.status.value,
        "joined_method": a.joined_method, "joined_timestamp": a.joined_timestamp,
        "parent_id": a.parent_id, "ou_path": a.ou_path, "tags": dict(a.tags),
        "policy_ids": list(a.policy_ids), "is_management": a.is_management,
    }


def account_from_json(d: Mapping[str, Any]) -> Account:
    return Account(
        id=d["id"], name=d["name"], email=d["email"], arn=d["arn"],
        status=AccountState(d["status"]), joined_method=d["joined_method"],
        joined_timestamp=d["joined_timestamp"], parent_id=d["parent_id"],
        ou_path=d["ou_path"], tags=dict(d.get("tags", {})),
        policy_ids=tuple(d.get("policy_ids", ())), is_management=bool(d["is_management"]),
    )


def finding_from_json(d: Mapping[str, Any]) -> Finding:
    return Finding(
        rule_id=d["rule_id"], title=d["title"], severity=Severity(d["severity"]),
        status=Status(d["status"]), account_id=d["account_id"], account_name=d["account_name"],
        ou_path=d["ou_path"], region=d["region"], message=d["message"], resource=d["resource"],
        evidence=dict(d.get("evidence", {})),
        compliance={k: tuple(v) for k, v in d.get("compliance", {}).items()},
        remediation=d.get("remediation", ""), scope=d.get("scope", "account"),
        muted_by=d.get("muted_by"),
    )


JOURNAL_NAME = "journal.jsonl"


def organization_to_json(org: Organization) -> dict[str, Any]:
    return {
        "id": org.id, "arn": org.arn, "feature_set": org.feature_set,
        "management_account_id": org.management_account_id,
        "management_account_email": org.management_account_email,
        "units": [{"id": u.id, "name": u.name, "arn": u.arn, "parent_id": u.parent_id,
                   "path": u.path, "policy_ids": list(u.policy_ids)} for u in org.units],
        "accounts": [account_to_json(a) for a in org.accounts],
        "policies": [{"id": p.id, "name": p.name, "type": p.type, "aws_managed": p.aws_managed,
                      "content": p.content, "description": p.description}
                     for p in org.policies.values()],
    }


def organization_from_json(d: Mapping[str, Any]) -> Organization:
    return Organization(
        id=d["id"], arn=d["arn"], feature_set=d["feature_set"],
        management_account_id=d["management_account_id"],
        management_account_email=d.get("management_account_email", ""),
        units=tuple(OrgUnit(u["id"], u["name"], u["arn"], u.get("parent_id"), u["path"],
                            tuple(u.get("policy_ids", ()))) for u in d["units"]),
        accounts=tuple(account_from_json(a) for a in d["accounts"]),
        policies={p["id"]: Policy(p["id"], p["name"], p["type"], bool(p["aws_managed"]),
                                  p["content"], p.get("description", ""))
                  for p in d.get("policies", ())},
    )

"""Exceptions (the mutelist): accepted risks that turn matching FAIL findings into MUTED.

A YAML file (schemas/exceptions.schema.json) lists exceptions, each with a reference ``id``,
the ``rule`` (id or glob), a scope (``accounts``, ``ous`` as paths or ids covering the subtree,
account ``tags``; at least one), optional ``resources`` (globs), a ``justification``, an
``owner`` and an ``expires`` date (the last day it applies, UTC).

Only FAIL is ever muted. PASS needs no exception; ERROR and NOT_ASSESSED mean the control
could not be decided, and an accepted risk is about a known failure: muting them would hide
that the scanner could not see (a broken role or a failed collection must stay visible).

``apply`` returns the muted scan and a report: what each exception muted, which exceptions
expired (they no longer apply; what they would still match is counted) and which are stale
(active but matching no FAIL: the risk is gone or the scope is wrong).

PURE: reading the file is scanner/run/inputs.py's.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Any

from scanner.core.errors import ConfigErrors
from scanner.core.models import Account, Finding, Organization, Status
from scanner.core.results import ScanResult
from scanner.core.yamldoc import YamlDoc, load_schema, parse_yaml, schema_errors

EXCEPTIONS_REPORT_VERSION = "1.0"
EXPIRING_SOON_DAYS = 30


@dataclass(frozen=True)
class Exception_:  # ``Exception`` is Python's; hence the trailing underscore
    id: str
    rule: str  # rule id or glob
    justification: str
    owner: str
    expires: date  # last day it applies (UTC)
    accounts: tuple[str, ...] = ()  # ids, or "*"
    ous: tuple[str, ...] = ()  # paths or ids; the subtree
    tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    resources: tuple[str, ...] = ()  # globs on Finding.resource; empty: any
    source: str = ""  # file:line

    def active(self, now: datetime) -> bool:
        return _utc_date(now) <= self.expires

    def matches(self, finding: Finding, account: Account | None, org: Organization) -> bool:
        if not fnmatch.fnmatchcase(finding.rule_id, self.rule):
            return False
        if self.resources and not any(fnmatch.fnmatchcase(finding.resource, r)
                                      for r in self.resources):
            return False
        if self.accounts and "*" not in self.accounts and finding.account_id not in self.accounts:
            return False
        if self.ous and not _under_any(finding, account, org, self.ous):
            return False
        if self.tags:
            tags = account.tags if account is not None else {}
            if not all(tags.get(k) in values for k, values in self.tags.items()):
                return False
        return True

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "rule": self.rule, "accounts": list(self.accounts),
                "ous": list(self.ous), "tags": {k: list(v) for k, v in self.tags.items()},
                "resources": list(self.resources), "justification": self.justification,
                "owner": self.owner, "expires": self.expires.isoformat(), "source": self.source}


def _utc_date(now: datetime) -> date:
    return (now if now.tzinfo is None else now.astimezone(UTC)).date()


def _under_any(finding: Finding, account: Account | None, org: Organization,
               ous: Sequence[str]) -> bool:
    path = account.ou_path if account is not None else finding.ou_path
    ids = _unit_ids_on_path(org, account.parent_id) if account is not None else set()
    return any(o in ids or path == o or path.startswith(o + "/") for o in ous)


def _unit_ids_on_path(org: Organization, unit_id: str) -> set[str]:
    by_id = {u.id: u for u in org.units}
    out: set[str] = set()
    current: str | None = unit_id
    while current is not None and current in by_id and current not in out:
        out.add(current)
        current = by_id[current].parent_id
    return out


# --- loading --------------------------------------------------------------------------------

def _dates_to_text(value: Any) -> Any:
    # YAML reads an unquoted 2026-12-31 as a date; the schema speaks JSON, so dates are text.
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _dates_to_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_to_text(v) for v in value]
    return value


def parse_exceptions(doc: YamlDoc) -> list[Exception_]:
    """Validate a parsed exceptions file; raise ConfigErrors listing every problem."""
    if doc.data is None:
        doc.data = {"exceptions": []}
    doc.data = _dates_to_text(doc.data)
    errors = schema_errors(doc, load_schema("exceptions.schema.json"))
    if errors:
        raise ConfigErrors(errors)
    out: list[Exception_] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(doc.data["exceptions"]):
        where = ("exceptions", i)
        if not any(k in raw for k in ("accounts", "ous", "tags")):
            errors.append(doc.error(where, "an exception needs a scope",
                                    "add accounts, ous or tags (accounts: ['*'] for all)"))
        if raw["id"] in seen:
            errors.append(doc.error((*where, "id"), f"duplicate id {raw['id']!r}",
                                    f"first used in exceptions[{seen[raw['id']]}]"))
        seen.setdefault(raw["id"], i)
        try:
            expires = date.fromisoformat(raw["expires"])
        except ValueError:
            errors.append(doc.error((*where, "expires"), f"not a date: {raw['expires']!r}",
                                    "YYYY-MM-DD"))
            continue
        tags = {k: (v,) if isinstance(v, str) else tuple(v)
                for k, v in raw.get("tags", {}).items()}
        out.append(Exception_(
            id=raw["id"], rule=raw["rule"], justification=raw["justification"].strip(),
            owner=raw["owner"], expires=expires, accounts=tuple(raw.get("accounts", ())),
            ous=tuple(o.rstrip("/") for o in raw.get("ous", ())), tags=tags,
            resources=tuple(raw.get("resources", ())),
            source=f"{doc.path}:{doc.line(where) or '?'}"))
    if errors:
        raise ConfigErrors(errors)
    return out


def exceptions_from_text(text: str, path: str = "<exceptions>") -> list[Exception_]:
    return parse_exceptions(parse_yaml(text, path))


# --- applying -------------------------------------------------------------------------------

def _key(f: Finding) -> dict[str, str]:
    return {"rule_id": f.rule_id, "account_id": f.account_id, "resource": f.resource,
            "region": f.region, "ou_path": f.ou_path}


@dataclass(frozen=True)
class ExceptionOutcome:
    exception: Exception_
    state: str  # active | expired | stale
    muted: tuple[Finding, ...] = ()
    would_match: int = 0  # expired: FAIL findings it would mute if still active
    expires_in_days: int = 0

    def to_json(self) -> dict[str, Any]:
        return {**self.exception.to_json(), "state": self.state,
                "expires_in_days": self.expires_in_days,
                "muted_count": len(self.muted), "would_match": self.would_match,
                "muted_findings": [_key(f) for f in self.muted]}


@dataclass(frozen=True)
class ExceptionReport:
    evaluated_at: str
    outcomes: tuple[ExceptionOutcome, ...]
    source: str = ""

    @property
    def expired(self) -> list[str]:
        return [o.exception.id for o in self.outcomes if o.state == "expired"]

    @property
    def stale(self) -> list[str]:
        return [o.exception.id for o in self.outcomes if o.state == "stale"]

    @property
    def expiring_soon(self) -> list[str]:
        return [o.exception.id for o in self.outcomes if o.state != "expired"
                and o.expires_in_days <= EXPIRING_SOON_DAYS]

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": EXCEPTIONS_REPORT_VERSION,
            "source": self.source,
            "evaluated_at": self.evaluated_at,
            "counts": {
                "exceptions": len(self.outcomes),
                "active": sum(o.state == "active" for o in self.outcomes),
                "expired": len(self.expired), "stale": len(self.stale),
                "muted_findings": sum(len(o.muted) for o in self.outcomes),
            },
            "expired": self.expired,
            "stale": self.stale,
            "expiring_soon": self.expiring_soon,
            "exceptions": [o.to_json() for o in self.outcomes],
        }


def apply(result: ScanResult, exceptions: Iterable[Exception_], now: datetime,
          source: str = "") -> tuple[ScanResult, ExceptionReport]:
    """Mute the FAIL findings matched by an active exception (the first, in file order);
    never PASS, ERROR, NOT_APPLICABLE or NOT_ASSESSED."""
    excs = list(exceptions)
    active = [e for e in excs if e.active(now)]
    accounts = {a.id: a for a in result.org.accounts}
    muted: dict[str, list[Finding]] = {e.id: [] for e in excs}
    would: dict[str, int] = dict.fromkeys((e.id for e in excs), 0)

    def one(f: Finding) -> Finding:
        if f.status is not Status.FAIL:
            return f
        account = accounts.get(f.account_id)
        for e in excs:
            if not e.active(now) and e.matches(f, account, result.org):
                would[e.id] += 1
        for e in active:
            if e.matches(f, account, result.org):
                m = replace(f, status=Status.MUTED, muted_by=e.id)
                muted[e.id].append(m)
                return m
        return f

    new_accounts = tuple(replace(r, findings=tuple(one(f) for f in r.findings))
                         for r in result.accounts)
    new_org_findings = tuple(one(f) for f in result.org_findings)
    today = _utc_date(now)
    outcomes = []
    for e in excs:
        state = ("expired" if not e.active(now) else "stale" if not muted[e.id] else "active")
        outcomes.append(ExceptionOutcome(e, state, tuple(muted[e.id]), would[e.id],
                                         (e.expires - today).days))
    report = ExceptionReport(now.isoformat(), tuple(outcomes), source)
    return replace(result, accounts=new_accounts, org_findings=new_org_findings), report



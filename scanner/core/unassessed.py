"""An account that cannot be assessed (role refused, suspended, never reached): its root-usage
record from organization-level evidence and its findings, the same wherever such an account
arises (a scan, a resumed or interrupted one, a merge with a shard missing). PURE.

Definitions: docs/semantics.md, "Accounts that cannot be assessed".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from scanner.core.engine import assess_without_account_facts, facts_needed
from scanner.core.models import JSON, Account, FactError, Finding, Organization
from scanner.core.rootusage import Window, record_without_account_facts
from scanner.core.rules import Rule


def unassessed_account(rules: Iterable[Rule], account: Account, reason: str,
                       org_facts: Mapping[str, JSON | FactError], now: datetime,
                       lookback_days: int, organization: Organization | None = None,
                       ) -> tuple[dict[str, JSON | FactError], list[Finding]]:
    """(the account's facts, its findings): ``root.usage`` built from the organization-level
    sources in ``org_facts`` when a rule reads it; NOT_ASSESSED with ``reason`` for every
    control, except root use those sources prove (FAIL, with the events as evidence)."""
    rules = list(rules)
    facts: dict[str, JSON | FactError] = {}
    if "root.usage" in facts_needed(rules):
        window = Window.ending(now, lookback_days)
        facts["root.usage"] = record_without_account_facts(
            account.id, org_facts, window, reason).to_json()
    return facts, assess_without_account_facts(rules, account, reason, facts, now, organization)


__all__ = ["unassessed_account"]

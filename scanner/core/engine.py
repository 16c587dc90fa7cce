"""PURE evaluation: (rules, facts, account, now) -> findings. No I/O, no clock, no AWS.

How one rule is decided (docs/rules.md has the long form):

1. Facts read by ``applies_when`` must be present (a FactError or a missing fact is ERROR);
   ``applies_when`` false -> NOT_APPLICABLE, unknown -> ERROR.
2. Every other fact the rule reads must be present, else ERROR with the collector's reason.
3. The primary fact (``resource``) is a list of items or one object (one item). For each item
   ``where`` selects it and ``fail_when`` fails it, in Kleene logic:
   some item selected-and-failing -> FAIL; else some item selected -> PASS, unless some item
   might be failing (unknown) -> ERROR; else nothing selected -> ``on_empty``, unless some
   item might have been selected (unknown) -> ERROR.

Unknown therefore never turns into PASS.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from scanner.core.conditions import All, AnyOf, Compare, Condition, Not, Quantifier
from scanner.core.models import (
    JSON,
    Account,
    AccountState,
    FactError,
    Finding,
    Organization,
    Status,
)
from scanner.core.rules import BUILTIN_FACTS, Rule
from scanner.core.truth import (
    FALSE,
    MISSING,
    TRUE,
    Context,
    Truth,
    is_unknown,
    kleene_and,
    lookup,
)

Facts = Mapping[str, JSON | FactError]

_ON_EMPTY = {
    "error": Status.ERROR,
    "pass": Status.PASS,
    "fail": Status.FAIL,
    "not_applicable": Status.NOT_APPLICABLE,
}
# {key.path} reads the item; {fact.name:key.path} reads another fact the rule reads.
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.]+)(?::([A-Za-z0-9_.]+))?\}")


def facts_needed(rules: Iterable[Rule]) -> set[str]:
    """Facts to collect for these rules (the engine's own ``scan.*`` facts excluded). Which are
    collected once for the organization is the collector registry's to say."""
    return {f for r in rules for f in r.facts if f not in BUILTIN_FACTS}


def account_fact(account: Account) -> dict[str, JSON]:
    """The built-in ``scan.account`` fact: what the walk knows about the account."""
    return {
        "id": account.id, "name": account.name, "email": account.email, "arn": account.arn,
        "status": account.status.value, "ou_path": account.ou_path,
        "is_management": account.is_management, "tags": dict(account.tags),
    }


def organization_fact(org: Organization) -> dict[str, JSON]:
    return {
        "id": org.id, "arn": org.arn, "feature_set": org.feature_set,
        "management_account_id": org.management_account_id,
        "accounts_total": len(org.accounts),
    }


def evaluate_account(rules: Iterable[Rule], facts: Facts, account: Account, now: datetime,
                     organization: Organization | None = None) -> list[Finding]:
    """Findings of every account-scope rule for one account.

    ``facts`` holds the account's facts plus any organization-scope facts its rules read
    (the orchestrator passes those along, e.g. ``iam.organizations_features``).
    """
    view: dict[str, JSON | FactError] = {**facts, "scan.account": account_fact(account)}
    if organization is not None:
        view["scan.organization"] = organization_fact(organization)
    dates: dict[str, datetime | None] = {}
    return [_evaluate(r, view, account, now, dates) for r in rules if r.scope == "account"]


def evaluate_organization(rules: Iterable[Rule], org_facts: Facts, org: Organization,
                          now: datetime) -> list[Finding]:
    """Findings of every organization-scope rule, attributed to the management account."""
    mgmt = _management(org)
    view: dict[str, JSON | FactError] = {
        **org_facts, "scan.organization": organization_fact(org),
        "scan.account": account_fact(mgmt),
    }
    dates: dict[str, datetime | None] = {}
    return [_evaluate(r, view, mgmt, now, dates) for r in rules if r.scope == "organization"]


def not_assessed(rules: Iterable[Rule], account: Account, reason: str) -> list[Finding]:
    """NOT_ASSESSED for every account-scope rule: the account could not be scanned."""
    return [_finding(r, account, Status.NOT_ASSESSED, f"Not assessed: {reason}", {}, {})
            for r in rules if r.scope == "account"]


def assess_without_account_facts(rules: Iterable[Rule], account: Account, reason: str,
                                 facts: Facts, now: datetime,
                                 organization: Organization | None = None) -> list[Finding]:
    """Findings for an account that cannot be assessed (docs/semantics.md, "Accounts that
    cannot be assessed"): NOT_ASSESSED with the reason for every account-scope rule, except
    a rule whose facts are all in ``facts`` (the organization-level evidence, e.g. a
    ``root.usage`` record built from the organization trail) and that FAILs on them: a failure
    that evidence proves is a fact about the account all the same. A PASS or an ERROR there
    proves nothing (the account's own facts might have shown the failure): NOT_ASSESSED."""
    account_rules = [r for r in rules if r.scope == "account"]
    readable = [r for r in account_rules
                if {f for f in r.facts if f not in BUILTIN_FACTS} <= set(facts)]
    proven = {f.rule_id: f for f in evaluate_account(readable, facts, account, now, organization)
              if f.status is Status.FAIL}
    decided_by = {r.id for r in readable}
    out = []
    for r in account_rules:
        finding = proven.get(r.id)
        if finding is not None:
            out.append(replace(finding, message=f"{finding.message} (Account not assessed: "
                                                f"{reason}; this failure is proven by "
                                                "organization-level evidence.)"))
        elif r.id in decided_by:
            out.append(_finding(r, account, Status.NOT_ASSESSED,
                                f"Not assessed: {reason} (the organization-level evidence "
                                "shows no failure, which proves nothing without the "
                                "account's own facts)", {}, {}))
        else:
            out.append(_finding(r, account, Status.NOT_ASSESSED, f"Not assessed: {reason}",
                                {}, {}))
    return out


def _management(org: Organization) -> Account:
    for a in org.accounts:
        if a.id == org.management_account_id:
            return a
    # The walk may have filtered the management account out; findings still need an owner.
    root_path = org.units[0].path if org.units else "Root"
    return Account(org.management_account_id, "management", org.management_account_email,
                   f"arn:{partition_of(org.arn)}:organizations::{org.management_account_id}"
                   ":account",
                   AccountState.ACTIVE, "CREATED", "", "", root_path, is_management=True)



def partition_of(arn: str) -> str:
    """The partition an ARN names (aws, aws-us-gov, aws-cn): findings name resources in the
    organization's own partition. "aws" when the ARN is not one (a hand-written test account)."""
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


# ---------------------------------------------------------------- one rule


def _evaluate(rule: Rule, facts: Mapping[str, JSON | FactError], account: Account,
              now: datetime, dates: dict[str, datetime | None]) -> Finding:
    evidence: dict[str, JSON] = {}

    def done(status: Status, message: str, item: JSON = None) -> Finding:
        names = _names(account, item)
        return _finding(rule, account, status, message, evidence, names)

    # 1. applies_when, reading only what it needs (a management account is NOT_APPLICABLE
    # even when a fact it does not need failed to collect).
    if rule.applies_when is not None:
        need = _condition_facts(rule.applies_when, rule.resource)
        problem = _fact_problem(need, facts)
        if problem:
            return done(Status.ERROR, problem)
        _add_evidence(evidence, need - {rule.resource}, facts)
        t = rule.applies_when.evaluate(Context(facts.get(rule.resource), facts, now, dates))
        if t.value is None:
            return done(Status.ERROR, _unknown_message(t))
        if t.value is False:
            _add_evidence(evidence, need & {rule.resource}, facts)
            return done(Status.NOT_APPLICABLE,
                        rule.not_applicable_message
                        or f"Not applicable: {rule.id} does not apply to this account.")

    # 2. every fact the rule reads.
    problem = _fact_problem(set(rule.facts), facts)
    if problem:
        return done(Status.ERROR, problem)
    _add_evidence(evidence, set(rule.facts) - {rule.resource}, facts)
    primary = facts[rule.resource]
    if primary is None:
        evidence[rule.resource] = None
        return done(Status.ERROR, f"Cannot decide: fact {rule.resource} is null")

    # 3. select and fail, item by item.
    items: Sequence[JSON] = primary if isinstance(primary, list) else [primary]
    ctx = Context(None, facts, now, dates)
    where = [rule.where.evaluate(ctx.with_item(i)) if rule.where else TRUE for i in items]
    fails = [kleene_and([w, rule.fail_when.evaluate(ctx.with_item(i)) if rule.fail_when
                         else FALSE]) for i, w in zip(items, where, strict=True)]
    shown = [i for i, w in zip(items, where, strict=True) if w.value is not False] or list(items)
    evidence[rule.resource] = shown if isinstance(primary, list) else primary
    failing = [i for i, f in zip(items, fails, strict=True) if f.value is True]
    selected = [i for i, w in zip(items, where, strict=True) if w.value is True]
    unknown_fail = [f for f in fails if f.value is None]
    unknown_where = [w for w in where if w.value is None]
    counts = {"selected_count": len(selected), "failing_count": len(failing),
              "item_count": len(items)}
    if failing:
        return done(Status.FAIL,
                    _render(rule.message, _names(account, failing[0], counts), facts),
                    failing[0])
    if unknown_fail:
        return done(Status.ERROR, _unknown_message(*unknown_fail))
    if selected:
        return done(Status.PASS, _pass_message(rule, account, selected[0], counts, facts),
                    selected[0])
    status = _ON_EMPTY[rule.on_empty]
    if unknown_where and status is not Status.PASS:
        # Some item might have been selected; the empty-selection verdict is not certain.
        return done(Status.ERROR, _unknown_message(*unknown_where))
    names = _names(account, None, counts)
    if status is Status.FAIL:
        return done(status, _render(rule.message, names, facts))
    if status is Status.PASS:
        return done(status, _pass_message(rule, account, None, counts, facts))
    if status is Status.NOT_APPLICABLE:
        return done(status, _render(rule.not_applicable_message, names, facts)
                    or f"Not applicable: no {rule.resource} item matched.")
    return done(status, f"Cannot decide: no {rule.resource} item matched the rule's where")


def _pass_message(rule: Rule, account: Account, item: JSON, counts: Mapping[str, int],
                  facts: Mapping[str, JSON | FactError]) -> str:
    if rule.pass_message:
        return _render(rule.pass_message, _names(account, item, counts), facts)
    return f"Passed: {rule.id}."


def _unknown_message(*truths: Truth) -> str:
    reasons = list(dict.fromkeys(r for t in truths for r in t.reasons)) or ["unknown value"]
    return "Cannot decide: " + "; ".join(reasons)


def _fact_problem(names: Iterable[str], facts: Mapping[str, JSON | FactError]) -> str | None:
    for name in sorted(names):
        if name not in facts:
            return f"Cannot decide: fact {name} was not collected"
        value = facts[name]
        if isinstance(value, FactError):
            return f"Cannot decide: fact {name} failed: {value.code}: {value.message}"
    return None


def _add_evidence(evidence: dict[str, JSON], names: Iterable[str],
                  facts: Mapping[str, JSON | FactError]) -> None:
    for n in sorted(names):
        evidence[n] = facts[n]


def _condition_facts(cond: Condition, resource: str) -> set[str]:
    """Facts a condition reads; the primary fact when some key is unqualified."""
    out: set[str] = set()

    def walk(c: Condition | None) -> None:
        if c is None:
            return
        if isinstance(c, All | AnyOf):
            for p in c.parts:
                walk(p)
        elif isinstance(c, Not):
            walk(c.part)
        elif isinstance(c, Compare):
            out.add(c.fact or resource)
        elif isinstance(c, Quantifier):
            out.add(c.fact or resource)
            walk(c.where)  # inner keys address the list items, already counted

    walk(cond)
    return out


# ---------------------------------------------------------------- output


def _names(account: Account, item: JSON, counts: Mapping[str, int] | None = None
           ) -> dict[str, JSON]:
    names: dict[str, JSON] = {"account_id": account.id, "account_name": account.name,
                              "ou_path": account.ou_path, "partition": partition_of(account.arn),
                              **(counts or {})}
    if isinstance(item, Mapping):
        names.update(item)
    return names


def _show(value: JSON) -> str:
    if value is None:
        return "unknown"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        if value and all(isinstance(v, Mapping) and "path" in v for v in value):
            return _show_attached(value)
        return ", ".join(_show(v) for v in value) if value else "none"
    if isinstance(value, Mapping):
        # Lists of objects (e.g. inherited SCPs) read best by their name or id.
        label = value.get("name") or value.get("id")
        return str(label) if label is not None else str(dict(value))
    return str(value)


def _show_attached(items: Sequence[JSON]) -> str:
    """Objects attached along a path (inherited SCPs): each once, by name, with every unit it
    comes from (FullAWSAccess is attached to the root, each OU and the account alike)."""
    labels: dict[str, str] = {}
    paths: dict[str, list[str]] = {}
    for item in items:
        assert isinstance(item, Mapping)
        key = str(item.get("id") or item.get("name"))
        labels[key] = str(item.get("name") or key)
        where = paths.setdefault(key, [])
        if str(item["path"]) not in where:
            where.append(str(item["path"]))
    return ", ".join(f"{labels[k]} (from {', '.join(where)})" for k, where in paths.items())


def _render(template: str, names: Mapping[str, JSON],
            facts: Mapping[str, JSON | FactError] | None = None) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(2) is not None:  # {fact.name:key}: a value of another fact
            fact = (facts or {}).get(m.group(1))
            value = MISSING if isinstance(fact, FactError) else lookup(fact, m.group(2))
        else:
            value = lookup(names, m.group(1))
        return "unknown" if is_unknown(value) else _show(value)

    return _PLACEHOLDER.sub(sub, template)


def _finding(rule: Rule, account: Account, status: Status, message: str,
             evidence: Mapping[str, JSON], names: Mapping[str, JSON]) -> Finding:
    names = names or _names(account, None)
    return Finding(
        rule_id=rule.id, title=rule.title, severity=rule.severity, status=status,
        account_id=account.id, account_name=account.name, ou_path=account.ou_path,
        region=_render(rule.region, names), message=" ".join(message.split()),
        resource=_render(rule.resource_id, names), evidence=dict(evidence),
        # The rule's own mapping, shared by all its findings (read, never changed).
        compliance=rule.compliance, remediation=rule.remediation, scope=rule.scope,
    )

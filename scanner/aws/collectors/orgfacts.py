"""Facts read from the organization walk (no API call): SCPs inherited by an account, and an
organization summary."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from scanner.aws.collectors.base import CollectContext, Collector
from scanner.core.models import JSON, Account, FactError, Organization, OrgUnit
from scanner.core.rootcreds import RootCredentials
from scanner.core.scp import denies_root_actions

SCP = "SERVICE_CONTROL_POLICY"


def _units_down_to(org: Organization, account: Account) -> list[OrgUnit]:
    """The root, then each OU, down to the account's direct parent."""
    chain: list[OrgUnit] = []
    unit_id: str | None = account.parent_id
    seen: set[str] = set()
    while unit_id is not None and unit_id not in seen:
        seen.add(unit_id)
        unit = org.unit(unit_id)
        chain.append(unit)
        unit_id = unit.parent_id
    return list(reversed(chain))


def account_policies(org: Organization, account: Account) -> dict[str, JSON]:
    targets: list[tuple[str, str, tuple[str, ...]]] = [
        (u.id, u.path, u.policy_ids) for u in _units_down_to(org, account)
    ]
    targets.append((account.id, f"{account.ou_path}/{account.name}", account.policy_ids))
    inherited: list[JSON] = []
    root_deny: list[str] = []
    for target_id, path, policy_ids in targets:
        for pid in policy_ids:
            policy = org.policies.get(pid)
            if policy is not None and policy.type != SCP:
                continue
            inherited.append({"id": pid, "name": policy.name if policy else None,
                              "attached_to": target_id, "path": path})
            # FullAWSAccess (AWS managed) only allows; an unknown policy cannot be judged.
            if (policy is not None and not policy.aws_managed
                    and denies_root_actions(policy.content) and pid not in root_deny):
                root_deny.append(pid)
    return {
        "account_id": account.id,
        # SCPs never restrict the management account, and only apply with all features on.
        "scps_apply": not account.is_management and org.feature_set == "ALL",
        "inherited_scps": inherited,
        "root_deny_scps": root_deny,
    }


async def fetch_account_policies(ctx: CollectContext) -> JSON:
    account = ctx.account or ctx.org.account(ctx.account_id)
    return account_policies(ctx.org, account)


async def fetch_summary(ctx: CollectContext) -> JSON:
    # member_accounts_with_root_credentials needs every account's root.mfa: the orchestrator
    # adds it after the per-account phase (docs/facts.md).
    return {
        "organization_id": ctx.org.id,
        "feature_set": ctx.org.feature_set,
        "accounts_total": len(ctx.org.accounts),
    }


def with_member_root_credentials(summary: Mapping[str, JSON], accounts: Iterable[Account],
                                 root_mfa: Mapping[str, JSON | FactError]) -> dict[str, JSON]:
    """``org.summary`` completed from each scanned member's ``root.mfa`` (known after the
    per-account phase). Members whose root state is unknown (not assessed, fact failed) are
    listed apart; while no member is known to have credentials, any unknown member makes the
    list itself unknown (null), so the organization rule is ERROR, never PASS. Accounts left
    out of the scan's scope are not considered; ``accounts_considered`` says how many were."""
    with_creds: list[str] = []
    unknown: list[str] = []
    considered = 0
    for account in accounts:
        if account.is_management:
            continue
        considered += 1
        fact = root_mfa.get(account.id)
        # Read back through the one derivation's own reader: a malformed value is unknown,
        # never "no credentials".
        present = (RootCredentials.from_fact(fact).credentials_present
                   if isinstance(fact, dict) else None)
        if present is True:
            with_creds.append(account.id)
        elif present is None:
            unknown.append(account.id)
    return {
        **summary,
        "member_accounts_with_root_credentials": with_creds or (None if unknown else []),
        "member_accounts_root_credentials_unknown": unknown,
        "accounts_considered": considered,
    }


COLLECTORS: tuple[Collector, ...] = (
    Collector("org.account_policies", "account", (), fetch_account_policies,
              "SCPs inherited by the account and those that deny root-user actions"),
    # Uses every account's root.mfa: the orchestrator completes the summary from it after
    # the per-account phase (with_member_root_credentials), so it must be collected.
    Collector("org.summary", "organization", (), fetch_summary,
              "organization id, feature set and account count from the walk",
              uses=("root.mfa",)),
)

__all__ = ["COLLECTORS", "account_policies", "with_member_root_credentials"]

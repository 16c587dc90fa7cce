"""Facts read from the organization walk (no API call): SCPs inherited by an account, and an
organization summary."""

from __future__ import annotations

from scanner.collectors.base import CollectContext, Collector
from scanner.models import JSON, Account, Organization, OrgUnit
from scanner.scp import denies_root_actions

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


COLLECTORS: tuple[Collector, ...] = (
    Collector("org.account_policies", "account", (), fetch_account_policies,
              "SCPs inherited by the account and those that deny root-user actions"),
    Collector("org.summary", "organization", (), fetch_summary,
              "organization id, feature set and account count from the walk"),
)

__all__ = ["COLLECTORS", "account_policies"]

"""IAM facts: credential report, account summary, virtual MFA devices, password policy, the
root user's MFA state derived from them, and the organization's centralized-root features."""

from __future__ import annotations

import asyncio
import random
from typing import Any

from scanner.aws.calls import call, collect
from scanner.aws.collectors.base import CollectContext, Collector
from scanner.aws.collectors.normalize import norm_date, parse_credential_report
from scanner.core.errors import AwsError, NotFound
from scanner.core.models import JSON
from scanner.core.rootcreds import derive_root_credentials, mfa_active, root_row

# --- calling AWS ----------------------------------------------------------------------------


async def aws_call(ctx: CollectContext, client: Any, method: str, **kwargs: Any) -> Any:
    """``client.<method>(**kwargs)`` for this account, failures translated."""
    return await call(client, method, account_id=ctx.account_id, **kwargs)


async def aws_list(ctx: CollectContext, client: Any, method: str, key: str,
                   **kwargs: Any) -> list[Any]:
    """Every item under ``key`` across all pages, failures translated."""
    return await collect(client, method, key, account_id=ctx.account_id, **kwargs)


# --- iam.credential_report ------------------------------------------------------------------

# GetCredentialReport error codes: the report is being built / there is none / it is older
# than four hours (then only GenerateCredentialReport builds a new one).
_IN_PROGRESS = "ReportInProgress"
_REGENERATE = frozenset({"ReportNotPresent", "ReportExpired"})


def _report_options(ctx: CollectContext) -> tuple[float, float, float]:
    opts = ctx.options.credential_report
    return opts.initial_delay, opts.max_delay, opts.timeout


async def fetch_credential_report(ctx: CollectContext) -> JSON:
    """Generate (AWS builds a new report only if the last one is over four hours old, otherwise
    it answers COMPLETE and hands back that one) then poll Get with exponential backoff and
    jitter until the report is there or the deadline passes."""
    initial, cap, timeout = _report_options(ctx)
    iam = await ctx.aws.client("iam")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    delay = initial
    generated = await aws_call(ctx, iam, "generate_credential_report")
    ready = generated.get("State") == "COMPLETE"
    while True:
        if ready:
            try:
                resp = await aws_call(ctx, iam, "get_credential_report")
                break
            except AwsError as exc:
                if exc.code in _REGENERATE:
                    await aws_call(ctx, iam, "generate_credential_report")
                elif exc.code != _IN_PROGRESS:
                    raise
        ready = True
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AwsError("CredentialReportNotReady",
                           f"the credential report was not ready within {timeout:g} s",
                           service="iam", operation="GetCredentialReport",
                           account_id=ctx.account_id)
        # Full-ish jitter: many accounts polling at once must not fall into step.
        await asyncio.sleep(min(remaining, random.uniform(delay / 2, delay)))
        delay = min(cap, delay * 2)
    return parse_credential_report(resp.get("Content", b""), resp.get("GeneratedTime"))


# --- simple IAM reads -----------------------------------------------------------------------


async def fetch_account_summary(ctx: CollectContext) -> JSON:
    iam = await ctx.aws.client("iam")
    resp = await aws_call(ctx, iam, "get_account_summary")
    return {str(k): v for k, v in resp.get("SummaryMap", {}).items()}


def _is_root_arn(arn: str | None) -> bool:
    # arn:<partition>:iam::<account>:root
    if not arn:
        return False
    parts = arn.split(":")
    return len(parts) == 6 and parts[2] == "iam" and parts[5] == "root"


async def fetch_virtual_mfa_devices(ctx: CollectContext) -> JSON:
    iam = await ctx.aws.client("iam")
    devices = await aws_list(ctx, iam, "list_virtual_mfa_devices", "VirtualMFADevices",
                             AssignmentStatus="Any")
    out: list[JSON] = []
    for d in devices:
        user_arn = (d.get("User") or {}).get("Arn")
        out.append({
            "serial_number": d.get("SerialNumber"),
            "user_arn": user_arn,
            "enable_date": norm_date(d.get("EnableDate")),
            "is_root": _is_root_arn(user_arn),
        })
    return out


_POLICY_FIELDS = {
    "minimum_password_length": "MinimumPasswordLength",
    "require_symbols": "RequireSymbols",
    "require_numbers": "RequireNumbers",
    "require_uppercase_characters": "RequireUppercaseCharacters",
    "require_lowercase_characters": "RequireLowercaseCharacters",
    "allow_users_to_change_password": "AllowUsersToChangePassword",
    "expire_passwords": "ExpirePasswords",
    "max_password_age": "MaxPasswordAge",
    "password_reuse_prevention": "PasswordReusePrevention",
    "hard_expiry": "HardExpiry",
}


async def fetch_password_policy(ctx: CollectContext) -> JSON:
    iam = await ctx.aws.client("iam")
    try:
        policy = (await aws_call(ctx, iam, "get_account_password_policy"))["PasswordPolicy"]
    except NotFound:
        # NoSuchEntity: no policy is set, which is a fact, not a failure.
        return {"present": False} | {k: None for k in _POLICY_FIELDS}
    return {"present": True} | {k: policy.get(aws) for k, aws in _POLICY_FIELDS.items()}


# --- root.mfa (derived) ---------------------------------------------------------------------


async def fetch_root_mfa(ctx: CollectContext) -> JSON:
    # The orchestrator fetches the facts a scan needs concurrently; these are shared.
    rows = await ctx.facts.require("iam.credential_report")
    summary = await ctx.facts.require("iam.account_summary")
    row = root_row(rows)
    # A virtual MFA device only tells hardware from virtual when root has MFA at all: AWS
    # counts an assigned device as active MFA, so with MFA known to be off there is none, and
    # the call is saved (about half the accounts of an organization).
    devices = [] if mfa_active(row, summary) is False else await ctx.facts.require(
        "iam.virtual_mfa_devices")
    return derive_root_credentials(row, summary, devices).to_json()


# --- iam.organizations_features (organization scope) ----------------------------------------

# The organization cannot have centralized root access at all: the features are off (data).
# The SDK's model names these errors with an "Exception" suffix, the IAM API reference without
# one; which spelling the wire carries is not settled, so both are accepted.
_FEATURES_OFF = frozenset({"ServiceAccessNotEnabledException", "ServiceAccessNotEnabled",
                           "OrganizationNotInAllFeaturesModeException",
                           "OrganizationNotInAllFeaturesMode"})


async def fetch_organizations_features(ctx: CollectContext) -> JSON:
    iam = await ctx.aws.client("iam")
    try:
        resp = await aws_call(ctx, iam, "list_organizations_features")
    except AwsError as exc:
        if exc.code not in _FEATURES_OFF:
            raise
        resp = {"OrganizationId": ctx.org.id, "EnabledFeatures": []}
    features = [str(f) for f in resp.get("EnabledFeatures") or []]
    return {
        "organization_id": resp.get("OrganizationId") or ctx.org.id,
        "enabled_features": features,
        "root_credentials_management": "RootCredentialsManagement" in features,
        "root_sessions": "RootSessions" in features,
    }


COLLECTORS: tuple[Collector, ...] = (
    Collector(
        "iam.credential_report", "account",
        ("iam:GenerateCredentialReport", "iam:GetCredentialReport"),
        fetch_credential_report,
        "IAM credential report rows, normalised, raw strings kept",
    ),
    Collector("iam.account_summary", "account", ("iam:GetAccountSummary",),
              fetch_account_summary, "GetAccountSummary's SummaryMap"),
    Collector("iam.virtual_mfa_devices", "account", ("iam:ListVirtualMFADevices",),
              fetch_virtual_mfa_devices, "virtual MFA devices and whether root holds one"),
    Collector("iam.password_policy", "account", ("iam:GetAccountPasswordPolicy",),
              fetch_password_policy, "account password policy (present: false if none)"),
    Collector(
        "root.mfa", "account", (), fetch_root_mfa,
        "root password, active keys, MFA and its kind, derived without extra calls",
        uses=("iam.credential_report", "iam.account_summary"),
        lazy=("iam.virtual_mfa_devices",),
    ),
    Collector("iam.organizations_features", "organization", ("iam:ListOrganizationsFeatures",),
              fetch_organizations_features, "centralized root access features of the org"),
)

__all__ = ["COLLECTORS", "aws_call", "aws_list"]

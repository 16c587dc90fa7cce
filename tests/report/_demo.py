"""One real scan of the bundled demo organization, shared by the report tests of this package.

Cached per test session (the simulator runs once, then stops): roll-ups, bundles, diffs and
exceptions all read the same ScanResult, as the CLI's report phase does.
"""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any

from scanner.core.models import (
    Account,
    AccountState,
    FactError,
    Finding,
    Organization,
    OrgUnit,
    Severity,
    Status,
)
from scanner.core.results import AccountResult, Coverage, ScanResult
from scanner.core.rules import Rule
from scanner.core.settings import AwsSettings, ScanConfig
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer


@dataclass(frozen=True)
class DemoScan:
    result: ScanResult
    config: ScanConfig
    rules: tuple[Rule, ...]
    out: Path  # holds the scan's journal.jsonl
    credentials: dict[str, str]  # the simulator's management credentials (must never leak)
    truth: dict[str, Any]  # the simulator's ground truth (docs/semantics.md, computed apart)


@cache
def demo_scan() -> DemoScan:
    out = Path(tempfile.mkdtemp(prefix="orgscan-report-tests-"))
    rules = tuple(load_rules())
    with SimServer("demo") as sim:
        creds = dict(sim.credentials)
        aws = AwsSettings(endpoint_url=sim.endpoint, region="us-east-1",
                          credentials=(creds["aws_access_key_id"],
                                       creds["aws_secret_access_key"]))
        config = replace(load_config(None, out=str(out)), aws=aws)
        result = asyncio.run(scan(config, list(rules), out_dir=out))
        truth = sim.ground_truth
    return DemoScan(result, config, rules, out, creds, truth)


MGMT = "111111111111"
RETAIL_DEV = "850154532349"  # its audit role cannot be assumed
SUSPENDED = "128678417078"
SANDBOX_01 = "137009366611"


# --- small hand-built results for pure tests ------------------------------------------------

def finding(rule: str, account: Account, status: str, severity: str = "high",
            resource: str | None = None, compliance: Mapping[str, tuple[str, ...]] | None = None,
            scope: str = "account") -> Finding:
    return Finding(rule_id=rule, title=rule, severity=Severity(severity), status=Status(status),
                   account_id=account.id, account_name=account.name, ou_path=account.ou_path,
                   region="global", message=f"{rule} {status}",
                   resource=resource or account.id, compliance=compliance or {}, scope=scope)


def account(aid: str, name: str, parent: OrgUnit, tags: dict[str, str] | None = None,
            management: bool = False) -> Account:
    return Account(id=aid, name=name, email=f"{name}@example.com",
                   arn=f"arn:aws:organizations::111111111111:account/o-test/{aid}",
                   status=AccountState.ACTIVE, joined_method="CREATED",
                   joined_timestamp="2026-01-01T00:00:00+00:00", parent_id=parent.id,
                   ou_path=parent.path, tags=tags or {}, is_management=management)


ROOT = OrgUnit("r-test", "Root", "arn:root", None, "Root")
OU_A = OrgUnit("ou-test-aaaaaaaa", "A", "arn:a", "r-test", "Root/A")
OU_B = OrgUnit("ou-test-bbbbbbbb", "B", "arn:b", "ou-test-aaaaaaaa", "Root/A/B")
OU_C = OrgUnit("ou-test-cccccccc", "C", "arn:c", "r-test", "Root/C")
UNITS = (ROOT, OU_A, OU_B, OU_C)


def account_result(a: Account, findings: list[Finding], used: bool | str | None = False,
                   coverage: Coverage = Coverage.ASSESSED, reason: str = "") -> AccountResult:
    facts: dict[str, Any] = {}
    if used == "error":
        facts["root.usage"] = FactError("AccessDenied", "no")
    elif used != "absent":
        facts["root.usage"] = {"used_in_window": used}
    return AccountResult(a, coverage, reason, facts, tuple(findings), "2026-11-01T00:00:00+00:00",
                         1.0)


def make_result(accounts: list[AccountResult], org_findings: tuple[Finding, ...] = (),
                out_of_scope: tuple[Account, ...] = ()) -> ScanResult:
    every = tuple(r.account for r in accounts) + out_of_scope
    mgmt = next((a.id for a in every if a.is_management), "111111111111")
    org = Organization(id="o-test", arn="arn:org", feature_set="ALL",
                       management_account_id=mgmt, management_account_email="m@example.com",
                       units=UNITS, accounts=every)
    return ScanResult(scan_id="scan-1", started="2026-11-01T00:00:00+00:00",
                      finished="2026-11-01T00:05:00+00:00", tool_version="0.1.0",
                      caller_arn="arn:aws:iam::111111111111:user/auditor", org=org,
                      accounts=tuple(accounts), org_facts={}, org_findings=org_findings,
                      out_of_scope=tuple(a.id for a in out_of_scope), regions=("us-east-1",),
                      lookback_days=90, rule_ids=("r1", "r2"))


# The accepted-risk file several report tests share: the sandbox roots' virtual MFA.
SANDBOX_MFA_EXCEPTION = """\
exceptions:
  - id: RISK-1
    rule: root-hardware-mfa
    ous: [Root/Sandbox]
    justification: Sandbox roots use virtual MFA by policy.
    owner: security@example.com
    expires: 2027-03-31
"""

"""Read-only, provably: every operation of every AWS service orgscan creates a client for is
classified, and the guard lets only reads through (writes never leave the client); and a scan
with moto's IAM authorization on, the audit role holding exactly the policy `orgscan
permissions` prints, completes without one AccessDenied and without one write sent."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

import scanner
from scanner.aws.session import READ_ALLOWLIST, Aws, account_scope, is_read_operation
from scanner.core.errors import ReadOnlyViolation
from scanner.core.models import FactError
from scanner.core.results import Coverage
from scanner.sim import SimServer
from scanner.sim.scenario import read_raw

from .conftest import run_scan, settings_for

# Verbs that read (or only compute from what is read), and verbs that change something.
# A verb in neither makes the test fail: a new kind of operation needs a decision here.
READ_VERBS = {"Get", "List", "Describe", "Lookup", "Head", "Search", "Select", "Filter",
              "Query", "Check", "Simulate", "Decode", "Test", "Verify"}
WRITE_VERBS = {
    "Abort", "Accept", "Activate", "Add", "Advertise", "Allocate", "Apply", "Assign",
    "Associate", "Assume", "Attach", "Authorize", "Batch", "Bundle", "Cancel", "Change", "Close",
    "Complete", "Confirm", "Copy", "Create", "Deactivate", "Decline", "Delete", "Deprovision",
    "Deregister", "Detach", "Detect", "Disable", "Disassociate", "Enable", "Execute", "Export",
    "Generate", "Import", "Initiate", "Invite", "Leave", "Lock", "Modify", "Monitor", "Move",
    "Notify", "Opt", "Provision", "Publish", "Purchase", "Put", "Reboot", "Register", "Reject",
    "Release", "Reload", "Remove", "Rename", "Replace", "Report", "Request", "Reset", "Restart",
    "Restore", "Resume", "Resync", "Retry", "Revoke", "Rotate", "Run", "Schedule", "Send", "Set",
    "Share", "Sign", "Start", "Stop", "Subscribe", "Tag", "Terminate", "Unassign", "Undo",
    "Unlock", "Unmonitor", "Unsubscribe", "Untag", "Update", "Upgrade", "Upload", "Validate",
    "Withdraw", "Write",
}
# Named like reads, but they mint credentials or hand out secrets: refused all the same.
SENSITIVE_READS = {"sts:GetSessionToken", "sts:GetFederationToken", "ec2:GetPasswordData"}
# Not reads by name, allowed on purpose (see scanner/aws.py for why each is harmless).
JUSTIFIED = {"iam:GenerateCredentialReport", "sts:AssumeRole", "sts:GetCallerIdentity",
             "athena:StartQueryExecution", "cloudtrail:StartQuery"}


def used_services() -> list[str]:
    """Every service orgscan creates a client for, read from its source."""
    root = Path(scanner.__file__).parent
    found: set[str] = set()
    for path in root.rglob("*.py"):
        if "sim" in path.relative_to(root).parts:
            continue
        found.update(re.findall(r'client\("([a-z0-9-]+)"', path.read_text(encoding="utf-8")))
    return sorted(found)


def verb(operation: str) -> str:
    match = re.match(r"[A-Z][a-z]+", operation)
    assert match, operation
    return match.group(0)


def operations() -> Iterator[tuple[str, str, str]]:
    """(botocore service name, signing/endpoint prefix, operation) of every used service."""
    session = botocore.session.get_session()
    for service in used_services():
        model = session.get_service_model(service)
        for op in model.operation_names:
            yield service, model.endpoint_prefix, op


def test_services_found() -> None:
    assert {"iam", "sts", "organizations", "cloudtrail", "s3", "logs", "cloudwatch", "sns",
            "athena", "account", "ec2"} <= set(used_services())


def test_every_operation_is_classified_and_only_reads_pass() -> None:
    unclassified: list[str] = []
    wrongly_allowed: list[str] = []
    refused_reads: list[str] = []
    count = 0
    for _service, prefix, op in operations():
        count += 1
        name = f"{prefix}:{op}"
        v = verb(op)
        if v not in READ_VERBS and v not in WRITE_VERBS:
            unclassified.append(name)
            continue
        allowed = is_read_operation(prefix, op)
        is_read = v in READ_VERBS and name not in SENSITIVE_READS
        if allowed and not (is_read or name in JUSTIFIED):
            wrongly_allowed.append(name)
        if name in SENSITIVE_READS:
            assert not allowed, name
        if is_read and not allowed and v in ("Get", "List", "Describe", "Lookup"):
            refused_reads.append(name)
    assert count > 1000  # the models were really read
    assert not unclassified, f"classify these verbs: {sorted(set(unclassified))}"
    assert not wrongly_allowed, wrongly_allowed
    assert not refused_reads, refused_reads
    assert READ_ALLOWLIST | {"sts:GetCallerIdentity"} >= JUSTIFIED


async def test_no_write_of_any_used_service_leaves_the_client() -> None:
    """Every non-read operation of every used service, called through orgscan's shared
    clients, is refused before it is signed or sent."""
    with SimServer("minimal") as sim:
        sim.reset_counters()
        async with Aws(settings_for(sim)) as aws:
            base = await aws.base_scope()
            sim.reset_counters()
            refused = 0
            with account_scope(base):
                for service, prefix, op in operations():
                    if is_read_operation(prefix, op):
                        continue
                    client = await aws.client(service)
                    with pytest.raises(ReadOnlyViolation):
                        # No parameters: the guard runs before botocore validates them.
                        await getattr(client, xform_name(op))()
                    refused += 1
        sent = sim.counters()
    assert refused > 800
    assert sent["requests"] == 0, sent["by_action"]


# -- the scan under IAM authorization ------------------------------------------------------

def permissions_cli(*args: str) -> Any:
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "permissions", *args],
                          capture_output=True, text=True, timeout=120, check=True)
    return json.loads(proc.stdout)


def scan_under_iam(tmp_path: Path, audit_policy: dict[str, Any], scenario: str = "demo"
                   ) -> tuple[Any, dict[str, Any], SimServer]:
    raw = read_raw(scenario)
    raw["iam_policies"] = {"audit_role": audit_policy,
                           "operator": permissions_cli("--management")}
    with SimServer(raw, iam_auth=True) as sim:
        result = run_scan(sim, tmp_path)
        counters = sim.counters()
    return result, counters, sim


def denied_facts(result: Any) -> list[tuple[str, str, str]]:
    return [(r.account.id, name, fact.message) for r in result.accounts
            for name, fact in r.facts.items()
            if isinstance(fact, FactError) and "AccessDenied" in (fact.code + fact.message)]


@pytest.fixture(scope="module")
def member_policy() -> dict[str, Any]:
    policy: dict[str, Any] = permissions_cli()
    return policy


def test_printed_policy_is_sufficient_and_nothing_is_written(
        tmp_path: Path, member_policy: dict[str, Any]) -> None:
    result, counters, sim = scan_under_iam(tmp_path, member_policy)
    missing_role = {a["id"] for a in sim.scenario["accounts"] if a["role_missing"]}
    # The only 403 is the scenario's account whose audit role does not exist.
    denials = {k: n for k, n in counters["errors"].items() if k.endswith(" 403")}
    assert denials == {"sts:AssumeRole 403": len(missing_role)}, denials
    assert not denied_facts(result)
    for r in result.accounts:
        if r.account.id in missing_role or r.account.status.value != "ACTIVE":
            assert r.coverage is Coverage.NOT_ASSESSED
        else:
            assert r.coverage is Coverage.ASSESSED, (r.account.id, r.reason)
    # Every action that reached the simulator was a read.
    sent = {k.split(":", 1)[1] for k in counters["by_action"]}
    writes = sorted(op for op in sent if verb(op) not in READ_VERBS
                    and op not in {"GenerateCredentialReport", "AssumeRole"})
    assert not writes, writes


def test_iam_authorization_is_really_enforced(tmp_path: Path,
                                              member_policy: dict[str, Any]) -> None:
    """The negative control: without two of the printed actions, exactly those facts are
    denied (one answered by moto, one by the simulator's extensions) and never pass."""
    trimmed = json.loads(json.dumps(member_policy))
    actions: list[str] = trimmed["Statement"][0]["Action"]
    for gone in ("iam:GetAccountSummary", "logs:DescribeMetricFilters"):
        actions.remove(gone)
    result, _, _ = scan_under_iam(tmp_path, trimmed, "minimal")
    denied = denied_facts(result)
    calls = {m for _, _, m in denied}
    assert any("iam:GetAccountSummary" in m for m in calls)
    assert any("logs:DescribeMetricFilters" in m for m in calls)
    # A denied read never passes the rule that needed it.
    rule_for = {"iam:GetAccountSummary": "root-mfa-enabled",
                "logs:DescribeMetricFilters": "root-usage-monitoring"}
    by_id = {r.account.id: r for r in result.accounts}
    checked = 0
    for account, _, message in denied:
        for action, rule in rule_for.items():
            if action in message:
                statuses = {f.rule_id: f.status.value for f in by_id[account].findings}
                assert statuses[rule] != "PASS", (account, rule)
                checked += 1
    assert checked >= 2


def test_stackset_template_matches_the_printed_policy(tmp_path: Path,
                                                      member_policy: dict[str, Any]) -> None:
    deploy = tmp_path / "deploy"
    permissions_cli("--deploy-dir", str(deploy))
    template = json.loads((deploy / "audit-role-stackset.json").read_text(encoding="utf-8"))
    role = template["Resources"]["OrgscanAuditRole"]["Properties"]
    assert role["Policies"][0]["PolicyDocument"] == member_policy
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Action"] == "sts:AssumeRole"
    assert trust["Condition"] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert json.loads((deploy / "audit-role-policy.json").read_text()) == member_policy
    # The audit role is read-only: every action it is granted passes the guard as a read.
    for action in member_policy["Statement"][0]["Action"]:
        service, op = action.split(":")
        prefix = {"cloudwatch": "monitoring"}.get(service, service)
        assert is_read_operation(prefix, op), action

"""`orgscan permissions`: least privilege derived from the collectors the rules need."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scanner.aws import permissions
from scanner.aws.collectors import COLLECTORS
from scanner.aws.session import is_read_operation
from scanner.core.engine import facts_needed
from scanner.core.settings import CollectorOptions
from scanner.run.rulepack import load_rules


def test_policies_cover_every_needed_collector_and_nothing_writes() -> None:
    rules = load_rules()
    acts = permissions.actions(facts_needed(rules), CollectorOptions(), all_regions=False)
    for name in facts_needed(rules):
        c = COLLECTORS[name]
        if c.scope == "account":
            assert set(c.actions) - {"sts:AssumeRole"} <= set(acts["member"]), name
    assert set(acts["member"]) <= set(acts["management"])  # it scans itself too
    assert set(permissions.WALK_ACTIONS) <= set(acts["management"])
    assert not set(permissions.WALK_ACTIONS) & set(acts["member"])
    for action in acts["member"]:
        service, op = action.split(":")
        assert is_read_operation(service, op) or action in ("s3:GetObject",), action


def test_fewer_rules_need_fewer_actions() -> None:
    rules = [r for r in load_rules() if r.id == "root-access-keys-present"]
    acts = permissions.actions(facts_needed(rules), CollectorOptions(), all_regions=False)
    assert "iam:GetCredentialReport" in acts["member"]
    assert "cloudtrail:DescribeTrails" not in acts["member"]
    assert "ec2:DescribeRegions" not in acts["member"]
    assert "ec2:DescribeRegions" in permissions.actions(
        facts_needed(rules), CollectorOptions(), all_regions=True)["member"]


def test_cli_writes_stackset_and_policies(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "permissions", "--role-name",
                           "OrgscanAudit", "--deploy-dir", str(tmp_path)],
                          capture_output=True, text=True, check=True)
    member = json.loads(proc.stdout)
    template = json.loads((tmp_path / "audit-role-stackset.json").read_text())
    role = template["Resources"]["OrgscanAuditRole"]["Properties"]
    assert role["Policies"][0]["PolicyDocument"] == member
    trust = role["AssumeRolePolicyDocument"]["Statement"][0]
    assert "sts:ExternalId" in trust["Condition"]["StringEquals"]
    mgmt = json.loads((tmp_path / "management-policy.json").read_text())
    assume = [s for s in mgmt["Statement"] if s["Action"] == "sts:AssumeRole"]
    assert assume[0]["Resource"] == "arn:aws:iam::*:role/OrgscanAudit"


def test_template_never_targets_the_organizations_admin_role(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "permissions", "--deploy-dir",
                           str(tmp_path)], capture_output=True, text=True, check=True)
    template = json.loads((tmp_path / "audit-role-stackset.json").read_text())
    assert template["Parameters"]["RoleName"]["Default"] == "OrgscanAudit"
    assert "--role-name OrgscanAudit" in proc.stderr


LAKE_ACTIONS = {"cloudtrail:ListEventDataStores", "cloudtrail:GetEventDataStore",
                "cloudtrail:StartQuery", "cloudtrail:DescribeQuery",
                "cloudtrail:GetQueryResults"}


def test_cloudtrail_lake_needs_exactly_its_calls_in_the_management_policy(
        tmp_path: Path) -> None:
    """Selecting cloudtrail_lake adds its five calls to the management credentials' policy
    (the query runs once for the organization), none to the audit role; StartQuery, the only
    one not named like a read, passes the read-only guard and CloudTrail's other Start calls
    do not."""
    config = tmp_path / "orgscan.yaml"
    config.write_text("root_usage:\n  sources: [credential_report, cloudtrail_lake]\n",
                      encoding="utf-8")
    printed = {}
    for who in ("--management", None):
        args = [sys.executable, "-m", "scanner.cli.main", "permissions", "--config", str(config)]
        proc = subprocess.run([*args, who] if who else args, capture_output=True, text=True,
                              timeout=120, check=True)
        printed[who] = set(json.loads(proc.stdout)["Statement"][0]["Action"])
    assert printed["--management"] >= LAKE_ACTIONS
    assert not LAKE_ACTIONS & printed[None]
    without = tmp_path / "without.yaml"
    without.write_text("root_usage:\n  sources: [credential_report]\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "scanner.cli.main", "permissions", "--config",
                           str(without), "--management"], capture_output=True, text=True,
                          timeout=120, check=True)
    assert not LAKE_ACTIONS & set(json.loads(proc.stdout)["Statement"][0]["Action"])
    assert is_read_operation("cloudtrail", "StartQuery")
    for other in ("StartLogging", "StartImport", "StartEventDataStoreIngestion",
                  "StopLogging", "CancelQuery", "CreateEventDataStore"):
        assert not is_read_operation("cloudtrail", other), other

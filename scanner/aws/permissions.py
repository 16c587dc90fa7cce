"""Least-privilege IAM for a scan: what the audit role in each member account needs, what the
management (or delegated administrator) credentials need, and a CloudFormation StackSet
template that deploys the audit role to every member account.

Derived from the collectors the selected rules need (each collector declares its exact
actions), so the policy never drifts from the code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from scanner.aws.collectors import COLLECTORS, closure
from scanner.core.settings import CollectorOptions

# The organization walk (org.py) and the scan's own identity and region calls.
WALK_ACTIONS = (
    "organizations:DescribeOrganization", "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent", "organizations:ListAccountsForParent",
    "organizations:ListTagsForResource", "organizations:ListPolicies",
    "organizations:DescribePolicy", "organizations:ListTargetsForPolicy",
    "sts:GetCallerIdentity",
)
REGIONS_ACTION = "ec2:DescribeRegions"  # only when regions: all
# Organizations creates this role (with AdministratorAccess) in accounts it creates; a StackSet
# cannot create it again, and an audit should not run with it. The template deploys this
# dedicated read-only role instead unless another name is chosen.
ORGANIZATIONS_ROLE = "OrganizationAccountAccessRole"
AUDIT_ROLE = "OrgscanAudit"


def _collectors(fact_names: Iterable[str], options: CollectorOptions) -> list[str]:
    return sorted(n for n in closure(set(fact_names), COLLECTORS)
                  if n in COLLECTORS and COLLECTORS[n].enabled(options))


def actions(fact_names: Iterable[str], options: CollectorOptions, *,
            all_regions: bool) -> dict[str, list[str]]:
    """``{"member": [...], "management": [...]}``: the member audit role runs the
    account-scope collectors; the management credentials walk the organization, run the
    organization-scope collectors, assume the audit role, and scan the management account
    itself."""
    member: set[str] = set()
    org: set[str] = set(WALK_ACTIONS)
    for name in _collectors(fact_names, options):
        c = COLLECTORS[name]
        (member if c.scope == "account" else org).update(c.actions)
    if all_regions:
        member.add(REGIONS_ACTION)
    # sts:AssumeRole is granted separately, scoped to the audit role's ARN.
    member.discard("sts:AssumeRole")
    org.discard("sts:AssumeRole")
    return {"member": sorted(member), "management": sorted(org | member)}


def _policy(actions_: list[str], extra: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    statements: list[dict[str, Any]] = [
        {"Sid": "OrgscanRead", "Effect": "Allow", "Action": actions_, "Resource": "*"}]
    return {"Version": "2012-10-17", "Statement": statements + (extra or [])}


def member_policy(acts: Mapping[str, list[str]]) -> dict[str, Any]:
    return _policy(list(acts["member"]))


def management_policy(acts: Mapping[str, list[str]], role_name: str,
                      partition: str = "aws") -> dict[str, Any]:
    assume = {"Sid": "OrgscanAssumeAuditRole", "Effect": "Allow", "Action": "sts:AssumeRole",
              "Resource": f"arn:{partition}:iam::*:role/{role_name}"}
    return _policy(list(acts["management"]), [assume])


def template_role_name(role_name: str) -> str:
    return AUDIT_ROLE if role_name == ORGANIZATIONS_ROLE else role_name


def stackset_template(acts: Mapping[str, list[str]], role_name: str) -> str:
    """A CloudFormation template (JSON, valid YAML) for a service-managed StackSet that
    creates the audit role in every member account of the targeted OUs."""
    role_name = template_role_name(role_name)
    trust = {
        "Effect": "Allow",
        "Principal": {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:root"}},
        "Action": "sts:AssumeRole",
        # The external ID keeps the role from being assumed on anyone else's behalf.
        "Condition": {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}},
    }
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orgscan read-only audit role (deploy as a service-managed StackSet "
                       "to the organization's OUs)",
        "Parameters": {
            "ManagementAccountId": {"Type": "String", "AllowedPattern": "^[0-9]{12}$",
                                    "Description": "account that runs orgscan"},
            "ExternalId": {"Type": "String", "MinLength": 2,
                           "Description": "must match aws.external_id in orgscan's config"},
            "RoleName": {"Type": "String", "Default": role_name},
        },
        "Resources": {
            "OrgscanAuditRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": {"Ref": "RoleName"},
                    "MaxSessionDuration": 3600,
                    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [trust]},
                    "Policies": [{"PolicyName": "orgscan-read-only",
                                  "PolicyDocument": member_policy(acts)}],
                },
            },
        },
        "Outputs": {"RoleArn": {"Value": {"Fn::GetAtt": ["OrgscanAuditRole", "Arn"]}}},
    }
    return json.dumps(template, indent=2) + "\n"

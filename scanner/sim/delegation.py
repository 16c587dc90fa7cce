"""A delegated administrator for Organizations, and the audit roles' trust policies.

AWS lets a member account that is a delegated administrator for any service read the
organization (List*/Describe*: roots, OUs, accounts, policies, tags); any member may describe
the organization itself; every other member is refused with ``AccessDeniedException``. moto
keeps the organization in the management account's backend and answers a member's request
from the member's own, empty one, so this module answers the delegated administrator's reads
from the management account's backend and refuses other members' reads as AWS does.

moto's AssumeRole never reads a role's trust policy. AWS does, and which roles trust whom is
what decides what a delegated administrator can scan, so the simulator checks it: a role that
exists must trust the caller's account (``arn:aws:iam::<id>:root`` or the id) or the caller's
own ARN. Conditions are not evaluated (the scenario's roles have none). A role that does not
exist is refused to every caller except the management account's, whose tests name roles the
scenario never creates (``management_role_arn``): moto lets those through, and so does this.
"""

from __future__ import annotations

import json
import re
from typing import Any

from moto.iam.models import iam_backends

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.identity import caller_arn
from scanner.sim.request import SimRequest
from scanner.sim.state import SimState

# Reads AWS answers to the management account and to a delegated administrator only.
ADMIN_READS = (
    "DescribeAccount", "DescribeCreateAccountStatus", "DescribeOrganizationalUnit",
    "DescribePolicy", "ListAWSServiceAccessForOrganization", "ListAccounts",
    "ListAccountsForParent", "ListChildren", "ListCreateAccountStatus",
    "ListDelegatedAdministrators", "ListDelegatedServicesForAccount",
    "ListOrganizationalUnitsForParent", "ListParents", "ListPolicies", "ListPoliciesForTarget",
    "ListRoots", "ListTagsForResource", "ListTargetsForPolicy",
)
# Any account of the organization may call it (moto answers members from the management's).
ANY_MEMBER = ("DescribeOrganization",)

ORGS_ACCESS_DENIED = "You don't have permissions to access this resource."


def _snake(action: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", action.replace("AWS", "Aws")).lower()


def _as_management(action: str, req: SimRequest, management_id: str) -> Reply:
    """moto's own answer to ``action``, computed in the management account's backend."""
    from moto.core.exceptions import ServiceException
    from moto.organizations.responses import OrganizationsResponse

    response = OrganizationsResponse()
    response.current_account = management_id
    response.region = req.region
    response.partition = "aws"
    response.body = req.body.decode() if req.body else "{}"
    response.querystring = {}
    response.uri_match = {}
    try:
        body = getattr(response, _snake(action))()
    except ServiceException as exc:
        return awserrors.error("organizations", 400, str(exc.code), str(exc.message))
    except Exception as exc:  # moto's older RESTError family (an HTTPException)
        code = getattr(exc, "error_type", None)
        if code is None:
            raise  # a fault in the simulator, not an answer
        status = int(getattr(exc, "code", 400) or 400)
        message = str(getattr(exc, "message", exc))
        return awserrors.error("organizations", status, str(code), message)
    text = body if isinstance(body, str) else json.dumps(body)
    return Reply(200, text.encode(), "application/x-amz-json-1.1",
                 (("x-amzn-RequestId", awserrors.request_id()),))


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if isinstance(principal, str):
        return [principal]
    if not isinstance(principal, dict):
        return []
    value = principal.get("AWS", [])
    return [value] if isinstance(value, str) else [str(v) for v in value]


def _actions(statement: dict[str, Any]) -> list[str]:
    value = statement.get("Action", [])
    return [value] if isinstance(value, str) else [str(v) for v in value]


def trusts(document: str, account: str, arn: str) -> bool:
    """Whether a trust policy lets ``account`` (or the principal ``arn``) call AssumeRole."""
    try:
        policy = json.loads(document)
    except ValueError:
        return False
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    # An assumed-role session is trusted as its role.
    m = re.match(r"arn:([^:]+):sts::(\d{12}):assumed-role/([^/]+)/", arn)
    role_arn = f"arn:{m.group(1)}:iam::{m.group(2)}:role/{m.group(3)}" if m else arn
    accepted = {"*", account, f"arn:aws:iam::{account}:root", arn, role_arn}
    for st in statements:
        if st.get("Effect") != "Allow":
            continue
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in _actions(st)):
            continue
        if accepted.intersection(_principals(st)):
            return True
    return False


def install(state: SimState) -> None:
    seeded = state.seeded
    management_id = seeded.management_account_id
    admin = seeded.delegated_administrator
    admin_id = admin["account_id"] if admin else None

    def organizations(action: str) -> Any:
        def handle(req: SimRequest) -> Reply | None:
            if req.account == management_id:
                return None  # moto's own answer
            if req.account == admin_id:
                return _as_management(action, req, management_id)
            if req.account not in state.accounts:
                return None  # not in the organization: moto says AWSOrganizationsNotInUse
            return awserrors.error("organizations", 400, "AccessDeniedException",
                                   ORGS_ACCESS_DENIED)
        return handle

    for action in ADMIN_READS:
        state.handlers[("organizations", action)] = organizations(action)

    def assume_role(req: SimRequest) -> Reply | None:
        role_arn = req.param("RoleArn") or ""
        parts = role_arn.split(":")
        if len(parts) < 6:
            return None  # moto answers a malformed ARN
        target, name = parts[4], parts[5].rsplit("/", 1)[-1]
        iam = iam_backends[target]["aws"]
        role = next((r for r in list(iam.roles.values()) if r.name == name), None)
        who = caller_arn(req.access_key, req.account)
        if role is None:
            if req.account == management_id:
                return None
        elif trusts(str(role.assume_role_policy_document), req.account, who):
            return None
        state.counters.denial(target)
        return awserrors.error(
            "sts", 403, "AccessDenied",
            f"User: {who} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")

    state.handlers[("sts", "AssumeRole")] = assume_role

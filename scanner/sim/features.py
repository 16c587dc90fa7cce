"""IAM ListOrganizationsFeatures (centralized root access), which moto does not implement."""

from __future__ import annotations

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.request import SimRequest
from scanner.sim.state import SimState

IAM_PRINCIPAL = "iam.amazonaws.com"


def _code(state: SimState, name: str) -> str:
    """The error code as the fault spec spells it (the SDK model's ``...Exception`` shape name,
    or the API reference's bare name): which one AWS sends is not settled."""
    return name if state.faults.spec.features_error_codes == "reference" else f"{name}Exception"


def install(state: SimState) -> None:
    features = state.scenario["organization"]["features"]
    enabled = [
        name
        for key, name in (
            ("root_credentials_management", "RootCredentialsManagement"),
            ("root_sessions", "RootSessions"),
        )
        if features[key]
    ]

    # The management account, and a delegated administrator for IAM (centralized root access);
    # a delegated administrator for any other service is refused like any member.
    admins = {state.seeded.management_account_id}
    delegated = state.seeded.delegated_administrator
    if delegated and IAM_PRINCIPAL in delegated["service_principals"]:
        admins.add(delegated["account_id"])

    def handle(req: SimRequest) -> Reply:
        if req.account not in admins:
            return awserrors.error(
                "iam", 400, "AccountNotManagementOrDelegatedAdministratorException",
                "The request was rejected because the account making the request is not the "
                "management account or delegated administrator account for centralized root "
                "access.",
            )
        if not enabled:
            # With neither feature on, IAM has no trusted access in the organization.
            return awserrors.error(
                "iam", 400, _code(state, "ServiceAccessNotEnabled"),
                "The request was rejected because trusted access is not enabled for IAM in "
                "AWS Organizations.",
            )
        members = "".join(f"<member>{f}</member>" for f in enabled)
        body = (
            f"<OrganizationId>{state.seeded.organization_id}</OrganizationId>"
            f"<EnabledFeatures>{members}</EnabledFeatures>"
        )
        return awserrors.query_ok("iam", "ListOrganizationsFeatures", body)

    state.handlers[("iam", "ListOrganizationsFeatures")] = handle

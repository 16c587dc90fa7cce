"""Authentication as AWS does it, without IAM policies (``SimServer(authenticate=True)``).

moto answers a key it never issued as its default account, and never checks a signature
unless IAM policies are enforced too (``iam_auth``). With ``authenticate`` on, the simulator
refuses what AWS would refuse before any policy is read: a key it never issued (403
InvalidClientTokenId) and a request signed with the wrong secret (403 SignatureDoesNotMatch,
checked by moto's own SigV4 verification). Several simulated organizations served at once then
behave as separate AWS partitions of credentials: one organization's keys open nothing in
another's. S3 requests (SigV4 with payload signing rules of their own) are left to moto.
"""

from __future__ import annotations

from typing import Any

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.iamauth import CHECKED_HERE
from scanner.sim.request import DEFAULT_ACCOUNT_ID, SimRequest

INVALID_KEY = "The security token included in the request is invalid."
BAD_SIGNATURE = ("The request signature we calculated does not match the signature you "
                 "provided. Check your AWS Secret Access Key and signing method.")


def authenticate(req: SimRequest, environ: dict[str, Any],
                 accounts: dict[str, Any]) -> Reply | None:
    """The refusal of an unknown key or a wrong signature; None when the request is
    authentic. ``accounts``: the scenario's accounts by id."""
    if req.service not in CHECKED_HERE:
        return None
    if not req.access_key or (req.account == DEFAULT_ACCOUNT_ID
                              and DEFAULT_ACCOUNT_ID not in accounts):
        return awserrors.error(req.service, 403, "InvalidClientTokenId", INVALID_KEY)
    from moto.core.exceptions import InvalidClientTokenIdError, SignatureDoesNotMatchError
    from moto.iam.access_control import IAMRequest
    from werkzeug.datastructures import EnvironHeaders

    data = dict(req.form) or {k: v[0] for k, v in req.query.items()}
    headers: Any = EnvironHeaders(environ)
    try:
        IAMRequest(account_id=req.account, method=req.method, path=req.path, data=data,
                   body=req.body, headers=headers, action=req.action).check_signature()
    except InvalidClientTokenIdError:
        return awserrors.error(req.service, 403, "InvalidClientTokenId", INVALID_KEY)
    except SignatureDoesNotMatchError:
        return awserrors.error(req.service, 403, "SignatureDoesNotMatch", BAD_SIGNATURE)
    return None

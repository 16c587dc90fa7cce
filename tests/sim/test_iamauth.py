"""The simulator's IAM check: moto's refusals are the 403s AWS would send; a fault inside the
check is not a denial (it would pass for a correct NOT_ASSESSED) and propagates."""

from __future__ import annotations

from typing import Any

import pytest
from moto.iam import access_control

from scanner.sim import iamauth
from scanner.sim.request import SimRequest

UNKNOWN_KEY = "AKIAIOSFODNN7UNKNOWN"


def request() -> tuple[SimRequest, dict[str, Any]]:
    req = SimRequest(method="POST", path="/", query={}, service="iam", region="us-east-1",
                     access_key=UNKNOWN_KEY, account="123456789012",
                     action="GetAccountSummary", body=b"Action=GetAccountSummary",
                     form={"Action": "GetAccountSummary"})
    environ = {
        "REQUEST_METHOD": "POST", "HTTP_HOST": "localhost",
        "HTTP_X_AMZ_DATE": "20260101T000000Z",
        "HTTP_AUTHORIZATION": (f"AWS4-HMAC-SHA256 Credential={UNKNOWN_KEY}/20260101/us-east-1/"
                               "iam/aws4_request, SignedHeaders=host;x-amz-date, Signature=00"),
    }
    return req, environ


def test_a_refusal_is_the_403_aws_sends() -> None:
    reply = iamauth.authorize(*request())
    assert reply is not None and reply.status == 403
    assert b"InvalidClientTokenId" in reply.body


def test_a_fault_in_the_check_is_not_a_denial(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**_kw: Any) -> Any:
        raise RuntimeError("the policy store is broken")

    # moto's own key lookup breaks (not a refusal): the request must fail loudly.
    monkeypatch.setattr(access_control, "create_access_key", broken)
    with pytest.raises(RuntimeError, match="policy store"):
        iamauth.authorize(*request())

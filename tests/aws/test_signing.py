"""orgscan's SigV4 signer (aws/signing.py) signs exactly as botocore's: the same headers, the
same Authorization, for every protocol the scan's services speak, with and without a session
token, and again when a request is re-signed for a retry."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import botocore.auth
import botocore.session
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSResponse
from botocore.credentials import Credentials

from scanner.aws.calls import paginate
from scanner.aws.session import Aws, account_scope
from scanner.aws.signing import ScanSigV4Auth
from scanner.core.errors import AwsError
from scanner.core.settings import AwsSettings
from scanner.sim import SimServer
from tests.conftest import settings_for, walk_scenario

NOW = datetime(2026, 11, 29, 12, 34, 56, tzinfo=UTC)

# (service, region, method, parameters): JSON (cloudtrail, organizations, logs), rest-json
# (account), query (iam, sts, sns, cloudwatch) and ec2's own protocol.
CALLS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("cloudtrail", "eu-west-1", "lookup_events", {
        "LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "root"}],
        "StartTime": datetime(2026, 9, 1, tzinfo=UTC), "EndTime": NOW, "MaxResults": 50,
        "NextToken": "tok/+=en"}),
    ("organizations", "us-east-1", "list_tags_for_resource", {"ResourceId": "123456789012"}),
    ("logs", "ap-southeast-2", "describe_metric_filters", {"logGroupName": "trail/logs ü"}),
    ("account", "us-east-1", "get_alternate_contact", {"AlternateContactType": "SECURITY"}),
    ("iam", "us-east-1", "get_account_summary", {}),
    ("iam", "us-east-1", "list_virtual_mfa_devices", {"AssignmentStatus": "Assigned"}),
    ("sts", "us-east-1", "assume_role", {"RoleArn": "arn:aws:iam::123456789012:role/audit",
                                         "RoleSessionName": "orgscan", "ExternalId": "x y"}),
    ("sns", "us-west-2", "list_subscriptions_by_topic", {
        "TopicArn": "arn:aws:sns:us-west-2:123456789012:root-alarms"}),
    ("cloudwatch", "eu-central-1", "describe_alarms_for_metric", {
        "MetricName": "RootUsage", "Namespace": "CIS"}),
    ("ec2", "sa-east-1", "describe_regions", {"AllRegions": True}),
]


def captured_request(service: str, region: str, method: str, params: dict[str, Any],
                     endpoint_url: str | None) -> Any:
    """The request botocore builds for the call, as it stands just before signing."""
    session = botocore.session.get_session()
    client = session.create_client(service, region_name=region, endpoint_url=endpoint_url,
                                   aws_access_key_id="AKIDEXAMPLE",
                                   aws_secret_access_key="secret")
    seen: list[Any] = []

    def before_sign(request: Any, **_: Any) -> None:
        seen.append(copy.deepcopy(request))

    def short_circuit(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 400, {}, None)  # never reaches the network

    client.meta.events.register("before-sign", before_sign)
    client.meta.events.register("before-send", short_circuit)
    with pytest.raises(Exception):  # noqa: B017 - the short-circuited answer is an error
        getattr(client, method)(**params)
    return seen[0]


def signed(cls: type[SigV4Auth], request: Any, service: str, region: str, token: str | None,
           times: int = 1) -> dict[str, str]:
    request = copy.deepcopy(request)
    auth = cls(Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token),
               service, region)
    for _ in range(times):  # a retry signs the same request again
        auth.add_auth(request)
    return dict(request.headers.items())


@pytest.mark.parametrize("endpoint_url", [None, "http://127.0.0.1:4566"])
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE//token+/="])
@pytest.mark.parametrize(("service", "region", "method", "params"), CALLS,
                         ids=[f"{c[0]}.{c[2]}" for c in CALLS])
def test_signs_as_botocore_does(monkeypatch: pytest.MonkeyPatch, service: str, region: str,
                                method: str, params: dict[str, Any], token: str | None,
                                endpoint_url: str | None) -> None:
    request = captured_request(service, region, method, params, endpoint_url)
    clock: Callable[[], datetime] = lambda: NOW.replace(tzinfo=None)  # noqa: E731
    monkeypatch.setattr(botocore.auth, "get_current_datetime", clock)
    signing_name = "monitoring" if service == "cloudwatch" else service
    for times in (1, 2):
        theirs = signed(SigV4Auth, request, signing_name, region, token, times)
        ours = signed(ScanSigV4Auth, request, signing_name, region, token, times)
        assert ours == theirs
        assert ours["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")


async def test_the_simulator_accepts_every_signature_of_a_scan() -> None:
    """The scan's clients sign with ScanSigV4Auth, and a simulator that checks every signature
    (moto's SigV4 verification) accepts them across protocols: JSON with a body, query, ec2;
    as the caller and as an assumed role (a session token)."""
    with SimServer(walk_scenario(), authenticate=True) as sim:
        async with Aws(settings_for(sim)) as aws:
            base = await aws.base_scope()
            org = await aws.client("organizations")
            auth = await org._request_signer.get_auth_instance(
                signing_name="organizations", region_name="us-east-1", signature_version="v4",
                request_credentials=base.credentials)
            assert type(auth) is ScanSigV4Auth
            with account_scope(base):
                accounts = [a async for a in paginate(org, "ListAccounts", "Accounts")]
            member = next(a["Id"] for a in accounts if a["Id"] != base.account_id)
            scope = await aws.assume(base, member)
            assert scope.credentials is not None
            with account_scope(scope):
                trail = await aws.client("cloudtrail", "eu-west-1")
                await trail.lookup_events(LookupAttributes=[
                    {"AttributeKey": "Username", "AttributeValue": "root"}], MaxResults=50)
                await (await aws.client("iam")).get_account_summary()
                await (await aws.client("ec2")).describe_regions(AllRegions=True)
        # A key of the simulator's with a wrong secret is refused: the check is real.
        key, _ = settings_for(sim).credentials or ("", "")
        async with Aws(AwsSettings(endpoint_url=sim.endpoint, credentials=(key, "wrong"),
                                   max_attempts=1)) as aws:
            with pytest.raises(AwsError, match="SignatureDoesNotMatch"):
                await aws.base_scope()

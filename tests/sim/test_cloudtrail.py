"""LookupEvents, the organization trail's log files, shadow trails, monitoring chains."""

from __future__ import annotations

import gzip
import json
import time

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from scanner.sim import SimServer
from tests.sim.conftest import assume

NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def _pages(ct: object, **kw: object) -> list[dict[str, object]]:
    events = []
    for page in ct.get_paginator("lookup_events").paginate(**kw):  # type: ignore[attr-defined]
        events.extend(page["Events"])
        time.sleep(0.5)  # stay under 2 requests/s
    return events


def test_lookup_events_root_shape_and_order(sim: SimServer) -> None:
    ct = assume(sim, "333333333333", "cloudtrail")
    events = _pages(ct, LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}])
    names = [e["EventName"] for e in events]
    assert sorted(names) == ["ConsoleLogin", "ConsoleLogin", "ListBuckets"]
    times = [e["EventTime"] for e in events]
    assert times == sorted(times, reverse=True)
    listing = next(e for e in events if e["EventName"] == "ListBuckets")
    assert listing["AccessKeyId"] == "AKIAEXAMPLEROOT00001"
    assert listing["ReadOnly"] == "true"
    detail = json.loads(listing["CloudTrailEvent"])
    assert detail["userIdentity"]["type"] == "Root"
    assert detail["eventID"] == listing["EventId"]
    failed = [json.loads(e["CloudTrailEvent"]) for e in events if e["EventName"] == "ConsoleLogin"]
    assert {f["responseElements"]["ConsoleLogin"] for f in failed} == {"Success", "Failure"}


def test_lookup_events_pagination(sim: SimServer) -> None:
    ct = assume(sim, "333333333333", "cloudtrail")
    everything = _pages(ct)
    small = _pages(ct, PaginationConfig={"PageSize": 2})
    assert [e["EventId"] for e in small] == [e["EventId"] for e in everything]
    assert len(everything) > 2


def test_lookup_events_one_attribute_only(sim: SimServer) -> None:
    ct = assume(sim, "333333333333", "cloudtrail")
    time.sleep(1)
    with pytest.raises(ClientError) as info:
        ct.lookup_events(LookupAttributes=[
            {"AttributeKey": "Username", "AttributeValue": "root"},
            {"AttributeKey": "EventName", "AttributeValue": "ConsoleLogin"},
        ])
    assert info.value.response["Error"]["Code"] == "InvalidLookupAttributesException"


def test_lookup_events_throttled_beyond_two_per_second(sim: SimServer) -> None:
    ct = assume(sim, "333333333333", "cloudtrail", region="eu-west-1", config=NO_RETRY)
    codes = []
    for _ in range(6):
        try:
            ct.lookup_events(MaxResults=1)
            codes.append("ok")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])
    assert codes.count("ok") >= 2
    assert "ThrottlingException" in codes
    assert sim.counters()["throttled"]["cloudtrail:LookupEvents"] >= 1


def test_org_trail_logs_in_log_archive(sim: SimServer) -> None:
    s3 = assume(sim, "222222222222", "s3")
    bucket = s3.list_buckets()["Buckets"][0]["Name"]
    prefix = f"AWSLogs/{sim.organization_id}/333333333333/CloudTrail/us-east-1/"
    keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=prefix) for o in p.get("Contents", [])]
    assert keys and all(k.endswith(".json.gz") for k in keys)
    name = keys[0].rsplit("/", 1)[1]
    assert name.startswith("333333333333_CloudTrail_us-east-1_")
    records = []
    for key in keys:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        records += json.loads(gzip.decompress(body))["Records"]
    roots = [r for r in records if r["userIdentity"]["type"] == "Root"]
    assert len(roots) == 3 and len(records) > len(roots)
    # the account whose role is missing still has its events in the org trail
    prefix = f"AWSLogs/{sim.organization_id}/444444444444/"
    assert s3.list_objects_v2(Bucket=bucket, Prefix=prefix)["KeyCount"] > 0


def test_shadow_trail_in_member(sim: SimServer) -> None:
    ct = assume(sim, "333333333333", "cloudtrail")
    trails = ct.describe_trails()["trailList"]
    org = [t for t in trails if t["IsOrganizationTrail"]]
    assert len(org) == 1
    assert org[0]["TrailARN"].startswith("arn:aws:cloudtrail:us-east-1:111111111111:trail/")
    assert org[0]["HomeRegion"] == "us-east-1"
    assert org[0]["KmsKeyId"].startswith("arn:aws:kms:")
    status = ct.get_trail_status(Name=org[0]["TrailARN"])
    assert status["IsLogging"] is True
    sel = ct.get_event_selectors(TrailName=org[0]["TrailARN"])
    assert sel["EventSelectors"][0]["IncludeManagementEvents"] is True
    own = ct.describe_trails(includeShadowTrails=False)["trailList"]
    assert not any(t["IsOrganizationTrail"] for t in own)


def test_monitoring_chain(sim: SimServer) -> None:
    logs = assume(sim, "333333333333", "logs")
    filters = logs.describe_metric_filters()["metricFilters"]
    assert filters[0]["filterPattern"] == (
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
        '&& $.eventType != "AwsServiceEvent" }'
    )
    cw = assume(sim, "333333333333", "cloudwatch")
    alarm = cw.describe_alarms()["MetricAlarms"][0]
    assert alarm["MetricName"] == filters[0]["metricTransformations"][0]["metricName"]
    sns = assume(sim, "333333333333", "sns")
    subs = sns.list_subscriptions_by_topic(TopicArn=alarm["AlarmActions"][0])["Subscriptions"]
    assert subs[0]["SubscriptionArn"].startswith("arn:aws:sns:")
    account = assume(sim, "333333333333", "account")
    contact = account.get_alternate_contact(AlternateContactType="SECURITY")["AlternateContact"]
    assert contact["EmailAddress"] == "security@example.com"

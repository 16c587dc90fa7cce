"""cloudtrail.trails and monitoring.root_usage_alarms against the simulator."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.aws.collectors import COLLECTORS, CollectContext, FactStore
from scanner.aws.permissions import actions
from scanner.aws.session import Aws, account_scope
from scanner.core.engine import evaluate_account
from scanner.core.models import FactError, Status
from scanner.core.settings import AwsSettings
from scanner.run.config import collector_options
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer
from tests.aws.collectors.conftest import (
    APP,
    EU,
    EU_KEY,
    HW,
    MGMT,
    PEND,
    SEC,
    TOOLS,
    boto,
    hand_org,
    scanning,
)

pytestmark = pytest.mark.usefixtures("aws_env")

TRAIL_KEYS = {
    "name", "arn", "home_region", "is_multi_region", "is_organization_trail", "is_shadow",
    "is_logging", "log_file_validation_enabled", "kms_key_id", "cloudwatch_logs_log_group_arn",
    "s3_bucket_name", "s3_key_prefix", "management_events", "read_write_type", "status_error",
}


def by_name(trails: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    assert all(set(t) == TRAIL_KEYS for t in trails)
    return {t["name"]: t for t in trails}


async def test_member_sees_own_trail_and_org_trail_as_shadow(sim: SimServer) -> None:
    async with scanning(sim, APP) as scan:
        trails = by_name(await scan.ok("cloudtrail.trails"))
    own, org = trails["management-events"], trails["org-trail"]
    assert own["is_shadow"] is False and own["is_organization_trail"] is False
    assert own["is_multi_region"] is True and own["is_logging"] is True
    assert own["home_region"] == "us-east-1"
    assert own["cloudwatch_logs_log_group_arn"].startswith(f"arn:aws:logs:us-east-1:{APP}:")
    assert own["management_events"] is True and own["read_write_type"] == "All"
    assert org["is_shadow"] is True and org["is_organization_trail"] is True
    assert org["arn"].split(":")[4] == MGMT
    assert org["is_logging"] is True and org["management_events"] is True
    assert org["status_error"] is None


async def test_management_account_owns_the_org_trail(sim: SimServer) -> None:
    async with scanning(sim, MGMT) as scan:
        trails = by_name(await scan.ok("cloudtrail.trails"))
    assert trails["org-trail"]["is_shadow"] is False
    assert trails["org-trail"]["log_file_validation_enabled"] is True


@pytest.fixture(scope="module")
def tools_trails(sim: SimServer) -> None:
    s3 = boto(sim, TOOLS, "s3")
    s3.create_bucket(Bucket="tools-trail-logs")
    eu = boto(sim, TOOLS, "cloudtrail", "eu-west-1")
    eu.create_trail(Name="eu-home", S3BucketName="tools-trail-logs", IsMultiRegionTrail=True)
    eu.put_event_selectors(TrailName="eu-home", AdvancedEventSelectors=[{
        "Name": "management reads", "FieldSelectors": [
            {"Field": "eventCategory", "Equals": ["Management"]},
            {"Field": "readOnly", "Equals": ["true"]}]}])
    us = boto(sim, TOOLS, "cloudtrail")
    us.create_trail(Name="data-only", S3BucketName="tools-trail-logs", S3KeyPrefix="data")
    us.put_event_selectors(TrailName="data-only", EventSelectors=[{
        "ReadWriteType": "All", "IncludeManagementEvents": False,
        "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}])
    us.start_logging(Name="data-only")


async def test_trail_homed_elsewhere_is_read_in_its_home_region(sim: SimServer,
                                                               tools_trails: None) -> None:
    async with scanning(sim, TOOLS) as scan:
        trails = by_name(await scan.ok("cloudtrail.trails"))
        calls = scan.calls(TOOLS)
    eu = trails["eu-home"]
    assert eu["home_region"] == "eu-west-1"
    assert eu["is_shadow"] is False  # same account: a multi-region trail, not another's
    assert eu["is_logging"] is False
    assert eu["management_events"] is True and eu["read_write_type"] == "ReadOnly"
    data = trails["data-only"]
    assert data["is_logging"] is True and data["is_multi_region"] is False
    assert data["management_events"] is False and data["read_write_type"] is None
    assert data["s3_key_prefix"] == "data" and data["kms_key_id"] is None
    # Both are visible from us-east-1 (one is multi-region): no other region is described.
    assert calls["cloudtrail:ListTrails"] == 1 and calls["cloudtrail:DescribeTrails"] == 1


async def test_single_region_trails_of_other_regions_are_seen(sim: SimServer) -> None:
    async with scanning(sim, EU) as scan:
        trails = by_name(await scan.ok("cloudtrail.trails"))
        calls = scan.calls(EU)
    assert set(trails) == {"org-trail", "management-events", "central-audit"}
    west, central = trails["management-events"], trails["central-audit"]
    assert west["home_region"] == "eu-west-1" and west["is_multi_region"] is False
    assert west["arn"].split(":")[3] == "eu-west-1" and west["is_shadow"] is False
    assert west["is_logging"] is True and west["management_events"] is True
    assert west["cloudwatch_logs_log_group_arn"].startswith(f"arn:aws:logs:eu-west-1:{EU}:")
    assert central["home_region"] == "eu-central-1" and central["is_multi_region"] is False
    assert central["log_file_validation_enabled"] is True and central["kms_key_id"] == EU_KEY
    assert central["is_logging"] is True and central["read_write_type"] == "All"
    # ListTrails once; DescribeTrails in us-east-1 and in each home region it did not show;
    # status and selectors once per trail, each in its home region.
    assert calls["cloudtrail:ListTrails"] == 1
    assert calls["cloudtrail:DescribeTrails"] == 3
    assert calls["cloudtrail:GetTrailStatus"] == 3 and calls["cloudtrail:GetEventSelectors"] == 3


async def test_single_region_trails_never_meet_a_multi_region_requirement(
        sim: SimServer) -> None:
    async with scanning(sim, EU) as scan:
        trails = await scan.ok("cloudtrail.trails")
        alarms = await scan.ok("monitoring.root_usage_alarms")
    # The CIS chain is followed to the trail's home region, and is complete but for the trail.
    (e,) = alarms
    assert e["trail_name"] == "management-events" and e["trail_is_multi_region"] is False
    assert e["pattern_is_cis_root_usage"] is True
    assert e["alarms"][0]["confirmed_subscriptions"] == 1
    assert e["chain_complete"] is False
    rules = {r.id: r for r in load_rules()}
    account = hand_org(sim).account(EU)

    def verdict(rule: str, facts: dict[str, Any]) -> Status:
        (f,) = evaluate_account([rules[rule]], facts, account, datetime.now(UTC))
        return f.status

    assert verdict("root-usage-monitoring", {"monitoring.root_usage_alarms": alarms}) \
        is Status.FAIL
    # Only the organization trail (multi-region) covers the account; without it the two
    # logging single-region trails cover nothing.
    assert verdict("cloudtrail-multi-region-logging", {"cloudtrail.trails": trails}) \
        is Status.PASS
    own = [t for t in trails if not t["is_shadow"]]
    for rule in ("cloudtrail-multi-region-logging", "cloudtrail-cloudwatch-logs"):
        assert verdict(rule, {"cloudtrail.trails": own}) is Status.FAIL, rule


async def test_shadow_trail_status_failure_is_recorded_on_the_trail(sim: SimServer) -> None:
    # SEC has no trail of its own, only the organization trail's shadow.
    sim.set_faults({"rules": [{"kind": "access_denied", "service": "cloudtrail",
                               "action": "GetTrailStatus", "account": SEC}]})
    async with scanning(sim, SEC) as scan:
        trails = by_name(await scan.ok("cloudtrail.trails"))
    org = trails["org-trail"]
    assert org["status_error"] == "AccessDenied"
    assert org["is_logging"] is None and org["management_events"] is None
    assert org["is_multi_region"] is True  # from DescribeTrails, still known


async def test_own_trail_status_failure_fails_the_fact(sim: SimServer) -> None:
    sim.set_faults({"rules": [{"kind": "access_denied", "service": "cloudtrail",
                               "action": "GetEventSelectors", "account": HW}]})
    async with scanning(sim, HW) as scan:
        value = await scan.get("cloudtrail.trails")
        alarms = await scan.get("monitoring.root_usage_alarms")
    assert isinstance(value, FactError) and value.code == "AccessDenied"
    assert isinstance(alarms, FactError) and alarms.code == "AccessDenied"


ENTRY_KEYS = {
    "trail_name", "trail_is_multi_region", "trail_is_logging", "log_group", "filter_name",
    "filter_pattern", "pattern_is_cis_root_usage", "metric_namespace", "metric_name", "alarms",
    "chain_complete",
}


async def test_complete_chain(sim: SimServer) -> None:
    async with scanning(sim, APP) as scan:
        entries = await scan.ok("monitoring.root_usage_alarms")
    # Only the account's own trail: the organization trail's log group is the management
    # account's and does not monitor this account.
    assert [e["trail_name"] for e in entries] == ["management-events"]
    (e,) = entries
    assert set(e) == ENTRY_KEYS
    assert e["log_group"] == "CloudTrail/DefaultLogGroup"
    assert e["pattern_is_cis_root_usage"] is True
    assert (e["metric_namespace"], e["metric_name"]) == ("CISBenchmark", "RootAccountUsageCount")
    (alarm,) = e["alarms"]
    assert alarm["alarm_name"] == "root-account-usage"
    assert alarm["actions_enabled"] is True
    assert [t.split(":")[4] for t in alarm["sns_topic_arns"]] == [APP]
    assert alarm["subscriptions"] == 1 and alarm["confirmed_subscriptions"] == 1
    assert e["chain_complete"] is True


async def test_wrong_case_pattern_breaks_the_chain(sim: SimServer) -> None:
    async with scanning(sim, HW) as scan:
        (e,) = await scan.ok("monitoring.root_usage_alarms")
    assert '"root"' in e["filter_pattern"]
    assert e["pattern_is_cis_root_usage"] is False
    assert e["alarms"] and e["chain_complete"] is False


async def test_pending_subscription_counts_but_is_not_confirmed(sim: SimServer) -> None:
    async with scanning(sim, PEND) as scan:
        (e,) = await scan.ok("monitoring.root_usage_alarms")
    (alarm,) = e["alarms"]
    assert alarm["subscriptions"] == 1 and alarm["confirmed_subscriptions"] == 0
    # A pending subscription notifies nobody: CIS's audit asks for a real SubscriptionArn.
    assert e["chain_complete"] is False


async def test_no_chain_when_only_the_org_trail_has_a_log_group(sim: SimServer) -> None:
    async with scanning(sim, SEC) as scan:
        assert await scan.ok("monitoring.root_usage_alarms") == []
    async with scanning(sim, MGMT) as scan:
        # The management account's own org trail has a log group, but no filter on it.
        assert await scan.ok("monitoring.root_usage_alarms") == []


async def test_cross_account_topic_is_unknown_not_zero(sim: SimServer) -> None:
    logs = boto(sim, TOOLS, "logs")
    logs.create_log_group(logGroupName="tools-trail")
    boto(sim, TOOLS, "s3").create_bucket(Bucket="tools-cw-trail")
    boto(sim, TOOLS, "cloudtrail").create_trail(
        Name="tools-cw", S3BucketName="tools-cw-trail", IsMultiRegionTrail=True,
        CloudWatchLogsLogGroupArn=f"arn:aws:logs:us-east-1:{TOOLS}:log-group:tools-trail:*",
        CloudWatchLogsRoleArn=f"arn:aws:iam::{TOOLS}:role/ct")
    boto(sim, TOOLS, "cloudtrail").start_logging(Name="tools-cw")
    logs.put_metric_filter(
        logGroupName="tools-trail", filterName="root",
        filterPattern='{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
                      '&& $.eventType != "AwsServiceEvent" }',
        metricTransformations=[{"metricName": "Root", "metricNamespace": "Tools",
                                "metricValue": "1"}])
    # A topic in another account whose policy does not let this account list it.
    gone = "arn:aws:sns:us-east-1:999999999999:central-alerts"
    boto(sim, TOOLS, "cloudwatch").put_metric_alarm(
        AlarmName="root-to-nowhere", MetricName="Root", Namespace="Tools", Statistic="Sum",
        Period=300, EvaluationPeriods=1, Threshold=1.0,
        ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[gone])
    sim.set_faults({"rules": [{"kind": "access_denied", "service": "sns",
                               "action": "ListSubscriptionsByTopic", "account": TOOLS}]})
    async with scanning(sim, TOOLS) as scan:
        entries = {e["trail_name"]: e for e in await scan.ok("monitoring.root_usage_alarms")}
    e = entries["tools-cw"]
    assert e["pattern_is_cis_root_usage"] is True
    (alarm,) = e["alarms"]
    assert alarm["sns_topic_arns"] == [gone]
    assert alarm["subscriptions"] is None  # the topic could not be read: unknown
    assert e["chain_complete"] is None


async def _member_with_org_store(sim: SimServer, member: str) -> tuple[Any, Any, Any]:
    """The organization store (as the management account) and one member's store whose parent
    it is, as the orchestrator builds them: (organization_trails, member's trails, calls)."""
    org = hand_org(sim)
    async with Aws(AwsSettings(endpoint_url=sim.endpoint, max_attempts=2)) as aws:
        base = await aws.base_scope()
        assert base.account_id == MGMT

        def ctx(fs: FactStore, account_id: str) -> CollectContext:
            return CollectContext(
                aws=aws, org=org, account=None if account_id == MGMT else org.account(account_id),
                account_id=account_id, regions=("us-east-1", "eu-west-1"), now=datetime.now(UTC),
                options=collector_options({}), facts=fs)

        org_store = FactStore(COLLECTORS, make_context=lambda fs: ctx(fs, MGMT), scope=base)
        shared = await org_store.get("cloudtrail.organization_trails")
        scope = await aws.assume(base, member)
        with account_scope(scope):
            store = FactStore(COLLECTORS, make_context=lambda fs: ctx(fs, member),
                              scope=scope, parent=org_store)
            trails = await store.get("cloudtrail.trails")
        return shared, trails, aws.stats.calls_for(member)


async def test_org_trail_status_is_read_once_for_the_organization(sim: SimServer) -> None:
    async with scanning(sim, APP) as scan:  # each member reading everything itself
        alone = by_name(await scan.ok("cloudtrail.trails"))
        alone_calls = scan.calls(APP)
    shared, trails, calls = await _member_with_org_store(sim, APP)
    (org_trail,) = shared
    assert org_trail["arn"].split(":")[4] == MGMT and org_trail["name"] == "org-trail"
    assert org_trail["is_logging"] is True and org_trail["management_events"] is True
    # The same fact, status and selectors of the org trail taken from the organization's read.
    assert by_name(trails) == alone
    own = sum(not t["is_shadow"] for t in trails)
    assert calls["cloudtrail:GetTrailStatus"] == own == alone_calls["cloudtrail:GetTrailStatus"] - 1
    assert calls["cloudtrail:GetEventSelectors"] == own


async def test_member_reads_the_org_trail_itself_when_the_organization_cannot(
        sim: SimServer) -> None:
    sim.set_faults({"rules": [{"kind": "access_denied", "service": "cloudtrail",
                               "action": "GetTrailStatus", "account": MGMT}]})
    shared, trails, calls = await _member_with_org_store(sim, APP)
    assert shared == []
    org = by_name(trails)["org-trail"]
    assert org["is_logging"] is True and org["status_error"] is None
    assert calls["cloudtrail:GetTrailStatus"] == len(trails)


async def test_organization_trails_are_only_the_management_accounts(sim: SimServer) -> None:
    async with scanning(sim, APP, scope="organization") as scan:
        assert await scan.ok("cloudtrail.organization_trails") == []
        assert scan.calls(APP) == {}


def test_trail_permissions_cover_the_organization_read() -> None:

    acts = actions({"cloudtrail.trails"}, collector_options({}), all_regions=False)
    for a in ("cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors",
              "cloudtrail:ListTrails", "cloudtrail:DescribeTrails"):
        assert a in acts["member"] and a in acts["management"]

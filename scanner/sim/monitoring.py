"""Per-account CIS root-usage monitoring chains and alternate contacts, seeded in-process.

Chain: multi-region trail -> CloudWatch Logs group -> metric filter -> alarm -> SNS topic ->
subscription. ``monitoring.chain`` picks the whole chain or a deliberately broken variant.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from moto.account.models import account_backends
from moto.cloudtrail.models import cloudtrail_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.logs.models import logs_backends
from moto.s3.models import s3_backends
from moto.sns.models import sns_backends

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.request import SimRequest
from scanner.sim.scenario import ScenarioError
from scanner.sim.state import SimState

CIS_PATTERN = (
    '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS '
    '&& $.eventType != "AwsServiceEvent" }'
)
WRONG_PATTERNS = {
    "wrong_case": CIS_PATTERN.replace('"Root"', '"root"'),
    "missing_clause": '{ $.userIdentity.type = "Root" && $.eventType != "AwsServiceEvent" }',
}
CHAINS = (
    "complete", "wrong_case", "missing_clause", "no_alarm", "no_subscription",
    "pending_subscription", "trail_not_logging", "single_region_trail",
)
REGION = "us-east-1"
GROUP = "CloudTrail/DefaultLogGroup"
NAMESPACE = "CISBenchmark"
METRIC = "RootAccountUsageCount"


def seed_chain(acct: str, spec: dict[str, Any]) -> None:
    chain = spec.get("chain", "complete")
    if chain not in CHAINS:
        raise ScenarioError(f"account {acct}: monitoring.chain must be one of {CHAINS}")
    # The whole chain lives in the trail's home region (a log group, its filters and their
    # alarms are regional).
    region = str(spec.get("region", REGION))
    bucket = f"aws-cloudtrail-logs-{acct}-local"
    s3_backends[acct]["aws"].create_bucket(bucket, region)
    logs: Any = logs_backends[acct][region]  # moto's annotations are narrower than its code
    logs.create_log_group(GROUP, {})
    ct: Any = cloudtrail_backends[acct][region]
    trail = ct.create_trail(
        spec.get("trail_name", "management-events"), bucket, None, None, True,
        chain != "single_region_trail", True, False,
        f"arn:aws:logs:{region}:{acct}:log-group:{GROUP}:*",
        f"arn:aws:iam::{acct}:role/CloudTrail_CloudWatchLogs_Role", None, [],
    )
    trail.put_event_selectors(
        [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": []}], []
    )
    if chain != "trail_not_logging":
        trail.start_logging()
    pattern = spec.get("pattern") or WRONG_PATTERNS.get(chain, CIS_PATTERN)
    logs.put_metric_filter(
        "RootAccountUsage", pattern, GROUP,
        [{"metricName": METRIC, "metricNamespace": NAMESPACE, "metricValue": "1"}],
    )
    if chain == "no_alarm":
        return
    sns = sns_backends[acct][region]
    topic = sns.create_topic("security-alerts")
    cloudwatch_backends[acct][region].put_metric_alarm(
        name="root-account-usage", namespace=NAMESPACE, metric_name=METRIC,
        comparison_operator="GreaterThanOrEqualToThreshold", evaluation_periods=1, period=300,
        threshold=1.0, statistic="Sum", description="CIS root account usage",
        dimensions=[], alarm_actions=[topic.arn],
    )
    if chain == "no_subscription":
        return
    sub = sns.subscribe(topic.arn, spec.get("email", f"security+{acct}@example.com"), "email")
    # moto never confirms; a confirmed subscription is what a working chain has.
    sub.confirmed = chain != "pending_subscription"


def list_subscriptions_by_topic(req: SimRequest) -> Reply:
    """As AWS: an unconfirmed subscription's ARN reads ``PendingConfirmation``."""
    sns = sns_backends[req.account][req.region]
    topic_arn = req.param("TopicArn") or ""
    members = []
    for sub in list(sns.subscriptions.values()):
        if sub.topic_arn != topic_arn:
            continue
        arn = sub.arn if sub.confirmed or sub.protocol not in ("email", "email-json", "http",
                                                                 "https") else "PendingConfirmation"
        members.append(
            f"<member><TopicArn>{escape(topic_arn)}</TopicArn><Protocol>{sub.protocol}</Protocol>"
            f"<SubscriptionArn>{escape(arn)}</SubscriptionArn><Owner>{sub.owner}</Owner>"
            f"<Endpoint>{escape(sub.endpoint)}</Endpoint></member>"
        )
    body = f"<Subscriptions>{''.join(members)}</Subscriptions>"
    return awserrors.query_ok("sns", "ListSubscriptionsByTopic", body)


def install(state: SimState) -> None:
    for acct in state.scenario["accounts"]:
        mon = acct.get("monitoring")
        if mon:
            seed_chain(acct["id"], dict(mon))
        for kind, c in (acct.get("alternate_contacts") or {}).items():
            account_backends[acct["id"]]["aws"].put_alternate_contact(
                alternate_contact_type=str(kind).upper(),
                email_address=c.get("email", ""), name=c.get("name", ""),
                phone_number=c.get("phone", "+1-555-0100"), title=c.get("title", ""),
            )
    state.handlers[("sns", "ListSubscriptionsByTopic")] = list_subscriptions_by_topic

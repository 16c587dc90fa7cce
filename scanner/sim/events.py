"""Turn the scenario's small event vocabulary into full CloudTrail records.

Every record is deterministic (event ids derive from the scenario seed), so ground truth, the
LookupEvents answers and the organization trail's log files all hold the same events.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.sim.regions import enabled_regions
from scanner.sim.scenario import Scenario, ScenarioError, duration, when

KINDS = (
    "console_login",
    "console_login_failure",
    "password_recovery",
    "api_call",
    "invoked_by_service",
    "service_event",
    "create_access_key",
    "assume_root",
)
GLOBAL_REGION = "us-east-1"  # IAM, STS (global endpoint) and sign-in events land here
CONSOLE_UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
CLI_UA = "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0 exe/x86_64.ubuntu.22 prompt/off"
Record = dict[str, Any]


@dataclass(frozen=True)
class Expanded:
    """One scenario event made concrete: its records, per account that logs them."""

    kind: str
    account_id: str
    at: datetime
    records: tuple[tuple[str, Record], ...]  # (account whose trail logs it, record)
    spec: dict[str, Any]


def ct_time(d: datetime) -> str:
    return d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _uuid(*parts: object) -> str:
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def _key(prefix: str, *parts: object) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return prefix + "".join(alphabet[b % 32] for b in digest[:16])


def _root_identity(acct: str, access_key: str = "") -> dict[str, Any]:
    return {
        "type": "Root",
        "principalId": acct,
        "arn": f"arn:aws:iam::{acct}:root",
        "accountId": acct,
        "accessKeyId": access_key,
    }


def _base(acct: str, at: datetime, name: str, source: str, region: str, eid: str) -> Record:
    return {
        "eventVersion": "1.09",
        "userIdentity": {},
        "eventTime": ct_time(at),
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "203.0.113.10",
        "userAgent": CLI_UA,
        "requestParameters": None,
        "responseElements": None,
        "requestID": _uuid("req", eid),
        "eventID": eid,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": acct,
        "eventCategory": "Management",
    }


def _signin(acct: str, at: datetime, spec: dict[str, Any], eid: str, ok: bool) -> Record:
    rec = _base(acct, at, "ConsoleLogin", "signin.amazonaws.com", GLOBAL_REGION, eid)
    rec["userIdentity"] = _root_identity(acct)
    rec["eventType"] = "AwsConsoleSignIn"
    rec["userAgent"] = spec.get("user_agent", CONSOLE_UA)
    rec["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
    rec["additionalEventData"] = {
        "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
        "MobileVersion": "No",
        "MFAUsed": "Yes" if ok and spec.get("mfa", False) else "No",
    }
    if not ok:
        rec["errorMessage"] = "Failed authentication"
    return rec


def _api(acct: str, at: datetime, spec: dict[str, Any], eid: str) -> Record:
    name = spec.get("event_name", "ListBuckets")
    source = spec.get("event_source", "s3.amazonaws.com")
    region = spec.get("region", GLOBAL_REGION)
    rec = _base(acct, at, name, source, region, eid)
    key = spec.get("access_key_id")
    if key:  # signed with a long-term root key: no console session context
        rec["userIdentity"] = _root_identity(acct, key)
        rec["userAgent"] = spec.get("user_agent", CLI_UA)
    else:  # a console session: temporary ASIA key, session context, console user agent
        rec["userIdentity"] = _root_identity(acct, _key("ASIA", "session", eid))
        rec["userIdentity"]["sessionContext"] = {
            "attributes": {
                "creationDate": ct_time(at - timedelta(minutes=5)),
                "mfaAuthenticated": "true" if spec.get("mfa") else "false",
            }
        }
        rec["userAgent"] = spec.get("user_agent", "AWS Internal")
        rec["sessionCredentialFromConsole"] = "true"
    rec["readOnly"] = bool(spec.get("read_only", name.startswith(("List", "Get", "Describe"))))
    if spec.get("error_code"):
        rec["errorCode"] = spec["error_code"]
        rec["errorMessage"] = spec.get(
            "error_message",
            f"User: arn:aws:iam::{acct}:root is not authorized to perform: "
            f"{source.split('.')[0]}:{name} with an explicit deny in a service control policy",
        )
    rec["requestParameters"] = spec.get("request_parameters")
    return rec


def expand_event(acct: str, mgmt: str, spec: dict[str, Any], now: datetime, idx: int,
                 seed: int) -> list[Expanded]:
    """One scenario event entry (honouring ``repeat``/``every``) -> concrete records."""
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ScenarioError(f"account {acct}: event kind must be one of {KINDS}, got {kind!r}")
    first = when(spec.get("at", "-1d"), now)
    assert first is not None
    step = duration(spec.get("every", "1d"))
    out = []
    for n in range(int(spec.get("repeat", 1))):
        at = first - step * n
        eid = _uuid(seed, acct, idx, n)
        records = _records(kind, acct, mgmt, spec, at, eid)
        if spec.get("source_ip"):
            for logged_in, rec in records:
                if logged_in == acct and kind not in ("invoked_by_service", "service_event"):
                    rec["sourceIPAddress"] = spec["source_ip"]
        out.append(Expanded(kind, acct, at, records, spec))
    return out


def _records(kind: str, acct: str, mgmt: str, spec: dict[str, Any], at: datetime,
             eid: str) -> tuple[tuple[str, Record], ...]:
    if kind == "console_login":
        return ((acct, _signin(acct, at, spec, eid, True)),)
    if kind == "console_login_failure":
        return ((acct, _signin(acct, at, spec, eid, False)),)
    if kind == "password_recovery":
        rec = _base(acct, at, "PasswordRecoveryRequested", "signin.amazonaws.com",
                    GLOBAL_REGION, eid)
        rec["userIdentity"] = _root_identity(acct)
        rec["eventType"] = "AwsConsoleSignIn"
        rec["userAgent"] = CONSOLE_UA
        rec["responseElements"] = {"PasswordRecoveryRequested": "Success"}
        rec["additionalEventData"] = {"MobileVersion": "No"}
        return ((acct, rec),)
    if kind == "api_call":
        return ((acct, _api(acct, at, spec, eid)),)
    if kind == "invoked_by_service":
        rec = _api(acct, at, {"event_name": "DescribeTrustedAdvisorChecks",
                              "event_source": "support.amazonaws.com", "read_only": True} | spec,
                   eid)
        invoker = spec.get("invoked_by", "support.amazonaws.com")
        rec["userIdentity"]["invokedBy"] = invoker
        rec["sourceIPAddress"] = invoker
        rec["userAgent"] = invoker
        return ((acct, rec),)
    if kind == "service_event":
        rec = _base(acct, at, spec.get("event_name", "CredentialChallenge"),
                    spec.get("event_source", "signin.amazonaws.com"), GLOBAL_REGION, eid)
        rec["userIdentity"] = _root_identity(acct)
        rec["eventType"] = "AwsServiceEvent"
        rec["sourceIPAddress"] = "AWS Internal"
        rec["userAgent"] = "AWS Internal"
        rec["serviceEventDetails"] = spec.get("details", {"CredentialChallenge": "Success"})
        return ((acct, rec),)
    if kind == "create_access_key":
        key = spec.get("new_access_key_id", _key("AKIA", "new", eid))
        rec = _api(acct, at, {"event_name": "CreateAccessKey",
                              "event_source": "iam.amazonaws.com", "read_only": False} | spec, eid)
        rec["requestParameters"] = {}  # no userName: the key is the root user's own
        rec["responseElements"] = {"accessKey": {
            "accessKeyId": key, "status": "Active", "userName": acct,
            "createDate": at.astimezone(UTC).strftime("%b %d, %Y, %I:%M:%S %p")}}
        return ((acct, rec),)
    # assume_root: a privileged session issued in the management account, used in the member.
    task = spec.get("task_policy", "IAMDeleteRootUserCredentials")
    session_key = _key("ASIA", "assumeroot", eid)
    issue = _base(mgmt, at - timedelta(seconds=20), "AssumeRoot", "sts.amazonaws.com",
                  spec.get("region", GLOBAL_REGION), _uuid("issue", eid))
    issuer_role = spec.get("issuer_role", "AWSReservedSSO_RootAccessAdmin_0a1b2c3d4e5f6789")
    issue["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": f"AROA{_key('', 'principal', mgmt)[:17]}:admin@example.com",
        "arn": f"arn:aws:sts::{mgmt}:assumed-role/{issuer_role}/admin@example.com",
        "accountId": mgmt,
        "accessKeyId": _key("ASIA", "issuer", eid),
    }
    issue["requestParameters"] = {
        "targetPrincipal": acct,
        "taskPolicyArn": {"arn": f"arn:aws:iam::aws:policy/root-task/{task}"},
        "durationSeconds": 900,
    }
    issue["responseElements"] = {"credentials": {"accessKeyId": session_key,
                                                 "sessionToken": "<redacted>",
                                                 "expiration": ct_time(at + timedelta(minutes=15))}}
    issue["resources"] = [{"accountId": acct, "type": "AWS::IAM::Root",
                           "ARN": f"arn:aws:iam::{acct}:root"}]
    issue["sharedEventID"] = _uuid("shared", eid)
    action = spec.get("action", "DeleteLoginProfile")
    use = _base(acct, at, action, "iam.amazonaws.com", GLOBAL_REGION, eid)
    use["userIdentity"] = {
        "type": "AssumedRole",
        "principalId": acct,
        "arn": f"arn:aws:sts::{acct}:assumed-root/{session_key}",
        "accountId": acct,
        "accessKeyId": session_key,
        "sessionContext": {
            "attributes": {"creationDate": ct_time(at - timedelta(seconds=20)),
                           "mfaAuthenticated": "false"},
            "assumedRoot": "true",
        },
    }
    use["requestParameters"] = {}  # no userName: acts on the member's root user itself
    use["userAgent"] = CLI_UA
    return ((mgmt, issue), (acct, use))


_BACKGROUND = (
    ("DescribeInstances", "ec2.amazonaws.com", True),
    ("GetObject", "s3.amazonaws.com", True),
    ("ListBuckets", "s3.amazonaws.com", True),
    ("PutObject", "s3.amazonaws.com", False),
    ("AssumeRole", "sts.amazonaws.com", False),
    ("GetCallerIdentity", "sts.amazonaws.com", True),
    ("DescribeLogGroups", "logs.amazonaws.com", True),
    ("CreateTags", "ec2.amazonaws.com", False),
    ("GetParameter", "ssm.amazonaws.com", True),
    ("Decrypt", "kms.amazonaws.com", True),
)


def background(account: dict[str, Any], scenario: Scenario, now: datetime) -> list[Record]:
    """Realistic non-root traffic (IAM users, assumed roles) so root events are needles, in the
    scenario's regions that ``account`` has enabled."""
    bg = scenario["background"]
    per_day, days = int(bg.get("events_per_day", 2)), int(bg.get("days", 7))
    enabled = enabled_regions(account)
    regions = [r for r in scenario["regions"] if r in enabled] or [GLOBAL_REGION]
    acct = str(account["id"])
    rng = random.Random(f"{scenario['seed']}:{acct}:background")
    out = []
    for i in range(per_day * days):
        at = now - timedelta(seconds=rng.randint(60, days * 86400))
        name, source, ro = _BACKGROUND[rng.randrange(len(_BACKGROUND))]
        region = GLOBAL_REGION if source == "sts.amazonaws.com" else rng.choice(regions)
        eid = _uuid(scenario["seed"], acct, "bg", i)
        rec = _base(acct, at, name, source, region, eid)
        rec["readOnly"] = ro
        rec["sourceIPAddress"] = "10." + ".".join(str(rng.randint(1, 254)) for _ in range(3))
        if rng.random() < 0.3:
            user = rng.choice(["ci-deployer", "backup-agent", "alice", "bob"])
            rec["userIdentity"] = {
                "type": "IAMUser",
                "principalId": _key("AIDA", acct, user)[:21],
                "arn": f"arn:aws:iam::{acct}:user/{user}",
                "accountId": acct,
                "accessKeyId": _key("AKIA", acct, user),
                "userName": user,
            }
        else:
            role = rng.choice(["OrganizationAccountAccessRole", "app-task-role", "lambda-exec"])
            rec["userIdentity"] = {
                "type": "AssumedRole",
                "principalId": f"{_key('AROA', acct, role)[:21]}:session-{i}",
                "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/session-{i}",
                "accountId": acct,
                "accessKeyId": _key("ASIA", acct, "bg", i),
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "principalId": _key("AROA", acct, role)[:21],
                        "arn": f"arn:aws:iam::{acct}:role/{role}",
                        "accountId": acct,
                        "userName": role,
                    },
                    "attributes": {"creationDate": ct_time(at - timedelta(minutes=10)),
                                   "mfaAuthenticated": "false"},
                },
            }
        out.append(rec)
    return out


def scenario_events(scenario: Scenario, now: datetime) -> list[Expanded]:
    """Every scenario-declared event of every account, expanded."""
    mgmt = scenario["organization"]["management_account_id"]
    out: list[Expanded] = []
    for acct in scenario["accounts"]:
        for idx, spec in enumerate(acct["events"]):
            out.extend(expand_event(acct["id"], mgmt, spec, now, idx, scenario["seed"]))
    return out


def records_by_account(scenario: Scenario, now: datetime) -> dict[str, list[Record]]:
    """All records each account's trail would log (scenario events + background), newest first."""
    by: dict[str, list[Record]] = {a["id"]: background(a, scenario, now)
                                   for a in scenario["accounts"]}
    for ex in scenario_events(scenario, now):
        for logged_in, rec in ex.records:
            by.setdefault(logged_in, []).append(rec)
    for recs in by.values():
        recs.sort(key=lambda r: (r["eventTime"], r["eventID"]), reverse=True)
    return by


def to_json(rec: Record) -> str:
    return json.dumps(rec, separators=(",", ":"))

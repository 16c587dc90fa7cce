"""Realistic CloudTrail records for the root-usage tests (shapes from AWS's documentation)."""

from __future__ import annotations

import copy
from typing import Any

ACCT = "111122223333"
MGMT = "999988887777"

# The article's example: a root console sign-in without MFA.
ARTICLE_CONSOLE_LOGIN: dict[str, Any] = {
    "eventVersion": "1.05",
    "userIdentity": {
        "type": "Root",
        "principalId": "AIDACKCEVSQ6C2EXAMPLE",
        "arn": "arn:aws:iam::111122223333:root",
        "accountId": "111122223333",
        "accessKeyId": "",
    },
    "eventTime": "2018-08-29T16:24:34Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "192.0.2.0",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:62.0) Gecko/20100101 "
                 "Firefox/62.0",
    "requestParameters": None,
    "responseElements": {"ConsoleLogin": "Success"},
    "additionalEventData": {
        "LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true",
        "MobileVersion": "No",
        "MFAUsed": "No",
    },
    "eventID": "deb1e1f9-c99b-4612-8e9f-21f93b5d79c0",
    "eventType": "AwsConsoleSignIn",
    "recipientAccountId": "111122223333",
}


def ev(event_id: str, time: str = "2026-01-10T10:00:00Z", **over: Any) -> dict[str, Any]:
    """A root AwsApiCall (S3 ListBuckets with a console session key) with overrides."""
    rec: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root",
                         "accountId": ACCT, "accessKeyId": "ASIAEXAMPLESESSION01"},
        "eventTime": time,
        "eventSource": "s3.amazonaws.com",
        "eventName": "ListBuckets",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.15.30",
        "requestParameters": None,
        "responseElements": None,
        "eventID": event_id,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": ACCT,
    }
    for k, v in over.items():
        if k == "identity":
            rec["userIdentity"].update(v)
        else:
            rec[k] = v
    return rec


def login(event_id: str, time: str, *, ok: bool = True, mfa: bool = False,
          ip: str = "203.0.113.10") -> dict[str, Any]:
    rec = copy.deepcopy(ARTICLE_CONSOLE_LOGIN)
    rec.update(eventID=event_id, eventTime=time, sourceIPAddress=ip, recipientAccountId=ACCT)
    rec["userIdentity"]["accountId"] = ACCT
    rec["responseElements"] = {"ConsoleLogin": "Success" if ok else "Failure"}
    rec["additionalEventData"]["MFAUsed"] = "Yes" if mfa else "No"
    if not ok:
        rec["errorMessage"] = "Failed authentication"
    return rec


def assume_root_issue(event_id: str, time: str, session_key: str) -> dict[str, Any]:
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "arn": f"arn:aws:sts::{MGMT}:assumed-role/A/b",
                         "accountId": MGMT, "accessKeyId": "ASIAISSUER0000000001",
                         "sessionContext": {"attributes": {"mfaAuthenticated": "false"}}},
        "eventTime": time, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoot",
        "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1", "userAgent": "aws-cli/2",
        "requestParameters": {"targetPrincipal": ACCT,
                              "taskPolicyArn": {"arn": "arn:aws:iam::aws:policy/root-task/"
                                                       "S3UnlockBucketPolicy"}},
        "responseElements": {"credentials": {"accessKeyId": session_key}},
        "eventID": event_id, "readOnly": True, "eventType": "AwsApiCall",
        "recipientAccountId": MGMT,
    }


def assume_root_use(event_id: str, time: str, session_key: str, *,
                    identity_type: str = "Root") -> dict[str, Any]:
    return ev(event_id, time, eventSource="s3.amazonaws.com", eventName="DeleteBucketPolicy",
              readOnly=False,
              identity={"type": identity_type, "accessKeyId": session_key,
                        "sessionContext": {"attributes": {"mfaAuthenticated": "false"},
                                           "assumedRoot": "true"}})


ASSUME_ROOT_SESSION_KEY = "ASIAQX7EXAMPLE5SESS1"


def documented_assume_root(when: str = "2026-02-12T09:30:00Z") -> dict[str, Any]:
    """The AssumeRoot record as AWS's example lays it out: no eventID, no eventType, no
    recipientAccountId; the caller's own session context carries assumedRoot."""
    return {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLEISSUER0001:ops-admin",
            "arn": f"arn:aws:sts::{MGMT}:assumed-role/RootOps/ops-admin",
            "accountId": MGMT,
            "accessKeyId": "ASIAEXAMPLEISSUER001",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEISSUER0001",
                                  "arn": f"arn:aws:iam::{MGMT}:role/RootOps",
                                  "accountId": MGMT, "userName": "RootOps"},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-02-12T09:20:00Z",
                               "mfaAuthenticated": "false"},
                "assumedRoot": "true",
            },
        },
        "eventTime": when,
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRoot",
        "awsRegion": "eu-west-1",
        "sourceIPAddress": "192.0.2.44",
        "requestParameters": {
            "targetPrincipal": ACCT,
            "taskPolicyArn": {
                "arn": "arn:aws:iam::aws:policy/root-task/IAMAuditRootUserCredentials"},
        },
        "responseElements": {"credentials": {"accessKeyId": ASSUME_ROOT_SESSION_KEY,
                                             "sessionToken": "<token>",
                                             "expiration": "Feb 12, 2026, 9:45:00 AM"}},
    }

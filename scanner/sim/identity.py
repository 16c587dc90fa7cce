"""Who a request's access key belongs to, as an ARN (for AWS-style error messages)."""

from __future__ import annotations

from moto.iam.models import iam_backends
from moto.sts.models import sts_backends


def caller_arn(access_key: str, account: str) -> str:
    iam = iam_backends[account]["aws"]
    key = iam.access_keys.get(access_key)
    if key is not None and getattr(key, "user_name", None):
        return f"arn:aws:iam::{account}:user/{key.user_name}"
    assumed = sts_backends[account]["aws"].get_assumed_role_from_access_key(access_key)
    if assumed is not None:
        return str(assumed.arn)
    return f"arn:aws:iam::{account}:root"

"""What the middleware knows about one request: service, region, action, calling account."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.iam import models as iam_models

# moto answers unknown keys with its default account.
DEFAULT_ACCOUNT_ID = "123456789012"

# access key -> (account, partition) whose IAM backend holds it. moto finds a key's account by
# walking every account's IAM backends in every partition (creating the missing ones on the
# way), on each request: at 2,000 accounts that walk was most of the simulator's CPU, so its
# cost per request grew with the organization, which AWS's does not.
_key_index: dict[str, tuple[str, str]] = {}
_key_lock = threading.Lock()


def _holds(account: str, partition: str, access_key: str) -> bool:
    # dict.get: looking must not create backends (moto's __getitem__ does).
    per_account = dict.get(iam_models.iam_backends, account)
    backend = dict.get(per_account, partition) if per_account is not None else None
    return backend is not None and access_key in backend.access_keys


def _walk(access_key: str) -> tuple[str, str] | None:
    """moto's own search, over the backends that exist (a key lives only in one of them)."""
    for account in list(dict.keys(iam_models.iam_backends)):
        for partition in iam_models.PARTITION_NAMES:  # type: ignore[attr-defined]
            if _holds(account, partition, access_key):
                return account, partition
    return None


def account_for_key(access_key: str) -> str:
    """The account an access key belongs to, as moto decides it: indexed, and checked against
    moto's backends on every use (a deleted key falls back to the default account)."""
    if not access_key:
        return DEFAULT_ACCOUNT_ID
    with _key_lock:
        hit = _key_index.get(access_key)
    if hit is not None and _holds(*hit, access_key):
        return hit[0]
    found = _walk(access_key)
    if found is None:
        return DEFAULT_ACCOUNT_ID
    with _key_lock:
        _key_index[access_key] = found
    return found[0]


def remember_key(access_key: str, account: str) -> None:
    """Index a key just issued in ``account`` (AssumeRole's answer), so its first use does not
    walk every account either."""
    for partition in iam_models.PARTITION_NAMES:  # type: ignore[attr-defined]
        if _holds(account, partition, access_key):
            with _key_lock:
                _key_index[access_key] = (account, partition)
            return


def install() -> None:
    """moto's request handling looks the caller's account up the same way: use the index."""
    iam_models.get_account_id_from = account_for_key


@dataclass
class SimRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    service: str
    region: str
    access_key: str
    account: str
    action: str
    body: bytes
    form: dict[str, str] = field(default_factory=dict)
    json_body: dict[str, Any] = field(default_factory=dict)

    def param(self, name: str) -> str | None:
        """A query-protocol parameter (form body first, then the URL query)."""
        if name in self.form:
            return self.form[name]
        values = self.query.get(name)
        return values[0] if values else None


def _s3_action(method: str, path: str, query: dict[str, list[str]]) -> str:
    parts = [p for p in path.split("/") if p]
    if not parts:
        return "ListBuckets"
    has_key = len(parts) > 1
    if method == "GET":
        if has_key:
            return "GetObject"
        return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
    if method == "PUT":
        return "PutObject" if has_key else "CreateBucket"
    if method == "HEAD":
        return "HeadObject" if has_key else "HeadBucket"
    if method == "DELETE":
        return "DeleteObject" if has_key else "DeleteBucket"
    return method


def parse(environ: dict[str, Any]) -> SimRequest:
    """Read (and put back) the body, then work out who is calling what."""
    method = str(environ.get("REQUEST_METHOD", "GET"))
    path = str(environ.get("PATH_INFO", "/"))
    query = parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    service, region, access_key = "", "us-east-1", ""
    auth = str(environ.get("HTTP_AUTHORIZATION", ""))
    if "Credential=" in auth:
        scope = auth.split("Credential=", 1)[1].split(",", 1)[0]
        bits = scope.split("/")
        if len(bits) >= 5:
            access_key, region, service = bits[0], bits[2], bits[3].lower()
    elif "X-Amz-Credential" in query:  # presigned URL
        bits = query["X-Amz-Credential"][0].split("/")
        if len(bits) >= 5:
            access_key, region, service = bits[0], bits[2], bits[3].lower()

    body = b""
    # S3 bodies can be large and streamed; nothing the simulator answers needs them.
    if service != "s3":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length:
            body = environ["wsgi.input"].read(length)
            environ["wsgi.input"] = io.BytesIO(body)

    form: dict[str, str] = {}
    json_body: dict[str, Any] = {}
    ctype = str(environ.get("CONTENT_TYPE", ""))
    if body and ctype.startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
    elif body and "json" in ctype:
        try:
            loaded = json.loads(body)
            json_body = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            json_body = {}

    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    if target:
        action = target.rsplit(".", 1)[-1]
    elif "Action" in form:
        action = form["Action"]
    elif "Action" in query:
        action = query["Action"][0]
    elif service == "s3":
        action = _s3_action(method, path, query)
    else:
        # rest-json (e.g. account: POST /putAlternateContact)
        last = path.rstrip("/").rsplit("/", 1)[-1]
        action = last[:1].upper() + last[1:] if last else method
    return SimRequest(
        method=method,
        path=path,
        query=query,
        service=service,
        region=region,
        access_key=access_key,
        account=account_for_key(access_key),
        action=action,
        body=body,
        form=form,
        json_body=json_body,
    )

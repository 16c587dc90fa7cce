"""What the middleware knows about one request: service, region, action, calling account."""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from moto.iam.models import get_account_id_from

# moto answers unknown keys with its default account.
DEFAULT_ACCOUNT_ID = "123456789012"

_key_cache: dict[str, str] = {}
_key_lock = threading.Lock()


def account_for_key(access_key: str) -> str:
    """The account an access key belongs to, as moto decides it (cached: keys never move)."""
    if not access_key:
        return DEFAULT_ACCOUNT_ID
    with _key_lock:
        hit = _key_cache.get(access_key)
    if hit:
        return hit
    account = str(get_account_id_from(access_key))
    if account != DEFAULT_ACCOUNT_ID:
        with _key_lock:
            _key_cache[access_key] = account
    return account


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

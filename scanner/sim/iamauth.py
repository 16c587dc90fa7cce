"""IAM authorization and short-lived credentials in the simulator.

moto enforces IAM policies when ``INITIAL_NO_AUTH_ACTION_COUNT`` is 0 (``SimServer(...,
iam_auth=True)``), but not everywhere: moto 5.2.5 lets IAM and CloudWatch Logs calls through
whatever the policy says, never sees the actions the simulator's extensions answer, and names
actions by the SigV4 signing name (``monitoring:DescribeAlarmsForMetric``) where IAM policies
say ``cloudwatch:``. So the simulator runs moto's policy check itself, with IAM prefixes, on
every request of every service but S3 (whose resource-level check moto does make).

It also keeps the credentials AssumeRole issued (so tests can search outputs for them) and,
when the fault spec sets ``assume_role_expiration_s``, shortens their lifetime and refuses them
once expired.
"""

from __future__ import annotations

import dataclasses
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scanner.sim import awserrors
from scanner.sim.awserrors import Reply
from scanner.sim.request import SimRequest, remember_key

# Services whose requests the middleware authorizes (S3: moto, with resource ARNs).
CHECKED_HERE = frozenset({"iam", "sts", "organizations", "cloudtrail", "logs", "monitoring",
                          "sns", "account", "ec2", "athena", "glue"})

# SigV4 signing name -> IAM action prefix, where they differ.
SIGNING_TO_IAM = {"monitoring": "cloudwatch"}

# How each protocol names an expired session token.
_EXPIRED_CODE = {"json": "ExpiredTokenException", "rest-json": "ExpiredTokenException"}


def install_action_names() -> None:
    """Make moto's IAM check use IAM action prefixes (idempotent)."""
    from moto.iam.access_control import IAMRequestBase

    original = IAMRequestBase.__init__
    if getattr(original, "_orgscan_sim", False):
        return

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        service, _, op = str(self._action).partition(":")
        if service in SIGNING_TO_IAM:
            self._action = f"{SIGNING_TO_IAM[service]}:{op}"

    init._orgscan_sim = True  # type: ignore[attr-defined]
    IAMRequestBase.__init__ = init  # type: ignore[method-assign]


def _refusals() -> tuple[type[Exception], ...]:
    """What moto's IAM check raises to refuse a request: the key is unknown or its signature
    wrong, or the policies deny the action. Anything else it raises is a fault in the simulator
    and must not pass for a denial (a broken check would look like a correct NOT_ASSESSED)."""
    from moto.core.exceptions import (
        AccessDeniedError,
        AuthFailureError,
        InvalidClientTokenIdError,
        SignatureDoesNotMatchError,
    )

    return (AccessDeniedError, AuthFailureError, InvalidClientTokenIdError,
            SignatureDoesNotMatchError)


def authorize(req: SimRequest, environ: dict[str, Any]) -> Reply | None:
    """moto's policy check for an action the simulator answers itself; None when allowed.
    A refusal is the 403 AWS would send; any other failure propagates (the server answers 500
    and logs the traceback)."""
    from moto.iam.access_control import IAMRequest
    from werkzeug.datastructures import EnvironHeaders

    data = dict(req.form) or {k: v[0] for k, v in req.query.items()}
    # Case-insensitive, as moto's own server hands them over.
    headers: Any = EnvironHeaders(environ)
    try:
        check = IAMRequest(account_id=req.account, method=req.method, path=req.path, data=data,
                           body=req.body, headers=headers, action=req.action)
        # Resource-level: AssumeRole names its role; the reads orgscan makes act on "*".
        resource = (req.param("RoleArn") or "*") if req.action == "AssumeRole" else "*"
        check.check_action_permitted(resource)
    except _refusals() as exc:
        code = str(getattr(exc, "error_type", "") or "AccessDenied")
        message = str(getattr(exc, "message", "") or exc)
        return awserrors.error(req.service, 403, code, message)
    return None


@dataclass(frozen=True)
class Issued:
    account: str
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires: float | None  # epoch seconds when shortened by the fault spec, else None


_FIELD = {name: re.compile(rf"<{name}>(.*?)</{name}>".encode(), re.S)
          for name in ("AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration")}


class IssuedCredentials:
    """Every credential set AssumeRole handed out, by access key id (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_key: dict[str, Issued] = {}

    def capture(self, account: str, body: bytes, lifetime_s: float | None) -> bytes:
        """Record the credentials in an AssumeRole answer; shorten them if asked. Returns the
        (possibly rewritten) body."""
        found = {k: rx.search(body) for k, rx in _FIELD.items()}
        if not (found["AccessKeyId"] and found["SecretAccessKey"] and found["SessionToken"]):
            return body
        expires = None
        if lifetime_s is not None:
            expires = time.time() + lifetime_s
            stamp = datetime.fromtimestamp(expires, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            body = _FIELD["Expiration"].sub(f"<Expiration>{stamp}</Expiration>".encode(), body)
        issued = Issued(account, found["AccessKeyId"].group(1).decode(),
                        found["SecretAccessKey"].group(1).decode(),
                        found["SessionToken"].group(1).decode(), expires)
        with self._lock:
            self._by_key[issued.access_key_id] = issued
        remember_key(issued.access_key_id, account)
        return body

    def expired(self, access_key: str, signed_at: float | None = None) -> bool:
        """Whether the request was signed with these credentials after they expired.

        Judged at the signing time (X-Amz-Date, whole seconds) when known, else now: what
        matters is whether the client signed with expired credentials, not how long the
        request then spent in a busy event loop."""
        with self._lock:
            issued = self._by_key.get(access_key)
        if issued is None or issued.expires is None:
            return False
        return (time.time() if signed_at is None else signed_at) > issued.expires

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dataclasses.asdict(i) for i in self._by_key.values()]


def signed_at(environ: dict[str, Any]) -> float | None:
    """The request's SigV4 signing time (X-Amz-Date), epoch seconds."""
    stamp = str(environ.get("HTTP_X_AMZ_DATE", ""))
    try:
        return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def expired_reply(req: SimRequest) -> Reply:
    code = _EXPIRED_CODE.get(awserrors.PROTOCOL.get(req.service, "query"), "ExpiredToken")
    return awserrors.error(req.service, 400, code,
                           "The security token included in the request is expired")


def capture_response(app: Any, environ: dict[str, Any], start_response: Any,
                     rewrite: Any) -> Iterable[bytes]:
    """Run ``app`` buffered, pass the body through ``rewrite`` and fix Content-Length."""
    captured: dict[str, Any] = {}

    def keep(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured["status"], captured["headers"] = status, headers
        return lambda _data: None

    body = b"".join(app(environ, keep))
    status = str(captured.get("status", "500 Error"))
    if status.startswith("200"):
        body = rewrite(body)
    headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
    headers.append(("Content-Length", str(len(body))))
    start_response(status, headers)
    return [body]

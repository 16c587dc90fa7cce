"""orgscan's WSGI layer in front of moto: control endpoints, counters, faults, extensions."""

from __future__ import annotations

import json
import socket
import struct
import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from scanner.sim import authn, awserrors, iamauth
from scanner.sim.awserrors import Reply
from scanner.sim.faults import FaultSpec, FaultSpecError
from scanner.sim.mangle import strip_fields
from scanner.sim.request import SimRequest, parse
from scanner.sim.state import SimState

WSGIApp = Any
StartResponse = Any


def _send(reply: Reply, start_response: StartResponse) -> Iterable[bytes]:
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found"}.get(
        reply.status, "Error"
    )
    start_response(f"{reply.status} {reason}", reply.wsgi_headers())
    return [reply.body]


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's socket without an answer, like a reset connection.

    werkzeug treats ConnectionError from the app as a dropped client and stays quiet.
    """
    sock = environ.get("werkzeug.socket")
    if isinstance(sock, socket.socket):
        try:
            # SO_LINGER 0: the peer sees a reset, not an orderly close.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionResetError("sim: dropped connection")


class SimMiddleware:
    def __init__(self, app: WSGIApp, state: SimState) -> None:
        self.app = app
        self.state = state

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_sim/"):
            return _send(self._control(environ, path), start_response)
        if path.startswith("/moto-api"):
            return self.app(environ, start_response)  # type: ignore[no-any-return]
        began = time.thread_time()
        req = parse(environ)
        # Answered in full here (moto's answers are in memory anyway), so that the CPU the
        # simulator spent on the request is known: its counters keep it by action.
        body = list(self._serve(req, environ, start_response))
        self.state.counters.cpu(req.service, req.action, time.thread_time() - began)
        return body

    def _serve(self, req: SimRequest, environ: dict[str, Any],
               start_response: StartResponse) -> Iterable[bytes]:
        reply = self._intercept(req, environ)
        if reply is not None:
            return _send(reply, start_response)
        counted = self._counting(req, start_response)
        strip = environ.get("orgscan.sim.strip")
        if strip:
            return iamauth.capture_response(self.app, environ, counted,
                                            lambda body: strip_fields(body, strip))
        if req.service == "sts" and req.action == "AssumeRole":
            lifetime = self.state.faults.spec.assume_role_expiration_s
            target = self._target_account(req)
            return iamauth.capture_response(
                self.app, environ, counted,
                lambda body: self.state.issued.capture(target, body, lifetime))
        return self.app(environ, counted)  # type: ignore[no-any-return]

    def _counting(self, req: SimRequest, start_response: StartResponse) -> StartResponse:
        """start_response that also counts moto's error answers (403s under IAM auth)."""

        def counted(status: str, headers: Any, exc_info: Any = None) -> Any:
            try:
                code = int(status.split(" ", 1)[0])
            except ValueError:
                code = 0
            self.state.counters.answer(req.service, req.action, code)
            if exc_info is not None:
                return start_response(status, headers, exc_info)
            return start_response(status, headers)

        return counted

    def _target_account(self, req: SimRequest) -> str:
        """For AssumeRole, the account of the role; otherwise the caller's."""
        if req.service == "sts" and req.action == "AssumeRole":
            arn = req.param("RoleArn") or ""
            parts = arn.split(":")
            if len(parts) > 4 and parts[4]:
                return parts[4]
        return req.account

    def _intercept(self, req: SimRequest, environ: dict[str, Any]) -> Reply | None:
        st = self.state
        st.counters.request(req.service, req.action, req.account, req.access_key,
                              req.region)
        if st.authenticate:
            refused = authn.authenticate(req, environ, st.accounts)
            if refused is not None:
                return self._counted(req, refused)
        if st.issued.expired(req.access_key, iamauth.signed_at(environ)):
            return self._counted(req, iamauth.expired_reply(req))
        target = self._target_account(req)
        for rule in st.faults.decide(req.service, req.action, target):
            st.counters.fault(rule.kind)
            if rule.kind == "latency":
                time.sleep(st.faults.latency_s(rule))
            elif rule.kind == "hang":
                time.sleep(rule.hang_s)
            elif rule.kind == "drop":
                _drop(environ)
            elif rule.kind == "throttle":
                st.counters.throttle(req.service, req.action)
                return awserrors.throttle(req.service)
            elif rule.kind == "error":
                return awserrors.error(req.service, rule.status, rule.code, "Injected fault")
            elif rule.kind == "strip":
                environ.setdefault("orgscan.sim.strip", []).extend(rule.fields)
            elif rule.kind == "access_denied":
                if req.service == "sts" and req.action == "AssumeRole":
                    st.counters.denial(target)
                return self._access_denied(req)
        if req.service == "sts" and req.action == "AssumeRole" and st.role_missing(target):
            st.counters.denial(target)
            return self._counted(req, self._access_denied(req))
        if st.iam_auth and req.service in iamauth.CHECKED_HERE:
            denied = iamauth.authorize(req, environ)
            if denied is not None:
                return self._counted(req, denied)
        handler = st.handlers.get((req.service, req.action))
        if handler is None:
            return None
        reply = handler(req)
        if reply is not None and reply.status < 300 and environ.get("orgscan.sim.strip"):
            reply = replace(reply, body=strip_fields(reply.body, environ["orgscan.sim.strip"]))
        return None if reply is None else self._counted(req, reply)

    def _counted(self, req: SimRequest, reply: Reply) -> Reply:
        self.state.counters.answer(req.service, req.action, reply.status)
        return reply

    def _access_denied(self, req: SimRequest) -> Reply:
        from scanner.sim.identity import caller_arn

        who = caller_arn(req.access_key, req.account)
        if req.service == "sts" and req.action == "AssumeRole":
            resource = req.param("RoleArn") or ""
            msg = (
                f"User: {who} is not authorized to perform: sts:AssumeRole "
                f"on resource: {resource}"
            )
        else:
            msg = f"User: {who} is not authorized to perform: {req.service}:{req.action}"
        return awserrors.error(req.service, 403, "AccessDenied", msg)

    def _control(self, environ: dict[str, Any], path: str) -> Reply:
        st = self.state
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/_sim/counters" and method == "GET":
            return _json(st.counters.snapshot())
        if path == "/_sim/counters/reset" and method == "POST":
            st.counters.reset()
            return _json({"ok": True})
        if path == "/_sim/faults" and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b"{}"
            try:
                st.faults.replace(FaultSpec.parse(json.loads(raw or b"{}")))
            except (ValueError, FaultSpecError) as exc:
                return Reply(400, json.dumps({"error": str(exc)}).encode(), "application/json")
            return _json({"ok": True})
        control = st.controls.get(path)
        if control is not None and method == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b"{}"
            try:
                payload = json.loads(raw or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError("the body must be a JSON object")
                return _json(control(payload))
            except ValueError as exc:
                return Reply(400, json.dumps({"error": str(exc)}).encode(), "application/json")
        if path == "/_sim/info" and method == "GET":
            return _json(st.ready_info())
        if path == "/_sim/issued" and method == "GET":
            return _json(st.issued.snapshot())
        return Reply(404, b'{"error": "no such simulator endpoint"}', "application/json")


def _json(payload: object) -> Reply:
    return Reply(200, json.dumps(payload).encode(), "application/json")

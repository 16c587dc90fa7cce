"""The simulator process: seed moto in-process, wrap it, serve it on 127.0.0.1.

Run as ``python -m scanner.sim.server --scenario FILE --port N [--faults JSON]``. Prints exactly
one line to stdout when ready: ``SIM READY <endpoint> <json>``.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import IO, Any, cast

# Before moto is imported: the default-AMI load makes every account's first EC2 call ~5x slower.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")
os.environ.pop("MOTO_ACCOUNT_ID", None)  # it would override every request's account


def build(scenario_path: str, faults_json: str | None, seed: int,
          iam_auth: bool = False, authenticate: bool = False) -> tuple[Any, Any]:
    """Seed moto and return (wsgi app, SimState). With ``iam_auth``, every request is checked
    against the caller's IAM policies (moto's check, completed by scanner.sim.iamauth)."""
    if iam_auth:
        # moto reads this when first imported; seeding goes through the backends, not HTTP,
        # so every HTTP request counts.
        os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "0"
    from moto.moto_api._internal import mock_random
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    from scanner.sim.extensions import install
    from scanner.sim.faults import Faults, FaultSpec
    from scanner.sim.iamauth import install_action_names
    from scanner.sim.middleware import SimMiddleware
    from scanner.sim.scenario import load_scenario, now_utc
    from scanner.sim.seed import seed_organization
    from scanner.sim.state import SimState

    scenario = load_scenario(Path(scenario_path))
    mock_random.seed(seed or scenario["seed"])  # deterministic org/OU/policy/key ids
    now = now_utc()
    _list_moto_modules_once()
    _backend_lookup_without_scan()  # before seeding: it touches every account's backends
    seeded = seed_organization(scenario)
    spec = FaultSpec.parse(json.loads(faults_json) if faults_json else None)
    state = SimState(scenario=scenario, now=now, seeded=seeded, faults=Faults(spec, seed),
                     iam_auth=iam_auth, authenticate=authenticate)
    install(state)
    if iam_auth:
        install_action_names()
    moto_app = DomainDispatcherApplication(create_backend_app)
    return SimMiddleware(moto_app, state), state


def _list_moto_modules_once() -> None:
    """moto's dispatcher lists its package directory (a listdir and ~200 stats) on every
    request, under the lock every request takes: list it once."""
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def _backend_lookup_without_scan() -> None:
    """moto's per-account backend lookup (several per request) copies the list of every
    account it knows and searches it, under a lock all threads share: its cost grew with the
    organization's size. An account already known is now found by the dict's own lookup; an
    unknown one still goes the original way (which creates it)."""
    from moto.core.base_backend import BackendDict

    original = BackendDict.__getitem__
    if getattr(original, "orgscan_sim", False):
        return  # already in place (several simulators built in one process)

    def getitem(self: Any, account_id: str) -> Any:
        if dict.__contains__(self, account_id):
            return dict.__getitem__(self, account_id)
        return original(self, account_id)

    getitem.orgscan_sim = True  # type: ignore[attr-defined]
    BackendDict.__getitem__ = getitem  # type: ignore[method-assign]


def keep_alive_handler(on_connect: Callable[[], None]) -> type[Any]:
    """moto's request handler, keeping connections alive as AWS does.

    werkzeug's dev server (3.x) answers every request with ``Connection: close``, even over
    HTTP/1.1, so every client request would open a new TCP connection (on AWS: a TLS
    handshake). Its request loop also drains "leftover" bytes from the socket after each
    answer, which on a kept-alive connection would swallow the client's next request. This
    handler instead reads exactly the request's body, answers with a ``Content-Length`` and
    keeps the connection open unless the client asks to close it. ``on_connect`` is called
    once per accepted connection (the connection counter).
    """
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.wsgi import LimitedStream

    class KeepAliveHandler(MotoRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            on_connect()

        def run_wsgi(self) -> None:
            if self.headers.get("Expect", "").lower().strip() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.environ = environ = self.make_environ()
            body_in: Any = environ["wsgi.input"]
            if not environ.get("wsgi.input_terminated"):
                # No chunked body: exactly Content-Length bytes (none when absent).
                try:
                    length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
                except ValueError:
                    length = 0
                body_in = environ["wsgi.input"] = LimitedStream(cast(IO[bytes], self.rfile), length)
            status = "500 INTERNAL SERVER ERROR"
            headers: list[tuple[str, str]] = []

            def start_response(st: str, hdrs: list[tuple[str, str]],
                               exc_info: Any = None) -> Callable[[bytes], None]:
                nonlocal status, headers
                status, headers = st, list(hdrs)
                return chunks.append

            chunks: list[bytes] = []
            try:
                result = self.server.app(environ, start_response)
                try:
                    chunks.extend(result)
                finally:
                    close = getattr(result, "close", None)
                    if close is not None:
                        close()
            except Exception:
                self.server.log("error", f"Error on request:\n{traceback.format_exc()}")
                status, headers, chunks = "500 INTERNAL SERVER ERROR", [], [b""]
                self.close_connection = True
            # Whatever of the request body the application did not read: the next request
            # starts right after it.
            try:
                while body_in.read(65536):
                    pass
            except Exception:  # the client went away mid-body: nothing to answer
                self.close_connection = True
                return
            body = b"".join(chunks)
            code_str, _, msg = status.partition(" ")
            code = int(code_str)
            self.send_response(code, msg)
            names = set()
            for key, value in headers:
                if key.lower() in ("connection", "transfer-encoding", "keep-alive"):
                    continue
                names.add(key.lower())
                self.send_header(key, value)
            no_body = environ["REQUEST_METHOD"] == "HEAD" or 100 <= code < 200 or code in (
                204, 304)
            if "content-length" not in names and not no_body:
                self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if not no_body:
                self.wfile.write(body)
            self.wfile.flush()

    return KeepAliveHandler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.sim.server")
    parser.add_argument("--scenario", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--faults", default=None, help="fault spec as JSON text or @FILE")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no per-request log lines")
    parser.add_argument("--authenticate", action="store_true",
                        help="refuse unknown access keys and wrong signatures")
    parser.add_argument("--iam-auth", action="store_true",
                        help="enforce IAM policies (the scenario's iam_policies)")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="stop when stdin reaches end of file (the parent holds the pipe's "
                             "other end, which closes however the parent dies)")
    args = parser.parse_args(argv)

    from werkzeug.serving import make_server

    faults = args.faults
    if faults and faults.startswith("@"):
        faults = Path(faults[1:]).read_text(encoding="utf-8")
    app, state = build(args.scenario, faults, args.seed, iam_auth=args.iam_auth,
                       authenticate=args.authenticate)
    # The seeded organization lives as long as the process: out of the collector's sight, so
    # that a full collection costs what the requests allocated, not the organization's size.
    gc.collect()
    gc.freeze()
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server(
        "127.0.0.1", args.port, app, threaded=True,
        request_handler=keep_alive_handler(state.counters.connection),
    )
    endpoint = f"http://127.0.0.1:{server.server_port}"

    def stop(_signum: int, _frame: FrameType | None) -> None:
        # shutdown() blocks until serve_forever returns, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.exit_with_parent:
        threading.Thread(target=_exit_with_parent, args=(server,), daemon=True).start()
    sys.stdout.write(f"SIM READY {endpoint} {json.dumps(state.ready_info())}\n")
    sys.stdout.flush()
    server.serve_forever()
    return 0


def _exit_with_parent(server: Any) -> None:
    """Stop serving once stdin ends: the parent (SimServer) holds the write end of the pipe
    and never writes, so end of file means the parent is gone, even SIGKILLed, when no
    signal handler of its own could stop this process."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    except OSError:
        pass
    server.shutdown()


if __name__ == "__main__":
    raise SystemExit(main())

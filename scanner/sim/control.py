"""SimServer: start the simulator subprocess, wait for it, talk to its control endpoints."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import yaml

from scanner.sim.scenario import Scenario, normalise, read_raw

START_TIMEOUT_S = 120.0
# Seeding is linear in the accounts (~25 ms each on a loaded 2-core machine): a 5,000-account
# organization may take minutes to be ready.
START_TIMEOUT_PER_ACCOUNT_S = 0.05
CALLERS = ("management", "delegated_administrator")


class SimServerError(RuntimeError):
    """The simulator could not start (the message carries its stderr tail)."""


class SimServer:
    """The simulated organization as a context manager.

    >>> with SimServer("minimal") as sim:
    ...     boto3.client("organizations", endpoint_url=sim.endpoint, **sim.credentials)
    """

    def __init__(
        self,
        scenario: str | Path | dict[str, Any],
        *,
        port: int = 0,
        faults: dict[str, Any] | None = None,
        seed: int = 0,
        log_path: Path | None = None,
        iam_auth: bool = False,
        caller: str = "management",
        authenticate: bool = False,
    ) -> None:
        self._raw = read_raw(scenario)
        self.scenario: Scenario = normalise(self._raw)
        # Whose operator user ``credentials`` and ``env`` hold: "management", or
        # "delegated_administrator" (the scenario's organization.delegated_administrator).
        if caller not in CALLERS:
            raise SimServerError(f"caller must be one of {CALLERS}, not {caller!r}")
        if caller != "management" and not self.scenario["organization"][
                "delegated_administrator"]:
            raise SimServerError("caller delegated_administrator: the scenario names no "
                                 "organization.delegated_administrator")
        self.caller = caller
        self.port = port
        self.faults = faults
        self.seed = seed
        self.log_path = log_path
        # Enforce IAM policies: the scenario's iam_policies give the audit role and the
        # operator user their policies (without them, every call is denied).
        self.iam_auth = iam_auth
        # Refuse keys it never issued and wrong signatures, as AWS does (scanner/sim/authn.py).
        self.authenticate = authenticate
        self.endpoint = ""
        self.management_account_id = self.scenario["organization"]["management_account_id"]
        self.organization_id = ""
        self.info: dict[str, Any] = {}
        self.credentials: dict[str, str] = {}
        self.env: dict[str, str] = {}
        # Both operators' credentials, whichever ``caller`` picked (None: no delegation).
        self.management_credentials: dict[str, str] = {}
        self.delegated_admin_credentials: dict[str, str] | None = None
        self.delegated_admin_account_id: str | None = None
        self.startup_seconds = 0.0
        self._proc: subprocess.Popen[bytes] | None = None
        self._tmpdir: tempfile.TemporaryDirectory[str] | None = None
        self._stderr: IO[bytes] | None = None
        self._ground_truth: dict[str, Any] | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> SimServer:
        if self._proc is not None:
            return self
        self._tmpdir = tempfile.TemporaryDirectory(prefix="orgscan-sim-")
        scenario_file = Path(self._tmpdir.name) / "scenario.yaml"
        # The subprocess normalises the same text; ids are deterministic, so both sides agree.
        scenario_file.write_text(yaml.safe_dump(self._raw, sort_keys=False), "utf-8")
        cmd = [
            sys.executable,
            "-m",
            "scanner.sim.server",
            "--scenario",
            str(scenario_file),
            "--port",
            str(self.port),
            "--seed",
            str(self.seed),
        ]
        if self.faults is not None:
            cmd += ["--faults", json.dumps(self.faults)]
        if self.authenticate:
            cmd.append("--authenticate")
        if self.iam_auth:
            cmd.append("--iam-auth")
        # The server stops when this process's end of its stdin closes: however this process
        # dies (SIGKILL included), its server does not outlive it.
        cmd.append("--exit-with-parent")
        if self.log_path is None:
            cmd.append("--quiet")
            self._stderr = open(Path(self._tmpdir.name) / "stderr.log", "w+b")  # noqa: SIM115
        else:
            self._stderr = open(self.log_path, "w+b")  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if k != "MOTO_ACCOUNT_ID"}
        env["MOTO_EC2_LOAD_DEFAULT_AMIS"] = "false"
        env["PYTHONUNBUFFERED"] = "1"
        began = time.monotonic()
        self._proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr, env=env,
            cwd=_project_root()
        )
        line = self._await_ready()
        self.startup_seconds = time.monotonic() - began
        _, _, endpoint, payload = line.split(" ", 3)
        self.info = json.loads(payload)
        self.endpoint = endpoint
        self.organization_id = self.info["organization_id"]
        self.management_account_id = self.info["management_account_id"]
        self.management_credentials = {
            "aws_access_key_id": self.info["aws_access_key_id"],
            "aws_secret_access_key": self.info["aws_secret_access_key"],
            "region_name": "us-east-1",
        }
        delegated = self.info.get("delegated_administrator")
        if delegated:
            self.delegated_admin_account_id = str(delegated["account_id"])
            self.delegated_admin_credentials = {
                "aws_access_key_id": delegated["aws_access_key_id"],
                "aws_secret_access_key": delegated["aws_secret_access_key"],
                "region_name": "us-east-1",
            }
        self.credentials = dict(self.management_credentials)
        if self.caller == "delegated_administrator" and self.delegated_admin_credentials:
            self.credentials = dict(self.delegated_admin_credentials)
        self.env = {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.credentials["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": self.credentials["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": "us-east-1",
        }
        return self

    def _await_ready(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self._proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT_S + START_TIMEOUT_PER_ACCOUNT_S * len(
            self.scenario["accounts"])
        buf = b""
        try:
            while time.monotonic() < deadline:
                if sel.select(timeout=0.2):
                    chunk = os.read(self._proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    buf += chunk
                    for raw in buf.split(b"\n")[:-1]:
                        text = raw.decode(errors="replace")
                        if text.startswith("SIM READY "):
                            return text
                elif self._proc.poll() is not None:
                    break
        finally:
            sel.close()
        tail = self._stderr_tail()
        code = self._proc.poll()
        self.stop()
        why = f"exited with code {code}" if code is not None else "timed out"
        raise SimServerError(f"simulator {why} before it was ready; stderr tail:\n{tail}")

    def _stderr_tail(self, lines: int = 30) -> str:
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None:
                    pipe.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        if self._tmpdir is not None:
            self._tmpdir.cleanup()
            self._tmpdir = None

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- control endpoints -----------------------------------------------------------------
    def _call(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self.endpoint:
            raise SimServerError("simulator not started")
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(  # noqa: S310 - our own local http endpoint
            self.endpoint + path, data=data, method="GET" if payload is None else "POST"
        )
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            result: dict[str, Any] = json.loads(resp.read())
        return result

    def counters(self) -> dict[str, Any]:
        return self._call("/_sim/counters")

    def reset_counters(self) -> None:
        self._call("/_sim/counters/reset", {})

    def set_faults(self, spec: dict[str, Any]) -> None:
        self._call("/_sim/faults", spec)

    def set_credential_report(self, account_id: str, age_s: float | None) -> None:
        """Make the account's IAM credential report complete and ``age_s`` seconds old (over
        four hours: expired), or, with None, make it absent (ReportNotPresent)."""
        self._call("/_sim/credential-report", {"account": account_id, "age_s": age_s})

    def issued_credentials(self) -> list[dict[str, Any]]:
        """Every credential set AssumeRole issued: account, access_key_id, secret_access_key,
        session_token, expires (epoch seconds when shortened by the fault spec)."""
        result: list[dict[str, Any]] = json.loads(self._raw_get("/_sim/issued"))
        return result

    def _raw_get(self, path: str) -> bytes:
        if not self.endpoint:
            raise SimServerError("simulator not started")
        req = urllib.request.Request(self.endpoint + path)  # noqa: S310 - local endpoint
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
            body: bytes = resp.read()
        return body

    @property
    def now(self) -> datetime:
        """The server's start time: the anchor of the scenario's relative dates."""
        if "now" not in self.info:
            raise SimServerError("simulator not started")
        return datetime.fromisoformat(self.info["now"])

    @property
    def ground_truth(self) -> dict[str, Any]:
        if self._ground_truth is None:
            from scanner.sim.groundtruth import ground_truth

            self._ground_truth = ground_truth(self.scenario, self.now)
        return self._ground_truth


def _project_root() -> str:
    # The subprocess must import this same `scanner` package even if it is not installed.
    return str(Path(__file__).resolve().parents[2])

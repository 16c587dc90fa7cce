"""`orgscan sim serve` as a user runs it: a real process, its endpoint and credentials read
from what it prints."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

START_S = 120.0


class Served:
    def __init__(self, proc: subprocess.Popen[str], env: dict[str, str]) -> None:
        self.proc, self.env = proc, env

    @property
    def endpoint(self) -> str:
        return self.env["AWS_ENDPOINT_URL"]

    def server_pid(self) -> int:
        """The server child's pid (Linux: /proc lists a process's children)."""
        children = " ".join(p.read_text() for p in
                            Path(f"/proc/{self.proc.pid}/task").glob("*/children"))
        pids = [int(p) for p in children.split()]
        assert len(pids) == 1, pids
        return pids[0]


@contextlib.contextmanager
def sim_serve(*args: str) -> Iterator[Served]:
    """Run ``orgscan sim serve ARGS`` until it says it is ready; stop it afterwards."""
    proc = subprocess.Popen([sys.executable, "-m", "scanner.cli.main", "sim", "serve", *args],
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=dict(os.environ))
    try:
        env: dict[str, str] = {}
        deadline = time.monotonic() + START_S
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                raise AssertionError(f"orgscan sim serve exited with {proc.wait()}")
            if line.startswith("export "):
                key, _, value = line[len("export "):].strip().partition("=")
                env[key] = value
            if line.startswith("Ctrl-C to stop"):
                break
        yield Served(proc, env)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

"""Shared pieces of the benchmarks: the simulator in its own process, child processes measured
with wait4 (CPU and peak RSS of that process only), the simulator's counters, its capacity.

Runs in orgscan's venv (it imports ``scanner.sim`` to start the simulator); the peers run in
their own venvs as child processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scanner.sim import SimServer

HERE = Path(__file__).resolve().parent
REPO = HERE.parent  # the checkout: paths below it are recorded relative to it

# Realistic latency: 100 ms +- 50 ms (uniform) on every call to every service. LookupEvents is
# throttled at 2 requests/s per account and region by the simulator's default.
LATENCY_MS = 100.0
JITTER_MS = 50.0
LATENCY_FAULTS: dict[str, Any] = {
    "rules": [{"kind": "latency", "latency_ms": LATENCY_MS, "jitter_ms": JITTER_MS}],
}

# The peers' venvs, made by setup-peers.sh: $BENCH_PEER_VENVS/c7n and /prowler, by default in
# the checkout (benchmarks/.venvs, ignored by git).
PEER_VENVS = Path(os.environ.get("BENCH_PEER_VENVS") or HERE / ".venvs").absolute()

# `orgscan` run by an interpreter given on the command line rather than by the console script
# next to it, so that --orgscan-src can run a checkout whose entry point has moved (the console
# script's scanner.cli.entry; before it scanner.cli.main, and before the layered packages
# scanner/cli.py; PYTHONPATH puts that checkout first on sys.path).
# -P: the working directory is not put on sys.path (a checkout's scanner/ there would win).
_LAUNCH = """import sys
try:
    from scanner.cli.entry import main
except ModuleNotFoundError as exc:
    if exc.name not in ("scanner.cli.entry", "scanner.cli"):
        raise
    try:
        from scanner.cli.main import main
    except ModuleNotFoundError as exc:
        if exc.name not in ("scanner.cli.main", "scanner.cli"):
            raise
        from scanner.cli import main
sys.argv[0] = "orgscan"
sys.exit(main())
"""


def orgscan_argv(python: Path) -> list[str]:
    """The command that runs ``orgscan`` with ``python`` (followed by orgscan's arguments)."""
    return [str(python), "-P", "-c", _LAUNCH]


def from_cwd(path: Path) -> Path:
    """A path given on the command line, made absolute against the caller's working directory
    (the children run elsewhere). Symbolic links are kept (a venv's bin/python is one)."""
    return Path(os.path.abspath(path.expanduser()))


@dataclass(frozen=True)
class Measured:
    """One child process: wall seconds, its own CPU seconds (user + system) and peak RSS."""

    argv: Sequence[str]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mb: float
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def to_json(self) -> dict[str, Any]:
        return {"argv": list(self.argv), "returncode": self.returncode,
                "wall_s": round(self.wall_s, 3), "user_s": round(self.user_s, 3),
                "sys_s": round(self.sys_s, 3), "cpu_s": round(self.cpu_s, 3),
                "max_rss_mb": round(self.max_rss_mb, 1)}


def run_measured(argv: Sequence[str], *, env: Mapping[str, str] | None = None,
                 cwd: Path | None = None, timeout: float = 3600.0) -> Measured:
    """Run ``argv`` and measure exactly that process with wait4 (its rusage covers it and
    the children it waited for; the simulator is another process and is not counted)."""
    out_path = Path(tempfile.gettempdir()) / f"bench-{os.getpid()}-{time.time_ns()}"
    with open(f"{out_path}.out", "w+b") as out, open(f"{out_path}.err", "w+b") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, cwd=cwd,
                                env=dict(env) if env is not None else None)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.01)
        wall = time.monotonic() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    for suffix in (".out", ".err"):
        Path(f"{out_path}{suffix}").unlink(missing_ok=True)
    return Measured(argv, proc.returncode, wall, usage.ru_utime, usage.ru_stime,
                    usage.ru_maxrss / 1024.0, stdout, stderr)


def start_sim(scenario: Path, faults: Mapping[str, Any] | None = None) -> SimServer:
    """A fresh simulator (fresh credential-report state) in its own process."""
    return SimServer(scenario, faults=dict(faults) if faults is not None else None).start()


def sim_get(sim: SimServer, path: str) -> Any:
    with urllib.request.urlopen(f"{sim.endpoint}{path}", timeout=30) as resp:
        return json.loads(resp.read())


def sim_post(sim: SimServer, path: str, payload: Any = None) -> Any:
    data = json.dumps(payload if payload is not None else {}).encode()
    req = urllib.request.Request(f"{sim.endpoint}{path}", data=data, method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def counters(sim: SimServer) -> dict[str, Any]:
    result: dict[str, Any] = sim_get(sim, "/_sim/counters")
    return result


def reset_counters(sim: SimServer) -> None:
    sim_post(sim, "/_sim/counters/reset")


def sim_env(sim: SimServer) -> dict[str, str]:
    """The environment a child needs to talk to the simulator, and nothing that would
    redirect it elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AWS_", "MOTO_")) or k == "AWS_CONFIG_FILE"}
    env.update(sim.env)
    return env


def visible_in(scenario: dict[str, Any], regions: set[str] | None) -> dict[str, Any]:
    """The scenario as a scan of ``regions`` (None: every enabled region) can know it: root
    API calls recorded in a region it did not search are left out (event history of the
    regions searched does not hold them; the organization trail would). Sign-ins and the global
    services' calls are in us-east-1, which orgscan always searches. For judging a narrowed
    scan (or a tool that reads no event history in those regions) against the ground truth:
    ``ground_truth(visible_in(sim.scenario, regions), sim.now)``."""
    if regions is None:
        return scenario
    out = dict(scenario)
    out["accounts"] = [
        {**a, "events": [e for e in a.get("events") or ()
                         if e.get("region", "us-east-1") in regions]}
        for a in scenario["accounts"]]
    return out


def sim_cpu_seconds(sim: SimServer) -> float:
    """CPU of the simulator's process so far (for context; never charged to a scanner)."""
    proc = getattr(sim, "_proc", None)
    if proc is None:
        return float("nan")
    fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# -- the simulator's capacity ------------------------------------------------------------------


async def _load(endpoint: str, creds: Mapping[str, str], workers: int, seconds: float,
                operation: str) -> tuple[int, list[float]]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import get_session

    service, method = operation.split(":")
    session = get_session()
    config = AioConfig(max_pool_connections=workers, retries={"max_attempts": 1})
    done = 0
    latencies: list[float] = []
    async with session.create_client(
            service, region_name="us-east-1", endpoint_url=endpoint, config=config,
            aws_access_key_id=creds["aws_access_key_id"],
            aws_secret_access_key=creds["aws_secret_access_key"]) as client:
        stop = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < stop:
                t0 = time.monotonic()
                await getattr(client, method)()
                latencies.append(time.monotonic() - t0)
                done += 1

        await asyncio.gather(*(worker() for _ in range(workers)))
    return done, latencies


def capacity(sim: SimServer, *, workers: int = 32, seconds: float = 8.0,
             operation: str = "iam:get_account_summary") -> dict[str, Any]:
    """Requests/s the simulator serves with no added latency: ``workers`` concurrent callers
    doing one cheap call in a loop for ``seconds`` (bounded), the latency faults switched off
    meanwhile and restored after."""
    saved = sim.faults
    sim_post(sim, "/_sim/faults", {})
    try:
        creds = sim.credentials
        t0 = time.monotonic()
        done, lat = asyncio.run(_load(sim.endpoint, creds, workers, seconds, operation))
        elapsed = time.monotonic() - t0
    finally:
        sim_post(sim, "/_sim/faults", saved or {})
    return {"operation": operation, "workers": workers, "seconds": round(elapsed, 2),
            "requests": done, "rps": round(done / elapsed, 1),
            "latency_median_ms": round(statistics.median(lat) * 1000, 1) if lat else None}


# -- recording -----------------------------------------------------------------------------


def venv_of(python: Path) -> Path | None:
    """The venv ``python`` belongs to, or None."""
    root = Path(os.path.abspath(python)).parent.parent  # not resolved: bin/python is a link
    return root if (root / "pyvenv.cfg").is_file() else None


def neutral_prefixes(placeholders: Mapping[Path, str] | None = None,
                     ) -> list[tuple[str, str]]:
    """(machine path, neutral form) pairs, longest first: the checkout (recorded as paths
    relative to it), the temporary directory (``<tmp>``), the directories in ``placeholders``
    (path: its neutral name, e.g. ``<peer-venv>``) and orgscan's venv (``<orgscan-venv>``) when
    they are outside the checkout, the home directory (``~``)."""
    repo = {str(REPO), os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    pairs: dict[str, str] = {}
    home = os.path.expanduser("~")
    if len(home) > 1:
        pairs[home] = "~"
    for tmp in (tempfile.gettempdir(), str(Path(tempfile.gettempdir()).resolve())):
        pairs[tmp] = "<tmp>"
    venvs = dict(placeholders or {})
    own = venv_of(Path(sys.executable))
    if own is not None:
        venvs.setdefault(own, "<orgscan-venv>")
    for path, name in venvs.items():
        for form in (os.path.abspath(path), str(Path(path).resolve())):
            if not any(form == r or form.startswith(r + os.sep) for r in repo):
                pairs[form] = name
    for r in repo:
        pairs[r] = "."
    return sorted(pairs.items(), key=lambda kv: -len(kv[0]))


def neutral(value: Any, prefixes: list[tuple[str, str]]) -> Any:
    """``value`` (JSON) with every machine path in its strings in neutral form."""
    if isinstance(value, str):
        names = dict(prefixes)
        # a prefix (the longest that fits) as a whole path or followed by "/", not inside a
        # longer name
        pattern = (r"(?<![\w./-])(" + "|".join(re.escape(p) for p, _ in prefixes)
                   + r")(/|(?![\w.-]))")

        def repl(m: re.Match[str]) -> str:
            name = names[m.group(1)]
            if not m.group(2):
                return name
            return "" if name == "." else name + "/"

        return re.sub(pattern, repl, value) if prefixes else value
    if isinstance(value, list):
        return [neutral(v, prefixes) for v in value]
    if isinstance(value, dict):
        return {k: neutral(v, prefixes) for k, v in value.items()}
    return value


def write_json(path: Path, payload: Any,
               placeholders: Mapping[Path, str] | None = None) -> None:
    """Results as JSON, with machine paths in neutral form (``neutral_prefixes``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = neutral(payload, neutral_prefixes(placeholders))
    path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", "utf-8")

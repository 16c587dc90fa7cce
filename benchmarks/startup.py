"""Start-up: process start to orgscan's first AWS request (sts:GetCallerIdentity), on the
``minimal`` simulated organization without latency. Each run is a fresh ``orgscan scan``
process; the simulator records when the first request arrived, the script the process's CPU
time at that moment, and stops it.

    python benchmarks/startup.py --runs 7 [--orgscan-src OTHER_CHECKOUT ...]

With several ``--orgscan-src``, the checkouts are measured in turns (run 1 of each, then
run 2 of each, ...), so a machine whose load changes affects them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from lib import orgscan_argv, sim_env  # noqa: E402

from scanner.sim import SimServer  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a running process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def one_run(sim: SimServer, python: Path, src: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) from process start to the first request; the process is then stopped.
    CPU is sampled when the parent sees the request (polled every 5 ms), so it holds at most a
    few ms more than start-up; unlike the wall it hardly depends on the machine's load."""
    env = {**sim_env(sim), "PYTHONPATH": str(src)}
    # An installed orgscan has its bytecode compiled (pip does it); without the cache every
    # run would compile each module again.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    sim.reset_counters()
    t0 = time.time()
    proc = subprocess.Popen([*orgscan_argv(python), "scan", "--quiet", "--out", str(out),
                             "--endpoint-url", sim.endpoint], env=env, cwd=out.parent,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            first = sim.counters()["first_request_at"]
            if first:
                return first - t0, cpu_seconds(proc.pid)
            time.sleep(0.005)
        raise SystemExit(f"orgscan ({src}) exited {proc.returncode} before any request")
    finally:
        proc.kill()
        proc.wait()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--orgscan-src", type=Path, action="append",
                   help="a checkout to measure (repeatable; default: this one)")
    p.add_argument("--python", type=Path, default=Path(sys.executable))
    args = p.parse_args()
    srcs = [s.resolve() for s in args.orgscan_src or [HERE.parent]]
    wall: dict[Path, list[float]] = {s: [] for s in srcs}
    cpu: dict[Path, list[float]] = {s: [] for s in srcs}
    with SimServer("minimal") as sim, tempfile.TemporaryDirectory() as tmp:
        for src in srcs:  # a first run, not counted, writes the bytecode caches
            one_run(sim, args.python, src, Path(tmp) / f"warm-{src.name}")
        for i in range(args.runs):
            for src in srcs:
                w, c = one_run(sim, args.python, src, Path(tmp) / f"{i}-{src.name}")
                wall[src].append(w)
                cpu[src].append(c)
    for src in srcs:
        print(f"{src}: start-up median {statistics.median(wall[src]):.3f} s wall "
              f"(min {min(wall[src]):.3f}, max {max(wall[src]):.3f}), median "
              f"{statistics.median(cpu[src]):.3f} s CPU; wall "
              f"{' '.join(f'{r:.3f}' for r in wall[src])}; CPU "
              f"{' '.join(f'{r:.2f}' for r in cpu[src])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

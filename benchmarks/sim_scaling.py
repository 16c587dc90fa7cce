"""Does the simulator's CPU per request grow with the organization's size? (It stands in for
AWS, whose answers do not slow down as an organization grows.)

    .venv/bin/python benchmarks/sim_scaling.py --accounts 200 2000 \
        --out benchmarks/results/sim-scaling.json

For each size: a generated organization on a fresh simulator (no added latency), then the same
slice of it scanned (``--shard 1/N``, about ``--slice`` accounts, the root checks in three
regions: the organization walk still covers every account). Records the simulator's CPU per
request: overall (its process's CPU over its requests; the mix differs, the larger walk
lists more accounts' tags) and by action (its counters: the CPU its request threads spent on
each action's requests), which should not grow with the organization.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import (
    counters,
    from_cwd,
    orgscan_argv,
    reset_counters,
    run_measured,
    sim_cpu_seconds,
    sim_env,
    start_sim,
    write_json,
)

from scanner.sim.generate import write_generated

CONFIG = Path(__file__).resolve().parent / "configs" / "root-checks.yaml"


def run_size(n: int, seed: int, slice_: int, work: Path, python: Path) -> dict[str, Any]:
    scenario, _ = write_generated(n, seed, work / f"org{n}")
    sim = start_sim(scenario)
    try:
        reset_counters(sim)
        cpu0 = sim_cpu_seconds(sim)
        shards = max(1, round(n / slice_))
        out = work / f"out{n}"
        argv = [*orgscan_argv(python), "scan", "--config", str(CONFIG), "--endpoint-url",
                sim.endpoint, "--out", str(out), "--quiet", "--no-bundle",
                "--shard", f"1/{shards}"]
        m = run_measured(argv, env=sim_env(sim), cwd=work)
        cpu = sim_cpu_seconds(sim) - cpu0
        c = counters(sim)
    finally:
        sim.stop()
    if m.returncode not in (0, 1, 3):
        raise SystemExit(f"orgscan failed ({m.returncode}):\n{m.stderr[-3000:]}")
    return {"accounts": n, "shards": shards, "wall_s": round(m.wall_s, 2),
            "sim_requests": c["requests"], "sim_cpu_s": round(cpu, 2),
            "sim_cpu_ms_per_request": round(1000 * cpu / max(1, c["requests"]), 2),
            "by_action": c["by_action"],
            # the request threads' own CPU per request of each action, in ms
            "cpu_ms_per_request_by_action": {
                k: round(1000 * v / c["by_action"][k], 3)
                for k, v in sorted(c.get("cpu_s_by_action", {}).items()) if c["by_action"].get(k)}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, nargs="+", default=[200, 2000])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--slice", type=int, default=200, help="accounts scanned per size")
    p.add_argument("--python", type=Path, default=Path(sys.executable))
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args()
    out, python = from_cwd(args.out), from_cwd(args.python)
    work = Path(tempfile.mkdtemp(prefix="orgscan-simscale-"))
    runs = []
    for n in args.accounts:
        r = run_size(n, args.seed, args.slice, work, python)
        runs.append(r)
        print(f"{n:>5} accounts (shard 1/{r['shards']}): {r['sim_requests']} requests, "
              f"sim CPU {r['sim_cpu_s']} s = {r['sim_cpu_ms_per_request']} ms/request, "
              f"scan wall {r['wall_s']} s", flush=True)
    if len(runs) > 1:
        key = "cpu_ms_per_request_by_action"
        first, last = runs[0][key], runs[-1][key]
        print(f"ms of simulator CPU per request, {runs[0]['accounts']} -> {runs[-1]['accounts']} "
              "accounts:")
        for k in sorted(set(first) & set(last)):
            print(f"  {k:45} {first[k]:8.3f} {last[k]:8.3f}")
    write_json(out, {"runs": runs, "cpus": os.cpu_count(), "load": os.getloadavg()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

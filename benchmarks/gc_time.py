"""How much of a scan's CPU the garbage collector takes, by generation, with orgscan's young
threshold while accounts are scanned (scanner/run/gctune.py) and with CPython's default.

    .venv/bin/python benchmarks/gc_time.py --accounts 300 --pairs 3 \
        --config benchmarks/configs/default.yaml --out gc.json

Each run scans a generated organization in-process (the scan, the reports and the evidence
bundle, as `orgscan scan --bundle` runs them) against a fresh simulator with the benchmark's
latency, and times every collection with ``gc.callbacks`` (``time.process_time`` at its start
and end). Runs alternate, CPython's default first, ``--pairs`` times; each round's figures
come from runs one after the other.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import LATENCY_FAULTS, from_cwd, start_sim

from scanner.run import gctune
from scanner.run.config import load_config
from scanner.run.runner import RunOptions, run
from scanner.sim.generate import write_generated

CPYTHON_DEFAULT = 700


class _Collections:
    """CPU seconds and count of collections, by generation."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.count = [0, 0, 0]
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds[info["generation"]] += time.process_time() - self._start
            self.count[info["generation"]] += 1


def one_run(accounts: int, seed: int, config_path: Path | None, young: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="orgscan-gc-"))
    scenario, _ = write_generated(accounts, seed, work / "org")
    sim = start_sim(scenario, LATENCY_FAULTS)
    gctune.YOUNG_THRESHOLD = young
    collections = _Collections()
    try:
        c = sim.credentials
        config = load_config(config_path, out=str(work / "out"))
        config = replace(config, aws=replace(
            config.aws, endpoint_url=sim.endpoint,
            credentials=(c["aws_access_key_id"], c["aws_secret_access_key"])))
        gc.collect()
        gc.callbacks.append(collections)
        cpu0, t0 = time.process_time(), time.monotonic()
        outcome = run(config, RunOptions(quiet=True, bundle=True))
        cpu, wall = time.process_time() - cpu0, time.monotonic() - t0
    finally:
        if collections in gc.callbacks:
            gc.callbacks.remove(collections)
        sim.stop()
    n = len(outcome.result.accounts)
    return {"young_threshold": young, "accounts": n, "wall_s": round(wall, 2),
            "cpu_s": round(cpu, 2), "cpu_ms_per_account": round(1000 * cpu / n, 1),
            "gc_cpu_s": round(sum(collections.seconds), 3),
            "gc_share": round(sum(collections.seconds) / cpu, 3),
            "gc_cpu_s_by_generation": [round(s, 3) for s in collections.seconds],
            "collections_by_generation": collections.count}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--pairs", type=int, default=1, help="rounds of one run per threshold")
    p.add_argument("--thresholds", type=int, nargs="+", default=None, metavar="N",
                   help="young thresholds to compare (default: CPython's 700 and orgscan's)")
    p.add_argument("--out", type=Path, default=None, help="results JSON")
    args = p.parse_args()
    config = from_cwd(args.config) if args.config else None
    thresholds = args.thresholds or [CPYTHON_DEFAULT, gctune.YOUNG_THRESHOLD]
    runs: list[dict[str, Any]] = []
    for _ in range(args.pairs):
        for young in thresholds:
            r = one_run(args.accounts, args.seed, config, young)
            runs.append(r)
            print(f"young threshold {young:>6}: CPU {r['cpu_ms_per_account']} ms/account, "
                  f"GC {r['gc_cpu_s']} s ({100 * r['gc_share']:.1f}% of the CPU), "
                  f"collections {r['collections_by_generation']}, wall {r['wall_s']} s")
    summary = {str(y): {"median_cpu_ms_per_account": statistics.median(
                            r["cpu_ms_per_account"] for r in runs if r["young_threshold"] == y),
                        "median_gc_share": statistics.median(
                            r["gc_share"] for r in runs if r["young_threshold"] == y)}
               for y in thresholds}
    print(json.dumps(summary))
    if args.out:
        args.out.write_text(json.dumps({"accounts": args.accounts, "runs": runs,
                                        "summary": summary}, indent=2) + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

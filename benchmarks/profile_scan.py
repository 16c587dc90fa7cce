"""Profile one scan in-process with pyinstrument (wall clock, async-aware) against a fresh
simulator with the benchmark's latency faults, and print where the time goes by phase.

    .venv/bin/python benchmarks/profile_scan.py --accounts 200 \
        --config benchmarks/configs/root-checks.yaml --html profile.html

(from the checkout, with orgscan's interpreter). pyinstrument is not a dependency of orgscan:
`.venv/bin/pip install pyinstrument==5.1.3` (it has no dependencies of its own and changes no
pin), or install it elsewhere with `pip install --target DIR` and put DIR on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from scanner.core.audit_report import build_audit_report

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import LATENCY_FAULTS, start_sim

from scanner.report import write_reports
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.runner import load_selected_rules
from scanner.sim.generate import write_generated


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--html", type=Path, default=None)
    p.add_argument("--mode", choices=["wall", "cpu"], default="wall",
                   help="wall: async-aware wall clock; cpu: only time on the CPU")
    args = p.parse_args()
    try:
        from pyinstrument import Profiler
    except ModuleNotFoundError:
        p.error("pyinstrument is not installed: .venv/bin/pip install pyinstrument==5.1.3")

    work = Path(tempfile.mkdtemp(prefix="orgscan-profile-"))
    scenario, _ = write_generated(args.accounts, args.seed, work / "org")
    sim = start_sim(scenario, LATENCY_FAULTS)
    try:
        c = sim.credentials
        config = load_config(args.config)
        config = replace(config, aws=replace(
            config.aws, endpoint_url=sim.endpoint,
            credentials=(c["aws_access_key_id"], c["aws_secret_access_key"])))
        rules = load_selected_rules(config)
        profiler = Profiler(async_mode="enabled" if args.mode == "wall" else "disabled",
                            interval=0.001)
        t0 = time.monotonic()
        cpu0 = time.process_time()
        profiler.start()
        result = asyncio.run(scan(config, rules, out_dir=work / "out"))
        t1 = time.monotonic()
        write_reports(build_audit_report(result), work / "out", config.formats)
        profiler.stop()
        t2 = time.monotonic()
        cpu = time.process_time() - cpu0
    finally:
        sim.stop()
    print(f"scan {t1 - t0:.2f}s, reports {t2 - t1:.2f}s, CPU {cpu:.2f}s "
          f"({1000 * cpu / len(result.accounts):.1f} ms/account)")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    if args.html:
        args.html.write_text(profiler.output_html(), "utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

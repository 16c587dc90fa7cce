"""Profile one run in-process with pyinstrument (the scan, the reports and the evidence bundle,
as `orgscan scan` runs them) against a fresh simulator with the benchmark's latency faults, and
print where the time goes: the call tree, then the functions with the most time of their own.

    .venv/bin/python benchmarks/profile_scan.py --accounts 200 --mode cpu \
        --config benchmarks/configs/default.yaml --html profile.html

(from the checkout, with orgscan's interpreter). pyinstrument is not a dependency of orgscan:
`.venv/bin/pip install pyinstrument==5.1.3` (it has no dependencies of its own and changes no
pin), or install it elsewhere with `pip install --target DIR` and put DIR on PYTHONPATH.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import LATENCY_FAULTS, start_sim

from scanner.run.config import load_config
from scanner.run.runner import RunOptions, run
from scanner.sim.generate import write_generated


def _count(event: str, connections: list[int]) -> None:
    """Count the TCP connections the scan opens: with connections kept alive, one per
    (endpoint, pool slot), not one per request."""
    if event == "socket.connect":
        connections[0] += 1


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--config", type=Path, default=None)
    p.add_argument("--html", type=Path, default=None)
    p.add_argument("--mode", choices=["wall", "cpu"], default="wall",
                   help="wall: async-aware wall clock; cpu: only time on the CPU")
    p.add_argument("--top", type=int, default=25,
                   help="how many functions to list by their own time")
    p.add_argument("--no-bundle", action="store_true", help="do not write the evidence bundle")
    p.add_argument("--session", type=Path, default=None,
                   help="also save pyinstrument's session here (pyinstrument --load FILE)")
    args = p.parse_args()
    try:
        from pyinstrument import Profiler
        from pyinstrument.renderers import ConsoleRenderer
    except ModuleNotFoundError:
        p.error("pyinstrument is not installed: .venv/bin/pip install pyinstrument==5.1.3")

    work = Path(tempfile.mkdtemp(prefix="orgscan-profile-"))
    scenario, _ = write_generated(args.accounts, args.seed, work / "org")
    sim = start_sim(scenario, LATENCY_FAULTS)
    try:
        c = sim.credentials
        config = load_config(args.config, out=str(work / "out"))
        config = replace(config, aws=replace(
            config.aws, endpoint_url=sim.endpoint,
            credentials=(c["aws_access_key_id"], c["aws_secret_access_key"])))
        connections = [0]
        sys.addaudithook(lambda event, _: _count(event, connections))
        profiler = Profiler(async_mode="enabled" if args.mode == "wall" else "disabled",
                            interval=0.001)
        t0 = time.monotonic()
        cpu0 = time.process_time()
        profiler.start()
        outcome = run(config, RunOptions(quiet=True, bundle=not args.no_bundle))
        profiler.stop()
        connects = connections[0]
        wall = time.monotonic() - t0
        cpu = time.process_time() - cpu0
    finally:
        sim.stop()
    accounts = len(outcome.result.accounts)
    print(f"run (scan, reports{'' if args.no_bundle else ', bundle'}) {wall:.2f}s wall, "
          f"CPU {cpu:.2f}s ({1000 * cpu / accounts:.1f} ms/account, {accounts} accounts; "
          "the profiler's own overhead included)")
    print(f"{connects} TCP connections opened (socket.connect)")
    print(profiler.output_text(unicode=False, color=False, show_all=False))
    print(f"Top {args.top} functions by own time:")
    # Every frame, libraries' included: their time is not folded into our callers.
    flat = ConsoleRenderer(flat=True, flat_time="self", show_all=True, unicode=False,
                           color=False)
    print("\n".join(flat.render(profiler.last_session).splitlines()[:args.top + 6]))
    if args.html:
        args.html.write_text(profiler.output_html(), "utf-8")
    if args.session:
        profiler.last_session.save(str(args.session))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

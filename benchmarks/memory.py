"""Where a scan's memory goes: one generated organization on the simulator, scanned in this
process, then measured by kind and by stage (README.md, "Default configuration", Memory).

    .venv/bin/python benchmarks/memory.py --accounts 200 \
        --config benchmarks/configs/default.yaml --out benchmarks/results/memory-200.json

After the scan returns: the bytes the ScanResult holds per account, by kind (each object
counted once, in the first kind that reaches it: the findings' evidence, the rest of the
findings, then the account facts still held, then the rest). Then the stages after the scan,
each with the peak of what it allocated (tracemalloc, started once the scan has returned): the
report model, the reports, the evidence bundle. The simulator runs without latency faults (this
measures bytes, not time).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import from_cwd, sim_env, start_sim, write_json

from scanner.sim.generate import write_generated

MIB = 1024 * 1024


def deep_size(roots: Iterable[Any], seen: set[int]) -> int:
    """Bytes of every object reachable from ``roots`` not already in ``seen`` (which grows):
    containers and dataclasses followed through the garbage collector's referents; classes,
    modules and functions are not followed (shared by everything)."""
    size = 0
    stack = list(roots)
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, (type, type(sys), type(deep_size))):
            continue
        seen.add(id(obj))
        size += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return size


def _gc_timer() -> Callable[[], float]:
    """Seconds the garbage collector runs from now on (read with the returned function)."""
    total = [0.0, 0.0]

    def callback(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            total[1] = time.perf_counter()
        else:
            total[0] += time.perf_counter() - total[1]

    gc.callbacks.append(callback)
    return lambda: total[0]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--config", type=Path,
                   default=Path(__file__).resolve().parent / "configs" / "default.yaml")
    p.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    args = p.parse_args()
    work = from_cwd(args.work) if args.work else Path(tempfile.mkdtemp(prefix="orgscan-mem-"))
    config_path, out_json = from_cwd(args.config), from_cwd(args.out)

    from scanner.core.audit_report import build_audit_report
    from scanner.core.rules import rules_digest
    from scanner.report import write_reports
    from scanner.report.bundle import write_bundle
    from scanner.run.config import load_config
    from scanner.run.orchestrator import scan
    from scanner.run.runner import load_selected_rules

    scenario, _ = write_generated(args.accounts, args.seed, work / "org")
    sim = start_sim(scenario)
    out = work / "out"
    try:
        os.environ.clear()
        os.environ.update(sim_env(sim))
        config = load_config(config_path, endpoint_url=sim.endpoint, out=str(out))
        rules = load_selected_rules(config)
        gc_time = _gc_timer()
        t0 = time.monotonic()
        result = asyncio.run(scan(config, rules, out_dir=out))
        scan_s = time.monotonic() - t0
        gc_s = gc_time()
    finally:
        sim.stop()
    rss_after_scan = rss_mb()
    n = len(result.accounts)
    gc.collect()
    seen: set[int] = set()
    kinds = {
        "findings_evidence": deep_size([f.evidence for r in result.accounts
                                        for f in r.findings], seen),
        "findings": deep_size([r.findings for r in result.accounts], seen),
        "account_facts_held": deep_size([r.facts for r in result.accounts], seen),
        "account_rest": deep_size(list(result.accounts), seen),
        "organization": deep_size([result.org, result.org_facts, result.org_findings], seen),
    }
    per_account = {k: round(v / n) for k, v in kinds.items()}
    stages: dict[str, Any] = {}

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]

    def stage(name: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        stages[name] = {"peak_mb": round((peak - base) / MIB, 1),
                        "kept_mb": round((current - base) / MIB, 1)}
        tracemalloc.reset_peak()

    # The stages of runner.finish, one by one (no exceptions file, no baseline).
    report = build_audit_report(result, rules_digest=rules_digest(rules))
    stage("report model")
    written = write_reports(report, out, config.formats)
    stage("reports")
    bundle = write_bundle(report.result, out, reports=written, config=config, rules=rules)
    stage("bundle")
    tracemalloc.stop()
    doc = {"accounts": n, "config": str(config_path), "scan_s": round(scan_s, 1),
           "gc_during_scan_s": round(gc_s, 2),
           "rss_after_scan_mb": round(rss_after_scan, 1), "peak_rss_mb": round(rss_mb(), 1),
           "held_after_scan_bytes_per_account": per_account,
           "held_after_scan_mb": {k: round(v / MIB, 1) for k, v in kinds.items()},
           "after_scan": stages, "bundle_files": bundle.files}
    write_json(out_json, doc)
    print(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

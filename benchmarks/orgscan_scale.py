"""orgscan over generated organizations on the simulator: wall, calls per account by API,
client CPU per account, peak RSS, and wall against the bound (see README.md, "The bound").

    .venv/bin/python benchmarks/orgscan_scale.py --accounts 50 200 1000 \
        --config benchmarks/configs/root-checks.yaml --out benchmarks/results/scale-root.json
    .venv/bin/python benchmarks/orgscan_scale.py --accounts 200 1000 5000 --bundle \
        --config benchmarks/configs/default.yaml --out benchmarks/results/default.json
    .venv/bin/python benchmarks/orgscan_scale.py --accounts 40 --region-counts 1 3 10 all \
        --config benchmarks/configs/default.yaml --out benchmarks/results/regions-sweep.json

From the checkout, with orgscan's interpreter (it also runs the scans unless --python names
another). Each size gets a fresh simulator (its own process, latency faults on, LookupEvents
throttled at 2/s per account and region), a capacity probe of that simulator, then one
`orgscan scan` as a child process measured with wait4. Paths on the command line are taken
from the current directory. A scan narrowed to some regions is judged against the truth it can
see (``lib.visible_in``: root calls in regions it did not search left out).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import (
    JITTER_MS,
    LATENCY_FAULTS,
    LATENCY_MS,
    capacity,
    counters,
    from_cwd,
    orgscan_argv,
    reset_counters,
    run_measured,
    sim_cpu_seconds,
    sim_env,
    start_sim,
    venv_of,
    visible_in,
    write_json,
)

from scanner.sim.generate import write_generated
from scanner.sim.groundtruth import ground_truth
from scanner.sim.regions import DEFAULT_REGIONS

ROOT_RULES = {
    "access_keys": "root-access-keys-present",
    "mfa": "root-mfa-enabled",
    "hardware_mfa": "root-hardware-mfa",
}
LOOKUP_RATE = 2.0  # LookupEvents requests/s per account and region
LOOKUP_BURST = 2  # the simulator's token bucket holds `rate` tokens
REGIONS_AT_ONCE = 6  # event-history regions one account searches at once (eventhistory.py)
ORG_SERVICES = ("organizations",)
REPORT_DELAY_S = 0.3  # the simulator's credential-report generation delay (its default)
GLOBAL_REGION = "us-east-1"  # searched by every scan (eventhistory.py)


def journal_results(out: Path) -> list[dict[str, Any]]:
    lines = (out / "journal.jsonl").read_text("utf-8").splitlines()
    return [json.loads(line)["account"] for line in lines[1:] if '"account"' in line[:12]]


def verdicts(out: Path) -> dict[tuple[str, str], str]:
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    return {(f["account_id"], f["rule_id"]): f["status"] for f in doc["findings"]}


def compare_truth(found: dict[tuple[str, str], str], truth: dict[str, Any],
                  rule_ids: set[str]) -> dict[str, Any]:
    checked = mismatched = 0
    examples: list[str] = []
    for account_id, t in truth["accounts"].items():
        wants: dict[str, str] = {}
        for key, rule in ROOT_RULES.items():
            wants[rule] = t["root"][key] if t["assessable"] else "NOT_ASSESSED"
        used = "FAIL" if t["usage"]["used_in_window"] else "PASS"
        wants["root-account-used"] = used if t["assessable"] else "NOT_ASSESSED"
        for rule, want in wants.items():
            if rule not in rule_ids:
                continue
            checked += 1
            have = found.get((account_id, rule))
            if have != want:
                mismatched += 1
                if len(examples) < 10:
                    examples.append(f"{t['name']} {rule}: orgscan {have}, truth {want}")
    return {"checked": checked, "mismatched": mismatched, "examples": examples}


def lookup_chain(k: int) -> float:
    """k LookupEvents calls in one region, under its own limiter: the first LOOKUP_BURST back
    to back, then one per 1/rate s, each one latency."""
    lat = LATENCY_MS / 1000.0
    return k * lat + max(0, k - LOOKUP_BURST) / LOOKUP_RATE


def lookup_makespan(per_region: list[int]) -> float:
    """The regions' chains, in orgscan's order (us-east-1 first), handed to REGIONS_AT_ONCE
    slots as each frees (eventhistory.py's bounded_map): the time the last one ends."""
    slots = [0.0] * REGIONS_AT_ONCE
    for k in per_region:
        i = slots.index(min(slots))
        slots[i] += lookup_chain(k)
    return max(slots) if per_region else 0.0


def lookups_by_region(account: dict[str, Any], regions: int) -> list[int]:
    """The account's LookupEvents per region searched, us-east-1 first: from its
    cloudtrail.root_events fact (each region's requests), or, without it, the calls spread as
    orgscan makes them (one Username=root lookup in each other region, the rest in
    us-east-1) over ``regions`` regions."""
    fact = (account.get("facts") or {}).get("cloudtrail.root_events")
    searched = fact.get("regions") if isinstance(fact, dict) else None
    if isinstance(searched, dict) and searched:
        order = sorted(searched, key=lambda r: (r != "us-east-1", r))
        return [int(searched[r].get("requests") or 0) for r in order]
    k = int(account["calls"].get("cloudtrail:LookupEvents", 0))
    if not k:
        return []
    others = min(regions - 1, k - 1)
    return [k - others] + [1] * others


def account_path(calls: dict[str, int], member: bool, report_delay_s: float,
                 lookups: list[int]) -> float:
    """The shortest time one account's calls can take (README.md, "The bound"): AssumeRole
    (members), then its facts in parallel; the longest branch is the credential report
    (Generate; the report is ready `report_delay_s` after Generate is handled; Get; then
    ListVirtualMFADevices if it was needed) or the LookupEvents (`lookups`: calls per region
    searched, us-east-1 first; each region's chain under its own limiter, REGIONS_AT_ONCE
    regions at a time); any other call is one latency."""
    lat = LATENCY_MS / 1000.0
    report = 0.0
    if calls.get("iam:GenerateCredentialReport"):
        report = lat + max(lat, report_delay_s)
        if calls.get("iam:ListVirtualMFADevices"):
            report += lat
    single = lat if calls else 0.0
    return (lat if member else 0.0) + max(report, lookup_makespan(lookups), single)


def bound(*, requests: int, rps: float, concurrency: int, paths: list[float],
          ou_depth: int, org_lookups: int) -> dict[str, Any]:
    """max(capacity bound, latency bound): the fastest the scan could be given the calls it
    made (README.md, "The bound")."""
    lat = LATENCY_MS / 1000.0
    # Before the first account: GetCallerIdentity (twice: base scope, caller ARN);
    # DescribeOrganization, ListRoots, one round of list calls per level of the OU tree (the
    # level's calls in parallel), ListPolicies then DescribePolicy + ListTargetsForPolicy;
    # organization facts (ListOrganizationsFeatures beside the management account's AssumeRoot
    # lookups). Account tags are not on this path (they are fetched beside the fan-out).
    walk = (2 + 2 + ou_depth + 2) * lat + max(lat, org_lookups * lat)
    latency_bound = walk + max(max(paths, default=0.0), sum(paths) / max(1, concurrency))
    capacity_bound = requests / rps
    return {
        "walk_s": round(walk, 3),
        "account_path_median_s": round(statistics.median(paths), 3) if paths else None,
        "account_path_sum_s": round(sum(paths), 2),
        "latency_bound_s": round(latency_bound, 2),
        "capacity_bound_s": round(capacity_bound, 2),
        "bound_s": round(max(latency_bound, capacity_bound), 2),
        "bound_by": "simulator capacity" if capacity_bound >= latency_bound else
        "latency, rate limits and concurrency",
    }


def run_size(n: int, seed: int, config: Path, concurrency: int | None, work: Path,
             probe_seconds: float, src: Path | None, bundle: bool,
             python: Path) -> dict[str, Any]:
    scenario, _ = write_generated(n, seed, work / f"org{n}")
    sim = start_sim(scenario, LATENCY_FAULTS)
    try:
        cap = capacity(sim, seconds=probe_seconds)
        reset_counters(sim)
        sim_cpu0 = sim_cpu_seconds(sim)
        out = work / f"out{n}"
        argv = [*orgscan_argv(python), "scan", "--config", str(config),
                "--endpoint-url", sim.endpoint, "--out", str(out), "--quiet"]
        if concurrency:
            argv += ["--concurrency", str(concurrency)]
        if not bundle and src is None:  # (checkouts before the bundle existed write none)
            argv.append("--no-bundle")
        env = sim_env(sim)
        if src is not None:  # another checkout of orgscan (e.g. the code before a change)
            env["PYTHONPATH"] = str(src)
        load_before = os.getloadavg()  # other work on the machine skews wall and capacity
        m = run_measured(argv, env=env, cwd=work)
        load_after = os.getloadavg()
        sim_cpu = sim_cpu_seconds(sim) - sim_cpu0
        c = counters(sim)
        scenario_now, normalised = sim.now, sim.scenario
    finally:
        sim.stop()
    if m.returncode not in (0, 1, 3):
        raise SystemExit(f"orgscan failed ({m.returncode}):\n{m.stderr[-3000:]}")
    results = journal_results(out)
    scanned = [r for r in results if r["calls"]]
    by_api: Counter[str] = Counter()
    for r in scanned:
        by_api.update(r["calls"])
    per_account = {k: round(v / max(1, len(scanned)), 3) for k, v in sorted(by_api.items())}
    findings = json.loads((out / "findings.json").read_text("utf-8"))
    rule_ids = set(findings["scan"]["rules"])
    # The truth over the scan's own window, which ends when the scan started (the product's
    # definition), not when the simulator did: an event at exactly 90 days before the
    # simulator's start is outside a window that ends seconds later.
    from scanner.run.config import load_config

    cfg = load_config(config, concurrency=concurrency)
    seen = {GLOBAL_REGION, *cfg.regions} if cfg.regions else None
    truth = ground_truth(visible_in(normalised, seen), scenario_now,
                         window_end=datetime.fromisoformat(findings["scan"]["started"]))
    org_calls = {k: v for k, v in c["by_action"].items() if k.startswith(ORG_SERVICES)}
    depth = max(len(r["account"]["ou_path"].split("/")) for r in results)
    # Regions per account: the configured ones, or (`regions: all`, the default) the account's
    # enabled regions, which orgscan took from the simulator's DescribeRegions answer and
    # searched one by one (each account's cloudtrail.root_events fact lists them).
    searched = [len(f["regions"]) for r in scanned
                if isinstance(f := (r.get("facts") or {}).get("cloudtrail.root_events"), dict)
                and isinstance(f.get("regions"), dict)]
    n_regions = len(cfg.regions) if cfg.regions else max(searched, default=1)
    paths = [account_path(r["calls"], not r["account"]["is_management"], REPORT_DELAY_S,
                          lookups_by_region(r, n_regions)) for r in scanned]
    org_lookups = int(c["by_action"].get("cloudtrail:LookupEvents", 0)
                      - by_api.get("cloudtrail:LookupEvents", 0))
    b = bound(requests=c["requests"], rps=cap["rps"], concurrency=cfg.concurrency,
              paths=paths, ou_depth=depth, org_lookups=max(0, org_lookups))
    return {
        "accounts_in_org": len(results), "accounts_scanned": len(scanned),
        "config": str(config), "concurrency": cfg.concurrency, "bundle": bundle,
        "regions": list(cfg.regions or ()),
        "regions_searched_per_account": {
            "min": min(searched, default=0), "max": max(searched, default=0),
            "median": statistics.median(searched) if searched else 0},
        "latency_ms": LATENCY_MS, "jitter_ms": JITTER_MS,
        "load_average": {"before": [round(x, 2) for x in load_before],
                         "after": [round(x, 2) for x in load_after]},
        "process": m.to_json(),
        "wall_s": round(m.wall_s, 2),
        "cpu_ms_per_account": round(1000 * m.cpu_s / max(1, len(results)), 1),
        "peak_rss_mb": round(m.max_rss_mb, 1),
        "sim_requests": c["requests"], "sim_throttled": c["throttled_total"],
        "sim_cpu_s": round(sim_cpu, 2),
        "requests_per_account": round(c["requests"] / max(1, len(scanned)), 2),
        "calls_per_account_by_api": per_account,
        "calls_per_account": round(sum(per_account.values()), 2),
        "organization_calls": org_calls,
        "sim_requests_per_account_by_api": {
            k: round(v / max(1, len(scanned)), 3) for k, v in sorted(c["by_action"].items())},
        "capacity": cap,
        "bound": b,
        "wall_over_bound": round(m.wall_s / b["bound_s"], 2),
        "truth": compare_truth(verdicts(out), truth, rule_ids),
    }


def with_regions(config: Path, k: str, work: Path) -> Path:
    """``config`` with its regions set to the first ``k`` default regions, us-east-1 first
    (``all``: no regions key, every enabled region), written into ``work``."""
    doc = yaml.safe_load(config.read_text("utf-8")) or {}
    doc.pop("regions", None)
    if k != "all":
        order = sorted(DEFAULT_REGIONS, key=lambda r: (r != GLOBAL_REGION, r))
        doc["regions"] = order[:int(k)]
    path = work / f"{config.stem}-regions-{k}.yaml"
    path.write_text(yaml.safe_dump(doc), "utf-8")
    return path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, nargs="+", default=[50, 200, 1000])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--config", type=Path,
                   default=Path(__file__).resolve().parent / "configs" / "root-checks.yaml")
    p.add_argument("--concurrency", type=int, default=None)
    p.add_argument("--probe-seconds", type=float, default=8.0)
    p.add_argument("--region-counts", nargs="+", default=None, metavar="K",
                   help="run the --config once per K: its regions set to K of AWS's default "
                        "regions (us-east-1 first), or 'all' (every enabled region)")
    p.add_argument("--bundle", action="store_true",
                   help="also write the evidence bundle (off: the peers write none)")
    p.add_argument("--orgscan-src", type=Path, default=None,
                   help="run the scanner from this checkout (e.g. a git worktree or git archive "
                        "of another revision) instead, with the same interpreter")
    p.add_argument("--python", type=Path, default=Path(sys.executable),
                   help="the interpreter that runs orgscan (default: this one)")
    p.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    args = p.parse_args()
    # Paths on the command line are the caller's: orgscan runs in the scratch dir.
    config, out, python = from_cwd(args.config), from_cwd(args.out), from_cwd(args.python)
    src = from_cwd(args.orgscan_src) if args.orgscan_src else None
    if not config.is_file():
        p.error(f"--config: no such file: {args.config}")
    if src is not None and not (src / "scanner" / "__init__.py").is_file():
        p.error(f"--orgscan-src: no scanner package in {args.orgscan_src}")
    work = from_cwd(args.work) if args.work else Path(tempfile.mkdtemp(prefix="orgscan-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    configs = [config] if not args.region_counts else [
        with_regions(config, k, work) for k in args.region_counts]
    runs = []
    for n, cfg in ((n, c) for n in args.accounts for c in configs):
        r = run_size(n, args.seed, cfg, args.concurrency, work, args.probe_seconds,
                     src, args.bundle, python)
        runs.append(r)
        searched = r["regions_searched_per_account"]
        print(f"{n:>5} accounts, {searched['median']} regions: wall {r['wall_s']:.1f}s, "
              f"{r['calls_per_account']} calls/acct, "
              f"{r['cpu_ms_per_account']} ms CPU/acct, RSS {r['peak_rss_mb']} MB, "
              f"capacity {r['capacity']['rps']} req/s, bound {r['bound']['bound_s']}s "
              f"({r['bound']['bound_by']}), wall/bound {r['wall_over_bound']}, "
              f"truth mismatches {r['truth']['mismatched']}/{r['truth']['checked']}, "
              f"load {r['load_average']['before'][0]} -> {r['load_average']['after'][0]}",
              flush=True)
    venv = venv_of(python)
    write_json(out, {"runs": runs, "work": str(work), "cpus": os.cpu_count(),
                     "orgscan_src": str(src or "installed")},
               {venv: "<orgscan-venv>"} if venv is not None else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

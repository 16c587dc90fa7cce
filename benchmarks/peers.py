"""orgscan vs Cloud Custodian (c7n-org) vs Prowler on the same simulated organization, the same
four root checks, in one run: wall time, CPU and peak RSS of each tool's process tree, and
every verdict compared with the simulator's ground truth and with orgscan's.

    bash benchmarks/setup-peers.sh        # once: benchmarks/.venvs/c7n, benchmarks/.venvs/prowler
    .venv/bin/python benchmarks/peers.py --accounts 200 --prowler-sample 5 \
        --out benchmarks/results/peers-200.json

From the checkout, with orgscan's interpreter (it also runs orgscan unless --python names
another). The peers' venvs: --c7n-venv and --prowler-venv, else $BENCH_PEER_VENVS/c7n and
/prowler, else benchmarks/.venvs/c7n and /prowler (where setup-peers.sh puts them). Paths on
the command line are taken from the current directory.

Each tool gets a fresh simulator (same scenario, same seed, so the same account ids and root
state; the credential reports start ungenerated for every tool), with the same latency faults.
c7n-org scans the whole organization from an accounts file; Prowler has no organization loop
in its CLI, so it runs once per account (`-R <role arn>`) over a sample.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import (
    LATENCY_FAULTS,
    PEER_VENVS,
    counters,
    from_cwd,
    orgscan_argv,
    run_measured,
    sim_env,
    start_sim,
    venv_of,
    visible_in,
    write_json,
)

from scanner.sim.generate import write_generated
from scanner.sim.groundtruth import ground_truth

HERE = Path(__file__).resolve().parent
ROLE = "OrganizationAccountAccessRole"
ROOT_CHECKS_CONFIG = HERE / "configs" / "root-checks.yaml"
# The regions the root-checks config searches (us-east-1 always: sign-ins, global services).
ROOT_CHECK_REGIONS = {"us-east-1",
                      *yaml.safe_load(ROOT_CHECKS_CONFIG.read_text("utf-8"))["regions"]}
CHECKS = ("root-access-keys-present", "root-mfa-enabled", "root-hardware-mfa",
          "root-account-used")
PROWLER_CHECKS = {
    "iam_no_root_access_key": "root-access-keys-present",
    "iam_root_mfa_enabled": "root-mfa-enabled",
    "iam_root_hardware_mfa_enabled": "root-hardware-mfa",
    "iam_avoid_root_usage": "root-account-used",
}
NO_VERDICT = "none"  # the tool reported nothing for that account and check


def truth_verdicts(truth: dict[str, Any]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for account_id, t in truth["accounts"].items():
        if not t["assessable"]:
            out[account_id] = dict.fromkeys(CHECKS, "NOT_ASSESSED")
            continue
        out[account_id] = {
            "root-access-keys-present": t["root"]["access_keys"],
            "root-mfa-enabled": t["root"]["mfa"],
            "root-hardware-mfa": t["root"]["hardware_mfa"],
            "root-account-used": "FAIL" if t["usage"]["used_in_window"] else "PASS",
        }
    return out


@contextmanager
def load_sampled(into: dict[str, Any], every_s: float = 2.0) -> Iterator[None]:
    """Sample the machine's 1-minute load average while a tool runs, into ``into``: the
    machine may be shared, and the figure says how busy it was during that tool's run."""
    samples: list[float] = [os.getloadavg()[0]]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(every_s):
            samples.append(os.getloadavg()[0])

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
        samples.append(os.getloadavg()[0])
        into["load_average_1m"] = {"min": round(min(samples), 2),
                                   "mean": round(sum(samples) / len(samples), 2),
                                   "max": round(max(samples), 2), "samples": len(samples)}


# -- orgscan ---------------------------------------------------------------------------------


def run_orgscan(scenario: Path, work: Path, python: Path) -> dict[str, Any]:
    sim = start_sim(scenario, LATENCY_FAULTS)
    try:
        out = work / "orgscan-out"
        m = run_measured([*orgscan_argv(python), "scan",
                          "--config", str(ROOT_CHECKS_CONFIG),
                          "--endpoint-url", sim.endpoint, "--out", str(out), "--quiet",
                          "--no-bundle"],
                         env=sim_env(sim), cwd=work)
        c = counters(sim)
        # The truth a scan of the config's regions can see (root calls elsewhere left out):
        # every tool is judged on what the same three regions hold.
        truth = ground_truth(visible_in(sim.scenario, ROOT_CHECK_REGIONS), sim.now)
    finally:
        sim.stop()
    if m.returncode not in (0, 1, 3):
        raise SystemExit(f"orgscan failed ({m.returncode}):\n{m.stderr[-3000:]}")
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    verdicts: dict[str, dict[str, str]] = {}
    for f in doc["findings"]:
        if f["rule_id"] in CHECKS:
            verdicts.setdefault(f["account_id"], {})[f["rule_id"]] = f["status"]
    return {"process": m.to_json(), "requests": c["requests"], "verdicts": verdicts,
            "truth": truth}


# -- Cloud Custodian -------------------------------------------------------------------------


def run_c7n(scenario: Path, work: Path, venv: Path, accounts: list[str],
            names: dict[str, str]) -> dict[str, Any]:
    cfg = work / "c7n-accounts.yml"
    cfg.write_text(yaml.safe_dump({"accounts": [
        {"account_id": a, "name": names[a], "role": f"arn:aws:iam::{a}:role/{ROLE}",
         "regions": ["us-east-1"]} for a in accounts]}), "utf-8")
    out = work / "c7n-out"
    sim = start_sim(scenario, LATENCY_FAULTS)
    try:
        m = run_measured([str(venv / "bin" / "c7n-org"), "run", "-c", str(cfg), "-s", str(out),
                          "-u", str(HERE / "peers" / "c7n-root-policies.yml"),
                          "--cache-period", "0", "-r", "us-east-1"], env=sim_env(sim))
        c = counters(sim)
    finally:
        sim.stop()
    verdicts: dict[str, dict[str, str]] = {}
    for a in accounts:
        for check in CHECKS:
            path = out / names[a] / "us-east-1" / check / "resources.json"
            if not path.is_file():
                verdict = NO_VERDICT
            else:
                verdict = "FAIL" if json.loads(path.read_text("utf-8")) else "PASS"
            verdicts.setdefault(a, {})[check] = verdict
    errors = [line for line in m.stderr.splitlines() if "ERROR" in line or "Traceback" in line]
    return {"process": m.to_json(), "requests": c["requests"], "verdicts": verdicts,
            "errors": errors[:20], "stderr_tail": m.stderr[-2000:]}


# -- Prowler ---------------------------------------------------------------------------------


def run_prowler(scenario: Path, work: Path, venv: Path, accounts: list[str]) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    verdicts: dict[str, dict[str, str]] = {}
    sim = start_sim(scenario, LATENCY_FAULTS)
    try:
        for a in accounts:
            out = work / f"prowler-{a}"
            m = run_measured([
                str(venv / "bin" / "prowler"), "aws", "--checks", *PROWLER_CHECKS,
                "-R", f"arn:aws:iam::{a}:role/{ROLE}", "--region", "us-east-1",
                "-M", "json-ocsf", "-o", str(out), "--no-banner", "--log-level", "ERROR",
            ], env=sim_env(sim) | {"HOME": str(work)}, timeout=600)
            found = dict.fromkeys(CHECKS, NO_VERDICT)
            for f in out.glob("*.ocsf.json"):
                for item in json.loads(f.read_text("utf-8") or "[]"):
                    check = PROWLER_CHECKS.get(item.get("metadata", {}).get("event_code", ""))
                    if check:
                        found[check] = str(item.get("status_code", "")).upper()
            errors = [line.strip() for line in m.stdout.splitlines() + m.stderr.splitlines()
                      if "ERROR" in line or "went wrong" in line]
            verdicts[a] = found
            runs.append({"account": a, "process": m.to_json(), "errors": errors[:10]})
        c = counters(sim)
    finally:
        sim.stop()
    walls = [r["process"]["wall_s"] for r in runs]
    return {"runs": runs, "verdicts": verdicts, "requests": c["requests"],
            "wall_per_account_s": round(sum(walls) / max(1, len(walls)), 2),
            "max_rss_mb": max((r["process"]["max_rss_mb"] for r in runs), default=0)}


# -- comparison ------------------------------------------------------------------------------


def compare(tool: dict[str, dict[str, str]], ref: dict[str, dict[str, str]],
            accounts: list[str]) -> dict[str, Any]:
    agree = total = 0
    pairs: Counter[str] = Counter()
    examples: list[str] = []
    for a in accounts:
        for check in CHECKS:
            mine, want = tool.get(a, {}).get(check, NO_VERDICT), ref.get(a, {}).get(check)
            total += 1
            if mine == want:
                agree += 1
            else:
                pairs[f"{check}: {want} -> {mine}"] += 1
                if len(examples) < 8:
                    examples.append(f"{a} {check}: {mine} (reference {want})")
    return {"agree": agree, "total": total, "differences": dict(pairs.most_common()),
            "examples": examples}


def prowler_sample(truth: dict[str, dict[str, str]], k: int) -> list[str]:
    """Up to ``k`` assessable member accounts, deterministic (by id): first one for each
    interesting verdict (root keys, no MFA, virtual MFA, root used, credentials removed),
    then others with verdict combinations not yet picked."""
    members = [a for a in sorted(truth) if a != "111111111111"
               and "NOT_ASSESSED" not in truth[a].values()]
    wanted = [("root-access-keys-present", "FAIL"), ("root-mfa-enabled", "FAIL"),
              ("root-account-used", "FAIL"), ("root-mfa-enabled", "NOT_APPLICABLE"),
              ("root-hardware-mfa", "FAIL"), ("root-hardware-mfa", "PASS")]
    picked: list[str] = []
    for check, verdict in wanted:
        for a in members:
            if a not in picked and truth[a][check] == verdict:
                picked.append(a)
                break
    seen = {tuple(truth[a][c] for c in CHECKS) for a in picked}
    for a in members:
        sig = tuple(truth[a][c] for c in CHECKS)
        if sig not in seen:
            seen.add(sig)
            picked.append(a)
    return picked[:k]


def _load(tool: dict[str, Any]) -> str:
    la = tool["load_average_1m"]
    return f"load average (1 min) {la['mean']} mean, {la['max']} max"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--accounts", type=int, default=200)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--prowler-sample", type=int, default=5)
    p.add_argument("--c7n-venv", type=Path, default=PEER_VENVS / "c7n",
                   help="Cloud Custodian's venv (default: %(default)s)")
    p.add_argument("--prowler-venv", type=Path, default=PEER_VENVS / "prowler",
                   help="Prowler's venv (default: %(default)s)")
    p.add_argument("--python", type=Path, default=Path(sys.executable),
                   help="the interpreter that runs orgscan (default: this one)")
    p.add_argument("--skip", nargs="*", default=[], choices=["c7n", "prowler"])
    p.add_argument("--work", type=Path, default=None, help="scratch dir (default: a temp dir)")
    p.add_argument("--out", type=Path, required=True, help="results JSON")
    args = p.parse_args()
    c7n_venv, prowler_venv = from_cwd(args.c7n_venv), from_cwd(args.prowler_venv)
    python, out = from_cwd(args.python), from_cwd(args.out)
    work = from_cwd(args.work) if args.work else Path(tempfile.mkdtemp(prefix="orgscan-peers-"))
    work.mkdir(parents=True, exist_ok=True)
    scenario, _ = write_generated(args.accounts, args.seed, work / "org")

    result: dict[str, Any] = {"date": datetime.now(UTC).date().isoformat(),
                              "accounts_in_org": None, "work": str(work),
                              "latency_faults": LATENCY_FAULTS, "cpus": os.cpu_count()}
    load: dict[str, Any] = {}
    with load_sampled(load):
        o = run_orgscan(scenario, work, python)
    o.update(load)
    raw_truth = o.pop("truth")
    truth = truth_verdicts(raw_truth)
    all_accounts = sorted(truth)
    result["accounts_in_org"] = len(all_accounts)
    o["vs_truth"] = compare(o["verdicts"], truth, all_accounts)
    o["wall_per_account_s"] = round(o["process"]["wall_s"] / len(all_accounts), 4)
    result["orgscan"] = o
    print(f"orgscan: {o['process']['wall_s']:.1f}s for {len(all_accounts)} accounts, "
          f"truth {o['vs_truth']['agree']}/{o['vs_truth']['total']}, {_load(o)}", flush=True)

    names = {a: str(raw_truth["accounts"][a]["name"]) for a in all_accounts}

    if "c7n" not in args.skip:
        if not (c7n_venv / "bin" / "c7n-org").exists():
            result["c7n"] = {"status": "not installed", "venv": str(c7n_venv)}
            print(f"c7n-org: not installed in {args.c7n_venv} (bash benchmarks/setup-peers.sh)",
                  flush=True)
        else:
            with load_sampled(load):
                c = run_c7n(scenario, work, c7n_venv, all_accounts, names)
            c.update(load)
            c["vs_truth"] = compare(c["verdicts"], truth, all_accounts)
            c["vs_orgscan"] = compare(c["verdicts"], o["verdicts"], all_accounts)
            c["ratio_wall_vs_orgscan"] = round(c["process"]["wall_s"] / o["process"]["wall_s"], 2)
            result["c7n"] = c
            print(f"c7n-org: {c['process']['wall_s']:.1f}s ({c['ratio_wall_vs_orgscan']}x "
                  f"orgscan), truth {c['vs_truth']['agree']}/{c['vs_truth']['total']}, {_load(c)}",
                  flush=True)

    if "prowler" not in args.skip:
        if not (prowler_venv / "bin" / "prowler").exists():
            result["prowler"] = {"status": "not installed", "venv": str(prowler_venv)}
            print(f"prowler: not installed in {args.prowler_venv} "
                  "(bash benchmarks/setup-peers.sh)", flush=True)
        else:
            sample = prowler_sample(truth, args.prowler_sample)
            with load_sampled(load):
                pr = run_prowler(scenario, work, prowler_venv, sample)
            pr.update(load)
            pr["sample"] = sample
            pr["vs_truth"] = compare(pr["verdicts"], truth, sample)
            pr["vs_orgscan"] = compare(pr["verdicts"], o["verdicts"], sample)
            pr["orgscan_vs_truth_on_sample"] = compare(o["verdicts"], truth, sample)
            pr["ratio_per_account_vs_orgscan"] = round(
                pr["wall_per_account_s"] / o["wall_per_account_s"], 1)
            result["prowler"] = pr
            print(f"prowler: {pr['wall_per_account_s']:.1f}s per account "
                  f"({pr['ratio_per_account_vs_orgscan']}x orgscan per account), "
                  f"truth {pr['vs_truth']['agree']}/{pr['vs_truth']['total']}, {_load(pr)}",
                  flush=True)
    placeholders = dict.fromkeys((c7n_venv, prowler_venv), "<peer-venv>")
    venv = venv_of(python)
    if venv is not None:
        placeholders[venv] = "<orgscan-venv>"
    write_json(out, result, placeholders)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

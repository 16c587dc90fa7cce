"""Load: a 2,000-account generated organization is scanned to the end with bounded memory
(peak RSS of the scanning process, measured with getrusage in a subprocess) and every account
accounted for in coverage, findings and the journal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from scanner.sim import SimServer
from scanner.sim.generate import generate
from scanner.sim.scenario import normalise

# The root-protection core: credential report, account summary + MFA devices, event history.
# (The full pack makes ~18 calls an account; one moto server answers ~150 a second, which
# would put the simulator, not orgscan, on trial.)
RULES = ("root-access-keys-present", "root-mfa-enabled", "root-account-used")
# Peak RSS of the scanning process. getrusage's ru_maxrss survives fork+exec, so in a child of
# a large pytest process it reports the parent's size; VmHWM (Linux) is the peak of this
# process image alone. Both are printed; the bound is checked on VmHWM where it exists.
MEASURE = """
import resource, sys
from pathlib import Path
from scanner.cli.main import main
rc = main(sys.argv[1:])
hwm = 0
status = Path("/proc/self/status")
if status.exists():
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            hwm = int(line.split()[1])
rusage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print("MAXRSS_KIB", hwm or rusage, rusage, file=sys.stderr)
sys.exit(rc)
"""
MAX_RSS_MIB = 512
MAX_KIB_PER_ACCOUNT = 150


def scan_org(accounts: int, tmp: Path) -> tuple[dict[str, Any], float, int, Path, int]:
    raw, _ = generate(accounts, 11)
    tmp.mkdir(parents=True, exist_ok=True)
    cfg = tmp / "config.yaml"
    cfg.write_text("regions: [us-east-1]\nscan: {concurrency: 64}\n"
                   f"rules: {{include: [{', '.join(RULES)}]}}\n", encoding="utf-8")
    out = tmp / "out"
    with SimServer(raw) as sim:
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", MEASURE, "scan", "--config", str(cfg), "--out", str(out),
             "--quiet", "--no-bundle", "--format", "json"],
            env={**os.environ, **sim.env}, capture_output=True, text=True, timeout=600)
        wall = time.monotonic() - t0
        requests = sim.counters()["requests"]
    assert proc.returncode in (0, 1, 3), proc.stderr[-2000:]
    rss_kib = int(proc.stderr.rsplit("MAXRSS_KIB", 1)[1].split()[0])
    return raw, wall, rss_kib, out, requests


@pytest.mark.slow
def test_two_thousand_accounts_bounded_memory_all_accounted(tmp_path: Path) -> None:
    _, _, small_rss, _, _ = scan_org(200, tmp_path / "small")
    raw, wall, rss, out, requests = scan_org(2000, tmp_path / "large")
    per_account = (rss - small_rss) / 1800
    print(f"\nload: 2,000 accounts in {wall:.1f}s wall, peak RSS {rss / 1024:.0f} MiB "
          f"(200 accounts: {small_rss / 1024:.0f} MiB; {per_account:.0f} KiB/account), "
          f"{requests} simulator requests")
    assert rss < MAX_RSS_MIB * 1024, rss
    assert per_account < MAX_KIB_PER_ACCOUNT, per_account

    expected = {a["id"] for a in normalise(raw)["accounts"]}
    assert len(expected) == 2001
    coverage = json.loads((out / "coverage.json").read_text(encoding="utf-8"))
    listed = [a["account_id"] for a in coverage["accounts"]]
    assert len(listed) == len(set(listed)) == 2001  # every member and the management account
    assert set(listed) == expected
    assert sum(coverage["counts"].values()) == 2001
    not_assessed = [a for a in coverage["accounts"] if a["coverage"] != "assessed"]
    assert all(a["reason"] for a in not_assessed)
    suspended_or_missing = sum(1 for a in raw["accounts"]
                               if a.get("status") == "SUSPENDED" or a.get("role_missing"))
    assert len(not_assessed) == suspended_or_missing

    findings = json.loads((out / "findings.json").read_text(encoding="utf-8"))["findings"]
    per_account_rules = Counter(f["account_id"] for f in findings if f["scope"] == "account")
    assert set(per_account_rules) == set(listed)
    assert set(per_account_rules.values()) == {len(RULES)}

    journal = (out / "journal.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(journal) == 2001 + 1  # the header and one line per account

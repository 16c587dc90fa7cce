"""One real scan of the bundled demo organization, shared by the report tests of this package.

Cached per test session (the simulator runs once, then stops): roll-ups, bundles, diffs and
exceptions all read the same ScanResult, as the CLI's report phase does.
"""

from __future__ import annotations

import asyncio
import tempfile
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

from scanner.aws import AwsSettings
from scanner.config import ScanConfig, load_config
from scanner.orchestrator import scan
from scanner.results import ScanResult
from scanner.rules import Rule, load_rules
from scanner.sim import SimServer


@dataclass(frozen=True)
class DemoScan:
    result: ScanResult
    config: ScanConfig
    rules: tuple[Rule, ...]
    out: Path  # holds the scan's journal.jsonl
    credentials: dict[str, str]  # the simulator's management credentials (must never leak)


@cache
def demo_scan() -> DemoScan:
    out = Path(tempfile.mkdtemp(prefix="orgscan-report-tests-"))
    rules = tuple(load_rules())
    with SimServer("demo") as sim:
        creds = dict(sim.credentials)
        aws = AwsSettings(endpoint_url=sim.endpoint, region="us-east-1",
                          credentials=(creds["aws_access_key_id"],
                                       creds["aws_secret_access_key"]))
        config = replace(load_config(None, out=str(out)), aws=aws)
        result = asyncio.run(scan(config, list(rules), out_dir=out))
    return DemoScan(result, config, rules, out, creds)


MGMT = "111111111111"
RETAIL_DEV = "850154532349"  # its audit role cannot be assumed
SUSPENDED = "128678417078"
SANDBOX_01 = "137009366611"

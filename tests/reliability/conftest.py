"""Shared helpers of the reliability suite: scanning a simulator, and comparing two scans by
what an auditor reads (findings by account, rule and status; root-usage records without their
timing fields)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner.core.models import FactError
from scanner.core.results import ScanResult
from scanner.core.rules import Rule
from scanner.core.settings import AwsSettings, ScanConfig
from scanner.run.config import load_config
from scanner.run.orchestrator import scan
from scanner.run.rulepack import load_rules
from scanner.sim import SimServer

# Fields of a root-usage record that say when it was computed, not what it found.
TIMING_KEYS = frozenset({"window_start", "window_end", "generated", "generated_time",
                         "duration_s", "started", "finished"})


def settings_for(sim: SimServer, **kw: Any) -> AwsSettings:
    c = sim.credentials
    return AwsSettings(endpoint_url=sim.endpoint,
                       credentials=(c["aws_access_key_id"], c["aws_secret_access_key"]), **kw)


def config_for(sim: SimServer, **kw: Any) -> ScanConfig:
    aws_kw = kw.pop("aws", {})
    return replace(load_config(None), aws=settings_for(sim, **aws_kw), **kw)


def run_scan(sim: SimServer, out: Path, *, rules: Sequence[Rule] | None = None,
             **kw: Any) -> ScanResult:
    return asyncio.run(scan(config_for(sim, **kw), list(rules or load_rules()), out_dir=out))


def verdicts(result: ScanResult) -> dict[tuple[str, str], str]:
    """(account, rule) -> status, organization findings included."""
    return {(f.account_id, f.rule_id): f.status.value for f in result.findings}


def strip_timing(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: strip_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [strip_timing(v) for v in value]
    return value


def root_usage(result: ScanResult) -> dict[str, Any]:
    """account -> root.usage record without timing fields (FactError kept as is)."""
    out: dict[str, Any] = {}
    for r in result.accounts:
        fact = r.facts.get("root.usage")
        out[r.account.id] = fact if isinstance(fact, FactError) or fact is None \
            else strip_timing(fact)
    return out


def cli(args: list[str], env: Mapping[str, str], **kw: Any) -> subprocess.Popen[str]:
    """``orgscan`` as a subprocess (the installed package's module entry point)."""
    return subprocess.Popen([sys.executable, "-m", "scanner.cli.main", *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, **env}, **kw)

"""Sharding a scan across runners: which accounts shard ``i`` of ``n`` scans.

Deterministic by account id alone (a hash, not the walk's order), so every runner agrees on
the split without talking to the others, and an account stays in its shard as the
organization grows (only ``n`` moves it). Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from scanner.core.errors import ConfigError
from scanner.core.results import ScanResult, fact_to_json, organization_to_json
from scanner.report.files import write_text

Shard = tuple[int, int]  # (i, n), 1 <= i <= n

SHARD_FILE = "shard.json"  # what a shard's scan writes beside its journal, for `orgscan merge`


def parse_shard(text: str) -> Shard:
    """``"i/n"`` (1-based) -> (i, n)."""
    try:
        i_text, n_text = text.split("/")
        i, n = int(i_text), int(n_text)
    except ValueError:
        raise ConfigError("--shard", f"{text!r} is not i/n (e.g. 2/4)") from None
    if n < 1 or not 1 <= i <= n:
        raise ConfigError("--shard", f"{text!r}: need 1 <= i <= n")
    return i, n


def shard_of(account_id: str, n: int) -> int:
    """The shard (1..n) that scans ``account_id``."""
    digest = hashlib.sha256(account_id.encode("ascii")).digest()
    return int.from_bytes(digest[:8], "big") % n + 1


def in_shard(account_id: str, shard: Shard | None) -> bool:
    return shard is None or shard_of(account_id, shard[1]) == shard[0]


def label(shard: Shard) -> str:
    return f"{shard[0]}/{shard[1]}"


__all__ = ["SHARD_FILE", "Shard", "in_shard", "label", "parse_shard", "shard_of"]


def write_shard_file(out_dir: Path, shard: Shard, result: ScanResult,
                     header: Mapping[str, Any]) -> Path:
    """What `orgscan merge` needs besides the journal (written by the orchestrator)."""
    doc = {
        "schema": SHARD_SCHEMA, "shard": list(shard), "header": dict(header),
        "finished": result.finished, "caller_arn": result.caller_arn,
        "regions": list(result.regions) if result.regions is not None else None,
        "lookback_days": result.lookback_days, "rule_ids": list(result.rule_ids),
        "interrupted": result.interrupted,
        "targets": [r.account.id for r in result.accounts],
        "out_of_scope": list(result.out_of_scope),
        "org_facts": {k: fact_to_json(v) for k, v in result.org_facts.items()},
        "org_calls": dict(result.org_calls),
        "organization": organization_to_json(result.org),
    }
    path = out_dir / SHARD_FILE
    write_text(path, json.dumps(doc, default=str, separators=(",", ":")) + "\n")
    return path


SHARD_SCHEMA = 1

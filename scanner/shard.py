"""Sharding a scan across runners: which accounts shard ``i`` of ``n`` scans.

Deterministic by account id alone (a hash, not the walk's order), so every runner agrees on
the split without talking to the others, and an account stays in its shard as the
organization grows (only ``n`` moves it). Pure: no I/O.
"""

from __future__ import annotations

import hashlib

from scanner.errors import ConfigError

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

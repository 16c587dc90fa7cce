"""Large generated organizations (filled in below)."""

from __future__ import annotations

from pathlib import Path


def write_generated(accounts: int, seed: int, out: Path) -> tuple[Path, Path]:
    raise NotImplementedError("generator not written yet")

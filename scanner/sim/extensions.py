"""Wire every simulated extension (the APIs and state moto lacks) into the running state."""

from __future__ import annotations

from scanner.sim.state import SimState


def install(state: SimState) -> None:
    """Register handlers and patch backends. Order matters only where noted."""
    return None

"""Wire every simulated extension (the APIs and state moto lacks) into the running state."""

from __future__ import annotations

from scanner.sim import (
    athena,
    delegation,
    describeregions,
    features,
    lake,
    lookup,
    monitoring,
    orgtrail,
    request,
    rootstate,
    trails,
)
from scanner.sim.state import SimState


def install(state: SimState) -> None:
    """Register handlers and patch backends."""
    request.install()
    rootstate.install(state)
    features.install(state)
    lookup.install(state)
    lake.install(state)
    orgtrail.install(state)
    athena.install(state)  # after orgtrail: it reads the trail's bucket
    trails.install(state)  # after orgtrail: its ListTrails shows the organization trail
    monitoring.install(state)
    delegation.install(state)
    describeregions.install(state)

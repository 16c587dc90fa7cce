"""A simulated AWS Organization: moto in server mode plus orgscan's extensions.

Stands in for AWS in tests, demos and benchmarks. It imports nothing else of ``scanner``: it
must not share the scanner's assumptions about AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanner.sim.control import SimServer, SimServerError
    from scanner.sim.fleet import SimFleet
    from scanner.sim.scenario import bundled_scenario, load_scenario

__all__ = ["SimFleet", "SimServer", "SimServerError", "bundled_scenario", "load_scenario"]

# Imported on first use, not with the package: orgscan's parser mounts `orgscan sim` from
# scanner.sim.cli on every start, and a scan needs none of the simulator.
_HOME = {"SimFleet": "fleet", "SimServer": "control", "SimServerError": "control",
         "bundled_scenario": "scenario", "load_scenario": "scenario"}


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'scanner.sim' has no attribute {name!r}")
    from importlib import import_module

    return getattr(import_module(f"scanner.sim.{module}"), name)

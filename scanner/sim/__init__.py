"""A simulated AWS Organization: moto in server mode plus orgscan's extensions.

Stands in for AWS in tests, demos and benchmarks. It imports nothing else of ``scanner``: it
must not share the scanner's assumptions about AWS.
"""

from __future__ import annotations

from scanner.sim.control import SimServer, SimServerError
from scanner.sim.fleet import SimFleet
from scanner.sim.scenario import bundled_scenario, load_scenario

__all__ = ["SimFleet", "SimServer", "SimServerError", "bundled_scenario", "load_scenario"]

"""Several simulated organizations at once: one simulator server per organization.

Each server is its own moto process with its own organization, accounts and management
credentials (its operator user's key, drawn from its seed), so one organization's keys mean
nothing to another's server; with ``authenticate`` (the default here) a server refuses them
outright, as AWS would (scanner/sim/authn.py).

>>> with SimFleet([("acme", "demo"), ("globex", generate(12, seed=7)[0])]) as fleet:
...     fleet["acme"].endpoint, fleet["acme"].credentials
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Any

from scanner.sim.control import SimServer

Scenario = str | Path | dict[str, Any]


class SimFleet:
    """Labelled simulator servers, started together, stopped together."""

    def __init__(self, organizations: Sequence[tuple[str, Scenario]], *,
                 authenticate: bool = True) -> None:
        labels = [label for label, _ in organizations]
        if len(set(labels)) != len(labels):
            raise ValueError(f"labels must be unique: {labels}")
        self.servers: dict[str, SimServer] = {
            label: SimServer(scenario, authenticate=authenticate)
            for label, scenario in organizations}

    def __getitem__(self, label: str) -> SimServer:
        return self.servers[label]

    def __iter__(self) -> Iterator[str]:
        return iter(self.servers)

    def start(self) -> SimFleet:
        # Started side by side: each waits seconds for its moto process to seed.
        with ThreadPoolExecutor(max_workers=len(self.servers) or 1) as pool:
            futures = [pool.submit(s.start) for s in self.servers.values()]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            self.stop()
            raise errors[0]  # type: ignore[misc]
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.stop()

    def __enter__(self) -> SimFleet:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

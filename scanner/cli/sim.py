"""`orgscan sim serve|generate`: the simulator's own subcommands, mounted on orgscan's parser.

With `scanner.cli.demo`, the only place outside `scanner/sim/` that imports the simulator.
"""

from __future__ import annotations

from typing import Any


def add_parser(subparsers: Any) -> None:
    from scanner.sim import cli as sim_cli  # imported only when the parser is built

    sim_cli.add_parser(subparsers)

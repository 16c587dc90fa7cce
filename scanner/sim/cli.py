"""`orgscan sim ...` subcommands; the CLI owner mounts them with ``add_parser``."""

from __future__ import annotations

import argparse
import json
import signal
import threading
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> None:
    """Add ``sim serve`` and ``sim generate`` under an argparse subparsers object."""
    sim = subparsers.add_parser("sim", help="run or generate a simulated AWS Organization")
    sub = sim.add_subparsers(dest="sim_command", required=True)

    serve = sub.add_parser("serve", help="serve a scenario until Ctrl-C")
    serve.add_argument("--scenario", default="demo", help="scenario YAML file, or 'demo'/'minimal'")
    serve.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: any free)")
    serve.add_argument("--faults", type=Path, default=None, help="fault spec JSON file")
    serve.add_argument("--log", type=Path, default=None, help="write the request log here")
    serve.set_defaults(func=serve_command)

    gen = sub.add_parser("generate", help="write a large generated scenario and its ground truth")
    gen.add_argument("--accounts", type=_members, default=500,
                     help="member accounts, 1 or more (default 500)")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--out", type=Path, required=True)
    gen.set_defaults(func=generate_command)


def _members(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"at least 1 member account, not {n}")
    return n


def serve_command(args: argparse.Namespace) -> int:
    from scanner.sim.control import SimServer

    faults = json.loads(args.faults.read_text("utf-8")) if args.faults else None
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with SimServer(args.scenario, port=args.port, faults=faults, log_path=args.log) as sim:
        print(f"Simulated organization {sim.organization_id} at {sim.endpoint}")
        print(f"Management account {sim.management_account_id}; export these to use it:")
        for key, value in sim.env.items():
            print(f"export {key}={value}")
        print("Ctrl-C to stop.", flush=True)
        stop.wait()
    return 0


def generate_command(args: argparse.Namespace) -> int:
    from scanner.sim.generate import write_generated

    scenario_path, truth_path = write_generated(args.accounts, args.seed, args.out)
    print(f"wrote {scenario_path} and {truth_path}")
    return 0

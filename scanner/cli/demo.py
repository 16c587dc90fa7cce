"""`orgscan demo`: start the built-in simulated organization and scan it with every output."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from scanner.cli.console import print_summary
from scanner.cli.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, signal_code
from scanner.core.settings import ALL_FORMATS, AwsSettings
from scanner.run.config import load_config
from scanner.run.interrupts import Interrupted
from scanner.run.runner import RunOptions, run

# The demo reads the organization trail too, so that root use is reported even for the
# accounts it cannot assess. `orgscan scan` gets the same result from `orgscan sim serve` with
# a config selecting these sources: config.demo.yaml (README, "The simulator").
DEMO_SOURCES = ("credential_report", "event_history", "org_trail")
# What the manifest records as the configuration's source: not a file, and not the defaults.
DEMO_CONFIG_SOURCE = f"<demo> (the defaults, root_usage.sources: {', '.join(DEMO_SOURCES)})"


def _formats() -> tuple[str, ...]:
    """Every format; report.pdf only when its optional extra is installed (said, not fatal)."""
    from scanner.report.pdfextra import INSTALL, pdf_problem

    problem = pdf_problem()
    if problem is None:
        return ALL_FORMATS
    print(f"orgscan demo: skipping report.pdf: {problem}; for it, {INSTALL}", file=sys.stderr)
    return tuple(f for f in ALL_FORMATS if f != "pdf")


def cmd_demo(args: argparse.Namespace) -> int:
    if getattr(args, "organizations", None) is not None:
        return demo_many(args)
    from scanner.sim import SimServer
    from scanner.sim.scenario import ScenarioError

    def status(line: str) -> None:
        if not args.quiet:
            print(f"orgscan demo: {line}", file=sys.stderr)

    t0 = time.monotonic()
    config = load_config(None, defaults_name=DEMO_CONFIG_SOURCE, out=args.out,
                         formats=_formats(), root_usage_sources=list(DEMO_SOURCES))
    status("starting the simulated organization ...")
    try:
        sim = SimServer(args.scenario)
    except (ScenarioError, OSError, yaml.YAMLError) as exc:
        message = " ".join(str(exc).split())  # one line, also for a YAML error
        print(f"orgscan demo: --scenario {args.scenario}: {message}", file=sys.stderr)
        return EXIT_USAGE
    with sim:
        creds = sim.credentials
        aws = AwsSettings(endpoint_url=sim.endpoint, region="us-east-1",
                          credentials=(creds["aws_access_key_id"], creds["aws_secret_access_key"]))
        config = replace(config, aws=aws)
        status(f"simulator up in {time.monotonic() - t0:.1f}s at {sim.endpoint}; scanning ...")
        try:
            outcome = run(config, RunOptions(quiet=args.quiet))
        except Interrupted as exc:
            print(f"orgscan demo: interrupted ({exc}) before any account was scanned",
                  file=sys.stderr)
            return signal_code(exc.signum)
    result = outcome.result
    print_summary(outcome, Path(args.out))
    status(f"done in {time.monotonic() - t0:.1f}s")
    # The demo organization holds a suspended account and one without the audit role on
    # purpose, so its coverage is partial by design: a demo that ran to the end succeeded.
    # (`orgscan scan` keeps exit 3 for partial coverage.)
    if result.interrupted:
        return EXIT_INTERRUPTED
    status("the 2 accounts not assessed are part of the demo (a suspended account and one "
           "without the audit role); a real scan would exit 3 here.")
    return EXIT_OK


# --- several organizations (`orgscan demo --organizations N`) ---------------------------------

DEMO_LABELS = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "wonka")
# Member accounts of the generated organizations, in order (each of these seeds the scenario
# generator with every OU its policies name).
DEMO_SIZES = (24, 12, 16, 20, 28, 32, 36)


def demo_organizations(count: int) -> list[tuple[str, Any]]:
    """(label, scenario) of ``count`` organizations of different shapes: the built-in demo
    first, then generated ones of growing size, each with a management account of its own."""
    from scanner.sim.generate import generate

    orgs: list[tuple[str, Any]] = [(DEMO_LABELS[0], "demo")]
    for i in range(1, count):
        scenario, _ = generate(DEMO_SIZES[i - 1], seed=7 * i,
                               management_account_id=f"{i + 1}" * 12)
        orgs.append((DEMO_LABELS[i], scenario))
    return orgs


def demo_many(args: argparse.Namespace) -> int:
    """Scan ``args.organizations`` simulated organizations in one run; the last one's
    management credentials carry a wrong secret, so it is NOT_ASSESSED with the reason."""
    from scanner.cli.multiorg import print_combined_summary
    from scanner.run.multiorg import run_many
    from scanner.run.orgconfig import OrgConfig, organization_config
    from scanner.sim import SimFleet, SimServerError

    count = int(args.organizations)
    if not 1 <= count <= len(DEMO_LABELS):
        print(f"orgscan demo: --organizations {count}: expected 1 to {len(DEMO_LABELS)}",
              file=sys.stderr)
        return EXIT_USAGE
    t0 = time.monotonic()
    base = load_config(None, defaults_name=DEMO_CONFIG_SOURCE, out=args.out,
                       formats=_formats(), root_usage_sources=list(DEMO_SOURCES))
    if not args.quiet:
        print(f"orgscan demo: starting {count} simulated organizations ...", file=sys.stderr)
    try:
        fleet = SimFleet(demo_organizations(count))
        fleet.start()
    except (SimServerError, OSError) as exc:
        print(f"orgscan demo: {' '.join(str(exc).split())}", file=sys.stderr)
        return EXIT_USAGE
    with fleet:
        orgs = []
        for i, label in enumerate(fleet):
            sim = fleet[label]
            key, secret = (sim.credentials["aws_access_key_id"],
                           sim.credentials["aws_secret_access_key"])
            if count > 1 and i == count - 1:
                secret = "not-" + secret  # the organization whose credentials fail
            entry: dict[str, Any] = {"label": label, "endpoint_url": sim.endpoint}
            if sim.scenario.get("regions"):
                entry["regions"] = list(sim.scenario["regions"])
            config = organization_config(base, entry)
            orgs.append(OrgConfig(label, replace(config, aws=replace(
                config.aws, credentials=(key, secret)))))
        outcome = run_many(base, orgs, RunOptions(quiet=args.quiet))
    print_combined_summary(outcome)
    if not args.quiet:
        print(f"orgscan demo: done in {time.monotonic() - t0:.1f}s; the organization not "
              "assessed is part of the demo (its management secret is wrong)", file=sys.stderr)
    return EXIT_INTERRUPTED if outcome.interrupted else EXIT_OK

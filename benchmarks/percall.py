"""The client's CPU per AWS call, through orgscan's session layer (``scanner.aws``) and the
real SDK, against the simulator with no latency and no throttling: what each request costs
the scanner, apart from waiting.

    .venv/bin/python benchmarks/percall.py --calls 2000 --repeats 3

One member account is assumed, then the default configuration's per-account mix is called
``--calls`` times, ``--concurrency`` at once: LookupEvents (Username=root) in 17 regions, and
one each of the IAM, account and CloudTrail reads every account makes (the shares of
``benchmarks/README.md``'s default run). The first round warms the clients (created once per
service and region, as in a scan) and is not counted; each repeat is then timed with
``time.process_time``, and the median is printed. ``--profile`` runs one more round under
cProfile and prints Python function calls per request and the top functions by own time.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import start_sim

from scanner.aws.calls import call
from scanner.aws.session import Aws, account_scope
from scanner.core.errors import NotFound
from scanner.core.settings import AwsSettings
from scanner.sim.generate import write_generated

REGIONS = ("us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "eu-west-1",
           "eu-west-2", "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1",
           "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1",
           "ap-southeast-2", "sa-east-1")  # AWS's 17 regions enabled by default
NO_THROTTLE = {"lookup_events_throttle": False, "rules": []}

Call = Callable[[], Awaitable[Any]]


async def _mix(aws: Aws, account_id: str) -> list[Call]:
    """One account's calls in the default configuration, as (service, region) clients."""
    now = datetime.now(UTC)
    calls: list[Call] = []

    def add(service: str, region: str, method: str, **kwargs: Any) -> None:
        async def one() -> Any:
            client = await aws.client(service, region)
            try:
                return await call(client, method, account_id=account_id, **kwargs)
            except NotFound:  # an answer like any other (no contact of that type)
                return None
        calls.append(one)

    for region in REGIONS:
        add("cloudtrail", region, "lookup_events", MaxResults=50,
            LookupAttributes=[{"AttributeKey": "Username", "AttributeValue": "root"}],
            StartTime=now - timedelta(days=90), EndTime=now)
    for method in ("get_account_summary", "generate_credential_report",
                   "list_virtual_mfa_devices"):
        add("iam", "us-east-1", method)
    add("account", "us-east-1", "get_alternate_contact", AlternateContactType="SECURITY")
    add("cloudtrail", "us-east-1", "list_trails")
    add("cloudtrail", "us-east-1", "describe_trails")
    add("ec2", "us-east-1", "describe_regions")
    return calls


async def _round(mix: list[Call], calls: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with gate:
            await mix[i % len(mix)]()

    await asyncio.gather(*(one(i) for i in range(calls)))


async def measure(endpoint: str, creds: dict[str, str], args: argparse.Namespace
                  ) -> dict[str, Any]:
    settings = AwsSettings(endpoint_url=endpoint, credentials=(
        creds["aws_access_key_id"], creds["aws_secret_access_key"]))
    async with Aws(settings) as aws:
        base = await aws.base_scope()
        with account_scope(base):
            org = await (await aws.client("organizations")).list_accounts()
        member = next(a["Id"] for a in org["Accounts"]
                      if a["Id"] != base.account_id and a["Status"] == "ACTIVE")
        scope = await aws.assume(base, member)
        with account_scope(scope):
            mix = await _mix(aws, member)
            await _round(mix, len(mix) * 4, args.concurrency)  # clients made, pools warm
            per_call: list[float] = []
            for _ in range(args.repeats):
                cpu0 = time.process_time()
                await _round(mix, args.calls, args.concurrency)
                per_call.append(1000 * (time.process_time() - cpu0) / args.calls)
            profile: dict[str, Any] = {}
            if args.profile:
                prof = cProfile.Profile()
                prof.enable()
                await _round(mix, args.calls, args.concurrency)
                prof.disable()
                stats = pstats.Stats(prof)
                out = io.StringIO()
                pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(args.top)
                profile = {"function_calls_per_request":
                           round(stats.total_calls / args.calls),  # type: ignore[attr-defined]
                           "top": out.getvalue()}
        rounds = args.repeats + bool(args.profile)
        attempts = sum(aws.stats.attempts.values()) / (len(mix) * 4 + args.calls * rounds)
    return {"attempts_per_call": round(attempts, 3),
            "cpu_ms_per_call": [round(x, 3) for x in per_call],
            "median_cpu_ms_per_call": round(statistics.median(per_call), 3), **profile}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=2000, help="calls per timed round")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--profile", action="store_true",
                   help="one more round under cProfile: function calls per request, top list")
    p.add_argument("--top", type=int, default=30)
    args = p.parse_args()
    work = Path(tempfile.mkdtemp(prefix="orgscan-percall-"))
    scenario, _ = write_generated(10, 7, work / "org")
    sim = start_sim(scenario, NO_THROTTLE)
    try:
        result = asyncio.run(measure(sim.endpoint, sim.credentials, args))
    finally:
        sim.stop()
    top = result.pop("top", None)
    print(f"HTTP attempts per call: {result['attempts_per_call']}")
    print(f"CPU per call (ms), {args.repeats} rounds of {args.calls}: "
          f"{result['cpu_ms_per_call']}, median {result['median_cpu_ms_per_call']}")
    if "function_calls_per_request" in result:
        print(f"Python function calls per request: {result['function_calls_per_request']}")
        print(top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

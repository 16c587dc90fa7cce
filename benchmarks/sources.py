"""The root-usage sources side by side: time, calls and bytes of each as the organization and
its log volume grow (docs/scaling.md, "Root-usage sources: which one when").

    .venv/bin/python benchmarks/sources.py --accounts 50 200 500 --events-per-day 2 \
        --out benchmarks/results/sources-accounts.json
    .venv/bin/python benchmarks/sources.py --accounts 100 --events-per-day 2 8 32 \
        --out benchmarks/results/sources-volume.json

``benchmarks/sources.py --table FILE...`` prints results as the README's table.

From the checkout, with orgscan's interpreter. For each (accounts, events per day) a fresh
simulator (its own process) serves a generated organization (``scanner.sim.generate``, seed 7)
whose background traffic is that many non-root events per account and day (over the
generator's 7 days), with an organization trail, the Athena table over its bucket and an
organization CloudTrail Lake event data store; every call has 100 ms +- 50 ms of latency and
LookupEvents is throttled at 2/s per account and region (``lib.LATENCY_FAULTS``). Each source
is then run by itself, in this process, with a fresh client (the simulator's Athena table and
Lake store are built first, untimed, as AWS's exist before a query):

- ``event_history``: what a scan does per account: AssumeRole into the audit role, then the
  LookupEvents of ``cloudtrail.root_events`` (32 accounts at a time, the scan's default);
- ``org_trail``, ``athena``, ``cloudtrail_lake``: the one organization fact.

Recorded per source: wall seconds, this process's CPU seconds, calls by API (the client's
count, retries included), root events found, and for the organization sources the bytes they
read or had scanned (the log files' compressed bytes; Athena's DataScannedInBytes; Lake's
BytesScanned). The simulator's Athena and Lake answer at once: their wall here is the client's
and the API round trips, not AWS's engine time (docs/scaling.md says how to read it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lib import LATENCY_FAULTS, from_cwd, start_sim

from scanner.aws.collectors import COLLECTORS, CollectContext, FactStore
from scanner.aws.org import walk
from scanner.aws.session import AccountScope, Aws, account_scope
from scanner.core.errors import AwsError
from scanner.core.models import FactError, Organization
from scanner.core.settings import AwsSettings
from scanner.run.config import collector_options
from scanner.sim import SimServer
from scanner.sim.generate import generate
from scanner.sim.regions import DEFAULT_REGIONS

SOURCES = ("event_history", "org_trail", "athena", "cloudtrail_lake")
ORG_FACT = {"org_trail": "orgtrail.root_events", "athena": "athena.root_events",
            "cloudtrail_lake": "lake.root_events"}
REGIONS = ("us-east-1", "eu-west-1", "eu-central-1")  # the generator's
CONCURRENCY = 32


def scenario(accounts: int, events_per_day: int, out: Path,
             regions: tuple[str, ...] = REGIONS) -> Path:
    raw, _ = generate(accounts, seed=7)
    raw["background"] = {"events_per_day": events_per_day, "days": 7}
    raw["regions"] = list(regions)  # where the background traffic (and its log files) lands
    raw["organization"]["event_data_stores"] = [{"name": "org-events"}]
    path = out / f"scenario-{accounts}-{events_per_day}.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _calls(aws: Aws) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (_, op), n in aws.stats.attempts.items():
        out[op] += n
    return dict(sorted(out.items()))


def _store(aws: Aws, org: Organization, scope: AccountScope, options: Any, sim: SimServer,
           parent: FactStore | None, regions: tuple[str, ...]) -> FactStore:
    account = None if parent is None else org.account(scope.account_id)
    return FactStore(COLLECTORS, make_context=lambda fs: CollectContext(
        aws=aws, org=org, account=account, account_id=scope.account_id, regions=regions,
        now=sim.now, options=options, facts=fs), scope=scope, parent=parent)


def _settings(sim: SimServer) -> AwsSettings:
    creds = sim.credentials
    return AwsSettings(endpoint_url=sim.endpoint, max_attempts=8, credentials=(
        creds["aws_access_key_id"], creds["aws_secret_access_key"]))


async def measure(sim: SimServer, source: str,
                  regions: tuple[str, ...] = REGIONS) -> dict[str, Any]:
    options = collector_options({"root_usage": {"sources": [source]}})
    async with Aws(_settings(sim)) as aws:
        base = await aws.base_scope()
        with account_scope(base):
            org = await walk(aws)
        before = _calls(aws)
        org_store = _store(aws, org, base, options, sim, None, regions)
        cpu0, t0 = time.process_time(), time.monotonic()
        events = 0
        failed: list[str] = []
        extra: dict[str, Any] = {}
        if source == "event_history":
            gate = asyncio.Semaphore(CONCURRENCY)

            async def one(account_id: str) -> int:
                async with gate:
                    try:
                        scope = (base if account_id == base.account_id
                                 else await aws.assume(base, account_id))
                    except AwsError:
                        return 0  # not assessable (no audit role): a scan reports it so
                    store = _store(aws, org, scope, options, sim, org_store, regions)
                    fact = await store.get("cloudtrail.root_events")
                    if isinstance(fact, FactError):
                        failed.append(account_id)
                        return 0
                    return len(fact.get("events") or [])

            active = [a.id for a in org.accounts if a.status.value == "ACTIVE"]
            events = sum(await asyncio.gather(*(one(a) for a in active)))
        else:
            fact = await org_store.get(ORG_FACT[source])
            if isinstance(fact, FactError):
                failed.append(fact.message)
            else:
                events = sum(len(s.get("events") or []) for s in fact["accounts"].values())
                stats = fact.get("stats") or {}
                extra = {k: stats.get(k) for k in ("files", "compressed_bytes", "inflated_bytes",
                                                   "bytes_scanned", "rows", "events_scanned")
                         if stats.get(k) is not None}
        wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
        after = _calls(aws)
    calls = {k: n - before.get(k, 0) for k, n in after.items() if n - before.get(k, 0)}
    return {"source": source, "wall_s": round(wall, 2), "client_cpu_s": round(cpu, 2),
            "calls": calls, "calls_total": sum(calls.values()),
            "calls_without_assume_role": sum(n for k, n in calls.items()
                                             if k != "sts:AssumeRole"),
            "root_events": events, "failed": failed, **extra}


async def warm(sim: SimServer) -> float:
    """Have the simulator build its Athena table and Lake store once, before they are timed:
    AWS's tables exist before a query; the simulator's are built at the first one."""
    t0 = time.monotonic()
    async with Aws(_settings(sim)) as aws:
        base = await aws.base_scope()
        with account_scope(base):
            athena = await aws.client("athena", "us-east-1")
            qid = (await athena.start_query_execution(
                QueryString="SELECT eventid FROM default.cloudtrail_org LIMIT 1"))
            await athena.get_query_execution(QueryExecutionId=qid["QueryExecutionId"])
            lake = await aws.client("cloudtrail", "us-east-1")
            stores = (await lake.list_event_data_stores())["EventDataStores"]
            for store in stores:
                await lake.start_query(QueryStatement="SELECT eventID FROM "
                                       + store["EventDataStoreArn"].rsplit("/", 1)[1]
                                       + " LIMIT 1")
    return round(time.monotonic() - t0, 1)


def table(paths: list[Path]) -> str:
    """The results as the Markdown table in benchmarks/README.md."""
    lines = ["| accounts | events/account/day | source | wall s | client CPU s | calls "
             "(+ AssumeRole) | bytes read or scanned | root events |",
             "|---|---|---|---|---|---|---|---|"]
    for path in paths:
        for r in json.loads(path.read_text(encoding="utf-8"))["runs"]:
            assume = r["calls"].get("sts:AssumeRole", 0)
            read = r.get("compressed_bytes") or r.get("bytes_scanned")
            lines.append(
                f"| {r['accounts']} | {r['events_per_day']} | {r['source']} | {r['wall_s']} | "
                f"{r['client_cpu_s']} | {r['calls_without_assume_role']}"
                f"{f' (+ {assume})' if assume else ''} | "
                f"{f'{read:,}' if read else '-'} | {r['root_events']} |")
    return "\n".join(lines)


def main() -> int:
    if sys.argv[1:2] == ["--table"]:
        print(table([from_cwd(Path(p)) for p in sys.argv[2:]]))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--events-per-day", type=int, nargs="+", default=[2])
    parser.add_argument("--sources", nargs="+", choices=SOURCES, default=list(SOURCES))
    parser.add_argument("--regions", choices=("3", "all"), default="3",
                        help="3: the generator's three regions; all: AWS's 17 default regions "
                             "(background traffic spread over them, event history searching "
                             "each)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    regions = REGIONS if args.regions == "3" else tuple(
        sorted(DEFAULT_REGIONS, key=lambda r: (r != "us-east-1", r)))
    out = from_cwd(args.out)
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="orgscan-sources-") as tmp:
        for accounts in args.accounts:
            for per_day in args.events_per_day:
                path = scenario(accounts, per_day, Path(tmp), regions)
                t0 = time.monotonic()
                sim = start_sim(path, LATENCY_FAULTS)
                try:
                    started = round(time.monotonic() - t0, 1)
                    built = asyncio.run(warm(sim))
                    for source in args.sources:
                        result = asyncio.run(measure(sim, source, regions))
                        result |= {"accounts": accounts + 1, "events_per_day": per_day,
                                   "regions": len(regions),
                                   "sim_start_s": started, "sim_tables_s": built}
                        print(json.dumps(result), flush=True)
                        runs.append(result)
                finally:
                    sim.stop()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"latency": LATENCY_FAULTS, "concurrency": CONCURRENCY,
                               "regions": regions, "runs": runs}, indent=2) + "\n",
                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

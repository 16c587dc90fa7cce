"""The scan: the only place tasks are created.

walk the organization -> organization facts once -> fan out over accounts (TaskGroup, a
semaphore, a per-account deadline) -> each account assumes the audit role, collects the facts
its rules need concurrently, is evaluated purely and journaled -> organization rules.

Every expected failure becomes data: an account whose role cannot be assumed, that is
suspended, or that runs out of time is reported with the reason and never disappears.

The caller is the management account or a delegated administrator. A delegated
administrator reads the organization itself, but the management account's own data (its
root, its event history's AssumeRoot calls, the organization trail it owns) only through the
audit role in the management account, where that role trusts it; what it cannot enter is
reported with the refused call, never read from the caller's own account instead.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from scanner import __version__
from scanner.aws.circuit import ENDPOINT_DOWN, EndpointDown
from scanner.aws.collectors import COLLECTORS, CollectContext, Collector, FactStore, closure
from scanner.aws.collectors.orgfacts import with_member_root_credentials
from scanner.aws.org import account_tags, in_scope, walk
from scanner.aws.regions import enabled_regions
from scanner.aws.session import ORG_LABEL, AccountScope, Aws, account_scope, utcnow
from scanner.aws.tasks import task_group
from scanner.core.engine import evaluate_account, evaluate_organization, facts_needed
from scanner.core.errors import AwsError
from scanner.core.factcoverage import FailedFact, describe, failed_facts
from scanner.core.models import (
    JSON,
    Account,
    AccountState,
    FactError,
    Finding,
    Organization,
    Status,
)
from scanner.core.results import JOURNAL_NAME, AccountResult, Coverage, ScanResult
from scanner.core.rules import Rule, rules_digest
from scanner.core.settings import ScanConfig
from scanner.core.unassessed import unassessed_account
from scanner.run.interrupts import Stop
from scanner.run.journal import JOURNAL_FORMAT, Journal, options_digest, scan_options
from scanner.run.progress import Progress
from scanner.run.shard import in_shard


@dataclass
class _Scan:
    """State shared by the account tasks of one scan."""

    config: ScanConfig
    aws: Aws
    base: AccountScope
    org: Organization
    rules: Sequence[Rule]
    needed: frozenset[str]
    org_store: FactStore
    now: datetime
    journal: Journal
    progress: Progress
    org_facts: dict[str, JSON | FactError] = field(default_factory=dict)
    tags: _Tags | None = None
    # Accounts the scan gave up on (their endpoint stopped answering): reported, not journaled.
    given_up: dict[str, AccountResult] = field(default_factory=dict)
    frozen: bool = False  # gc.freeze() done (see _fan_out)


# Organization facts whose data lives in the management account itself (its event history,
# the organization trail it owns, that trail's status): a delegated administrator must read
# them there.
MANAGEMENT_FACTS = frozenset({"cloudtrail.assume_root_calls", "cloudtrail.organization_trails",
                              "orgtrail.root_events"})


class _ManagementScope:
    """A delegated administrator's way into the management account (the audit role there),
    assumed once, when an organization fact first needs it; its refusal is every such fact's."""

    def __init__(self, aws: Aws, base: AccountScope, management_id: str) -> None:
        self.aws, self.base, self.management_id = aws, base, management_id
        self._fut: asyncio.Future[AccountScope] | None = None

    async def get(self) -> AccountScope:
        if self._fut is not None:
            return await asyncio.shield(self._fut)
        fut = self._fut = asyncio.get_running_loop().create_future()
        try:
            scope = await self.aws.assume(self.base, self.management_id, label=ORG_LABEL)
        except AwsError as exc:
            fut.set_exception(exc)
            fut.exception()  # retrieved: the first reader raises it itself
            raise
        except BaseException:
            fut.cancel()
            raise
        fut.set_result(scope)
        return scope

    def collectors(self, collectors: Mapping[str, Collector]) -> dict[str, Collector]:
        """The registry with the management-account facts read through this scope."""
        return {n: self._wrap(c) if n in MANAGEMENT_FACTS else c for n, c in collectors.items()}

    def _wrap(self, collector: Collector) -> Collector:
        inner = collector.fetch

        async def fetch(ctx: CollectContext) -> JSON:
            try:
                scope = await self.get()
            except AwsError as exc:
                raise type(exc)(
                    exc.code, f"{collector.name} is read in the management account "
                    f"{self.management_id}, which the delegated administrator cannot enter: "
                    f"{exc.message}", service=exc.service, operation=exc.operation,
                    account_id=exc.account_id) from exc
            with account_scope(scope):
                return await inner(replace(ctx, account_id=scope.account_id))

        return replace(collector, fetch=fetch)


class _Tags:
    """Account tags, fetched alongside the fan-out instead of before it.

    Tags cost one Organizations call per account, which in the walk stood between the
    organization and the first account scanned (2.5 s for 200 accounts at 100 ms a call, 12 s
    for 1,000). An account only needs its tags when it is evaluated, after its own calls, so the
    fetch runs beside the scan in the fan-out's order and each account awaits its own.
    """

    def __init__(self, org: Organization, first: Sequence[Account]) -> None:
        loop = asyncio.get_running_loop()
        self._futures: dict[str, asyncio.Future[dict[str, str]]] = {
            a.id: loop.create_future() for a in org.accounts}
        ids = [a.id for a in first]
        self._order = ids + sorted(set(self._futures) - set(ids))

    async def fetch(self, aws: Aws, base: AccountScope, concurrency: int) -> None:
        with account_scope(base):
            client = await aws.client("organizations")
            sem = asyncio.Semaphore(concurrency)

            async def one(account_id: str) -> None:
                fut = self._futures[account_id]
                async with sem:
                    try:
                        fut.set_result(await account_tags(client, account_id))
                    except AwsError as exc:
                        fut.set_exception(exc)

            async with asyncio.TaskGroup() as tg:
                for account_id in self._order:
                    tg.create_task(one(account_id))

    async def tagged(self, account: Account) -> Account:
        fut = self._futures.get(account.id)
        if fut is None:
            return account
        return replace(account, tags=await asyncio.shield(fut))

    def apply(self, org: Organization) -> Organization:
        """The organization with every account's tags; an account whose tags could not be
        read keeps none (its own result says why)."""
        def tags(a: Account) -> dict[str, str] | None:
            fut = self._futures.get(a.id)
            if fut is None or not fut.done() or fut.cancelled() or fut.exception() is not None:
                return None
            return fut.result()

        return replace(org, accounts=tuple(
            a if (t := tags(a)) is None else replace(a, tags=t) for a in org.accounts))


async def scan(config: ScanConfig, rules: Sequence[Rule] | Callable[[], Sequence[Rule]], *,
               out_dir: Path, resume: bool = False, now: datetime | None = None,
               progress: Progress | None = None, stop: Stop | None = None) -> ScanResult:
    """Scan the organization. Raises AwsError only when nothing can be scanned at all
    (no base credentials, no organization); everything per account becomes data.

    ``rules`` may be a loader, called once the identity call is answered: the rule pack's
    parsing then no longer delays the first request, and a bad pack (ConfigError) still stops
    the scan before any other call. ``stop``: the run's signal state; a signal before the
    fan-out cancels the scan (the CancelledError propagates), one during it ends the fan-out
    with the result interrupted."""
    if stop is not None:
        stop.attach()
    start: datetime = now or utcnow()
    started = start.isoformat()
    async with Aws(config.aws) as aws:
        base = await aws.base_scope()  # asks STS who the caller is, once per scan
        if callable(rules):
            rules = rules()
        with account_scope(base):
            # Tags are needed before the fan-out only to select accounts by tag.
            tags_first = bool(config.include.tags or config.exclude.tags)
            org = await walk(aws, config.org_walk_concurrency, tags=tags_first)
        targets = _targets(config, org)
        # Facts read only on some paths are fetched when read, not ahead (closure lazy=False).
        needed = frozenset(closure(facts_needed(rules), COLLECTORS, lazy=False))
        collectors: Mapping[str, Collector] = COLLECTORS
        prog = progress or Progress(total=len(targets), quiet=True)
        if base.account_id != org.management_account_id:
            prog.note(f"running as {base.account_id}, a delegated administrator: the management "
                      f"account {org.management_account_id} is read through "
                      f"{config.aws.role_name} where it trusts this account")
            collectors = _ManagementScope(aws, base, org.management_account_id).collectors(
                COLLECTORS)
        org_store = FactStore(collectors, make_context=lambda fs: CollectContext(
            aws=aws, org=org, account=None, account_id=base.account_id,
            regions=config.regions or (config.aws.region,), now=start,
            options=config.collector_options, facts=fs), scope=base)
        options = scan_options(config, rules)
        header = {"format": JOURNAL_FORMAT, "scan_id": str(uuid.uuid4()), "started": started,
                  "organization_id": org.id, "rules_digest": rules_digest(rules),
                  "tool_version": __version__, "options": options,
                  "options_digest": options_digest(options)}
        prog.total = len(targets)
        with Journal(out_dir / JOURNAL_NAME, header, resume=resume) as journal:
            if journal.cut_bytes:
                prog.note(f"{journal.path}: cut back a torn last line ({journal.cut_bytes} "
                          "bytes); that account is scanned again")
            if journal.done:
                # The counter goes on from what the journal holds, not from 1.
                prog.done = sum(a.id in journal.done for a in targets)
                prog.note(f"resuming: {prog.done} of {len(targets)} account(s) already scanned")
                # The resumed scan keeps the original window, so both halves agree.
                start = datetime.fromisoformat(str(journal.header["started"]))
            state = _Scan(config, aws, base, org, rules, needed, org_store, start, journal, prog)
            if not tags_first:
                state.tags = _Tags(org, targets)
            org_facts = state.org_facts = await _org_facts(state)
            try:
                interrupted = await _fan_out(state, targets)
            finally:
                if state.frozen:
                    gc.unfreeze()  # what was frozen may be garbage in cycles by now
            # A signal from here on is recorded, not obeyed: the scan has ended.
            if stop is not None and stop.detach():
                interrupted = True
            prog.close()
        target_ids = {a.id for a in targets}
        if state.tags is not None and not interrupted:
            org = state.tags.apply(org)
            targets = tuple(a for a in org.accounts if a.id in target_ids)
        # An interrupted scan still lists every target: the ones it did not finish are
        # NOT_ASSESSED with the reason (and not journaled, so --resume scans them).
        results = tuple(journal.done.get(a.id) or state.given_up.get(a.id)
                        or _not_scanned(state, a) for a in targets
                        if a.id in journal.done or a.id in state.given_up or interrupted)
        org_facts = _complete_org_facts(org_facts, results)
        org_findings = tuple(evaluate_organization(rules, org_facts, org, start))
    result = ScanResult(
        scan_id=str(journal.header["scan_id"]), started=str(journal.header["started"]),
        finished=utcnow().isoformat(), tool_version=__version__, caller_arn=aws.caller.arn,
        org=org, accounts=results, org_facts=org_facts, org_findings=org_findings,
        out_of_scope=tuple(a.id for a in org.accounts if a.id not in target_ids),
        regions=config.regions, lookback_days=config.lookback_days,
        rule_ids=tuple(r.id for r in rules), interrupted=interrupted,
        org_calls=aws.stats.calls_for(ORG_LABEL),
    )
    if config.shard is not None:
        # What `orgscan merge` needs besides the journal: the walk, organization facts.
        from scanner.run.shard import write_shard_file

        write_shard_file(out_dir, config.shard, result, journal.header)
    return result


NOT_SCANNED = "not scanned: the scan was interrupted (rerun with --resume)"


def _not_scanned(s: _Scan, account: Account) -> AccountResult:
    facts, findings = _without_account_facts(s, account, NOT_SCANNED)
    return AccountResult(account, Coverage.NOT_ASSESSED, NOT_SCANNED, facts, tuple(findings),
                         "", 0.0)


def _without_account_facts(s: _Scan, account: Account, reason: str
                           ) -> tuple[dict[str, JSON | FactError], list[Finding]]:
    return unassessed_account(s.rules, account, reason, s.org_facts, s.now,
                              s.config.lookback_days, s.org)


def _targets(config: ScanConfig, org: Organization) -> tuple[Account, ...]:
    accounts = in_scope(org, config.include, config.exclude)
    return tuple(a for a in accounts
                 if (config.scan_management or not a.is_management)
                 and (config.include_suspended or a.status is AccountState.ACTIVE)
                 and in_shard(a.id, config.shard))


async def _org_facts(s: _Scan) -> dict[str, JSON | FactError]:
    names = sorted(n for n in s.needed
                   if n in COLLECTORS and COLLECTORS[n].scope == "organization")
    async with asyncio.TaskGroup() as tg:
        tasks = {n: tg.create_task(s.org_store.get(n)) for n in names}
    return {n: t.result() for n, t in tasks.items()}


def _complete_org_facts(org_facts: dict[str, JSON | FactError],
                        results: Sequence[AccountResult]) -> dict[str, JSON | FactError]:
    """Organization facts that can only be known once every account is scanned."""
    summary = org_facts.get("org.summary")
    if isinstance(summary, dict):
        root_mfa = {r.account.id: r.facts.get("root.mfa", FactError("NotCollected", r.reason))
                    for r in results}
        org_facts = {**org_facts, "org.summary": with_member_root_credentials(
            summary, (r.account for r in results), root_mfa)}
    return org_facts


# A concurrency budget shared with other scans in the same event loop (several organizations
# in one run, scanner/run/multiorg.py sets it in each organization's task): each account's
# scan holds one of its slots. Unset: this scan's own semaphore of scan.concurrency.
SHARED_SLOTS: ContextVar[AbstractAsyncContextManager[Any] | None] = ContextVar(
    "orgscan_shared_slots", default=None)


async def _fan_out(s: _Scan, targets: Sequence[Account]) -> bool:
    """Scan every target not already journaled; True when interrupted (Ctrl-C)."""
    sem = SHARED_SLOTS.get() or asyncio.Semaphore(s.config.concurrency)

    async def one(account: Account) -> None:
        async with sem:
            result = await _scan_account(s, account)
        if account.id not in s.given_up:
            await s.journal.record_async(result)
        if not s.frozen:
            # Once one account is done, the SDK's service models and the rules are loaded:
            # long-lived objects the collector would otherwise walk at every full collection
            # (benchmarks/README.md, "Memory"). Unfrozen when the fan-out ends.
            s.frozen = True
            gc.freeze()
        errors = sum(f.status is Status.ERROR for f in result.findings)
        s.progress.account_done(
            f"{account.id} {account.name}", result.reason or "assessed",
            not_assessed=result.coverage is not Coverage.ASSESSED, errors=errors,
            throttles=sum(s.aws.stats.throttles.values()))

    try:
        # Only the tags fetch lets an AwsError out (accounts turn theirs into data); it is
        # raised as itself, as when the walk fails.
        async with task_group() as tg:
            if s.tags is not None:
                tg.spawn(s.tags.fetch(s.aws, s.base, s.config.org_walk_concurrency))
            for account in targets:
                if account.id not in s.journal.done:
                    tg.spawn(one(account))
    except asyncio.CancelledError:
        # Ctrl-C: what is journaled stands; the reports say the scan is incomplete.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True
    return False


def _account_scoped(name: str) -> bool:
    collector = COLLECTORS.get(name)
    return collector is None or collector.scope != "organization"


async def _scan_account(s: _Scan, account: Account) -> AccountResult:
    t0 = time.monotonic()
    started = utcnow().isoformat()

    async def done(coverage: Coverage, reason: str, facts: Mapping[str, JSON | FactError],
                   *, given_up: bool = False) -> AccountResult:
        nonlocal account
        if s.tags is not None:
            try:
                account = await s.tags.tagged(account)
            except AwsError as exc:
                # One account's tags failing must not stop the scan: the account is reported
                # without tags, and says so (a tag-scoped rule or exception may not apply).
                problem = f"cannot read the account's tags: {exc.code}: {exc.message}"
                if coverage is Coverage.ASSESSED:
                    coverage = Coverage.PARTIAL
                if not given_up:
                    reason = f"{reason}; {problem}" if reason else problem
        failed: tuple[FailedFact, ...] = ()
        if coverage is Coverage.NOT_ASSESSED:
            facts, findings = _without_account_facts(s, account, reason)
        else:
            findings = evaluate_account(s.rules, facts, account, s.now, s.org)
            # Assessed only when every fact its verdicts need was collected (docs/semantics.md).
            failed = failed_facts(s.rules, findings, facts, _USES)
            if failed:
                coverage = Coverage.PARTIAL
                reason = f"{reason}; {describe(failed)}" if reason else describe(failed)
            if any(f.code == ENDPOINT_DOWN for f in failed):
                given_up = True
                reason += f"; {RESUME_HINT}"
        # Organization facts are kept once, in the scan result, not in every account's record:
        # copied into each, the organization's AssumeRoot calls alone made the journal and the
        # evidence bundle grow by ~48 KB per account (quadratic in the organization's size).
        own = {k: v for k, v in facts.items() if _account_scoped(k)}
        result = AccountResult(account, coverage, reason, own, tuple(findings), started,
                               time.monotonic() - t0, s.aws.stats.calls_for(account.id), failed)
        if given_up:
            # The scan gave up on a dead endpoint: reported, not journaled, so that --resume
            # scans the account again once the endpoint answers.
            s.given_up[account.id] = result
        return result

    if account.status is not AccountState.ACTIVE:
        return await done(Coverage.NOT_ASSESSED, f"account is {account.status.value}", {})
    deadline = s.config.account_deadline_seconds
    try:
        async with asyncio.timeout(deadline):
            scope = await _scope_for(s, account)
    except EndpointDown as exc:
        return await done(Coverage.NOT_ASSESSED, _gave_up(exc), {}, given_up=True)
    except AwsError as exc:
        return await done(Coverage.NOT_ASSESSED,
                    f"cannot assume {s.config.aws.role_name}: {exc.code}: {exc.message}", {})
    except TimeoutError:
        return await done(Coverage.NOT_ASSESSED,
                    f"deadline of {deadline:g}s exceeded assuming the role", {})

    with account_scope(scope):
        try:
            regions = s.config.regions or await enabled_regions(s.aws)
        except EndpointDown as exc:
            return await done(Coverage.NOT_ASSESSED, _gave_up(exc), {}, given_up=True)
        except AwsError as exc:
            return await done(Coverage.NOT_ASSESSED, f"cannot list enabled regions: {exc}", {})
        store = FactStore(COLLECTORS, make_context=lambda fs: CollectContext(
            aws=s.aws, org=s.org, account=account, account_id=account.id, regions=regions,
            now=s.now, options=s.config.collector_options, facts=fs),
            scope=scope, parent=s.org_store)
        facts, timed_out = await _collect(store, sorted(s.needed),
                                          deadline - (time.monotonic() - t0))
    if timed_out:
        return await done(Coverage.PARTIAL,
                          f"deadline of {deadline:g}s exceeded collecting facts", facts)
    return await done(Coverage.ASSESSED, "", facts)


RESUME_HINT = "rerun with --resume once it answers"


def _gave_up(exc: EndpointDown) -> str:
    return f"{exc.message}; not scanned ({RESUME_HINT})"


# The facts each collector builds on: a derived fact that failed is named by its cause.
_USES = {name: (*c.uses, *c.lazy) for name, c in COLLECTORS.items()}


async def _collect(store: FactStore, names: Sequence[str],
                   budget: float) -> tuple[dict[str, JSON | FactError], bool]:
    """Collect every fact concurrently within ``budget`` seconds; what did not finish is a
    DeadlineExceeded FactError, what did is kept."""
    tasks: dict[str, asyncio.Task[Any]] = {}
    timed_out = False
    try:
        async with asyncio.timeout(max(budget, 0.001)), asyncio.TaskGroup() as tg:
            for n in names:
                tasks[n] = tg.create_task(store.get(n))
    except TimeoutError:
        timed_out = True
    facts: dict[str, JSON | FactError] = {}
    for n in names:
        t = tasks.get(n)
        if t is not None and t.done() and not t.cancelled():
            facts[n] = t.result()
        else:
            facts[n] = FactError("DeadlineExceeded", "the account's deadline ran out first")
    return facts, timed_out


async def _scope_for(s: _Scan, account: Account) -> AccountScope:
    """The caller's own account is scanned with its own credentials (the management account's
    through its audit role when ``management_account.use_member_role`` says so); every other
    account, the management account too when a delegated administrator runs the scan, through
    the audit role, which must trust the caller's account."""
    own = account.id == s.base.account_id
    if own and not (account.is_management and s.config.management_uses_member_role):
        # Same credentials, counted as the account's own scan rather than organization work.
        return AccountScope(s.base.account_id, s.base.credentials)
    return await s.aws.assume(s.base, account.id)

"""One audit run over several organizations, each isolated from the others.

Every organization is scanned by the one scan (``orchestrator.scan``) with its own
configuration: its own AWS session and credentials (so its calls are signed only with them),
its own output directory, journal and evidence bundle. The scans share one event loop and one
concurrency budget (``fairshare.FairShare``: a freed slot goes to the organization holding the
fewest; ``budget``: the sum of the organizations' ``scan.concurrency``). An organization whose
credentials or walk fail is NOT_ASSESSED as a whole, with the reason; the others complete.
An organization's outputs are written as soon as its scan ends, in a worker process
(``outputpool``), while the others are still scanned. Ctrl-C stops every scan; what each
journaled stands, and ``--resume`` continues each from its own journal.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, wait
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from scanner.aws.session import utcnow
from scanner.aws.tasks import task_group
from scanner.core.errors import AwsError, ConfigError
from scanner.core.multiorg import OrgReport
from scanner.core.mutelist import Exception_
from scanner.core.results import ScanResult
from scanner.core.rules import Rule
from scanner.core.settings import ScanConfig
from scanner.report.combined import write_combined, write_combined_manifest
from scanner.report.combinedhtml import write_combined_html
from scanner.run.fairshare import FairShare
from scanner.run.gctune import rarer_young_collections
from scanner.run.inputs import load_exceptions
from scanner.run.interrupts import Stop
from scanner.run.orgconfig import OrgConfig
from scanner.run.outlock import locked_output
from scanner.run.outputpool import OutputPool, collect, finish_named, workers_for
from scanner.run.progress import Progress
from scanner.run.runner import RunOptions, RunOutcome, load_selected_rules

INTERRUPTED_EARLY = "interrupted before any account was scanned (rerun with --resume)"


@dataclass(frozen=True)
class OrgRun:
    """One organization's part of the run: its outcome, or why it has none."""

    label: str
    config: ScanConfig
    outcome: RunOutcome | None
    reason: str = ""  # why it was not assessed as a whole
    bundle_error: str = ""  # its evidence bundle was withheld (it would hold a secret)

    @property
    def report(self) -> OrgReport:
        return OrgReport(self.label, None if self.outcome is None else self.outcome.report,
                         self.reason)


@dataclass(frozen=True)
class MultiOutcome:
    orgs: tuple[OrgRun, ...]
    written: list[Path]  # the combined outputs (organizations.json, ...), manifest last
    out_dir: Path
    interrupted: bool
    signum: int | None = None  # the signal that interrupted the run (SIGINT or SIGTERM)


def check_options(opts: RunOptions, shard: object = None) -> None:
    """What a multi-organization run cannot do, refused before any call."""
    if opts.ou is not None:
        raise ConfigError("--ou", "an OU path names a unit of one organization and this run "
                          "scans several: limit that organization with `scope:` "
                          "(include/exclude ous) in its organizations: entry")
    if shard is not None:
        raise ConfigError("--shard", "a shard splits one organization's accounts across runs "
                          "and this run scans several: limit each organization with `scope:` "
                          "in its organizations: entry, or run some with --organization")


def baselines(opts: RunOptions, orgs: Sequence[OrgConfig]) -> dict[str, RunOptions]:
    """Each organization's options: with ``--baseline`` (an earlier multi-organization run's
    directory), its own directory there, read and checked now, before any call; an
    organization the baseline lacks (or did not assess) has none, and the combined diff says
    it was added."""
    if opts.baseline is None:
        return {o.label: opts for o in orgs}
    from scanner.report.combineddiff import earlier_directories
    from scanner.report.diffload import load_snapshot

    try:
        earlier = earlier_directories(opts.baseline)
        for org in orgs:
            if org.label in earlier:
                load_snapshot(earlier[org.label])
    except ConfigError as exc:
        raise ConfigError("--baseline", str(exc)) from None
    return {o.label: replace(opts, baseline=earlier.get(o.label)) for o in orgs}


def run_many(base: ScanConfig, orgs: Sequence[OrgConfig], opts: RunOptions, *,
             now: Mapping[str, datetime] | None = None) -> MultiOutcome:
    """Scan every organization in one event loop, then write each one's outputs into its
    own directory and the combined outputs into ``base.output_dir``. ``now``: where a
    window must end, by label (a simulator's clock); else the time each scan starts."""
    check_options(opts)
    org_opts = baselines(opts, orgs)
    rules = load_selected_rules(base)
    exceptions = load_exceptions(Path(base.exceptions_file)) if base.exceptions_file else None
    stop = Stop()
    # SIGINT and SIGTERM as in a one-organization run (run.interrupts); each directory, the
    # combined one and every organization's, is held by this run alone (run.outlock).
    with stop.installed(), contextlib.ExitStack() as locks:
        locks.enter_context(rarer_young_collections())  # the scans' collector (run.gctune)
        locks.enter_context(locked_output(Path(base.output_dir)))
        for org in orgs:
            locks.enter_context(locked_output(Path(org.config.output_dir)))
        pool = OutputPool(workers_for(len(orgs)))
        pool.start()  # its start-up overlaps the walks, not the first organization's outputs
        writing: dict[str, Future[Any]] = {}
        try:
            try:
                results = asyncio.run(_scan_all(orgs, rules, opts, budget(orgs), now or {},
                                                stop, _Writer(pool, writing, org_opts, rules,
                                                              exceptions, stop)))
            finally:
                stop.detach()  # from here a signal is recorded; the reports are finished
            with stop.deferring():
                return _write_all(base, orgs, results, writing, org_opts, opts.baseline, rules,
                                  exceptions, stop)
        finally:
            pool.close()


@dataclass(frozen=True)
class _Writer:
    """Hands an organization whose scan is complete to a worker, to write its outputs while
    the others are scanned."""

    pool: OutputPool
    writing: dict[str, Future[Any]]
    opts: Mapping[str, RunOptions]  # by label
    rules: list[Rule]
    exceptions: list[Exception_] | None
    stop: Stop

    def scanned(self, org: OrgConfig, result: ScanResult) -> None:
        # An interrupted scan (or any after a signal) is written by the run's process, marked
        # interrupted, as a one-organization run writes it (runner.finish with its Stop).
        if (self.pool.idle(self.writing.values()) and not result.interrupted
                and self.stop.signum is None):
            self.writing[org.label] = self.pool.submit(result, org.config,
                                                       self.opts[org.label], self.rules,
                                                       self.exceptions)


def _write_all(base: ScanConfig, orgs: Sequence[OrgConfig],
               results: Mapping[str, ScanResult | str], writing: Mapping[str, Future[Any]],
               opts: Mapping[str, RunOptions], baseline: Path | None, rules: list[Rule],
               exceptions: list[Exception_] | None, stop: Stop) -> MultiOutcome:
    if writing and stop.signum is not None:
        wait(writing.values())  # no directory is written by two processes at once
        # A signal during the run marks every organization's outputs interrupted, as a
        # one-organization run's (runner.finish): a worker's are written again, marked.
        writing = {}
    done: dict[str, tuple[RunOutcome, str]] = {}
    for org in orgs:
        got = results[org.label]
        if not isinstance(got, str) and org.label not in writing:
            done[org.label] = finish_named(org.label, got, org.config, opts[org.label], rules,
                                           exceptions, stop)
    for label, future in writing.items():  # its error raised here, naming it
        done[label] = collect(label, future)
    runs: list[OrgRun] = []
    for org in orgs:
        got = results[org.label]
        if isinstance(got, str):
            runs.append(OrgRun(org.label, org.config, None, got))
        else:
            outcome, bundle_error = done[org.label]
            runs.append(OrgRun(org.label, org.config, outcome, bundle_error=bundle_error))
    out = Path(base.output_dir)
    generated = utcnow().isoformat()
    reports = [r.report for r in runs]
    written = write_combined(reports, out, generated_at=generated)
    if "html" in base.formats:
        written.append(write_combined_html(reports, out, generated_at=generated))
    if "pdf" in base.formats:
        from scanner.report.combinedpdf import write_combined_pdf

        written.append(write_combined_pdf(reports, out, generated_at=generated))
    if baseline is not None:
        from scanner.report.combineddiff import write_combined_diff

        written += write_combined_diff(baseline, out)
    written.append(write_combined_manifest(reports, out, written, generated_at=generated))
    interrupted = any(r.reason == INTERRUPTED_EARLY
                      or (r.outcome is not None and r.outcome.result.interrupted) for r in runs)
    return MultiOutcome(tuple(runs), written, out, interrupted or stop.signum is not None,
                        stop.signum)


def budget(orgs: Sequence[OrgConfig]) -> int:
    """The run's concurrency budget: each organization's ``scan.concurrency`` is its fair
    share, the budget their sum. Organizations do not compete for AWS quotas (those are per
    account), so a run over N organizations may keep N shares in flight; a share an
    organization no longer needs (it is done, or still walking) goes to the others."""
    return max(1, sum(o.config.concurrency for o in orgs))


async def _scan_all(orgs: Sequence[OrgConfig], rules: Sequence[Rule], opts: RunOptions,
                    budget: int, now: Mapping[str, datetime],
                    stop: Stop, writer: _Writer) -> dict[str, ScanResult | str]:
    """Each organization's result, or the reason it has none (its AwsError)."""
    stop.attach()  # a signal cancels this task: every organization's scan with it
    share = FairShare(budget)
    results: dict[str, ScanResult | str] = {}

    async def one(org: OrgConfig) -> None:
        progress = Progress(total=0, quiet=opts.quiet, stream=_labelled(org.label))
        try:
            result = await _scan(org, rules, opts, progress, share, now.get(org.label))
            results[org.label] = result
            writer.scanned(org, result)
        except AwsError as exc:
            results[org.label] = _reason(exc)
            progress.note(f"not assessed: {results[org.label]}")

    try:
        async with task_group() as tg:
            for org in orgs:
                tg.spawn(one(org))
    except asyncio.CancelledError:
        # Ctrl-C: each scan in its fan-out has already stopped and returned its result
        # (interrupted); one still walking has none.
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
    for org in orgs:
        results.setdefault(org.label, INTERRUPTED_EARLY)
    return results


async def _scan(org: OrgConfig, rules: Sequence[Rule], opts: RunOptions, progress: Progress,
                share: FairShare, now: datetime | None) -> ScanResult:
    from scanner.run.orchestrator import SHARED_SLOTS, scan

    # Set in this organization's own task: its accounts take their slots from the shared budget.
    SHARED_SLOTS.set(share.lane(org.label))
    return await scan(org.config, rules, out_dir=Path(org.config.output_dir),
                      resume=opts.resume, progress=progress, now=now)


def _reason(exc: AwsError) -> str:
    """Why an organization could not be scanned at all: the failed call, or (before any call,
    e.g. no credentials) the code and message."""
    return str(exc) if exc.operation else f"{exc.code}: {exc.message}"


class _Labelled(io.TextIOBase):
    """Progress lines of one organization, each starting with its label."""

    def __init__(self, label: str, stream: TextIO) -> None:
        self.label, self.stream = label, stream
        self._at_line_start = True

    def write(self, text: str) -> int:
        for part in text.splitlines(keepends=True):
            if self._at_line_start and part.strip():
                self.stream.write(f"[{self.label}] ")
            self.stream.write(part)
            self._at_line_start = part.endswith("\n")
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False  # several organizations' live lines would overwrite each other


def _labelled(label: str) -> TextIO:
    return _Labelled(label, sys.stderr)  # type: ignore[return-value]

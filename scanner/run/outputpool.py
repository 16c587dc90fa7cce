"""Each organization's outputs (``runner.finish``: reports, bundle, HTML/PDF) written in a worker
process as soon as its scan ends, while the other organizations are still being scanned.

The scans share one event loop (and one concurrency budget) in the run's process, which is
busy on one core for as long as any organization is scanning; an organization's outputs need
nothing from the others, so they are written on another core meanwhile. The workers are
started with the ``spawn`` context (a fork of a process running an event loop and its threads
is unsafe) and ignore SIGINT and SIGTERM: the run's process decides what a signal stops
(``run.interrupts``): an organization handed to a worker is a complete scan whose outputs
are written whole, and after a signal the run writes them again, marked interrupted, as it
writes every organization's (``multiorg.run_many``).

A worker's error is never lost and never a pass: ``collect`` raises it in the run's process
with the organization named (an OutputError or ConfigError as such; anything else, a defect,
and a worker that died, as an OutputError for that organization: one line, exit 5).

A worker hands its outcome back pickled, as bytes, and ``collect`` unpickles it on the run's
main thread. Unpickled by the pool, on its own result thread, the outcome imported what it
holds (networkx, for the report's organization graph, imported on first use) while the main
thread could be importing the same package to write another organization's outputs; two
threads importing one package with circular imports fail in either ("cannot import name ...
from partially initialized module"), and the run ended with a traceback and no combined outputs.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from typing import Any

from scanner.core.errors import ConfigError, OutputError
from scanner.core.mutelist import Exception_
from scanner.core.results import ScanResult
from scanner.core.rules import Rule
from scanner.core.settings import ScanConfig
from scanner.run.interrupts import Stop
from scanner.run.runner import RunOptions, RunOutcome, finish


def finish_org(result: ScanResult, config: ScanConfig, opts: RunOptions, rules: list[Rule],
               exceptions: list[Exception_] | None,
               stop: Stop | None = None) -> tuple[RunOutcome, str]:
    """One organization's outputs, and why its bundle was withheld ("" when it was not): a
    bundle that would hold a secret is withheld, its reports stand, the run goes on."""
    from scanner.report.bundle import BundleError

    try:
        return finish(result, config, opts, rules, exceptions, stop=stop), ""
    except BundleError as exc:
        return finish(result, config, replace(opts, bundle=False), rules, exceptions,
                      stop=stop), str(exc)


@dataclass(frozen=True)
class _Failed:
    """A worker's error, as plain text (exceptions with their own ``__init__`` arguments do
    not survive pickling)."""

    kind: str  # "output", "config" or "other"
    path: str
    message: str
    hint: str = ""


def _in_worker(result: ScanResult, config: ScanConfig, opts: RunOptions, rules: list[Rule],
               exceptions: list[Exception_] | None) -> bytes | _Failed:
    """The outcome pickled here, unpickled by ``collect`` on the run's main thread (see the
    module docstring): the pool's result thread then imports nothing."""
    try:
        return pickle.dumps(finish_org(result, config, opts, rules, exceptions),
                            protocol=pickle.HIGHEST_PROTOCOL)
    except OutputError as exc:
        return _Failed("output", exc.path, exc.reason)
    except ConfigError as exc:
        return _Failed("config", exc.path, exc.message, exc.hint)
    except Exception as exc:  # a defect: reported with its type, never swallowed
        return _Failed("other", config.output_dir, f"{type(exc).__name__}: {exc}")


def _start_worker() -> None:
    # Ctrl-C reaches the whole process group; the run's process alone handles it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import scanner.report  # noqa: F401  (the writers, imported before the first is needed)


def workers_for(organizations: int) -> int:
    """Worker processes for a run over ``organizations``: none for one (nothing to overlap),
    else one per core beside the run's own, at most one per organization but the first."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
    return max(0, min(organizations - 1, cores - 1))


class OutputPool:
    """Started on the first ``submit``; ``close`` waits for every worker."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None

    @property
    def enabled(self) -> bool:
        return self.workers > 0

    def start(self) -> None:
        """Start the workers now: each imports the writers while the scans are at work."""
        if self.enabled and self._pool is None:
            self._pool = ProcessPoolExecutor(self.workers,
                                             mp_context=multiprocessing.get_context("spawn"),
                                             initializer=_start_worker)
            self._pool.submit(int)  # a process is started with the first task

    def idle(self, writing: Iterable[Future[Any]]) -> bool:
        """A worker is free: fewer of ``writing`` are unfinished than there are workers (an
        organization is never queued behind another: the run writes it itself when the
        scans end, beside the workers)."""
        return self.enabled and sum(not f.done() for f in writing) < self.workers

    def submit(self, result: ScanResult, config: ScanConfig, opts: RunOptions,
               rules: list[Rule], exceptions: list[Exception_] | None
               ) -> Future[bytes | _Failed]:
        self.start()
        assert self._pool is not None
        return self._pool.submit(_in_worker, result, config, replace(opts, quiet=True), rules,
                                 exceptions)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


def collect(label: str, future: Future[bytes | _Failed]) -> tuple[RunOutcome, str]:
    """The organization's outcome from its worker, or its error raised here, naming it.
    Called on the run's main thread, which alone unpickles (and so imports) the outcome."""
    try:
        got = future.result()
    except BrokenProcessPool as exc:
        raise OutputError(f"organization {label}",
                          f"the process writing its outputs died ({exc})") from None
    if isinstance(got, _Failed):
        raise _named(label, got)
    outcome: tuple[RunOutcome, str] = pickle.loads(got)  # noqa: S301  (our own worker's)
    return outcome


def finish_named(label: str, result: ScanResult, config: ScanConfig, opts: RunOptions,
                 rules: list[Rule], exceptions: list[Exception_] | None,
                 stop: Stop) -> tuple[RunOutcome, str]:
    """``finish_org`` in the run's process, its error naming the organization as a worker's."""
    try:
        return finish_org(result, config, opts, rules, exceptions, stop)
    except OutputError as exc:
        raise _named(label, _Failed("output", exc.path, exc.reason)) from None
    except ConfigError as exc:
        raise _named(label, _Failed("config", exc.path, exc.message, exc.hint)) from None


def _named(label: str, failed: _Failed) -> ConfigError | OutputError:
    if failed.kind == "output":
        return OutputError(failed.path, f"{failed.message} (organization {label})")
    if failed.kind == "config":
        return ConfigError(failed.path, f"organization {label}: {failed.message}",
                           hint=failed.hint)
    return OutputError(failed.path, f"organization {label}: writing its outputs failed: "
                                    f"{failed.message}")

"""The garbage collector at start-up (off while modules load) and while accounts are scanned
(young collections made rarer).

Start-up: the ``orgscan`` command imports a few hundred modules (botocore, aiohttp, the rule
engine) before its first AWS request. Everything they allocate lives for the whole run, so the
collections that importing triggers (full ones among them, each walking every object made so
far) free nothing: ~0.1 s of a ~0.45 s start-up. The command's entry point turns collecting off
(``defer_collections``) and the run turns it back on (``resume_collections``) once the scan's
modules are loaded and before its first request; every command turns it on before it works.

Each AWS request allocates a few hundred container objects (botocore's request and response
dicts, aiohttp's messages, asyncio's futures); almost all are freed by reference counting as
soon as the request ends, yet every 700 allocations (CPython's default) the collector walked the
young generation, and every tenth time the next one too: about 1,000 young and 90 middle
collections for a 300-account default scan, a tenth of its CPU (benchmarks/README.md, "CPU
per account", its second round). With the young threshold at 50,000 the same scan makes about
ten, and the objects that do form cycles (exceptions with their tracebacks, mostly) wait a
little longer to be freed. The other thresholds are kept.

A run enters it once (``runner.run``; ``multiorg.run_many`` for all its organizations' scans);
runs that overlap in one process (a library caller's) share it: the first to start sets the
threshold, the last to end puts back what it found.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 50_000  # allocations between young collections while accounts are scanned

_active = 0
_saved: tuple[int, int, int] | None = None
_deferred = False


def defer_collections() -> None:
    """No collections until ``resume_collections``: called by the command's entry point before
    it imports anything else."""
    global _deferred
    if gc.isenabled():
        gc.disable()
        _deferred = True


def resume_collections() -> None:
    """Collections on again if ``defer_collections`` turned them off (once; a no-op otherwise,
    so a library caller's own setting is never touched)."""
    global _deferred
    if _deferred:
        _deferred = False
        gc.enable()


@contextlib.contextmanager
def rarer_young_collections() -> Iterator[None]:
    """While a run scans and writes; its start is also the end of start-up."""
    global _active, _saved
    resume_collections()
    if _active == 0:
        _saved = gc.get_threshold()
        gc.set_threshold(max(YOUNG_THRESHOLD, _saved[0]), *_saved[1:])
    _active += 1
    try:
        yield
    finally:
        _active -= 1
        if _active == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None

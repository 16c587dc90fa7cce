"""The garbage collector while accounts are scanned: young collections made rarer.

Each AWS request allocates a few hundred container objects (botocore's request and response
dicts, aiohttp's messages, asyncio's futures); almost all are freed by reference counting as
soon as the request ends, yet every 700 allocations (CPython's default) the collector walked the
young generation, and every tenth time the next one too: about 1,000 young and 90 middle
collections for a 300-account default scan, a tenth of its CPU (benchmarks/README.md, "Garbage
collection"). With the young threshold at 50,000 the same scan makes about ten, and the
objects that do form cycles (exceptions with their tracebacks, mostly) wait a little longer
to be freed. The other thresholds are kept.

Several scans can run at once in one event loop (several organizations): the first to start
sets the threshold, the last to end puts back what it found.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

YOUNG_THRESHOLD = 50_000  # allocations between young collections while accounts are scanned

_active = 0
_saved: tuple[int, int, int] | None = None


@contextlib.contextmanager
def rarer_young_collections() -> Iterator[None]:
    global _active, _saved
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

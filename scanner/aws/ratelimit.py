"""Client-side pacing and accounting of AWS calls: a rate limiter per (account, API, region),
because AWS's quotas are per account and region (CloudTrail LookupEvents: 2 requests/s), and
the count of HTTP attempts and throttled answers per account and operation."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


class RateLimiter:
    """Paces calls to ``rate`` per second with a burst of ``burst`` (GCRA), without a lock.

    AWS counts a call when it *arrives*, which the client cannot see: it only knows that a call
    arrived after it was sent and before its answer came back. So each call is charged twice:
    provisionally at its send time when it starts (``acquire``), then at the latest time it can
    have arrived, its answer, when it ends (``completed``). The next call is let go only when
    the server's bucket must hold a token even if every earlier call arrived as late as possible
    and this one arrives at once. With network jitter, pacing by send times alone lets a call
    that travels fast catch up with one that travelled slowly (at burst 2 and 100 +- 50 ms, the
    third call overruns a 2-token bucket whenever it travels faster than the first: about half
    the time); pacing this way is never throttled by a bucket of ``burst`` tokens, so ``burst``
    can be what AWS allows instead of 1.

    Each caller reserves the next free slot and sleeps until it; the event loop is single
    threaded, so reservation is atomic.
    """

    def __init__(self, rate: float, burst: int = 1, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self._clock = clock  # injectable, so tests check the schedule rather than time a machine
        self._sleep = sleep
        self._interval = 1.0 / rate
        self._tolerance = (max(1, burst) - 1) * self._interval
        self._tat = float("-inf")  # theoretical arrival time of the next call

    async def acquire(self) -> None:
        now = self._clock()
        slot = max(now, self._tat - self._tolerance)
        self._tat = max(self._tat, slot) + self._interval
        if slot > now:
            await self._sleep(slot - now)

    def completed(self) -> None:
        """The call acquired last has its answer (or failed): charge it at this time."""
        self._tat = max(self._tat, self._clock() + self._interval)


@dataclass
class CallStats:
    """HTTP attempts by account and operation, and retries after throttling: for progress,
    coverage and the benchmarks."""

    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, svc:Op)
    throttles: Counter[str] = field(default_factory=Counter)  # account -> throttled answers
    # The same counts by account: each account's finish reads its own calls, so a scan of N
    # accounts does not search every account's counts N times.
    _by_account: dict[str, Counter[str]] = field(default_factory=dict)

    def attempted(self, account: str, operation: str) -> None:
        """One HTTP attempt of ``operation`` (svc:Op) for ``account``."""
        self.attempts[(account, operation)] += 1
        calls = self._by_account.get(account)
        if calls is None:
            calls = self._by_account[account] = Counter()
        calls[operation] += 1

    def calls_for(self, account_id: str) -> dict[str, int]:
        return dict(self._by_account.get(account_id, ()))

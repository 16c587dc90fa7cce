"""Client-side pacing and accounting of AWS calls: a rate limiter per (account, API, region),
because AWS's quotas are per account and region (CloudTrail LookupEvents: 2 requests/s), and
the count of HTTP attempts and throttled answers per account and operation."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field


class RateLimiter:
    """Spaces calls to ``rate`` per second with a small burst (GCRA), without a lock.

    Each caller reserves the next free slot and sleeps until it; the event loop is single
    threaded, so reservation is atomic.
    """

    def __init__(self, rate: float, burst: int = 1) -> None:
        self._interval = 1.0 / rate
        self._burst = burst
        self._next = 0.0

    async def acquire(self) -> None:
        now = time.monotonic()
        # Allow up to `burst` calls to start back to back after an idle period.
        slot = max(self._next, now - (self._burst - 1) * self._interval)
        self._next = slot + self._interval
        if slot > now:
            await asyncio.sleep(slot - now)


@dataclass
class CallStats:
    """HTTP attempts by account and operation, and retries after throttling: for progress,
    coverage and the benchmarks."""

    attempts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (account, svc:Op)
    throttles: Counter[str] = field(default_factory=Counter)  # account -> throttled answers

    def calls_for(self, account_id: str) -> dict[str, int]:
        return {op: n for (acct, op), n in self.attempts.items() if acct == account_id}

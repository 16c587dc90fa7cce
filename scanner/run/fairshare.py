"""One concurrency budget shared fairly by several organizations scanned at once.

A plain semaphore serves its waiters first come, first served: the organization whose walk
finished first would queue all its accounts ahead of the others and hold the whole budget
until it is done. Here a freed slot goes to the waiting lane that holds the fewest slots
(ties: the lane that asked first), so every organization in flight progresses at the same
pace, and one that has finished or waits on nothing leaves its share to the others.
"""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from types import TracebackType


class FairShare:
    """``total`` slots shared by named lanes (one per organization)."""

    def __init__(self, total: int) -> None:
        if total < 1:
            raise ValueError("a concurrency budget is at least 1")
        self.total = total
        self.free = total
        self.held: Counter[str] = Counter()
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    def lane(self, name: str) -> Lane:
        self._waiting.setdefault(name, deque())
        return Lane(self, name)

    async def acquire(self, name: str) -> None:
        queue = self._waiting.setdefault(name, deque())
        if self.free > 0 and not any(self._waiting.values()):
            self._take(name)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue.append(fut)
        self._grant()
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release(name)  # granted in the same instant it was cancelled
            elif fut in queue:
                queue.remove(fut)
            raise

    def release(self, name: str) -> None:
        self.held[name] -= 1
        self.free += 1
        self._grant()

    def _take(self, name: str) -> None:
        self.free -= 1
        self.held[name] += 1

    def _grant(self) -> None:
        while self.free > 0:
            lanes = [n for n, q in self._waiting.items() if q]
            if not lanes:
                return
            # min() keeps the first of equals: lanes are in the order they first asked.
            name = min(lanes, key=lambda n: self.held[n])
            fut = self._waiting[name].popleft()
            if fut.done():  # cancelled while waiting
                continue
            self._take(name)
            fut.set_result(None)


class Lane:
    """One organization's way into the budget: ``async with lane:`` holds one slot."""

    def __init__(self, share: FairShare, name: str) -> None:
        self.share, self.name = share, name

    async def __aenter__(self) -> None:
        await self.share.acquire(self.name)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.share.release(self.name)

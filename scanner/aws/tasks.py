"""Structured concurrency for the whole scanner: the one module (with the orchestrator's fan-out)
that creates tasks. Every task lives inside a TaskGroup, so none outlives the work that started
it, a failure cancels its siblings, and the first failure is raised as itself -- callers catch
AccessDenied or Throttled, never an ExceptionGroup the CLI cannot map.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from typing import Any, TypeVar

T = TypeVar("T")
U = TypeVar("U")


class Spawner:
    """Starts tasks in the enclosing group (see ``task_group``)."""

    def __init__(self, group: asyncio.TaskGroup) -> None:
        self._group = group

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        return self._group.create_task(coro)


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    exc: BaseException = group
    while isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
    return exc


@contextlib.asynccontextmanager
async def task_group() -> AsyncIterator[Spawner]:
    """A TaskGroup whose first failure is re-raised as itself."""
    try:
        async with asyncio.TaskGroup() as group:
            yield Spawner(group)
    except BaseExceptionGroup as group:
        raise _first(group) from None


async def run_all(awaitables: Iterable[Awaitable[T]]) -> list[T]:
    """Await everything concurrently; results in the given order."""

    async def wrap(a: Awaitable[T]) -> T:
        return await a

    async with task_group() as tg:
        tasks = [tg.spawn(wrap(a)) for a in awaitables]
    return [t.result() for t in tasks]


async def bounded_map(limit: int, items: Iterable[T],
                      fn: Callable[[T], Awaitable[U]]) -> list[U]:
    """``fn`` over ``items`` with at most ``limit`` running at once; results in order. Uses
    ``limit`` worker tasks, not one task per item, so a million items cost a million awaits,
    not a million tasks."""
    indexed = list(enumerate(items))
    results: dict[int, U] = {}
    it = iter(indexed)

    async def worker() -> None:
        for i, item in it:  # next() is atomic between awaits: workers share the iterator
            results[i] = await fn(item)

    await run_workers(min(max(1, limit), max(1, len(indexed))), worker)
    return [results[i] for i in range(len(indexed))]


async def run_workers(n: int, worker: Callable[[], Awaitable[None]]) -> None:
    """Run ``n`` copies of ``worker`` concurrently until all return."""

    async def one() -> None:
        await worker()

    async with task_group() as tg:
        for _ in range(max(1, n)):
            tg.spawn(one())


__all__ = ["Spawner", "bounded_map", "run_all", "run_workers", "task_group"]

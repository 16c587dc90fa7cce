"""The concurrency budget shared by several organizations: never exceeded, and shared fairly
(an organization that queued all its accounts first does not hold every slot)."""

from __future__ import annotations

import asyncio

import pytest

from scanner.run.fairshare import FairShare


async def _run(share: FairShare, plan: dict[str, int], order: list[str],
               peak: list[int]) -> None:
    in_flight = 0

    async def job(lane_name: str) -> None:
        nonlocal in_flight
        async with share.lane(lane_name):
            in_flight += 1
            peak[0] = max(peak[0], in_flight)
            order.append(lane_name)
            await asyncio.sleep(0.001)
            in_flight -= 1

    async with asyncio.TaskGroup() as tg:
        # Lane "a" queues all its work before "b" asks for anything.
        for name, n in plan.items():
            for _ in range(n):
                tg.create_task(job(name))


def test_slots_alternate_between_organizations_and_never_exceed_the_budget() -> None:
    share, order, peak = FairShare(2), [], [0]
    asyncio.run(_run(share, {"a": 10, "b": 10}, order, peak))
    assert peak[0] == 2
    assert sorted(order) == ["a"] * 10 + ["b"] * 10
    # First come, first served would run all of a's ten first; fair sharing interleaves.
    assert "b" in order[:4], order
    assert share.free == 2 and not +share.held


def test_a_lone_organization_gets_the_whole_budget() -> None:
    share, order, peak = FairShare(4), [], [0]
    asyncio.run(_run(share, {"only": 12}, order, peak))
    assert peak[0] == 4


def test_a_cancelled_waiter_gives_its_turn_back() -> None:
    async def main() -> FairShare:
        share = FairShare(1)
        lane = share.lane("a")
        await share.acquire("a")
        waiter = asyncio.ensure_future(lane.__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        share.release("a")
        async with share.lane("b"):
            assert share.held["b"] == 1
        return share

    share = asyncio.run(main())
    assert share.free == 1


def test_a_budget_is_at_least_one() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        FairShare(0)

"""Group commit: clients that come back one by one after a commit are gathered into one
group again, and a lone request after a lone request is not held back."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from api.writer import GroupCommit


def _committer(linger: float) -> tuple[GroupCommit[int, int], list[list[int]]]:
    groups: list[list[int]] = []

    def batch(items: list[int]) -> list[int]:
        groups.append(list(items))
        return [i * 10 for i in items]

    return GroupCommit(batch, ThreadPoolExecutor(1), linger=linger), groups


async def _staggered(gc: GroupCommit[int, int], items: list[int]) -> list[int]:
    """Each client arrives a few event-loop turns after the one before it."""

    async def client(i: int, turns: int) -> int:
        for _ in range(turns):
            await asyncio.sleep(0)
        return await gc.submit(i)

    return list(await asyncio.gather(*(client(i, 3 * n) for n, i in enumerate(items))))


def test_a_wave_arriving_one_by_one_is_committed_as_one_group() -> None:
    async def run() -> list[list[int]]:
        gc, groups = _committer(linger=5.0)  # never reached: the wave fills the group
        assert await asyncio.gather(*(gc.submit(i) for i in range(4))) == [0, 10, 20, 30]
        assert await _staggered(gc, [4, 5, 6, 7]) == [40, 50, 60, 70]
        return groups

    assert asyncio.run(run()) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_without_linger_the_first_arrival_commits_alone() -> None:
    async def run() -> list[list[int]]:
        gc, groups = _committer(linger=0)
        await asyncio.gather(*(gc.submit(i) for i in range(4)))
        await _staggered(gc, [4, 5, 6, 7])
        return groups

    groups = asyncio.run(run())
    assert groups[0] == [0, 1, 2, 3]
    assert groups[1] == [4], "the behaviour the linger exists to avoid"
    assert sorted(i for g in groups for i in g) == list(range(8))


def test_a_short_wave_waits_at_most_the_linger_and_then_expects_less() -> None:
    async def run() -> tuple[list[list[int]], int]:
        gc, groups = _committer(linger=0.01)
        await asyncio.gather(*(gc.submit(i) for i in range(4)))
        assert await gc.submit(9) == 90  # only one of the four comes back: committed anyway
        return groups, gc._expected

    groups, expected = asyncio.run(run())
    assert groups == [[0, 1, 2, 3], [9]]
    assert expected == 1, "the next lone request does not wait"

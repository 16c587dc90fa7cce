"""run/gctune.py: young collections are rarer while accounts are scanned, and the collector's
thresholds are put back afterwards, also when scans overlap (several organizations) or one
fails."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from scanner.run.gctune import YOUNG_THRESHOLD, rarer_young_collections


@pytest.fixture(autouse=True)
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_set_while_scanning_and_put_back(default_thresholds: tuple[int, int, int]) -> None:
    with rarer_young_collections():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_thresholds


def test_overlapping_scans_put_back_what_the_first_found(
        default_thresholds: tuple[int, int, int]) -> None:
    first = rarer_young_collections()
    second = rarer_young_collections()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first scan ends while the second runs
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)
    second.__exit__(None, None, None)
    assert gc.get_threshold() == default_thresholds


def test_put_back_when_the_scan_fails(default_thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(RuntimeError), rarer_young_collections():
        raise RuntimeError("scan failed")
    assert gc.get_threshold() == default_thresholds


def test_a_higher_threshold_of_the_host_is_kept() -> None:
    gc.set_threshold(10 * YOUNG_THRESHOLD, 5, 5)
    with rarer_young_collections():
        assert gc.get_threshold() == (10 * YOUNG_THRESHOLD, 5, 5)
    assert gc.get_threshold() == (10 * YOUNG_THRESHOLD, 5, 5)

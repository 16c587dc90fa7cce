"""The ground truth judged over a window that ends later than the simulator's start, as a
scan's window does (it ends when the scan starts)."""

from __future__ import annotations

from datetime import timedelta

from scanner.sim.groundtruth import ground_truth
from scanner.sim.scenario import normalise, now_utc


def test_event_at_the_window_edge_follows_the_window_end() -> None:
    scenario = normalise({"accounts": [{
        "id": "333333333333", "name": "edge", "root": {"password": True},
        "events": [{"kind": "console_login", "at": "-90d"}]}]})
    now = now_utc()
    at_start = ground_truth(scenario, now)["accounts"]["333333333333"]["usage"]
    assert at_start["used_in_window"] is True  # both ends inclusive
    later = ground_truth(scenario, now, window_end=now + timedelta(seconds=30))
    assert later["accounts"]["333333333333"]["usage"]["used_in_window"] is False
    assert later["window_end"] == (now + timedelta(seconds=30)).isoformat()

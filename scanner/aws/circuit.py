"""Giving up on a dead endpoint: one circuit per endpoint (scheme, host and port).

botocore retries a refused connection ``max_attempts`` times with exponential backoff, and
every call of every account does so on its own: with the endpoint gone (the simulator killed,
a proxy down) a scan took minutes to give up. The circuit counts consecutive failures to
connect to one endpoint; once there have been ``OPEN_AFTER_FAILURES`` of them spanning at least
``OPEN_AFTER_SECONDS`` with no answer in between, it opens and stays open for the rest of the
scan: every call to that endpoint, new or between retries, fails at once with
``EndpointDown``. Any answer (an error answer too) closes the streak, so a transient failure,
or one operation whose connections are dropped while others answer, never opens it. Only a
failure to connect counts (refused, unreachable, connect timeout), never a slow or dropped
answer: those are the per-call retries' and the account deadline's to handle.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from scanner.core.errors import Unavailable

ENDPOINT_DOWN = "EndpointUnreachable"  # the error code of a call the open circuit refused
OPEN_AFTER_FAILURES = 5
OPEN_AFTER_SECONDS = 10.0


class EndpointDown(Unavailable):
    """A call refused without being sent: its endpoint refused every connection for a while."""


@dataclass
class _Streak:
    failures: int = 0
    since: float = 0.0  # when the first failure of the streak happened
    down: str | None = None  # the open circuit's message


@lru_cache(maxsize=4096)
def endpoint_of(url: str) -> str:
    """``scheme://host:port`` of a request or endpoint URL (asked three times a request, of a
    few URLs: remembered)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def is_connect_failure(exc: BaseException | None) -> bool:
    """A failure to open a connection at all (refused, unreachable, name not resolved, connect
    timeout), as opposed to an answer that was slow, dropped or an error."""
    if isinstance(exc, ConnectTimeoutError):
        return True
    if isinstance(exc, EndpointConnectionError):
        cause = getattr(exc, "kwargs", {}).get("error")
        return cause is None or isinstance(cause, aiohttp.ClientConnectorError | socket.gaierror
                                           | ConnectionRefusedError)
    return False


class Circuits:
    """The circuits of one scan, one per endpoint, fed by botocore's events of every client."""

    def __init__(self, failures: int = OPEN_AFTER_FAILURES,
                 seconds: float = OPEN_AFTER_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.seconds, self._clock = failures, seconds, clock
        self._streaks: dict[str, _Streak] = {}

    def watch(self, client: Any) -> None:
        events = client.meta.events
        events.register_first("before-send.*.*", self._before_send)
        events.register_first("needs-retry.*.*", self._after_attempt)

    def open_message(self, endpoint: str) -> str | None:
        streak = self._streaks.get(endpoint_of(endpoint))
        return streak.down if streak else None

    def _before_send(self, request: Any = None, **_: Any) -> None:
        if request is not None:
            self._refuse_if_open(endpoint_of(str(request.url)))

    def _after_attempt(self, endpoint: Any = None, response: Any = None,
                       caught_exception: BaseException | None = None, **_: Any) -> None:
        """Called after every attempt (botocore's needs-retry): record it; when the circuit
        is (or just became) open, raise instead of letting botocore retry."""
        if isinstance(caught_exception, EndpointDown):
            raise caught_exception
        if endpoint is None:
            return
        key = endpoint_of(str(endpoint.host))
        self.attempted(key, answered=response is not None, failure=caught_exception)
        if response is None:  # an answer that made it is kept
            self._refuse_if_open(key)

    def attempted(self, endpoint: str, *, answered: bool,
                  failure: BaseException | None = None) -> None:
        """Record one attempt at ``endpoint``: answered (any answer), or failed with
        ``failure``; a failure to connect may open the circuit."""
        streak = self._streaks.setdefault(endpoint_of(endpoint), _Streak())
        if streak.down is not None:
            return
        if answered:
            streak.failures = 0
        elif is_connect_failure(failure):
            now = self._clock()
            if streak.failures == 0:
                streak.since = now
            streak.failures += 1
            spent = now - streak.since
            if streak.failures >= self.failures and spent >= self.seconds:
                streak.down = (f"endpoint {endpoint_of(endpoint)} refused every connection "
                               f"for {spent:.0f} s")

    def _refuse_if_open(self, key: str) -> None:
        streak = self._streaks.get(key)
        if streak is not None and streak.down is not None:
            raise EndpointDown(ENDPOINT_DOWN, streak.down)


__all__ = ["ENDPOINT_DOWN", "OPEN_AFTER_FAILURES", "OPEN_AFTER_SECONDS", "Circuits",
           "EndpointDown", "endpoint_of", "is_connect_failure"]

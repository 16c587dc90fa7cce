"""Running one SQL query in an AWS query service (Athena, CloudTrail Lake): start it, poll
its state until it ends (0.5 s doubling to 5 s, 15 minutes at most), then read every page of
its results. The services differ only in names, which ``QueryApi`` holds."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from scanner.core.errors import AwsError

Call = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class QueryRun:
    """A finished query's rows and the service's statistics (bytes scanned: what it bills)."""

    rows: list[dict[str, str | None]]
    statistics: Mapping[str, Any]


@dataclass(frozen=True)
class QueryApi:
    service: str
    start: str  # the method that starts a query
    id_key: str  # the query id's name in every request and answer
    describe: str  # the method that reports its state
    describe_operation: str  # ... by its API name, for errors
    status: Callable[[Mapping[str, Any]], tuple[str, str]]  # describe answer -> (state, reason)
    done: str
    failed: frozenset[str]
    results: str
    page_size: tuple[str, int]  # the page-size parameter and its largest value


async def run(call: Call, api: QueryApi, start_args: Mapping[str, Any], *,
              deadline_seconds: float = 900.0, first_poll: float = 0.5,
              max_poll: float = 5.0) -> tuple[list[Mapping[str, Any]], Mapping[str, Any]]:
    """(every results page, the last describe answer). ``call(method, **kwargs)`` sends one
    request (the caller translates errors and signs as the right account). A query that ends
    other than done raises AwsError ``Query<State>`` with the service's reason."""
    qid = (await call(api.start, **start_args))[api.id_key]
    deadline = time.monotonic() + deadline_seconds
    delay = first_poll
    while True:
        described = await call(api.describe, **{api.id_key: qid})
        state, reason = api.status(described)
        if state == api.done:
            break
        if state in api.failed:
            raise AwsError("Query" + state.title().replace("_", ""), reason or state,
                           service=api.service, operation=api.describe_operation)
        if time.monotonic() > deadline:
            raise AwsError("QueryTimeout", f"query {qid} still {state} after {deadline_seconds:g}s",
                           service=api.service, operation=api.describe_operation)
        await asyncio.sleep(delay)
        delay = min(max_poll, delay * 2)
    pages: list[Mapping[str, Any]] = []
    token: str | None = None
    size_key, size = api.page_size
    while True:
        args: dict[str, Any] = {api.id_key: qid, size_key: size}
        if token:
            args["NextToken"] = token
        page = await call(api.results, **args)
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            return pages, described


__all__ = ["Call", "QueryApi", "QueryRun", "run"]

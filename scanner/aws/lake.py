"""CloudTrail Lake: choosing the organization's event data store, the root-events query, and
running it (StartQuery, DescribeQuery polling, GetQueryResults pages).

An organization event data store holds every account's events in a table queried in SQL
(``FROM <event data store id>``), billed by the bytes the query scans; the store is pruned by
``eventTime``, so the query bounds it to the window. Rows come back as CloudTrail-shaped records
(``athena.record_from_row``) and are classified by ``scanner.core.rootevents`` like every
other source's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from scanner.aws.athena import record_from_row
from scanner.aws.sqlquery import Call, QueryApi, QueryRun, run

_STORE_ID = re.compile(r"^[A-Za-z0-9-]{1,128}$")
_LAKE_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2})(\.\d+)?$")

# Result column -> (Lake expression, where it goes in a CloudTrail-shaped record). The aliases
# are Athena's, so one row reader serves both. Lake keeps request parameters, response
# elements and additional data as maps of strings (a nested object is its JSON text).
QUERY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("eventid", "eventID", "eventID"),
    ("eventtime", "eventTime", "eventTime"),
    ("eventname", "eventName", "eventName"),
    ("eventsource", "eventSource", "eventSource"),
    ("eventtype", "eventType", "eventType"),
    ("awsregion", "awsRegion", "awsRegion"),
    ("sourceipaddress", "sourceIPAddress", "sourceIPAddress"),
    ("useragent", "userAgent", "userAgent"),
    ("errorcode", "errorCode", "errorCode"),
    ("errormessage", "errorMessage", "errorMessage"),
    ("readonly", "readOnly", "readOnly"),
    ("recipientaccountid", "recipientAccountId", "recipientAccountId"),
    ("identity_type", "userIdentity.type", "userIdentity.type"),
    ("identity_account", "userIdentity.accountId", "userIdentity.accountId"),
    ("access_key_id", "userIdentity.accessKeyId", "userIdentity.accessKeyId"),
    ("invoked_by", "userIdentity.invokedBy", "userIdentity.invokedBy"),
    ("assumed_root", "userIdentity.sessionContext.assumedRoot",
     "userIdentity.sessionContext.assumedRoot"),
    ("console_credential", "sessionCredentialFromConsole", "sessionCredentialFromConsole"),
    ("console_login", "element_at(responseElements, 'ConsoleLogin')",
     "responseElements.ConsoleLogin"),
    ("session_key",
     "json_extract_scalar(element_at(responseElements, 'credentials'), '$.accessKeyId')",
     "responseElements.credentials.accessKeyId"),
    ("mfa_used", "element_at(additionalEventData, 'MFAUsed')", "additionalEventData.MFAUsed"),
    ("target_principal", "element_at(requestParameters, 'targetPrincipal')",
     "requestParameters.targetPrincipal"),
    ("request_user_name", "element_at(requestParameters, 'userName')",
     "requestParameters.userName"),
)


def lake_time(value: datetime) -> str:
    """Lake's timestamp literal (UTC)."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def root_events_query(*, store_id: str, start: datetime, end: datetime) -> str:
    """Every root-related event in [start, end]: root identities, AssumeRoot calls and calls
    made with AssumeRoot credentials. ``eventTime`` bounds what the store scans (and bills)."""
    if not _STORE_ID.match(store_id):
        raise ValueError(f"not an event data store id: {store_id!r}")
    cols = ",\n  ".join(f"{expr} AS {alias}" for alias, expr, _ in QUERY_COLUMNS)
    # Lake names the store by its bare id (dashes and all), as AWS's examples do.
    return (
        f"SELECT\n  {cols}\n"
        f"FROM {store_id}\n"
        f"WHERE eventTime >= '{lake_time(start)}' AND eventTime <= '{lake_time(end)}'\n"
        "  AND (userIdentity.type = 'Root'\n"
        "       OR eventName = 'AssumeRoot'\n"
        "       OR userIdentity.sessionContext.assumedRoot = 'true')\n"
        "ORDER BY eventTime"
    )


def record_from_lake_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """A result row as the CloudTrail record it came from (Lake prints eventTime as
    ``YYYY-MM-DD HH:MM:SS.mmm`` in UTC; records spell it ``YYYY-MM-DDTHH:MM:SSZ``)."""
    fixed = dict(row)
    when = _LAKE_TIME.match(fixed.get("eventtime") or "")
    if when:
        fixed["eventtime"] = f"{when.group(1)}T{when.group(2)}Z"
    return record_from_row(fixed, QUERY_COLUMNS)


def rows_from_results(pages: Sequence[Mapping[str, Any]]) -> list[dict[str, str | None]]:
    """GetQueryResults pages -> dicts. Each row is a list of one-column objects; a column
    whose value is NULL may be absent."""
    out: list[dict[str, str | None]] = []
    for page in pages:
        for row in page.get("QueryResultRows") or []:
            merged: dict[str, str | None] = {}
            for cell in row or []:
                for k, v in (cell or {}).items():
                    merged[str(k)] = None if v is None else str(v)
            out.append(merged)
    return out


# -- choosing the store ---------------------------------------------------------------------

def has_management_events(store: Mapping[str, Any]) -> bool:
    for selector in store.get("AdvancedEventSelectors") or []:
        for field in selector.get("FieldSelectors") or []:
            if field.get("Field") == "eventCategory" and "Management" in (field.get("Equals")
                                                                          or []):
                return True
    return False


def usable(store: Mapping[str, Any]) -> bool:
    """An organization store that is ingesting management events."""
    return (store.get("Status") == "ENABLED" and bool(store.get("OrganizationEnabled"))
            and has_management_events(store))


def choose(stores: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The organization's store among ``stores`` (GetEventDataStore answers): usable, then
    multi-region first, the longest retention, then by name."""
    fit = [s for s in stores if usable(s)]
    fit.sort(key=lambda s: (not s.get("MultiRegionEnabled"), -int(s.get("RetentionPeriod") or 0),
                            str(s.get("Name"))))
    return fit[0] if fit else None


def coverage_gaps(store: Mapping[str, Any], window_start: datetime,
                  now: datetime) -> list[str]:
    """Why the store does not hold every account's events over the whole window."""
    gaps: list[str] = []
    if not store.get("OrganizationEnabled"):
        gaps.append("not an organization store (it holds its own account's events only)")
    if not store.get("MultiRegionEnabled"):
        gaps.append("single-region store")
    if not has_management_events(store):
        gaps.append("does not collect management events")
    created = store.get("CreatedTimestamp")
    if isinstance(created, datetime) and created > window_start:
        gaps.append(f"created {created:%Y-%m-%d}, after the window's start")
    retention = store.get("RetentionPeriod")
    if isinstance(retention, int) and now - timedelta(days=retention) > window_start:
        gaps.append(f"keeps {retention} days, less than the lookback")
    return gaps


def _status(answer: Mapping[str, Any]) -> tuple[str, str]:
    return str(answer.get("QueryStatus")), str(answer.get("ErrorMessage") or "")


API = QueryApi("cloudtrail", "start_query", "QueryId", "describe_query", "DescribeQuery",
               _status, "FINISHED", frozenset({"FAILED", "CANCELLED", "TIMED_OUT"}),
               "get_query_results", ("MaxQueryResults", 1000))


async def run_query(call: Call, sql: str, *, deadline_seconds: float = 900.0,
                    first_poll: float = 0.5, max_poll: float = 5.0) -> QueryRun:
    """Run ``sql`` in CloudTrail Lake and return its rows and statistics. No
    ``DeliveryS3Uri``: the results are read through the API and written nowhere."""
    pages, described = await run(call, API, {"QueryStatement": sql},
                                 deadline_seconds=deadline_seconds, first_poll=first_poll,
                                 max_poll=max_poll)
    return QueryRun(rows_from_results(pages), dict(described.get("QueryStatistics") or {}))


__all__ = ["API", "QUERY_COLUMNS", "choose", "coverage_gaps", "has_management_events",
           "lake_time", "record_from_lake_row", "root_events_query", "rows_from_results",
           "run_query", "usable"]

"""Amazon Athena over the organization trail: the table DDL, the root-events query, and running
it (StartQueryExecution, GetQueryExecution polling, GetQueryResults pages).

For organizations whose logs are too large to stream from one machine: Athena reads only the
partitions of the window (partition projection on account, region and day) and returns just
the root-related records, which are then classified by ``scanner.core.rootevents`` like every other
source's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from scanner.aws.sqlquery import Call, QueryApi, QueryRun, run

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")
_SAFE = re.compile(r"^[A-Za-z0-9_./\-]*$")

# The CloudTrail table as AWS documents it (JSON SerDe), with ``assumedroot`` added to the
# session context so AssumeRoot sessions can be told apart in SQL too.
_COLUMNS = """\
  eventversion STRING,
  useridentity STRUCT<
    type: STRING, principalid: STRING, arn: STRING, accountid: STRING, invokedby: STRING,
    accesskeyid: STRING, username: STRING,
    sessioncontext: STRUCT<
      attributes: STRUCT<mfaauthenticated: STRING, creationdate: STRING>,
      sessionissuer: STRUCT<type: STRING, principalid: STRING, arn: STRING,
                            accountid: STRING, username: STRING>,
      sourceidentity: STRING, assumedroot: STRING>>,
  eventtime STRING,
  eventsource STRING,
  eventname STRING,
  awsregion STRING,
  sourceipaddress STRING,
  useragent STRING,
  errorcode STRING,
  errormessage STRING,
  requestparameters STRING,
  responseelements STRING,
  additionaleventdata STRING,
  requestid STRING,
  eventid STRING,
  readonly STRING,
  resources ARRAY<STRUCT<arn: STRING, accountid: STRING, type: STRING>>,
  eventtype STRING,
  apiversion STRING,
  recipientaccountid STRING,
  serviceeventdetails STRING,
  sharedeventid STRING,
  vpcendpointid STRING,
  eventcategory STRING"""


def _ident(name: str, what: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"athena {what} must be a plain identifier, got {name!r}")
    return name


def ct_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def ddl(*, database: str, table: str, bucket: str, prefix: str, organization_id: str,
        accounts: Sequence[str], regions: Sequence[str], first_day: str = "2020/01/01") -> str:
    """CREATE EXTERNAL TABLE for the organization trail with partition projection on
    account, region and day (no MSCK REPAIR, no Glue crawler)."""
    if not _BUCKET.match(bucket) or not _SAFE.match(prefix) or not _SAFE.match(organization_id):
        raise ValueError("bucket, prefix or organization id has unexpected characters")
    for a in accounts:
        if not re.fullmatch(r"\d{12}", a):
            raise ValueError(f"not an account id: {a!r}")
    for r in regions:
        if not re.fullmatch(r"[a-z0-9\-]+", r):
            raise ValueError(f"not a region: {r!r}")
    lead = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    location = f"s3://{bucket}/{lead}AWSLogs/{organization_id}/"
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {_ident(database, 'database')}."
        f"{_ident(table, 'table')} (\n{_COLUMNS}\n)\n"
        "PARTITIONED BY (account STRING, region STRING, `timestamp` STRING)\n"
        "ROW FORMAT SERDE 'org.apache.hive.hcatalog.data.JsonSerDe'\n"
        "STORED AS INPUTFORMAT 'com.amazon.emr.cloudtrail.CloudTrailInputFormat'\n"
        "OUTPUTFORMAT 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat'\n"
        f"LOCATION '{location}'\n"
        "TBLPROPERTIES (\n"
        "  'projection.enabled'='true',\n"
        "  'projection.account.type'='enum',\n"
        f"  'projection.account.values'='{','.join(accounts)}',\n"
        "  'projection.region.type'='enum',\n"
        f"  'projection.region.values'='{','.join(regions)}',\n"
        "  'projection.timestamp.type'='date',\n"
        "  'projection.timestamp.format'='yyyy/MM/dd',\n"
        "  'projection.timestamp.interval'='1',\n"
        "  'projection.timestamp.interval.unit'='DAYS',\n"
        f"  'projection.timestamp.range'='{first_day},NOW',\n"
        f"  'storage.location.template'='{location}${{account}}/CloudTrail/${{region}}/"
        "${timestamp}'\n"
        ")"
    )


# Result column -> where it goes in a CloudTrail-shaped record (dotted path).
QUERY_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("eventid", "eventid", "eventID"),
    ("eventtime", "eventtime", "eventTime"),
    ("eventname", "eventname", "eventName"),
    ("eventsource", "eventsource", "eventSource"),
    ("eventtype", "eventtype", "eventType"),
    ("awsregion", "awsregion", "awsRegion"),
    ("sourceipaddress", "sourceipaddress", "sourceIPAddress"),
    ("useragent", "useragent", "userAgent"),
    ("errorcode", "errorcode", "errorCode"),
    ("errormessage", "errormessage", "errorMessage"),
    ("readonly", "readonly", "readOnly"),
    ("recipientaccountid", "recipientaccountid", "recipientAccountId"),
    ("identity_type", "useridentity.type", "userIdentity.type"),
    ("identity_account", "useridentity.accountid", "userIdentity.accountId"),
    ("access_key_id", "useridentity.accesskeyid", "userIdentity.accessKeyId"),
    ("invoked_by", "useridentity.invokedby", "userIdentity.invokedBy"),
    ("assumed_root", "useridentity.sessioncontext.assumedroot",
     "userIdentity.sessionContext.assumedRoot"),
    ("console_login", "json_extract_scalar(responseelements, '$.ConsoleLogin')",
     "responseElements.ConsoleLogin"),
    ("session_key", "json_extract_scalar(responseelements, '$.credentials.accessKeyId')",
     "responseElements.credentials.accessKeyId"),
    ("mfa_used", "json_extract_scalar(additionaleventdata, '$.MFAUsed')",
     "additionalEventData.MFAUsed"),
    ("target_principal", "json_extract_scalar(requestparameters, '$.targetPrincipal')",
     "requestParameters.targetPrincipal"),
    ("request_user_name", "json_extract_scalar(requestparameters, '$.userName')",
     "requestParameters.userName"),
)


def root_events_query(*, database: str, table: str, start: datetime, end: datetime) -> str:
    """Every root-related record in [start, end]: root identities, AssumeRoot calls and calls
    made with AssumeRoot credentials. The day range prunes partitions; eventtime (ISO text,
    which sorts as time) makes the window exact."""
    cols = ",\n  ".join(f"{expr} AS {alias}" for alias, expr, _ in QUERY_COLUMNS)
    return (
        f"SELECT\n  {cols}\n"
        f"FROM {_ident(database, 'database')}.{_ident(table, 'table')}\n"
        # DML quotes identifiers with double quotes (backquotes are DDL-only in Athena).
        f"WHERE \"timestamp\" BETWEEN '{start:%Y/%m/%d}' AND '{end:%Y/%m/%d}'\n"
        f"  AND eventtime >= '{ct_time(start)}' AND eventtime <= '{ct_time(end)}'\n"
        "  AND (useridentity.type = 'Root'\n"
        "       OR eventname = 'AssumeRoot'\n"
        "       OR useridentity.sessioncontext.assumedroot = 'true')\n"
        "ORDER BY eventtime"
    )


def record_from_row(row: Mapping[str, str | None],
                    columns: Sequence[tuple[str, str, str]] = QUERY_COLUMNS) -> dict[str, Any]:
    """A result row back into the CloudTrail record shape ``RootEvent.from_cloudtrail`` reads
    (``columns``: the query's (alias, expression, record path) triples)."""
    rec: dict[str, Any] = {}
    for alias, _, path in columns:
        value = row.get(alias)
        if value is None or value == "":
            continue
        node = rec
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return rec


def rows_from_results(pages: Sequence[Mapping[str, Any]]) -> list[dict[str, str | None]]:
    """GetQueryResults pages -> dicts. The first row of the first page repeats the column
    names (for SELECT queries) and is dropped."""
    out: list[dict[str, str | None]] = []
    names: list[str] = []
    for n, page in enumerate(pages):
        rs = page.get("ResultSet") or {}
        if not names:
            info = (rs.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
            names = [str(c.get("Name") or c.get("Label")) for c in info]
        rows = rs.get("Rows") or []
        for i, r in enumerate(rows):
            values = [d.get("VarCharValue") for d in r.get("Data") or []]
            if n == 0 and i == 0 and names and values == names:
                continue
            if not names:
                names = [str(v) for v in values]
                continue
            out.append(dict(zip(names, values, strict=False)))
    return out


def _status(answer: Mapping[str, Any]) -> tuple[str, str]:
    status = (answer.get("QueryExecution") or {}).get("Status") or {}
    return str(status.get("State")), str(status.get("StateChangeReason") or "")


API = QueryApi("athena", "start_query_execution", "QueryExecutionId", "get_query_execution",
               "GetQueryExecution", _status, "SUCCEEDED", frozenset({"FAILED", "CANCELLED"}),
               "get_query_results", ("MaxResults", 1000))


async def run_query(call: Call, sql: str, *, database: str, workgroup: str | None,
                    output_location: str | None, deadline_seconds: float = 900.0,
                    first_poll: float = 0.5, max_poll: float = 5.0) -> QueryRun:
    """Run ``sql`` and return its rows and statistics. ``call(method, **kwargs)`` sends one
    Athena request (the caller translates errors and signs as the right account)."""
    kwargs: dict[str, Any] = {"QueryString": sql,
                              "QueryExecutionContext": {"Database": database}}
    if workgroup:
        kwargs["WorkGroup"] = workgroup
    if output_location:
        kwargs["ResultConfiguration"] = {"OutputLocation": output_location}
    pages, described = await run(call, API, kwargs, deadline_seconds=deadline_seconds,
                                 first_poll=first_poll, max_poll=max_poll)
    statistics = (described.get("QueryExecution") or {}).get("Statistics") or {}
    return QueryRun(rows_from_results(pages), dict(statistics))


__all__ = ["API", "QUERY_COLUMNS", "ddl", "record_from_row", "root_events_query",
           "rows_from_results", "run_query"]

"""The tables the simulator's query services read, shaped as AWS shapes them.

- Athena: the CloudTrail table AWS documents for a trail's bucket (JSON SerDe: lower-case
  columns, nested objects that are not structs kept as JSON text), partitioned by account,
  region and day (partition projection over ``AWSLogs/<org>/<account>/CloudTrail/<region>/
  YYYY/MM/DD``), read from the organization trail's log files in the simulated bucket. Billed
  by the compressed bytes of every log file a query's partitions hold.
- CloudTrail Lake: an event data store's schema (camel-case fields, ``eventTime`` a timestamp,
  ``readOnly`` a boolean, request/response/additional data as maps of strings), filled with
  the organization's events as CloudTrail ingests them. Billed by the bytes of the events in
  the queried time range.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from scanner.sim.sqlengine import SqlEngine, Table

Spec = str | dict[str, Any] | list[Any]

S = "VARCHAR"
_ISSUER = {"type": S, "principalid": S, "arn": S, "accountid": S, "username": S}

ATHENA_COLUMNS: dict[str, Spec] = {
    "eventversion": S,
    "useridentity": {
        "type": S, "principalid": S, "arn": S, "accountid": S, "invokedby": S,
        "accesskeyid": S, "username": S,
        "sessioncontext": {"attributes": {"mfaauthenticated": S, "creationdate": S},
                           "sessionissuer": _ISSUER, "sourceidentity": S, "assumedroot": S}},
    "eventtime": S, "eventsource": S, "eventname": S, "awsregion": S, "sourceipaddress": S,
    "useragent": S, "errorcode": S, "errormessage": S, "requestparameters": S,
    "responseelements": S, "additionaleventdata": S, "requestid": S, "eventid": S,
    "readonly": S, "resources": [{"arn": S, "accountid": S, "type": S}], "eventtype": S,
    "apiversion": S, "recipientaccountid": S, "serviceeventdetails": S, "sharedeventid": S,
    "vpcendpointid": S, "eventcategory": S,
    # partition columns
    "account": S, "region": S, "timestamp": S,
}
ATHENA_PARTITIONS = frozenset({"account", "region", "timestamp"})

_LAKE_ISSUER = {"type": S, "principalId": S, "arn": S, "accountId": S, "userName": S}
LAKE_COLUMNS: dict[str, Spec] = {
    "eventVersion": S,
    "userIdentity": {
        "type": S, "principalId": S, "arn": S, "accountId": S, "accessKeyId": S,
        "userName": S, "invokedBy": S,
        "sessionContext": {"attributes": {"creationDate": S, "mfaAuthenticated": S},
                           "sessionIssuer": _LAKE_ISSUER, "sourceIdentity": S,
                           "assumedRoot": S}},
    "eventTime": "TIMESTAMP", "eventSource": S, "eventName": S, "awsRegion": S,
    "sourceIPAddress": S, "userAgent": S, "errorCode": S, "errorMessage": S,
    "requestParameters": "MAP", "responseElements": "MAP", "additionalEventData": "MAP",
    "requestID": S, "eventID": S, "readOnly": "BOOLEAN",
    "resources": [{"accountId": S, "type": S, "ARN": S}], "eventType": S, "apiVersion": S,
    "managementEvent": "BOOLEAN", "recipientAccountId": S, "sharedEventID": S,
    "vpcEndpointId": S, "eventCategory": S, "sessionCredentialFromConsole": S,
    "serviceEventDetails": "MAP",
}
LAKE_PRUNE = frozenset({"eventtime"})

_KEY = re.compile(r"AWSLogs/([^/]+)/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4}/\d{2}/\d{2})/[^/]+$")


def duck_type(spec: Spec) -> str:
    if isinstance(spec, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {duck_type(v)}' for k, v in spec.items()) + ")"
    if isinstance(spec, list):
        return duck_type(spec[0]) + "[]"
    return "MAP(VARCHAR, VARCHAR)" if spec == "MAP" else spec


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _get(obj: Mapping[str, Any], key: str) -> Any:
    """Field names match without regard to case, as both services read JSON."""
    if key in obj:
        return obj[key]
    low = key.lower()
    return next((v for k, v in obj.items() if k.lower() == low), None)


def shape(value: Any, spec: Spec) -> Any:
    if value is None:
        return None
    if isinstance(spec, dict):
        if not isinstance(value, Mapping):
            return None
        return {k: shape(_get(value, k), sub) for k, sub in spec.items()}
    if isinstance(spec, list):
        return [shape(v, spec[0]) for v in value] if isinstance(value, list) else None
    if spec == "MAP":
        if not isinstance(value, Mapping):
            return None
        return {str(k): _text(v) for k, v in value.items()}
    if spec == "TIMESTAMP":
        return str(value).replace("T", " ").rstrip("Z")
    if spec == "BOOLEAN":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    return _text(value)


def row(record: Mapping[str, Any], columns: Mapping[str, Spec],
        extra: Mapping[str, str] | None = None) -> dict[str, Any]:
    out = {name: shape(_get(record, name), spec) for name, spec in columns.items()}
    out.update(extra or {})
    return out


def trail_files(bucket: Any) -> Iterator[tuple[str, bytes]]:
    """(key, body) of every object in the trail's bucket, in key order."""
    for key in sorted(bucket.keys.keys()):
        yield key, bytes(bucket.keys[key].value)


def load_athena(engine: SqlEngine, name: str, bucket: Any, organization_id: str) -> Table:
    """The organization trail's table over every log file of ``bucket``: a record's partition
    is its file's place in the layout; a file outside it, or not gzip JSON, has no rows (the
    SerDe would fail the query on it; the simulator writes none)."""
    rows: list[dict[str, Any]] = []
    sizes: list[tuple[str, int]] = []
    for key, body in trail_files(bucket):
        m = _KEY.search(key)
        if m is None or m.group(1) != organization_id:
            continue
        try:
            records = json.loads(gzip.decompress(body)).get("Records") or []
        except (OSError, ValueError, AttributeError):
            continue
        part = {"account": m.group(2), "region": m.group(3), "timestamp": m.group(4)}
        for rec in records:
            rows.append(row(rec, ATHENA_COLUMNS, part))
            sizes.append((key, len(body)))
    engine.load(name, {k: duck_type(v) for k, v in ATHENA_COLUMNS.items()}, rows, sizes)
    return Table(name, ATHENA_PARTITIONS)


def load_lake(engine: SqlEngine, name: str, records: Sequence[Mapping[str, Any]]) -> Table:
    rows = [row(r, LAKE_COLUMNS) for r in records]
    sizes = [(f"{i}", len(json.dumps(r, separators=(",", ":")))) for i, r in enumerate(records)]
    engine.load(name, {k: duck_type(v) for k, v in LAKE_COLUMNS.items()}, rows, sizes)
    return Table(name, LAKE_PRUNE)


__all__ = ["ATHENA_COLUMNS", "LAKE_COLUMNS", "duck_type", "load_athena", "load_lake", "shape"]

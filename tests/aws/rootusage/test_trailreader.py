"""The organization-trail reader over S3: an AWS failure or a damaged file is a gap in the
account's coverage; anything else is a bug and fails the read instead of passing for a gap."""

from __future__ import annotations

import gzip
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from scanner.aws.trailreader import OrgTrailScan, TrailLocation, read_org_trail
from tests.core.events import login

ACCOUNT = "111122223333"
LOC = TrailLocation("logs", "", "o-test")
DAY = f"{LOC.account_root(ACCOUNT)}us-east-1/2026/01/10/"
START, END = datetime(2026, 1, 9, tzinfo=UTC), datetime(2026, 1, 11, tzinfo=UTC)


def log_file(*records: dict[str, Any]) -> bytes:
    return gzip.compress(json.dumps({"Records": list(records)}).encode())


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aenter__(self) -> _Body:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def read(self) -> bytes:
        return self.data


class _Paginator:
    def __init__(self, s3: FakeS3) -> None:
        self.s3 = s3

    async def paginate(self, *, Bucket: str, Prefix: str, Delimiter: str | None = None,
                       StartAfter: str = "") -> AsyncIterator[dict[str, Any]]:
        keys = sorted(k for k in self.s3.objects if k.startswith(Prefix) and k > StartAfter)
        if Delimiter:
            folders = sorted({Prefix + k[len(Prefix):].split(Delimiter)[0] + Delimiter
                              for k in keys})
            yield {"CommonPrefixes": [{"Prefix": f} for f in folders]}
        else:
            yield {"Contents": [{"Key": k, "Size": len(self.s3.objects[k])} for k in keys]}


class FakeS3:
    """Stands in for the AWS SDK's S3 client (not for any of orgscan's code): a bucket of log
    files, and for some keys the exception GetObject raises instead of answering."""

    def __init__(self, objects: dict[str, bytes], raises: dict[str, BaseException]) -> None:
        self.objects = objects
        self.raises = raises

    def get_paginator(self, _name: str) -> _Paginator:
        return _Paginator(self)

    async def get_object(self, *, Bucket: str, Key: str) -> dict[str, Any]:
        if Key in self.raises:
            raise self.raises[Key]
        return {"Body": _Body(self.objects[Key])}


async def read(s3: FakeS3) -> OrgTrailScan:
    return await read_org_trail(s3, LOC, [ACCOUNT], START, END, files_in_flight=2)


async def test_aws_failures_and_damaged_files_are_gaps() -> None:
    objects = {f"{DAY}good.json.gz": log_file(login("root-1", "2026-01-10T08:00:00Z")),
               f"{DAY}gone.json.gz": b"",
               f"{DAY}damaged.json.gz": log_file(login("root-2", "2026-01-10T09:00:00Z"))[:40]}
    missing = ClientError({"Error": {"Code": "NoSuchKey", "Message": "no such key"}},
                          "GetObject")
    scan = await read(FakeS3(objects, {f"{DAY}gone.json.gz": missing}))
    sl = scan.accounts[ACCOUNT]
    assert [e.event_id for e in sl.events] == ["root-1"]
    gaps = {g["key"].rsplit("/", 1)[1]: g["error"] for g in sl.gaps}
    assert gaps == {"gone.json.gz": "NoSuchKey", "damaged.json.gz": "truncated"}
    assert sl.files == 3 and not sl.complete


@pytest.mark.parametrize("bug", [TypeError("a bug in the reader"), KeyError("Body")])
async def test_a_bug_is_not_turned_into_a_gap(bug: Exception) -> None:
    objects = {f"{DAY}good.json.gz": log_file(login("root-1", "2026-01-10T08:00:00Z")),
               f"{DAY}bug.json.gz": b""}
    with pytest.raises(type(bug)):
        await read(FakeS3(objects, {f"{DAY}bug.json.gz": bug}))

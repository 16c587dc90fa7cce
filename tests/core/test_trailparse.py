"""The log-file parser: damaged files are gaps, memory stays bounded, tokens are found."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from typing import Any

import pytest

from scanner.core.rootclassify import Kind
from scanner.core.trailparse import (
    TrailFileError,
    contains_token,
    inflate,
    iter_records,
    scan_log_file,
)
from tests.core.events import ev, login


def background(i: int) -> dict[str, Any]:
    return ev(f"bg-{i}", identity={"type": "AssumedRole", "arn": f"arn:aws:sts::1:assumed-role/"
                                   f"app/s{i}", "accessKeyId": f"ASIABG{i:014d}"},
              requestParameters={"bucketName": f"bucket-{i % 97}", "key": f"obj/{i}" * 3})


def gz(records: list[dict[str, Any]]) -> bytes:
    return gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=6)


def test_file_without_root_events_is_not_parsed() -> None:
    res = scan_log_file(gz([background(i) for i in range(50)]), "k")
    assert not res.matched and res.error is None and res.records == 0
    assert res.inflated_bytes > 0


def test_root_events_are_found_and_classified() -> None:
    recs = [background(i) for i in range(100)]
    recs.insert(40, login("root-login", "2026-01-01T00:00:00Z"))
    res = scan_log_file(gz(recs), "k")
    assert res.matched and res.records == 101 and res.error is None
    assert [e.kind for e in res.events] == [Kind.CONSOLE_LOGIN]
    assert res.events[0].sources == ("org_trail",)


def test_token_straddling_chunks() -> None:
    data = b'x' * 100 + b'"type":"Root"' + b'y' * 100
    comp = gzip.compress(data)
    # Force tiny output chunks so the token crosses a boundary.
    chunks = list(inflate(comp, out_chunk=7))
    assert len(chunks) > 10
    assert contains_token(comp)[0]


def test_corrupt_file_is_a_gap() -> None:
    data = bytearray(gz([background(i) for i in range(200)]))
    for i in range(200, 260):
        data[i] ^= 0xFF
    res = scan_log_file(bytes(data), "k")
    assert res.error == "corrupt" and res.is_gap


def test_not_gzip_is_a_gap() -> None:
    res = scan_log_file(b'{"Records": []}', "k")
    assert res.error == "corrupt" and res.is_gap


def test_empty_file_is_a_gap() -> None:
    assert scan_log_file(b"", "k").error == "empty"
    assert scan_log_file(gzip.compress(b""), "k").error == "empty"


def test_truncated_gzip_keeps_what_was_readable() -> None:
    recs = [login(f"l{i}", "2026-01-01T00:00:00Z") for i in range(400)]
    data = gz(recs)
    res = scan_log_file(data[: len(data) * 2 // 3], "k")
    assert res.error == "truncated" and res.is_gap
    assert 0 < len(res.events) < 400


def test_multibyte_character_cut_at_the_end_is_a_gap() -> None:
    # The stream ends inside a UTF-8 sequence: the decoder's final flush refuses it.
    res = scan_log_file(gzip.compress(b'{"Records": [{"type": "Root", "a": "\xc3'), "k")
    assert res.matched and res.error == "not_json" and res.is_gap


def test_truncated_unmatched_file_is_also_a_gap() -> None:
    data = gz([background(i) for i in range(400)])
    res = scan_log_file(data[: len(data) // 2], "k")
    assert res.error == "truncated"


def test_file_with_no_records_array() -> None:
    res = scan_log_file(gzip.compress(b'{"digest": "Root"}'), "k")
    assert res.matched and res.error == "no_records" and not res.is_gap
    assert scan_log_file(gzip.compress(b"{}"), "k").error is None  # no token: not parsed


def test_empty_records_and_other_keys() -> None:
    assert list(iter_records([b'{"Records":[]}'])) == []
    out = list(iter_records([b'{"a": {"b": [1, 2]}, ', b'"Records" : [ {"x": "Root"} ,',
                             b' {"y": 2} ] }']))
    assert out == [{"x": "Root"}, {"y": 2}]


def test_invalid_json_inside_matched_file() -> None:
    with pytest.raises(TrailFileError) as info:
        list(iter_records([b'{"Records": [{"a": "Root"}, {oops}]}']))
    assert info.value.kind == "not_json"


def test_concatenated_gzip_members() -> None:
    body = json.dumps({"Records": [login("m", "2026-01-01T00:00:00Z")]}).encode()
    half = len(body) // 2
    data = gzip.compress(body[:half]) + gzip.compress(body[half:])
    res = scan_log_file(data, "k")
    assert res.error is None and len(res.events) == 1


def test_50mb_file_memory_is_bounded() -> None:
    # ~50 MB of JSON with one root event near the end: both passes run over it.
    recs = [background(i) for i in range(500)]
    chunk = json.dumps(recs)[1:-1].encode()
    parts = [b'{"Records":[']
    size = 0
    while size < 50 * 1024 * 1024:
        parts.append(chunk)
        parts.append(b",")
        size += len(chunk) + 1
    parts.append(json.dumps(login("late-root", "2026-01-01T00:00:00Z")).encode())
    parts.append(b"]}")
    comp = zlib.compressobj(6, zlib.DEFLATED, 31)
    data = b"".join(comp.compress(p) for p in parts) + comp.flush()
    del parts, chunk
    assert size >= 50 * 1024 * 1024

    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        res = scan_log_file(data, "big")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert res.error is None and res.matched
    assert [e.event_id for e in res.events] == ["late-root"]
    assert res.inflated_bytes > 0
    # Bounded by chunks and one record, not by the 50 MB of content.
    assert peak < 16 * 1024 * 1024, peak

"""The log-file parser: damaged files are gaps, memory stays bounded, tokens are found."""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from scanner.core.rootclassify import Kind
from scanner.core.trailparse import (
    TrailFileError,
    contains_token,
    inflate,
    inflate_stream,
    iter_records,
    scan_log,
    scan_log_file,
    sniff,
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


# -- the shapes of files on disk, and what the prefilter tells of files it does not parse ----


def test_array_json_lines_and_concatenated_documents() -> None:
    a, b = login("a", "2026-01-01T00:00:00Z"), login("b", "2026-01-02T00:00:00Z")
    assert [r["eventID"] for r in iter_records([json.dumps([a, b]).encode()])] == ["a", "b"]
    lines = f"{json.dumps(a)}\n\n{json.dumps(b)}\n".encode()
    assert [r["eventID"] for r in iter_records([lines[:7], lines[7:]])] == ["a", "b"]
    docs = (json.dumps({"Records": [a]}) + "\n" + json.dumps({"Records": [b]})).encode()
    assert [r["eventID"] for r in iter_records([docs])] == ["a", "b"]
    # An object without Records or eventTime is not a record; a file of only those is no log.
    with pytest.raises(TrailFileError) as info:
        list(iter_records([b'{"x": 1}\n{"y": 2}']))
    assert info.value.kind == "no_records"
    with pytest.raises(TrailFileError) as info:
        list(iter_records([b'{"Records": []} trailing']))
    assert info.value.kind == "not_json"
    with pytest.raises(TrailFileError) as info:
        list(iter_records([b'{["a"]: 1}']))
    assert info.value.kind == "not_json"


def test_inflate_stream_over_file_chunks_matches_inflate() -> None:
    data = gz([background(i) for i in range(300)])
    pieces = [data[i:i + 1000] for i in range(0, len(data), 1000)]
    assert b"".join(inflate_stream(pieces)) == b"".join(inflate(data)) == gzip.decompress(data)
    with pytest.raises(TrailFileError) as info:
        list(inflate_stream(pieces[:-3]))
    assert info.value.kind == "truncated"
    with pytest.raises(TrailFileError) as info:
        list(inflate_stream([]))
    assert info.value.kind == "empty"


@pytest.mark.parametrize(("content", "kind"), [
    (b"<html>not a log</html>", "not_json"),
    (b'{"Records": [{"eventTime": "2026-01-01T00:00:00Z"}, {"eventTi', "not_json"),
    (b'{"digest": 1}', "no_records"),
    (b"  \n ", "empty"),
])
def test_outline_of_files_not_parsed(content: bytes, kind: str) -> None:
    with pytest.raises(TrailFileError) as info:
        sniff([content], shape=True)
    assert info.value.kind == kind
    assert not sniff([content]).matched  # without the outline check: no error, not parsed


def test_span_of_records_not_parsed_straddling_chunks() -> None:
    recs = [dict(background(i), eventTime=f"2026-01-{1 + i % 28:02d}T00:00:00Z",
                 recipientAccountId=f"{100000000000 + i % 3}") for i in range(200)]
    text = json.dumps({"Records": recs}).encode()
    found = sniff([text[i:i + 97] for i in range(0, len(text), 97)], span=True, shape=True)
    assert not found.matched and found.span is not None
    assert found.span.first == datetime(2026, 1, 1, tzinfo=UTC)
    assert found.span.last == datetime(2026, 1, 28, tzinfo=UTC)
    assert found.span.accounts == {"100000000000", "100000000001", "100000000002"}


def test_scan_log_reads_plain_content_twice_at_most() -> None:
    text = json.dumps([background(1), login("root-1", "2026-01-05T00:00:00Z")]).encode()
    opened = []

    def content() -> list[bytes]:
        opened.append(1)
        return [text]

    res = scan_log(content, "plain.json", len(text), span=True, shape=True)
    assert res.error is None and res.matched and [e.event_id for e in res.events] == ["root-1"]
    assert len(opened) == 2 and res.span is not None and res.span.accounts

"""CloudTrail log files -> root events: pure, streaming decoding (no I/O of its own).

A CloudTrail log file is a gzipped ``{"Records": [...]}``. Root events are rare, so each file
is first inflated chunk by chunk (``zlib.decompressobj``, gzip wbits) and searched for one byte
token; only a file that contains it is inflated again and its records parsed one at a time.
A file without a root event therefore costs little more than its decompression, and memory
stays bounded by the files in flight (compressed bytes + one output chunk + one record), never
by a file's decompressed size.

Damaged files never stop a scan: each is reported as a gap (corrupt, truncated, empty, not
JSON) with its key, and the records read before the damage still count. Reading the files from
S3 is ``scanner.aws.trailreader``.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from scanner.core.rootevents import RootEvent

# One token finds every record orgscan wants: `"type":"Root"` (any spacing), the eventName
# `"AssumeRoot"` and the key `"assumedRoot"` all contain `Root"`. It is a necessary condition
# only; records are classified after parsing.
TOKEN = b'Root"'
IN_CHUNK = 1 << 18  # compressed bytes fed per decompress call
OUT_CHUNK = 1 << 21  # at most this many inflated bytes held at once
GZIP_WBITS = 16 + zlib.MAX_WBITS
MAX_RECORD_CHARS = 64 << 20  # a single record larger than this is treated as corrupt

_NON_BLANK = re.compile(r"[^ \t\n\r]")  # JSON's insignificant whitespace is these four


class TrailFileError(Exception):
    """A log file that cannot be (fully) read. ``kind``: corrupt | truncated | empty | not_json."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


def inflate(data: bytes | bytearray | memoryview, out_chunk: int = OUT_CHUNK) -> Iterator[bytes]:
    """Yield the decompressed content of gzip ``data`` in chunks of at most ``out_chunk``.

    Concatenated gzip members are read in turn, as gzip(1) does."""
    view = memoryview(data)
    if len(view) == 0:
        raise TrailFileError("empty", "zero-length object")
    pos = 0
    d = zlib.decompressobj(GZIP_WBITS)
    produced = 0
    while True:
        if d.unconsumed_tail:
            src: bytes | memoryview = d.unconsumed_tail
        elif pos < len(view):
            src = view[pos:pos + IN_CHUNK]
            pos += len(src)
        else:
            break
        try:
            out = d.decompress(src, out_chunk)
        except zlib.error as exc:
            raise TrailFileError("corrupt", f"at compressed byte {pos}: {exc}") from exc
        if out:
            produced += len(out)
            yield out
        if d.eof:
            rest = d.unused_data + bytes(view[pos:])
            if not rest.strip(b"\x00"):
                return
            # Another gzip member follows.
            view, pos, d = memoryview(rest), 0, zlib.decompressobj(GZIP_WBITS)
    try:
        out = d.flush()
    except zlib.error as exc:  # pragma: no cover - flush rarely raises after decompress
        raise TrailFileError("corrupt", str(exc)) from exc
    if out:
        yield out
    if not d.eof:
        raise TrailFileError("truncated", f"gzip stream ends early after {produced} bytes")


def contains_token(data: bytes | bytearray | memoryview, token: bytes = TOKEN) -> tuple[bool, int]:
    """(whether the inflated content contains ``token``, inflated bytes read). Stops at the
    first hit; the search also covers tokens that straddle two chunks."""
    keep = len(token) - 1
    tail = b""
    total = 0
    for chunk in inflate(data):
        total += len(chunk)
        if token in chunk or (tail and token in tail + chunk[:keep]):
            return True, total
        tail = chunk[-keep:]
    if total == 0:
        raise TrailFileError("empty", "no content after decompression")
    return False, total


class _Text:
    """Incrementally decoded UTF-8 text with a read position (for the record parser)."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._dec = codecs.getincrementaldecoder("utf-8")()
        self.buf = ""
        self.pos = 0
        self.eof = False

    def fill(self) -> bool:
        """Read one more chunk; False at the end of input."""
        if self.eof:
            return False
        raw = next(self._chunks, None)
        self.eof = raw is None
        try:
            # At the end, a multi-byte character cut short fails here too.
            text = self._dec.decode(raw or b"", final=self.eof)
        except UnicodeDecodeError as exc:
            raise TrailFileError("not_json", f"invalid UTF-8: {exc}") from exc
        self.buf = self.buf[self.pos:] + text
        self.pos = 0
        return bool(text) or not self.eof

    def peek(self) -> str:
        """The next non-blank character ('' at the end of input), position left on it."""
        while True:
            m = _NON_BLANK.search(self.buf, self.pos)
            if m is not None:
                self.pos = m.start()
                return self.buf[self.pos]
            self.pos = len(self.buf)  # only blanks left in what has been read
            if not self.fill():
                return ""

    def expect(self, chars: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            where = "end of file" if not c else repr(c)
            raise TrailFileError("not_json", f"expected one of {chars!r}, found {where}")
        self.pos += 1
        return c

    def value(self, decoder: json.JSONDecoder) -> Any:
        """Decode one complete JSON value at the position, reading more input as needed."""
        self.peek()
        while True:
            try:
                obj, end = decoder.raw_decode(self.buf, self.pos)
            except RecursionError as exc:
                # Nesting deeper than Python's stack (no CloudTrail record is): a damaged or
                # hostile file, reported as a gap like any other that is not a log.
                raise TrailFileError("not_json", "record nested too deeply") from exc
            except json.JSONDecodeError as exc:
                if len(self.buf) - self.pos > MAX_RECORD_CHARS:
                    raise TrailFileError("not_json", "record too large") from exc
                # A truncated gzip stream raises from fill(); a JSON error at the end of a
                # complete stream means the content itself is not a log file.
                if not self.fill():
                    raise TrailFileError("not_json", f"JSON: {exc.msg}") from exc
                continue
            self.pos = end
            return obj


def iter_records(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Yield each element of the top-level ``Records`` array without holding the whole file.

    Raises TrailFileError (after yielding what was readable) for damaged content, and
    ``not_json`` with detail "no Records" for a JSON object that has no Records array."""
    text = _Text(iter(chunks))
    decoder = json.JSONDecoder()
    text.expect("{")
    seen_records = False
    if text.peek() == "}":
        text.pos += 1
    else:
        while True:
            key = text.value(decoder)
            text.expect(":")
            if key == "Records" and text.peek() == "[":
                seen_records = True
                text.pos += 1
                if text.peek() == "]":
                    text.pos += 1
                else:
                    while True:
                        yield text.value(decoder)
                        if text.expect(",]") == "]":
                            break
            else:
                text.value(decoder)
            if text.expect(",}") == "}":
                break
    if not seen_records:
        raise TrailFileError("no_records", "the object has no Records array")


@dataclass
class FileScan:
    """What reading one log file found."""

    key: str
    compressed_bytes: int
    inflated_bytes: int = 0
    matched: bool = False  # the prefilter token was present (the records were parsed)
    records: int = 0  # records parsed (matched files only)
    events: list[RootEvent] = field(default_factory=list)
    error: str | None = None  # corrupt | truncated | empty | not_json | no_records | <AWS code>
    detail: str = ""

    @property
    def is_gap(self) -> bool:
        """Events may have been lost. A JSON file with no Records array holds none to lose."""
        return self.error is not None and self.error != "no_records"


def scan_log_file(data: bytes | bytearray | memoryview, key: str = "", *,
                  source: str = "org_trail",
                  keep: Callable[[RootEvent], bool] | None = None) -> FileScan:
    """Prefilter, then (if the token is present) parse and classify one gzipped log file."""
    result = FileScan(key=key, compressed_bytes=len(data))
    try:
        matched, result.inflated_bytes = contains_token(data)
    except TrailFileError as exc:
        result.error, result.detail = exc.kind, exc.detail
        return result
    if not matched:
        return result
    result.matched = True
    try:
        for raw in iter_records(inflate(data)):
            result.records += 1
            if not isinstance(raw, dict):
                continue
            ev = RootEvent.from_cloudtrail(raw, source)
            if ev is not None and (keep is None or keep(ev)):
                result.events.append(ev)
    except TrailFileError as exc:
        result.error, result.detail = exc.kind, exc.detail
    return result


__all__ = ["TOKEN", "FileScan", "TrailFileError", "contains_token", "inflate", "iter_records",
           "scan_log_file"]

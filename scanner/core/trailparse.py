"""CloudTrail log files -> root events: pure, streaming decoding (no I/O of its own).

A CloudTrail log file is a gzipped ``{"Records": [...]}`` (files on disk may also be plain JSON,
an array of records or JSON lines: ``iter_records``). Root events are rare, so each file
is first inflated chunk by chunk (``zlib.decompressobj``, gzip wbits) and searched for one byte
token; only a file that contains it is inflated again and its records parsed one at a time.
A file without a root event therefore costs little more than its decompression, and memory
stays bounded by the files in flight (compressed bytes + one output chunk + one record), never
by a file's decompressed size.

Damaged files never stop a scan: each is reported as a gap (corrupt, truncated, empty, not
JSON) with its key, and the records read before the damage still count. Reading the files from
S3 is ``scanner.aws.trailreader``, from disk ``scanner.run.trailfiles``: both call ``scan_log``.
"""

from __future__ import annotations

import codecs
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scanner.core.rootclassify import parse_time
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


def slices(data: bytes | bytearray | memoryview, size: int = IN_CHUNK) -> Iterator[memoryview]:
    """``data`` as consecutive views of at most ``size`` bytes (no copy)."""
    view = memoryview(data)
    for pos in range(0, len(view), size):
        yield view[pos:pos + size]


def inflate(data: bytes | bytearray | memoryview, out_chunk: int = OUT_CHUNK) -> Iterator[bytes]:
    """Yield the decompressed content of gzip ``data`` in chunks of at most ``out_chunk``.

    Concatenated gzip members are read in turn, as gzip(1) does."""
    return inflate_stream(slices(data), out_chunk)


def inflate_stream(chunks: Iterable[bytes | memoryview],
                   out_chunk: int = OUT_CHUNK) -> Iterator[bytes]:
    """``inflate`` over compressed bytes that arrive in chunks (an object in memory, or a file
    read piece by piece): at most one input chunk and ``out_chunk`` inflated bytes held."""
    it = iter(chunks)
    d = zlib.decompressobj(GZIP_WBITS)
    pending: bytes | memoryview = b""
    consumed = produced = 0
    seen_input = False
    while True:
        if d.unconsumed_tail:
            src: bytes | memoryview = d.unconsumed_tail
        elif pending:
            src, pending = pending, b""
        else:
            nxt = next(it, None)
            if nxt is None:
                break
            consumed += len(nxt)
            seen_input = seen_input or len(nxt) > 0
            src = nxt
        try:
            out = d.decompress(src, out_chunk)
        except zlib.error as exc:
            raise TrailFileError("corrupt", f"at compressed byte {consumed}: {exc}") from exc
        if out:
            produced += len(out)
            yield out
        if d.eof:
            rest = bytes(d.unused_data)
            while not rest.strip(b"\x00"):  # trailing NUL padding ends the file
                more = next(it, None)
                if more is None:
                    return
                consumed += len(more)
                rest = bytes(more)
            # Another gzip member follows.
            d, pending = zlib.decompressobj(GZIP_WBITS), rest
    if not seen_input:
        raise TrailFileError("empty", "zero-length object")
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
    found = sniff(inflate(data), token)
    return found.matched, found.content_bytes


# What the prefilter pass can tell cheaply about a file it will not parse: where its records'
# times and accounts are (CloudTrail writes both as plain strings), and whether it looks like a
# log at all (first and last characters, a Records key or a record's eventTime).
_TIME = re.compile(rb'"eventTime"\s*:\s*"([^"\\]{1,64})"')
_ACCOUNT = re.compile(rb'"recipientAccountId"\s*:\s*"(\d{12})"')
_RECORDS_KEY = b'"Records"'
_BLANKS = b" \t\r\n"
_STRADDLE = 128  # longer than any match of the patterns above


@dataclass
class Span:
    """The earliest and latest record time and the recipient accounts seen in records."""

    first: datetime | None = None
    last: datetime | None = None
    accounts: set[str] = field(default_factory=set)

    def add_time(self, when: datetime | None) -> None:
        if when is None:
            return
        if self.first is None or when < self.first:
            self.first = when
        if self.last is None or when > self.last:
            self.last = when

    def add_record(self, raw: dict[str, Any]) -> None:
        self.add_time(parse_time(raw.get("eventTime")))
        account = raw.get("recipientAccountId")
        if isinstance(account, str) and account:
            self.accounts.add(account)

    def add_text(self, text: bytes, *, accounts: bool = True) -> None:
        times = _TIME.findall(text)
        if times:
            # Fixed-width ISO times order as text: only the two ends are parsed.
            for t in (min(times), max(times)):
                self.add_time(parse_time(t.decode("utf-8", "replace")))
        if accounts:
            self.accounts.update(a.decode() for a in _ACCOUNT.findall(text))

    def merge(self, other: Span) -> None:
        self.add_time(other.first)
        self.add_time(other.last)
        self.accounts |= other.accounts


@dataclass
class Sniffed:
    matched: bool  # the token is present (the prefilter stopped there)
    content_bytes: int  # content bytes read
    span: Span | None = None  # unmatched files only, when asked for


def sniff(chunks: Iterable[bytes], token: bytes = TOKEN, *, shape: bool = False,
          span: bool = False, span_accounts: bool = True) -> Sniffed:
    """The prefilter pass over a file's (inflated) content: stops at the first ``token``.

    Without the token the file is not parsed, so with ``shape`` its outline is checked here
    (a file that is not JSON, or ends early, is a gap even without root events) and with
    ``span`` its records' times (and, with ``span_accounts``, accounts) are found by
    pattern."""
    keep = max(len(token) - 1, _STRADDLE if (shape or span) else 0)
    tail = b""
    total = 0
    seen = Span() if span else None
    first_char = last_char = b""
    log_key = False
    for chunk in chunks:
        total += len(chunk)
        joint = tail + chunk[:keep] if tail else b""
        if token in chunk or (joint and token in joint):
            return Sniffed(True, total)
        if seen is not None:
            seen.add_text(chunk, accounts=span_accounts)
            if joint:
                seen.add_text(joint, accounts=span_accounts)
        if shape:
            if not first_char:
                first_char = chunk.lstrip(_BLANKS)[:1]  # a copy only while blanks lead
            end = chunk[-64:].rstrip(_BLANKS) or chunk.rstrip(_BLANKS)
            last_char = end[-1:] or last_char
            log_key = log_key or _RECORDS_KEY in chunk or b'"eventTime"' in chunk or bool(
                joint and (_RECORDS_KEY in joint or b'"eventTime"' in joint))
        tail = chunk[-keep:]
    if total == 0:
        raise TrailFileError("empty", "no content after decompression")
    if shape:
        if not first_char:
            raise TrailFileError("empty", "only blanks")
        if first_char not in (b"{", b"["):
            raise TrailFileError("not_json", f"starts with {first_char!r}, not '{{' or '['")
        if last_char not in (b"}", b"]"):
            raise TrailFileError("not_json", f"ends with {last_char!r}: the JSON is cut short")
        if first_char == b"{" and not log_key:
            raise TrailFileError("no_records", "no Records array and no CloudTrail record")
    return Sniffed(False, total, seen)


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


def _elements(text: _Text, decoder: json.JSONDecoder) -> Iterator[Any]:
    """The elements of an array whose '[' has just been read."""
    if text.peek() == "]":
        text.pos += 1
        return
    while True:
        yield text.value(decoder)
        if text.expect(",]") == "]":
            return


def iter_records(chunks: Iterable[bytes]) -> Iterator[Any]:
    """Yield every CloudTrail record of a log file without holding the whole file.

    The content is one JSON value or several (JSON lines), each a CloudTrail document
    (``{"Records": [...]}``, its records streamed), an array of records (streamed), or one
    record (an object with ``eventTime``). Raises TrailFileError (after yielding what was
    readable) for damaged content, and ``no_records`` when nothing in the file was a log (a
    digest file, ``{}``)."""
    text = _Text(iter(chunks))
    decoder = json.JSONDecoder()
    found = False
    first = True
    while True:
        c = text.peek()
        if c == "[":
            text.pos += 1
            found = True
            yield from _elements(text, decoder)
        elif c == "{" or first:
            text.expect("{[")  # for the first value: anything else is not a log
            fields: dict[str, Any] = {}  # kept while the object may be a record
            document = False
            if text.peek() == "}":
                text.pos += 1
            else:
                while True:
                    key = text.value(decoder)
                    if not isinstance(key, str):
                        raise TrailFileError("not_json", "an object key is not a string")
                    text.expect(":")
                    if key == "Records" and text.peek() == "[":
                        document = found = True
                        fields.clear()
                        text.pos += 1
                        yield from _elements(text, decoder)
                    else:
                        value = text.value(decoder)
                        if not document:
                            fields[key] = value
                    if text.expect(",}") == "}":
                        break
            if not document and "eventTime" in fields:
                found = True
                yield fields
        elif c == "":
            break
        else:
            raise TrailFileError("not_json", f"unexpected {c!r} after a complete JSON value")
        first = False
    if not found:
        raise TrailFileError("no_records", "no Records array and no CloudTrail record")


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
    span: Span | None = None  # the records' times and accounts, when asked for

    @property
    def is_gap(self) -> bool:
        """Events may have been lost. A JSON file with no Records array holds none to lose."""
        return self.error is not None and self.error != "no_records"


def scan_log(content: Callable[[], Iterable[bytes]], key: str, compressed_bytes: int, *,
             source: str = "org_trail", keep: Callable[[RootEvent], bool] | None = None,
             shape: bool = False, span: bool = False, span_accounts: bool = True) -> FileScan:
    """Prefilter, then (if the token is present) parse and classify one log file.

    ``content()`` yields the file's (inflated) content afresh at each call: once for the
    prefilter and, when the token is there, once more for the records. ``shape`` checks the
    outline of files that are not parsed; ``span`` records the times and accounts of every
    record (``sniff``)."""
    result = FileScan(key=key, compressed_bytes=compressed_bytes)
    try:
        found = sniff(content(), shape=shape, span=span, span_accounts=span_accounts)
    except TrailFileError as exc:
        result.error, result.detail = exc.kind, exc.detail
        return result
    result.inflated_bytes, result.span = found.content_bytes, found.span
    if not found.matched:
        return result
    result.matched = True
    if span:
        result.span = Span()
    try:
        for raw in iter_records(content()):
            result.records += 1
            if not isinstance(raw, dict):
                continue
            if result.span is not None:
                result.span.add_record(raw)
            ev = RootEvent.from_cloudtrail(raw, source)
            if ev is not None and (keep is None or keep(ev)):
                result.events.append(ev)
    except TrailFileError as exc:
        result.error, result.detail = exc.kind, exc.detail
    return result


def scan_log_file(data: bytes | bytearray | memoryview, key: str = "", *,
                  source: str = "org_trail",
                  keep: Callable[[RootEvent], bool] | None = None) -> FileScan:
    """``scan_log`` over one gzipped log file held in memory (an S3 object)."""
    return scan_log(lambda: inflate(data), key, len(data), source=source, keep=keep)


__all__ = ["TOKEN", "FileScan", "Span", "TrailFileError", "contains_token", "inflate",
           "inflate_stream", "iter_records", "scan_log", "scan_log_file", "slices", "sniff"]

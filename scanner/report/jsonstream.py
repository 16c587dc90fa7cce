"""The items of one array inside a large JSON document, read one at a time from a stream.

``findings.json`` of a 5,000-account scan is about 180 MB; ``json.load`` would hold it all, several
times over, as Python objects. This reads the top-level object's keys in order, skips (decodes
and drops) the values before the wanted key, and yields that array's items one by one, holding at
most one item (and one read chunk) in memory.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any, Protocol

_CHUNK = 1 << 20
_WS = " \t\n\r"


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


class JsonStreamError(ValueError):
    """The document is not JSON of the expected shape, or one value is over the limit."""


class _Buffer:
    def __init__(self, stream: Readable, max_value: int) -> None:
        self.stream = stream
        self.text = ""
        self.pos = 0
        self.eof = False
        self.max_value = max_value
        self._decode = codecs.getincrementaldecoder("utf-8")()
        self._decoder = json.JSONDecoder()

    def more(self) -> bool:
        if self.eof:
            return False
        if self.pos > _CHUNK:  # drop what was consumed
            self.text, self.pos = self.text[self.pos:], 0
        chunk = self.stream.read(_CHUNK)
        self.eof = not chunk
        try:
            self.text += self._decode.decode(chunk, final=self.eof)
        except UnicodeDecodeError as exc:
            raise JsonStreamError(f"not UTF-8: {exc}") from None
        return not self.eof

    def peek(self) -> str:
        """The next non-blank character ("" at the end)."""
        while True:
            while self.pos < len(self.text) and self.text[self.pos] in _WS:
                self.pos += 1
            if self.pos < len(self.text):
                return self.text[self.pos]
            if not self.more():
                return ""

    def expect(self, char: str) -> None:
        got = self.peek()
        if got != char:
            raise JsonStreamError(f"expected {char!r}, found {got or 'the end'!r}")
        self.pos += 1

    def value(self) -> Any:
        """Decode the next JSON value, reading more until it is complete."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self.text, self.pos)
            except (ValueError, RecursionError) as exc:
                if len(self.text) - self.pos > self.max_value:
                    raise JsonStreamError(f"a value is larger than {self.max_value:,} "
                                          f"characters") from None
                if not self.more():
                    raise JsonStreamError(str(exc)) from None
                continue
            # A number at the end of the buffer may go on in the next chunk.
            if end == len(self.text) and not self.eof and self.more():
                continue
            self.pos = end
            return value


def iter_array(stream: Readable, key: str, max_value: int = 16 << 20) -> Iterator[Any]:
    """Each item of the array under ``key`` of the top-level object. JsonStreamError when the
    document is malformed, ``key`` is absent or not an array, or one value (an item, or a
    value before ``key``) is longer than ``max_value`` characters."""
    buf = _Buffer(stream, max_value)
    buf.expect("{")
    while True:
        if buf.peek() == "}":
            raise JsonStreamError(f"no {key!r} array")
        name = buf.value()
        buf.expect(":")
        if name != key:
            buf.value()
            if buf.peek() == ",":
                buf.pos += 1
            continue
        buf.expect("[")
        if buf.peek() == "]":
            return
        while True:
            yield buf.value()
            nxt = buf.peek()
            buf.pos += 1
            if nxt == "]":
                return
            if nxt != ",":
                raise JsonStreamError(f"expected ',' or ']' in {key!r}, found {nxt or 'the end'!r}")


__all__ = ["JsonStreamError", "iter_array"]

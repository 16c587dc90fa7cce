"""The ``strip`` fault: answers with fields missing, as an older API version, a partial outage or
a new AWS default may give them. Removes every occurrence of the named fields (JSON keys, or
XML elements for the query and REST-XML protocols) from a successful answer."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any


def _drop(value: Any, fields: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _drop(v, fields) for k, v in value.items() if k not in fields}
    if isinstance(value, list):
        return [_drop(v, fields) for v in value]
    return value


def strip_fields(body: bytes, fields: Iterable[str]) -> bytes:
    names = frozenset(fields)
    if not names:
        return body
    if body.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(body)
        except ValueError:
            return body
        return json.dumps(_drop(data, names)).encode()
    for name in names:
        tag = re.escape(name.encode())
        body = re.sub(rb"<%s(?:\s[^>]*)?>.*?</%s>|<%s\s*/>" % (tag, tag, tag), b"", body,
                      flags=re.S)
    return body

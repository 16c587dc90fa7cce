"""Escaping text for HTML and SVG: the one function every markup writer (HTML report, charts,
PDF) puts AWS- and config-supplied text through."""

from __future__ import annotations

import re
from html import escape

# Control characters have no place in HTML or SVG text (NUL is a parse error, the others render
# as nothing or garble a terminal that shows the file): shown as U+FFFD.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def h(value: object) -> str:
    """``value`` as text safe inside an element or a quoted attribute."""
    return escape(_CONTROL.sub("\ufffd", "" if value is None else str(value)), quote=True)


def clip(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters with an ellipsis, for a label whose full text
    is given elsewhere (a tooltip, the table beside it). Never used on ids."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "\u2026"

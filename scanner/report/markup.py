"""Escaping text for HTML and SVG: the one function every markup writer (HTML report, charts,
PDF) puts AWS- and config-supplied text through; and what every self-contained page shares: its
packaged assets and the hashes its Content-Security-Policy allows them by."""

from __future__ import annotations

import base64
import hashlib
import re
from html import escape
from importlib import resources

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


def asset(name: str) -> str:
    """A packaged template or style sheet (scanner/report/templates/NAME)."""
    return resources.files("scanner.report").joinpath("templates", name).read_text("utf-8")


def csp_hash(text: str) -> str:
    """The Content-Security-Policy source that allows this inline script or style."""
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode()

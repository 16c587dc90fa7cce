"""Whether report.pdf can be written here: WeasyPrint, the optional extra (``orgscan[pdf]``),
and the Pango system library it loads. Apart from the writer (report/pdf.py) so a config that
selects the pdf format is checked before any scan without importing the writer."""

from __future__ import annotations

import importlib

from scanner.core.errors import ConfigError

INSTALL = ("pip install 'orgscan[pdf]', and the Pango library it needs "
           "(Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0; "
           "macOS: brew install pango)")


def pdf_problem() -> str | None:
    """Why report.pdf cannot be written here (WeasyPrint or its system libraries missing), or
    None when it can."""
    try:
        importlib.import_module("weasyprint")
    except ImportError as exc:
        return f"WeasyPrint is not installed ({exc})"
    except OSError as exc:  # WeasyPrint is installed, Pango is not (or cannot be loaded)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return f"WeasyPrint cannot load its system libraries ({first})"
    return None


def require_pdf() -> None:
    """Raise a one-line ConfigError naming the install command when the extra is missing."""
    problem = pdf_problem()
    if problem is not None:
        raise ConfigError("--format pdf", f"report.pdf needs WeasyPrint: {problem}",
                          hint=f"install it: {INSTALL}")

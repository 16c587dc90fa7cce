"""Reading the files a user hands orgscan (config, exceptions) from disk; parsing and checking
them is the core's (scanner/core/yamldoc.py, scanner/core/mutelist.py)."""

from __future__ import annotations

from pathlib import Path

from scanner.core.errors import ConfigError
from scanner.core.mutelist import Exception_, parse_exceptions
from scanner.core.yamldoc import YamlDoc, parse_yaml


def load_yaml(path: Path) -> YamlDoc:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from exc
    return parse_yaml(text, str(path))


def load_exceptions(path: Path) -> list[Exception_]:
    """Read and validate an exceptions file. Errors name file:line: yaml.path: message."""
    # yamldoc keeps timestamps as text, so an impossible date (2027-02-30) reaches the
    # date check in parse_exceptions and is reported at its line.
    return parse_exceptions(load_yaml(path))

"""Reading the files a user hands orgscan (config, exceptions, rules) from disk; parsing and
checking them is the core's (scanner/core/yamldoc.py, scanner/core/mutelist.py).

Every such file is bounded: one over its limit is refused before a byte of it is parsed (a
50 MB config once took 71 s and 1.8 GB to fail). The limits (docs/reliability.md) leave room
many times over: the largest rule of the pack is 4 KiB, a 10,000-entry exceptions file about
3 MiB.
"""

from __future__ import annotations

from pathlib import Path

from scanner.core.errors import ConfigError
from scanner.core.mutelist import Exception_, parse_exceptions
from scanner.core.yamldoc import YamlDoc, parse_yaml

MIB = 1 << 20
MAX_CONFIG_BYTES = 4 * MIB  # a config or exceptions file
MAX_RULE_BYTES = 1 * MIB  # one rule file


def read_bounded(path: Path, limit: int, what: str) -> bytes:
    """The file's bytes, or a ConfigError naming it and the limit when it is larger. Never
    reads more than ``limit + 1`` bytes (a device or a growing file cannot run away)."""
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "file not found") from exc
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from exc
    if len(data) > limit:
        raise ConfigError(str(path), f"larger than the limit of {limit // MIB} MiB for {what}: "
                                     f"refused before parsing")
    return data


def load_yaml(path: Path, limit: int = MAX_CONFIG_BYTES, what: str = "a config file"
              ) -> YamlDoc:
    data = read_bounded(path, limit, what)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"cannot read: {exc}") from exc
    return parse_yaml(text, str(path))


def load_exceptions(path: Path) -> list[Exception_]:
    """Read and validate an exceptions file. Errors name file:line: yaml.path: message."""
    # yamldoc keeps timestamps as text, so an impossible date (2027-02-30) reaches the
    # date check in parse_exceptions and is reported at its line.
    return parse_exceptions(load_yaml(path, what="an exceptions file"))

"""The ``orgscan`` command's entry point: the collector off while the command's modules load
(run/gctune.py says why), then the command line."""

from __future__ import annotations

from scanner.run.gctune import defer_collections


def main() -> int:
    defer_collections()
    from scanner.cli.main import main as command_line

    return command_line()

"""Append-only journal of finished accounts, so that a crash loses nothing and --resume works.

One JSON object per line, flushed to the OS as each account finishes (a crash of orgscan loses
nothing) and fsynced at most once a second and on close (an fsync per account blocked the event
loop for ~3 ms each: seconds over a large organization). The first line is a header naming the
scan (its id, organization and rule set); --resume refuses a journal written for another
organization or rule set rather than mixing two scans.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from scanner.core.errors import ConfigError
from scanner.core.results import AccountResult

FSYNC_INTERVAL_S = 1.0  # the most a power loss can take back of an interrupted scan


class Journal:
    def __init__(self, path: Path, header: dict[str, Any], *, resume: bool) -> None:
        self.path = path
        self.header = header
        self._resume = resume
        self._fh: IO[str] | None = None
        self.done: dict[str, AccountResult] = {}
        self._synced = 0.0

    def __enter__(self) -> Journal:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self._resume and self.path.exists():
            self.done = dict(self._read())
            self._fh = self.path.open("a", encoding="utf-8")
        else:
            self._fh = self.path.open("w", encoding="utf-8")
            self._write({"header": self.header})
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None

    def record(self, result: AccountResult) -> None:
        self._write({"account": result.to_json()})
        self.done[result.account.id] = result

    def _write(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            raise RuntimeError(f"journal {self.path} written outside its with-block")
        self._fh.write(json.dumps(obj, default=str, separators=(",", ":")) + "\n")
        self._fh.flush()
        now = time.monotonic()
        if now - self._synced >= FSYNC_INTERVAL_S:
            os.fsync(self._fh.fileno())
            self._synced = now

    def _read(self) -> Iterator[tuple[str, AccountResult]]:
        with self.path.open(encoding="utf-8") as fh:
            lines = fh.readlines()
        if not lines:
            return
        try:
            header = json.loads(lines[0])["header"]
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(str(self.path), "not an orgscan journal (no header line)") from exc
        for key in ("organization_id", "rules_digest"):
            if header.get(key) != self.header.get(key):
                raise ConfigError(str(self.path), f"journal was written for another scan "
                                  f"({key} {header.get(key)!r} != {self.header.get(key)!r})",
                                  hint="use a new --out directory, or drop --resume")
        self.header["scan_id"] = header.get("scan_id", self.header.get("scan_id"))
        self.header["started"] = header.get("started", self.header.get("started"))
        for n, line in enumerate(lines[1:], start=2):
            try:
                result = AccountResult.from_json(json.loads(line)["account"])
            except (ValueError, KeyError, TypeError):
                # A line cut short by a kill: that account is simply scanned again.
                if n == len(lines):
                    continue
                raise ConfigError(str(self.path), f"line {n} is damaged") from None
            yield result.account.id, result

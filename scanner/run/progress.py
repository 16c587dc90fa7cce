"""Progress of a scan: one live line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Progress:
    total: int
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    quiet: bool = False
    done: int = 0
    not_assessed: int = 0
    errors: int = 0
    throttles: int = 0
    _last_line: float = 0.0
    _started: float = field(default_factory=time.monotonic)

    @property
    def live(self) -> bool:
        return not self.quiet and self.stream.isatty()

    def account_done(self, account: str, outcome: str, *, not_assessed: bool, errors: int,
                     throttles: int) -> None:
        self.done += 1
        self.not_assessed += int(not_assessed)
        self.errors += errors
        self.throttles = throttles
        if self.quiet:
            return
        if self.live:
            self._live()
        elif not_assessed or time.monotonic() - self._last_line > 2 or self.done == self.total:
            # Off a terminal: every problem, and a heartbeat, not one line per account.
            self._last_line = time.monotonic()
            print(f"orgscan: [{self.done}/{self.total}] {account}: {outcome}", file=self.stream)

    def _live(self) -> None:
        elapsed = time.monotonic() - self._started
        print(f"\r  accounts {self.done}/{self.total}  not assessed {self.not_assessed}  "
              f"rule errors {self.errors}  throttled {self.throttles}  {elapsed:5.1f}s",
              end="", file=self.stream, flush=True)

    def close(self) -> None:
        if self.live:
            print(file=self.stream)

    def note(self, message: str) -> None:
        if not self.quiet:
            if self.live:
                print(file=self.stream)
            print(f"orgscan: {message}", file=self.stream)

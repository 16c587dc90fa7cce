"""SIGINT and SIGTERM over one run: what a signal does depends on where the run is.

- Before the fan-out (reading inputs, the organization walk, organization facts): the run
  stops at once; nothing was scanned and no report is written (``Interrupted``).
- During the fan-out: the scan task is cancelled; the accounts finished stay journaled, the
  others are reported NOT_ASSESSED, and every report says ``interrupted: true``.
- After the fan-out, or while reports of an already interrupted scan are written: the signal is
  recorded and the reports are finished, marked interrupted.
- While the reports of a complete scan are written: the writing stops (no partial file is left:
  writes are atomic) and every report is written again, marked interrupted, so no report of an
  interrupted run says ``interrupted: false``. Further signals are recorded, not obeyed, until
  the reports are whole (SIGKILL still stops at once; ``--resume`` then writes them).

The first signal decides the exit code: 130 for SIGINT, 143 for SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupted(BaseException):
    """A signal stopped the run where nothing can be finished (a BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` swallows it)."""

    def __init__(self, signum: int, stage: str = "") -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.stage = stage


class Stop:
    """The signal state of one run (see the module docstring)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[object] | None = None
        self._deferred = False

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stop]:
        """Handle SIGINT and SIGTERM for the with-block, then restore (only the main thread
        may: elsewhere, a run embedded in another program, signals stay the program's)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.signal(s, self._handle) for s in SIGNALS}
        try:
            yield self
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)

    def attach(self) -> None:
        """From here the current task is the one a signal cancels (the scan)."""
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        self._task = task

    def detach(self) -> bool:
        """The fan-out is over: later signals are only recorded. True when one arrived."""
        self._loop = self._task = None
        self._deferred = True
        return self.signum is not None

    @contextlib.contextmanager
    def deferring(self) -> Iterator[None]:
        """Signals inside the block are recorded, not obeyed."""
        before, self._deferred = self._deferred, True
        try:
            yield
        finally:
            self._deferred = before

    @contextlib.contextmanager
    def obeying(self) -> Iterator[None]:
        """Signals inside the block raise Interrupted (a complete scan's reports being
        written: they are then written again, marked interrupted)."""
        before, self._deferred = self._deferred, False
        try:
            yield
        finally:
            self._deferred = before

    def _cancel(self) -> None:
        if self._task is not None:  # still in the fan-out when the loop got to it
            self._task.cancel()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        if first:
            self.signum = signum
        if self._loop is not None:
            if first:
                # Wakes the loop (it may be waiting in select) and cancels from inside it.
                with contextlib.suppress(RuntimeError):  # a loop already closed
                    self._loop.call_soon_threadsafe(self._cancel)
            return
        if not self._deferred and first:
            raise Interrupted(signum)

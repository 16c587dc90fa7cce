"""One run per output directory: an exclusive lock held for the whole scan (or merge) and its
reports.

Two scans writing one journal interleave their lines and destroy both. The lock is
``fcntl.flock`` on ``.orgscan.lock`` in the output directory: the kernel releases it when the
process dies however it dies (SIGKILL included), so a stale lock file never blocks anyone. The
holder writes its pid, host, start time and command into the file, and a second run refuses at
once, naming them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from scanner.report.files import os_error, output_dir

LOCK_NAME = ".orgscan.lock"


class OutputLocked(Exception):
    """Another orgscan run holds the output directory."""

    def __init__(self, out: Path, holder: str) -> None:
        super().__init__(f"{out} is in use by another orgscan run ({holder}); wait for it to "
                         "end or choose another --out")
        self.out = out
        self.holder = holder


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return (f"pid {info['pid']} on {info['host']}, started {info['started']}: "
                f"{info['command']}")
    except (ValueError, KeyError, TypeError):
        return "holder unknown: the lock file names none yet"


@contextlib.contextmanager
def locked_output(out: Path, command: str = "") -> Iterator[Path]:
    """``out`` (created if missing) held exclusively for the with-block."""
    output_dir(out)
    path = out / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise os_error(path, exc) from None
    held = False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            held = True
        except BlockingIOError:
            with open(fd, encoding="utf-8", errors="replace", closefd=False) as fh:
                raise OutputLocked(out, _holder(fh.read())) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": command or " ".join(["orgscan", *sys.argv[1:]])}
        try:
            os.ftruncate(fd, 0)
            os.write(fd, (json.dumps(info) + "\n").encode())
        except OSError:
            pass  # a full disk: the lock holds all the same, it only names no holder
        yield out
    finally:
        if held:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)  # the file stays (removing it would race a new holder)
        os.close(fd)  # releases the lock

"""Writing one output file, atomically: every report orgscan writes goes through here.

A report is written to a temporary file beside it (same directory, so same file system),
flushed and fsynced, then renamed over the real name: a reader, a crash or a full disk never
sees half a report, and an old report stays whole until its replacement is. A failure to write
(disk full, read-only file system, permissions, a directory that is a file) is an
``OutputError`` naming the path, and the temporary file is removed.

Test hook, read only here: ``ORGSCAN_TEST_WRITE=<errno name>:<file name>`` (e.g.
``ENOSPC:findings.json``) makes the write of that report fail with that error after its content
was written to the temporary file, so the tests prove the cleanup on a machine where no small
file system can be mounted; ``ORGSCAN_TEST_WRITE=<seconds>:<file name>`` pauses that long
before the rename, so a test can signal the process while its reports are being written.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from scanner.core.errors import OutputError
from scanner.report.jsontext import indented

TEST_HOOK = "ORGSCAN_TEST_WRITE"
TMP_SUFFIX = ".tmp"


def os_error(path: Path | str, exc: OSError) -> OutputError:
    return OutputError(str(path), exc.strerror or str(exc))


@functools.cache
def _umask() -> int:
    # Read once (reading it means setting it for an instant, which is not thread-safe).
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _as_created(path: Path, mode: int) -> None:
    """The permissions a plain create would have given (mkstemp and mkdtemp make files only
    their owner can read; a report is read by others where the umask lets them)."""
    os.chmod(path, mode & ~_umask())


def _test_hook(path: Path) -> None:
    spec = os.environ.get(TEST_HOOK)
    if not spec or ":" not in spec:
        return
    what, target = spec.split(":", 1)
    if path.name != target:
        return
    code = getattr(errno, what, None)
    if isinstance(code, int):
        raise OSError(code, os.strerror(code), str(path))
    time.sleep(float(what))


def atomic_open(path: Path, *, encoding: str = "utf-8",
                newline: str | None = None) -> contextlib.AbstractContextManager[IO[str]]:
    """A text file whose content becomes ``path`` only when the with-block ends cleanly."""
    return _atomic(path, False, encoding, newline)


def atomic_open_binary(path: Path) -> contextlib.AbstractContextManager[IO[bytes]]:
    """The same, in binary (the evidence bundle's zip)."""
    return _atomic(path, True, "utf-8", None)


@contextlib.contextmanager
def _atomic(path: Path, binary: bool, encoding: str, newline: str | None) -> Iterator[IO[Any]]:
    try:
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=TMP_SUFFIX)
    except OSError as exc:
        raise os_error(path, exc) from None
    tmp = Path(tmp_name)
    try:
        try:
            fh: IO[Any] = (os.fdopen(fd, "wb") if binary
                           else os.fdopen(fd, "w", encoding=encoding, newline=newline))
        except BaseException:
            os.close(fd)
            raise
        with fh:
            yield fh
            _test_hook(path)
            fh.flush()
            os.fsync(fh.fileno())
        _as_created(tmp, 0o666)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise os_error(path, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: Path, text: str, *, encoding: str = "utf-8") -> Path:
    with atomic_open(path, encoding=encoding) as fh:
        fh.write(text)
    return path


def write_json(path: Path, data: Any) -> Path:
    # json.dumps(indent=2, ensure_ascii=False, default=str): non-ASCII names kept intact,
    # datetimes as text.
    return write_text(path, indented(data) + "\n")


def write_json_streamed(path: Path, head: Mapping[str, Any], key: str,
                        items: Iterable[Any]) -> Path:
    """``write_json(path, {**head, key: list(items)})``, byte for byte, holding one item at a
    time: the array under ``key`` (the document's last key) is encoded item by item, so a
    5,000-account findings.json is never one list of dicts and one string in memory."""
    opening = indented({**head, key: []})
    closing = "[]\n}"
    if key in head or not opening.endswith(closing):
        raise ValueError(f"{path.name}: the streamed array {key!r} must be the last key")
    with atomic_open(path) as fh:
        fh.write(opening[:-len(closing)] + "[")
        sep = "\n    "
        for item in items:
            fh.write(sep + indented(item, level=2))  # two levels deep
            sep = ",\n    "
        fh.write("\n  ]\n}\n" if sep != "\n    " else "]\n}\n")
    return path


def output_dir(out: Path) -> Path:
    """``out`` created if missing; an OutputError when it cannot be (a regular file in the
    way, no permission, a read-only file system)."""
    if out.exists() and not out.is_dir():
        raise OutputError(str(out), "it exists and is not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise os_error(out, exc) from None
    return out


@contextlib.contextmanager
def atomic_directory(path: Path) -> Iterator[Path]:
    """A fresh directory to fill; it replaces ``path`` only when the with-block ends cleanly
    (otherwise it is removed and ``path`` is left as it was)."""
    try:
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX))
    except OSError as exc:
        raise os_error(path, exc) from None
    try:
        yield tmp
        _as_created(tmp, 0o777)
        if path.exists():
            # Moved aside, then removed: the old directory never sits half-deleted at ``path``.
            old = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.",
                                        suffix=".old" + TMP_SUFFIX))
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise os_error(path, exc) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def copy_file(src: Path, dest: Path) -> Path:
    """``src`` copied to ``dest`` (inside a directory being built: not itself atomic)."""
    try:
        shutil.copyfile(src, dest)
    except OSError as exc:
        raise os_error(dest, exc) from None
    return dest

"""Checking an evidence bundle (``orgscan verify``) and reading files out of one (``orgscan
diff`` takes a bundle as a scan): a directory or its zip, as ``scanner.report.bundle`` wrote it.

``verify`` recomputes every file's SHA-256 and size against manifest.json and names each
tampered, missing, extra or damaged file. It is safe on anything handed to it:

- a zip member outside the bundle's directory (``../../x``, ``/abs/x``, ``other/thing.sh``) is
  reported, never read; paths in the manifest that could escape the bundle are problems;
- files are hashed as streams, and a file is never read past its manifest size + 1 byte (a
  compressed gigabyte of zeros costs a megabyte of memory);
- a symbolic link or special file inside a directory bundle is reported and never followed;
- a member whose compressed data is damaged (CRC, deflate) is named, with the zip's error;
- the manifest, the zip's member count and any JSON document read whole are limited (below);
  past a limit, or on a truncated or non-zip file, verify stops with a one-line error.

Whether the findings follow from the bundled rules and evidence is checked above this layer
(``scanner.run.reevaluate``: it loads rules); its mismatches are added to the same
``Verification``.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import jsonschema

from scanner.core.errors import ConfigError
from scanner.core.yamldoc import load_schema
from scanner.report.bundle import MANIFEST

MIB = 1 << 20
# The limits verify works within (docs/auditing.md). A 5,000-account bundle's manifest is
# about 2 MiB with 5,100 entries.
MAX_MANIFEST_BYTES = 64 * MIB
MAX_MANIFEST_FILES = 200_000
_MAX_MANIFEST_OBJECTS = 3 * MAX_MANIFEST_FILES  # entries, config, not-assessed accounts, rules
MAX_MEMBERS = 250_000  # zip members, or directory entries, looked at
MAX_ZIP_DIRECTORY_BYTES = 32 * MIB  # the zip's central directory (~100 bytes a member)
# One JSON document verify reads whole (an account's evidence, organization.json, the
# exceptions report): the demo's largest is 96 KiB; findings.json is streamed instead.
MAX_DOCUMENT_BYTES = 32 * MIB
# One report `orgscan diff` reads whole (findings.json of a 5,000-account scan: ~180 MB).
MAX_REPORT_BYTES = 512 * MIB
_CHUNK = 1 << 20
# What reading a zip member raises when its bytes are damaged or unreadable.
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError,
                NotImplementedError, ValueError)


class MemberError(Exception):
    """One file of a bundle could not be read: damaged, too large, or not a regular file."""

    def __init__(self, name: str, message: str, *, too_large: bool = False) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.too_large = too_large


@dataclass(frozen=True)
class Mismatch:
    """A finding that does not follow from the bundled rules and evidence."""

    where: str  # the bundle file holding the finding
    account_id: str
    rule_id: str
    bundled: str  # its status in the bundle ("absent" when missing)
    reevaluated: str  # the status the rules give over the evidence ("absent": no such rule)

    def text(self) -> str:
        return (f"{self.where}: account {self.account_id} rule {self.rule_id}: bundled "
                f"{self.bundled}, re-evaluated {self.reevaluated}")


@dataclass(frozen=True)
class Verification:
    bundle: str
    manifest_sha256: str
    checked: int
    tampered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())
    damaged: tuple[str, ...] = ()  # "name: the zip's error"
    outside: tuple[str, ...] = ()  # zip members outside the bundle's directory
    unsafe: tuple[str, ...] = ()  # symlinks and special files (never followed or read)
    findings_checked: int = 0
    not_following: tuple[Mismatch, ...] = ()

    @property
    def ok(self) -> bool:
        return not (self.tampered or self.missing or self.extra or self.problems
                    or self.damaged or self.outside or self.unsafe or self.not_following)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "ok": self.ok, "manifest_sha256": self.manifest_sha256,
                "checked": self.checked, "tampered": list(self.tampered),
                "missing": list(self.missing), "extra": list(self.extra),
                "damaged": list(self.damaged), "outside": list(self.outside),
                "unsafe": list(self.unsafe), "problems": list(self.problems),
                "findings_checked": self.findings_checked,
                "not_following": [vars(m) for m in self.not_following]}

    def text(self) -> str:
        lines = [f"bundle: {self.bundle}", f"manifest.json sha256: {self.manifest_sha256}"]
        lines += [f"TAMPERED {p}" for p in self.tampered]
        lines += [f"MISSING  {p}" for p in self.missing]
        lines += [f"EXTRA    {p}" for p in self.extra]
        lines += [f"DAMAGED  {p}" for p in self.damaged]
        lines += [f"OUTSIDE  {p} (a zip member outside the bundle; not read)" for p in self.outside]
        lines += [f"UNSAFE   {p}" for p in self.unsafe]
        lines += [f"PROBLEM  {p}" for p in self.problems]
        lines += [f"DOES NOT FOLLOW {m.text()}" for m in self.not_following]
        if self.ok:
            lines.append(f"OK: {self.checked} file(s) match the manifest; "
                         f"{self.findings_checked} finding(s) follow from the bundled rules "
                         f"and evidence")
        else:
            lines.append(
                f"FAILED: {len(self.tampered)} tampered, {len(self.missing)} missing, "
                f"{len(self.extra)} extra, {len(self.damaged)} damaged, "
                f"{len(self.outside)} outside the bundle, {len(self.unsafe)} unsafe, "
                f"{len(self.not_following)} finding(s) not following from the evidence, "
                f"{len(self.problems)} other problem(s)")
        # Names come from the bundle: a control character must not drive the terminal.
        return "\n".join(_printable(line) for line in lines)


def _printable(text: str) -> str:
    return text if text.isprintable() else "".join(
        c if c.isprintable() else repr(c)[1:-1] for c in text)


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name)
    return (bool(name) and not p.is_absolute() and ".." not in p.parts and "\\" not in name
            and ":" not in p.parts[0] and "\0" not in name)


def _zip_directory(path: Path) -> tuple[int, int] | None:
    """The member count and central-directory size a zip's end record declares (zip64 too);
    None when there is no such record (not a zip, or cut short)."""
    with path.open("rb") as fh:
        size = fh.seek(0, os.SEEK_END)
        tail_len = min(size, (1 << 16) + 22)
        fh.seek(size - tail_len)
        tail = fh.read(tail_len)
        i = tail.rfind(b"PK\x05\x06")
        if i < 0 or len(tail) - i < 22:
            return None
        entries, cd_size = struct.unpack("<HI", tail[i + 10:i + 16])
        if (entries == 0xFFFF or cd_size == 0xFFFFFFFF) and i >= 20 \
                and tail[i - 20:i - 16] == b"PK\x06\x07":
            fh.seek(struct.unpack("<Q", tail[i - 12:i - 4])[0])
            record = fh.read(56)
            if record[:4] == b"PK\x06\x06" and len(record) == 56:
                entries, cd_size = struct.unpack("<QQ", record[32:48])
        return int(entries), int(cd_size)


class BundleReader:
    """Files of a bundle, as a directory or a zip, by their path inside the bundle. Reads are
    bounded; nothing outside the bundle is ever opened."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.outside: list[str] = []
        self.unsafe: list[str] = []
        self.duplicates: list[str] = []
        self._zip: zipfile.ZipFile | None = None
        self._members: dict[str, zipfile.ZipInfo] = {}
        self._files: set[str] = set()
        if path.is_dir():
            self._walk()
            if MANIFEST not in self._files:
                raise ConfigError(str(path), f"not an evidence bundle (no regular {MANIFEST})")
        elif path.is_file():
            self._open_zip()
        else:
            raise ConfigError(str(path), "no such file or directory")

    # --- opening ------------------------------------------------------------------------

    def _walk(self) -> None:
        """Regular files by relative path; symlinks and special files reported, never
        followed (a linked directory is not entered)."""
        stack, seen = [""], 0
        while stack:
            rel = stack.pop()
            try:
                with os.scandir(self.path / rel if rel else self.path) as entries:
                    for e in entries:
                        seen += 1
                        if seen > MAX_MEMBERS:
                            raise ConfigError(str(self.path), f"more than {MAX_MEMBERS:,} "
                                              f"entries: refusing to check (the limit)")
                        name = f"{rel}/{e.name}" if rel else e.name
                        if e.is_symlink():
                            self.unsafe.append(f"{name}: symbolic link to "
                                               f"{os.readlink(e.path)!r} (not followed)")
                        elif e.is_dir(follow_symlinks=False):
                            stack.append(name)
                        elif e.is_file(follow_symlinks=False):
                            self._files.add(name)
                        else:
                            self.unsafe.append(f"{name}: not a regular file (not read)")
            except OSError as exc:
                raise ConfigError(str(self.path / rel), f"cannot read: {exc}") from None

    def _open_zip(self) -> None:
        try:
            directory = _zip_directory(self.path)
        except OSError as exc:
            raise ConfigError(str(self.path), f"cannot read: {exc}") from None
        if directory is None:
            raise ConfigError(str(self.path), "not an evidence bundle: neither a directory nor "
                              "a zip file (a zip cut short has lost its end record)")
        entries, cd_size = directory
        # Python's zipfile reads the whole central directory, whatever the count declared.
        if entries > MAX_MEMBERS or cd_size > MAX_ZIP_DIRECTORY_BYTES:
            raise ConfigError(str(self.path), f"the zip declares {entries:,} members in a "
                              f"{cd_size:,}-byte directory; the limits are {MAX_MEMBERS:,} "
                              f"members and {MAX_ZIP_DIRECTORY_BYTES // MIB} MiB: refusing to "
                              f"check")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except (*_READ_ERRORS, struct.error) as exc:
            raise ConfigError(str(self.path), f"damaged or truncated zip, cannot be read: "
                              f"{exc}") from None
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            self.close()
            raise ConfigError(str(self.path), f"the zip holds {len(infos):,} members, more "
                              f"than the limit of {MAX_MEMBERS:,}: refusing to check")
        manifests = sorted((i.filename for i in infos
                            if PurePosixPath(i.filename).name == MANIFEST
                            and _safe_name(i.filename)), key=lambda n: n.count("/"))
        if not manifests:
            self.close()
            raise ConfigError(str(self.path), f"not an evidence bundle (no {MANIFEST})")
        prefix = manifests[0][: -len(MANIFEST)]
        for info in infos:
            n = info.filename
            if not _safe_name(n) or not n.startswith(prefix):
                self.outside.append(n)
                continue
            if info.is_dir():
                continue
            rel = n[len(prefix):]
            if stat.S_ISLNK(info.external_attr >> 16):
                self.unsafe.append(f"{rel}: stored as a symbolic link (not read)")
            elif rel in self._members:
                self.duplicates.append(rel)
            else:
                self._members[rel] = info

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    # --- reading ------------------------------------------------------------------------

    def names(self) -> set[str]:
        return set(self._members) if self._zip is not None else set(self._files)

    def _open(self, name: str) -> IO[bytes]:
        if name not in self.names():
            raise MemberError(name, "not in the bundle (or not a regular file)")
        try:
            if self._zip is not None:
                return self._zip.open(self._members[name])
            # The walk saw a regular file behind no link; O_NOFOLLOW keeps it so, and
            # O_NONBLOCK keeps a FIFO swapped in since from blocking the open.
            fd = os.open(self.path / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                os.close(fd)
                raise MemberError(name, "not a regular file (not read)")
            return os.fdopen(fd, "rb")
        except _READ_ERRORS as exc:
            raise MemberError(name, f"damaged, cannot be read: {exc}") from None

    @contextmanager
    def _stream(self, name: str) -> Iterator[IO[bytes]]:
        """The file open for reading; errors of the caller's body pass through untouched."""
        with self._open(name) as fh:
            yield fh

    def digest(self, name: str, limit: int) -> tuple[str, int]:
        """SHA-256 and length of the file's first ``limit + 1`` bytes, read as a stream: a
        length of ``limit + 1`` means the file is larger than ``limit``."""
        h = hashlib.sha256()
        n = 0
        with self._stream(name) as fh:
            try:
                while n <= limit:
                    chunk = fh.read(min(_CHUNK, limit + 1 - n))
                    if not chunk:
                        break
                    h.update(chunk)
                    n += len(chunk)
            except _READ_ERRORS as exc:
                raise MemberError(name, f"damaged, cannot be read: {exc}") from None
        return h.hexdigest(), n

    def read(self, name: str, limit: int = MAX_DOCUMENT_BYTES) -> bytes:
        """The whole file, or MemberError when it is larger than ``limit`` bytes."""
        declared = (self._members[name].file_size if self._zip is not None and name in
                    self._members else None)
        if declared is not None and declared > limit:  # refused without inflating a byte
            raise MemberError(name, f"larger than the limit of {limit:,} bytes (not read)",
                              too_large=True)
        with self._stream(name) as fh:
            try:
                data = fh.read(limit + 1)
            except _READ_ERRORS as exc:
                raise MemberError(name, f"damaged, cannot be read: {exc}") from None
        if len(data) > limit:
            raise MemberError(name, f"larger than the limit of {limit:,} bytes (not read)",
                              too_large=True)
        return data

    def json(self, name: str, limit: int = MAX_DOCUMENT_BYTES) -> Any:
        data = self.read(name, limit)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise MemberError(name, f"not valid JSON: {exc}") from None

    @contextmanager
    def stream(self, name: str) -> Iterator[_Checked]:
        """The file as a binary stream whose read errors are MemberErrors; the caller bounds
        what it reads."""
        with self._stream(name) as fh:
            yield _Checked(name, fh)


class _Checked:
    """A member's stream whose damage (CRC, deflate, I/O) surfaces as MemberError."""

    def __init__(self, name: str, fh: IO[bytes]) -> None:
        self.name = name
        self._fh = fh

    def read(self, n: int = -1) -> bytes:
        try:
            return self._fh.read(n)
        except _READ_ERRORS as exc:
            raise MemberError(self.name, f"damaged, cannot be read: {exc}") from None


@contextmanager
def open_bundle(path: Path) -> Iterator[BundleReader]:
    reader = BundleReader(path)
    try:
        yield reader
    finally:
        reader.close()


# --- the manifest ---------------------------------------------------------------------------

def _counting_hook(limit: int) -> Any:
    count = 0

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal count
        count += 1
        if count > limit:
            raise _TooMany
        return dict(pairs)

    return hook


class _TooMany(Exception):
    pass


def load_manifest(reader: BundleReader) -> tuple[bytes, dict[str, Any]]:
    """The manifest's bytes and its content, validated. ConfigError when it is past a limit
    (verify stops); MemberError when it is damaged or not a valid manifest."""
    where = f"{reader.path}: {MANIFEST}"
    try:
        raw = reader.read(MANIFEST, MAX_MANIFEST_BYTES)
    except MemberError as exc:
        if exc.too_large:
            raise ConfigError(where, f"larger than the limit of {MAX_MANIFEST_BYTES // MIB} "
                              f"MiB: refusing to check") from None
        raise
    try:
        manifest = json.loads(raw, object_pairs_hook=_counting_hook(_MAX_MANIFEST_OBJECTS))
    except _TooMany:
        raise ConfigError(where, f"more than {_MAX_MANIFEST_OBJECTS:,} JSON objects: refusing "
                          f"to check (at most {MAX_MANIFEST_FILES:,} files)") from None
    except (ValueError, RecursionError) as exc:
        raise ManifestInvalid(raw, f"not valid JSON: {exc}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if isinstance(files, list) and len(files) > MAX_MANIFEST_FILES:
        raise ConfigError(where, f"lists {len(files):,} files, more than the limit of "
                          f"{MAX_MANIFEST_FILES:,}: refusing to check")
    try:
        jsonschema.validate(manifest, load_schema("manifest.schema.json"))
    except jsonschema.ValidationError as exc:
        raise ManifestInvalid(raw, exc.message) from None
    return raw, manifest


class ManifestInvalid(Exception):
    def __init__(self, raw: bytes, message: str) -> None:
        super().__init__(f"{MANIFEST} is not a valid manifest: {message}")
        self.raw = raw


# --- verify ---------------------------------------------------------------------------------

def verify(path: Path) -> Verification:
    """Recompute every file's SHA-256 and size against manifest.json. ConfigError when the
    path cannot be checked at all (not a bundle, unreadable zip, a limit exceeded)."""
    with open_bundle(path) as reader:
        return _verify(reader)


def _verify(reader: BundleReader) -> Verification:
    base: dict[str, Any] = {
        "outside": tuple(reader.outside), "unsafe": tuple(reader.unsafe),
        "problems": tuple(f"{n}: more than one zip member of this name" for n in
                          sorted(set(reader.duplicates)))}
    bundle = str(reader.path)
    try:
        raw, manifest = load_manifest(reader)
    except MemberError as exc:
        return Verification(bundle, "", 0, damaged=(str(exc),), **base)
    except ManifestInvalid as exc:
        return Verification(bundle, hashlib.sha256(exc.raw).hexdigest(), 0,
                            tampered=(MANIFEST,), **{**base,
                                                     "problems": (*base["problems"], str(exc))})
    listed: dict[str, dict[str, Any]] = {}
    problems = list(base["problems"])
    for f in manifest["files"]:
        if f["path"] in listed:
            problems.append(f"{MANIFEST} lists {f['path']!r} more than once")
        listed[f["path"]] = f
    present = reader.names() - {MANIFEST}
    unsafe_names = {u.split(": ", 1)[0] for u in reader.unsafe}
    tampered, damaged = [], []
    for name in sorted(listed):
        if not _safe_name(name):
            problems.append(f"unsafe path in {MANIFEST}: {name!r}")
            continue
        if name not in present:
            continue
        size = listed[name]["size"]
        try:
            sha, n = reader.digest(name, size)
        except MemberError as exc:
            damaged.append(str(exc))
            continue
        if n > size:
            tampered.append(name)
            problems.append(f"{name}: larger than the {size:,} bytes the manifest gives "
                            f"(not read further)")
        elif sha != listed[name]["sha256"] or n != size:
            tampered.append(name)
    return Verification(
        bundle, hashlib.sha256(raw).hexdigest(), len(listed), tampered=tuple(tampered),
        missing=tuple(sorted(n for n in listed if _safe_name(n) and n not in present
                             and n not in unsafe_names)),
        extra=tuple(sorted(present - set(listed))), problems=tuple(problems),
        damaged=tuple(damaged), outside=base["outside"], unsafe=base["unsafe"])


# --- reading files for diff -----------------------------------------------------------------

def is_bundle(path: Path) -> bool:
    if path.is_dir():
        return (path / MANIFEST).is_file()
    try:
        return path.is_file() and _zip_directory(path) is not None
    except OSError:
        return False


def read_member(reader: BundleReader, name: str, limit: int = MAX_REPORT_BYTES) -> bytes | None:
    """One file of an open bundle by its path inside it; None if absent. ConfigError when it
    is damaged or larger than ``limit``."""
    if name not in reader.names():
        return None
    try:
        return reader.read(name, limit)
    except MemberError as exc:
        raise ConfigError(str(reader.path), str(exc)) from None



__all__ = ["MAX_DOCUMENT_BYTES", "MAX_MANIFEST_BYTES", "MAX_MANIFEST_FILES", "MAX_MEMBERS",
           "MAX_REPORT_BYTES", "MIB", "BundleReader", "ManifestInvalid", "MemberError",
           "Mismatch", "Verification", "is_bundle", "load_manifest", "open_bundle",
           "read_member", "verify"]

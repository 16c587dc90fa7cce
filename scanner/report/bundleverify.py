"""Checking an evidence bundle (``orgscan verify``) and reading files out of one (``orgscan
diff`` takes a bundle as a scan): a directory or its zip, as ``scanner.report.bundle`` wrote it.

``verify`` recomputes every file's SHA-256 and size against manifest.json and names each
tampered, missing or extra file; paths in the manifest that could escape the bundle are
problems, never read.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import jsonschema

from scanner.core.errors import ConfigError
from scanner.core.yamldoc import load_schema
from scanner.report.bundle import MANIFEST


@dataclass(frozen=True)
class Verification:
    bundle: str
    manifest_sha256: str
    checked: int
    tampered: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not (self.tampered or self.missing or self.extra or self.problems)

    def to_json(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "ok": self.ok, "manifest_sha256": self.manifest_sha256,
                "checked": self.checked, "tampered": list(self.tampered),
                "missing": list(self.missing), "extra": list(self.extra),
                "problems": list(self.problems)}

    def text(self) -> str:
        lines = [f"bundle: {self.bundle}", f"manifest.json sha256: {self.manifest_sha256}"]
        lines += [f"TAMPERED {p}" for p in self.tampered]
        lines += [f"MISSING  {p}" for p in self.missing]
        lines += [f"EXTRA    {p}" for p in self.extra]
        lines += [f"PROBLEM  {p}" for p in self.problems]
        lines.append(f"OK: {self.checked} file(s) match the manifest" if self.ok else
                     f"FAILED: {len(self.tampered)} tampered, {len(self.missing)} missing, "
                     f"{len(self.extra)} extra, {len(self.problems)} other problem(s)")
        return "\n".join(lines)


class _Reader:
    """Files of a bundle, as a directory or a zip, by their path inside the bundle."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._zip: zipfile.ZipFile | None = None
        self._prefix = ""
        if path.is_dir():
            if not (path / MANIFEST).is_file():
                raise ConfigError(str(path), f"not an evidence bundle (no {MANIFEST})")
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            manifests = sorted((n for n in self._zip.namelist()
                                if PurePosixPath(n).name == MANIFEST),
                               key=lambda n: n.count("/"))
            if not manifests:
                raise ConfigError(str(path), f"not an evidence bundle (no {MANIFEST})")
            self._prefix = manifests[0][: -len(MANIFEST)]
        else:
            raise ConfigError(str(path), "not an evidence bundle (neither a directory nor a zip)")

    def names(self) -> list[str]:
        if self._zip is not None:
            return sorted(n[len(self._prefix):] for n in self._zip.namelist()
                          if n.startswith(self._prefix) and not n.endswith("/"))
        return sorted(p.relative_to(self.path).as_posix() for p in self.path.rglob("*")
                      if p.is_file())

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(self._prefix + name)
        return (self.path / name).read_bytes()

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()


def _safe_name(name: str) -> bool:
    p = PurePosixPath(name)
    return bool(name) and not p.is_absolute() and ".." not in p.parts and "\\" not in name


def verify(path: Path) -> Verification:
    """Recompute every file's SHA-256 and size against manifest.json."""
    reader = _Reader(path)
    try:
        raw = reader.read(MANIFEST)
        manifest_sha = hashlib.sha256(raw).hexdigest()
        try:
            manifest = json.loads(raw)
            jsonschema.validate(manifest, load_schema("manifest.schema.json"))
        except (ValueError, jsonschema.ValidationError) as exc:
            msg = exc.message if isinstance(exc, jsonschema.ValidationError) else str(exc)
            return Verification(str(path), manifest_sha, 0, tampered=(MANIFEST,),
                                problems=(f"{MANIFEST} is not a valid manifest: {msg}",))
        listed = {f["path"]: f for f in manifest["files"]}
        present = set(reader.names()) - {MANIFEST}
        tampered, problems = [], []
        for name in sorted(listed):
            if not _safe_name(name):
                problems.append(f"unsafe path in {MANIFEST}: {name!r}")
                continue
            if name not in present:
                continue
            data = reader.read(name)
            if (hashlib.sha256(data).hexdigest() != listed[name]["sha256"]
                    or len(data) != listed[name]["size"]):
                tampered.append(name)
        return Verification(
            str(path), manifest_sha, len(listed), tampered=tuple(tampered),
            missing=tuple(sorted(n for n in listed if _safe_name(n) and n not in present)),
            extra=tuple(sorted(present - set(listed))), problems=tuple(problems))
    finally:
        reader.close()


def is_bundle(path: Path) -> bool:
    return (path.is_dir() and (path / MANIFEST).is_file()) or (
        path.is_file() and zipfile.is_zipfile(path))


def read_bundle_file(path: Path, name: str) -> bytes | None:
    """One file of a bundle (directory or zip) by its path inside it; None if absent."""
    reader = _Reader(path)
    try:
        return reader.read(name) if name in reader.names() else None
    finally:
        reader.close()


def bundle_names(path: Path) -> list[str]:
    reader = _Reader(path)
    try:
        return reader.names()
    finally:
        reader.close()


__all__ = ["Verification", "bundle_names", "is_bundle", "read_bundle_file", "verify"]

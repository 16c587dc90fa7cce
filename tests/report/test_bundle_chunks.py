"""The bundle reads each file once, in chunks, to hash it and to search it for secrets: a
secret split across two chunks is still found, and the hash is the file's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from scanner.report.bundle import _CHUNK, BundleError, _checked

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize("at", [0, _CHUNK - 5, _CHUNK - len(SECRET), 2 * _CHUNK + 3])
def test_a_secret_across_a_chunk_boundary_is_found(tmp_path: Path, at: int) -> None:
    root = tmp_path / "bundle"
    root.mkdir()
    data = bytearray(b"x" * (3 * _CHUNK))
    data[at:at + len(SECRET)] = SECRET.encode()
    (root / "findings.json").write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"findings\.json contains a credential"):
        _checked(root, root / "findings.json", [SECRET])
    assert not root.exists()  # the half-built bundle is removed


def test_the_hash_is_the_files(tmp_path: Path) -> None:
    data = bytes(range(256)) * (_CHUNK // 100)
    (tmp_path / "f").write_bytes(data)
    assert _checked(tmp_path, tmp_path / "f", [SECRET]) == hashlib.sha256(data).hexdigest()
    assert _checked(tmp_path, tmp_path / "f", []) == hashlib.sha256(data).hexdigest()

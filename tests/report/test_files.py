"""The atomic-write helper every report goes through: a failed or interrupted write leaves the
previous file (or none) and no temporary file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from scanner.core.errors import OutputError
from scanner.report.files import (
    TEST_HOOK,
    atomic_directory,
    atomic_open,
    output_dir,
    write_json,
    write_text,
)


def test_a_failed_write_keeps_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = write_text(tmp_path / "r.json", "old\n")
    with pytest.raises(RuntimeError), atomic_open(path) as fh:
        fh.write("half of the new")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_injected_enospc_is_an_output_error_naming_the_file(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TEST_HOOK, "ENOSPC:findings.json")
    with pytest.raises(OutputError) as info:
        write_json(tmp_path / "findings.json", {"a": 1})
    assert str(info.value) == f"cannot write {tmp_path / 'findings.json'}: No space left on device"
    assert not list(tmp_path.iterdir())
    write_json(tmp_path / "coverage.json", {"a": 1})  # other files are not affected


def test_output_dir_refuses_a_regular_file(tmp_path: Path) -> None:
    target = tmp_path / "f"
    target.write_text("x")
    with pytest.raises(OutputError, match="it exists and is not a directory"):
        output_dir(target)
    assert output_dir(tmp_path / "a" / "b").is_dir()


def test_a_directory_replaces_the_old_one_whole_or_not_at_all(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    with atomic_directory(bundle) as d:
        (d / "one").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(bundle) as d:
        (d / "two").write_text("2")
        raise RuntimeError("interrupted")
    assert [p.name for p in bundle.iterdir()] == ["one"]
    with atomic_directory(bundle) as d:
        (d / "three").write_text("3")
    assert [p.name for p in bundle.iterdir()] == ["three"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_reports_get_the_permissions_a_plain_create_gives(tmp_path: Path) -> None:
    mask = os.umask(0o022)
    os.umask(mask)
    path = write_text(tmp_path / "r.json", "{}\n")
    with atomic_directory(tmp_path / "bundle") as d:
        (d / "x").write_text("x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~mask
    assert stat.S_IMODE((tmp_path / "bundle").stat().st_mode) == 0o777 & ~mask

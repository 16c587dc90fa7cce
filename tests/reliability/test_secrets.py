"""Secrets: no secret access key or session token, neither the operator's nor any the audit
role was issued, appears in any output file (reports in every format, the evidence bundle and
its zip, the journal), in stdout/stderr, or in a traceback that shows every frame's locals."""

from __future__ import annotations

import traceback
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import scanner.run.orchestrator
from scanner.cli import main as orgscan_cli
from scanner.sim import SimServer

from .conftest import cli

EXTERNAL_ID = "orgscan-ext-7f3a9c21d5e8"
ALL_FORMATS = ("json", "csv", "html", "markdown", "ocsf", "asff", "junit", "graph")


def secrets_of(sim: SimServer) -> dict[str, str]:
    """Every secret the simulator handed out: the operator's secret key, and each assumed-role
    session's secret key and session token."""
    found = {"operator secret": sim.credentials["aws_secret_access_key"]}
    for i, c in enumerate(sim.issued_credentials()):
        found[f"{c['account']} secret #{i}"] = c["secret_access_key"]
        found[f"{c['account']} token #{i}"] = c["session_token"]
    return found


def texts(out: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under ``out``, and every member of every zip, as bytes."""
    for path in sorted(out.rglob("*")):
        if not path.is_file():
            continue
        data = path.read_bytes()
        yield str(path.relative_to(out)), data
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                for name in zf.namelist():
                    yield f"{path.name}:{name}", zf.read(name)


def leaks(blobs: Iterator[tuple[str, bytes]], secrets: dict[str, str]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for where, data in blobs:
        for what, secret in secrets.items():
            if secret and secret.encode() in data:
                out.append((where, what))
    return out


@pytest.fixture(scope="module")
def demo_sim() -> Iterator[SimServer]:
    with SimServer("demo") as sim:
        yield sim


def test_no_secret_in_any_output_or_console(demo_sim: SimServer, tmp_path: Path) -> None:
    out = tmp_path / "out"
    fmt = [a for f in ALL_FORMATS for a in ("--format", f)]
    # The external ID is a shared secret too (the bundle's manifest records the config).
    config = tmp_path / "orgscan.yaml"
    config.write_text(f"aws: {{external_id: {EXTERNAL_ID}}}\n", encoding="utf-8")
    proc = cli(["scan", "--config", str(config), "--out", str(out), *fmt], demo_sim.env)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 3, stderr  # the demo has accounts that cannot be assessed
    secrets = {**secrets_of(demo_sim), "external id": EXTERNAL_ID}
    assert len(secrets) > 70  # the operator's + a secret and a token per assumed account
    files = dict(texts(out))
    # What was written: every format, the journal, and the evidence bundle if present.
    names = set(files)
    for expected in ("findings.json", "findings.csv", "journal.jsonl", "coverage.json"):
        assert expected in names, sorted(names)
    print(f"\nsecrets test: {len(files)} files and zip members searched for "
          f"{len(secrets)} secrets")
    found = leaks(iter(files.items()), secrets)
    found += leaks(iter([("stdout", stdout.encode()), ("stderr", stderr.encode())]), secrets)
    assert not found, found


def test_no_secret_in_a_traceback_with_locals(demo_sim: SimServer, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug deep in an account task (here: the rule engine raising) ends the scan with a
    traceback; formatted with every frame's local variables, it holds no secret."""

    def broken(*_args: object, **_kw: object) -> list[object]:
        raise RuntimeError("forced failure inside an account scope")

    monkeypatch.setattr(scanner.run.orchestrator, "evaluate_account", broken)
    for key, value in demo_sim.env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(BaseException) as info:  # any crash will do
        orgscan_cli.main(["scan", "--out", str(tmp_path), "--quiet", "--no-bundle"])
    exc = info.value
    plain = "".join(traceback.format_exception(exc))
    assert "forced failure" in plain
    with_locals = "".join(traceback.TracebackException.from_exception(
        exc, capture_locals=True).format())
    assert "credentials" in with_locals or "scope" in with_locals  # locals really shown
    found = leaks(iter([("traceback", plain.encode()),
                        ("traceback with locals", with_locals.encode())]),
                  secrets_of(demo_sim))
    assert not found, found

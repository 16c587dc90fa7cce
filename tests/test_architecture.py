"""The walls of docs/architecture.md: import-linter's contracts (setup.cfg), the core loading no
I/O machinery in a fresh interpreter, structured concurrency in one place, and the core's
tests needing nothing but the core."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCANNER = REPO / "scanner"
CORE_MODULES = sorted(f"scanner.core.{p.stem}" for p in (SCANNER / "core").glob("*.py")
                      if p.stem != "__init__")
# What the core must never load, directly or through another module.
IO_MACHINERY = ("asyncio", "aiohttp", "botocore", "boto3", "aiobotocore", "aioboto3",
                "scanner.aws", "scanner.run", "scanner.report", "scanner.cli", "scanner.sim")


def test_import_contracts_hold() -> None:
    """The layers, the pure core, the SDK edge, the simulator's independence and no cycles."""
    exe = Path(sys.executable).parent / "lint-imports"
    cmd = [str(exe)] if exe.exists() else [shutil.which("lint-imports") or "lint-imports"]
    proc = subprocess.run([*cmd, "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_modules_load_no_io_machinery(module: str) -> None:
    code = (f"import sys, {module}; "
            f"print(sorted({{m.split('.')[0] if not m.startswith('scanner') else m "
            f"for m in sys.modules if m.startswith({IO_MACHINERY!r})}}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.strip()
    assert out == "[]", f"{module} pulls in {out}"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_core_tests_import_only_the_core_and_pytest() -> None:
    """tests/core runs without moto, aioboto3 or the simulator."""
    # Besides the test tools, only what the core itself imports (networkx, PyYAML).
    allowed = ("scanner.core", "tests.core", "pytest", "hypothesis", "networkx", "yaml",
               "__future__")
    offenders = {}
    for p in (REPO / "tests" / "core").glob("*.py"):
        stdlib = sys.stdlib_module_names
        bad = sorted(m for m in _imports(p)
                     if not m.startswith(allowed) and m.split(".")[0] not in stdlib)
        if bad:
            offenders[p.name] = bad
    assert offenders == {}


def test_tasks_are_created_only_by_the_orchestrator_and_tasks_module() -> None:
    """Structured concurrency has one home: every other module goes through scanner.aws.tasks,
    so no task outlives its work and failures surface as themselves."""
    spawning = ("create_task", "TaskGroup", "ensure_future", "gather")
    allowed = {"run/orchestrator.py", "aws/tasks.py"}
    offenders = []
    for p in SCANNER.rglob("*.py"):
        rel = p.relative_to(SCANNER)
        if rel.parts[0] == "sim" or rel.as_posix() in allowed:
            continue  # the simulator stands in for AWS; it is not the scanner
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in spawning:
                offenders.append(f"{rel}:{node.lineno} {node.attr}")
    assert offenders == []


def test_scanner_holds_packages_and_few_plain_modules() -> None:
    plain = sorted(p.name for p in SCANNER.glob("*.py"))
    assert plain == ["__init__.py"]

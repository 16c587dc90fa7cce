"""The walls DESIGN.md draws between modules, checked in fresh interpreters."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SCANNER = Path(__file__).resolve().parents[2] / "scanner"
PURE = ["scanner.conditions", "scanner.engine", "scanner.rules", "scanner.graph",
        "scanner.rootusage", "scanner.patterns", "scanner.scp", "scanner.frameworks"]
FORBIDDEN = ("asyncio", "scanner.aws", "scanner.collectors", "scanner.sim", "aiobotocore",
             "boto3", "aioboto3")


@pytest.mark.parametrize("module", PURE)
def test_pure_modules_load_no_io_machinery(module: str) -> None:
    code = (f"import sys, {module}; "
            f"print([m for m in {FORBIDDEN!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "[]", f"{module} pulls in {out}"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_only_the_cli_imports_the_simulator() -> None:
    offenders = [str(p.relative_to(SCANNER)) for p in SCANNER.rglob("*.py")
                 if "sim" not in p.relative_to(SCANNER).parts and p.name != "cli.py"
                 and any(m.startswith("scanner.sim") for m in _imports(p))]
    assert offenders == []


def test_the_simulator_imports_nothing_else_of_the_scanner() -> None:
    offenders = {str(p.relative_to(SCANNER)): sorted(m for m in _imports(p)
                                                    if m.startswith("scanner")
                                                    and not m.startswith("scanner.sim"))
                 for p in (SCANNER / "sim").rglob("*.py")}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_tasks_are_created_only_by_the_orchestrator_and_tasks_module() -> None:
    """Structured concurrency has one home: every other module goes through scanner.tasks,
    so no task outlives its work and failures surface as themselves."""
    spawning = ("create_task", "TaskGroup", "ensure_future", "gather")
    allowed = {"orchestrator.py", "tasks.py"}
    offenders = []
    for p in SCANNER.rglob("*.py"):
        rel = p.relative_to(SCANNER)
        if rel.parts[0] == "sim" or str(rel) in allowed:
            continue  # the simulator stands in for AWS; it is not the scanner
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in spawning:
                offenders.append(f"{rel}:{node.lineno} {node.attr}")
    assert offenders == []

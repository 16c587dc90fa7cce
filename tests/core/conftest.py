from __future__ import annotations

from pathlib import Path

import pytest

from scanner.core.rules import Rule, default_rules_dir, load_rules


@pytest.fixture(scope="session")
def rule_pack() -> list[Rule]:
    return load_rules()


@pytest.fixture(scope="session")
def rules_dir() -> Path:
    return default_rules_dir()

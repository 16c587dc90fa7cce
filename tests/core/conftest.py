from __future__ import annotations

import pytest

from scanner.core.rules import Rule

from .pack import load_pack


@pytest.fixture(scope="session")
def rule_pack() -> list[Rule]:
    return load_pack()

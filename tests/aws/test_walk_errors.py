"""A walk that fails midway (many calls in flight) raises the one AwsError the CLI maps to its
exit code, not a group of them."""

from __future__ import annotations

import pytest

from scanner.aws.org import walk
from scanner.aws.session import Aws, account_scope
from scanner.core.errors import AwsError
from scanner.sim import SimServer
from tests.conftest import settings_for, walk_scenario


@pytest.mark.parametrize("action", ["ListAccountsForParent", "ListTagsForResource"])
async def test_walk_failure_is_one_aws_error(action: str) -> None:
    faults = {"rules": [{"kind": "access_denied", "service": "organizations", "action": action}]}
    with SimServer(walk_scenario(), faults=faults) as sim:
        async with Aws(settings_for(sim)) as aws:
            base = await aws.base_scope()
            with account_scope(base), pytest.raises(AwsError) as info:
                await walk(aws, tags=True)
    assert info.value.code == "AccessDenied"

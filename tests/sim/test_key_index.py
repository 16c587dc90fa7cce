"""The simulator finds the account an access key belongs to through its index, as moto's own
walk over every account would, and follows keys that moto deletes; its counters keep the CPU
spent per action."""

from __future__ import annotations

from moto.iam.models import iam_backends

from scanner.sim import SimServer
from scanner.sim.request import DEFAULT_ACCOUNT_ID, account_for_key, remember_key
from scanner.sim.server import _backend_lookup_without_scan
from tests.sim.conftest import assume


def test_keys_map_to_their_account_and_deleted_keys_fall_back() -> None:
    _backend_lookup_without_scan()
    keys = {}
    for account in ("210000000001", "210000000002"):
        iam = iam_backends[account]["aws"]
        iam.create_user("us-east-1", "u")
        keys[account] = iam.create_access_key("u").access_key_id
    for account, key in keys.items():
        assert account_for_key(key) == account
        assert account_for_key(key) == account  # from the index
    remember_key(keys["210000000001"], "210000000002")  # a wrong hint is not taken
    assert account_for_key(keys["210000000001"]) == "210000000001"
    iam_backends["210000000002"]["aws"].delete_access_key(keys["210000000002"], "u")
    assert account_for_key(keys["210000000002"]) == DEFAULT_ACCOUNT_ID
    assert account_for_key("AKIAUNKNOWN000000000") == DEFAULT_ACCOUNT_ID
    assert account_for_key("") == DEFAULT_ACCOUNT_ID


def test_assumed_keys_answer_as_their_account_and_cpu_is_counted(sim: SimServer) -> None:
    member = next(a["id"] for a in sim.scenario["accounts"] if not a["management"])
    sim.reset_counters()
    ident = assume(sim, member, "sts").get_caller_identity()
    assert ident["Account"] == member
    counters = sim.counters()
    assert counters["by_account"].get(member, 0) >= 1
    cpu = counters["cpu_s_by_action"]
    assert cpu["sts:AssumeRole"] > 0 and cpu["sts:GetCallerIdentity"] > 0
    assert set(cpu) == set(counters["by_action"])

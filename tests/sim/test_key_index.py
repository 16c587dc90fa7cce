"""The simulator finds the account an access key belongs to through its index, as moto's own
walk over every account would, and follows keys that moto deletes."""

from __future__ import annotations

from moto.iam.models import iam_backends

from scanner.sim.request import DEFAULT_ACCOUNT_ID, account_for_key, remember_key
from scanner.sim.server import _backend_lookup_without_scan


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

"""--shard i/n splits the accounts deterministically; `orgscan merge` combines the shards'
outputs into the same verdicts and coverage as one unsharded scan, and lists a missing shard's
accounts as not assessed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scanner.cli.main import main
from scanner.core.errors import ConfigError
from scanner.run.shard import in_shard, parse_shard, shard_of
from scanner.sim import SimServer
from tests.conftest import DENIED, MGMT, SUSPENDED

RULES = "rules: {include: [root-access-keys-present, root-mfa-enabled, " \
        "org-member-root-credentials]}\noutput: {formats: [json]}\n"


def test_parse_shard() -> None:
    assert parse_shard("2/4") == (2, 4)
    assert parse_shard("1/1") == (1, 1)
    for bad in ("0/4", "5/4", "2", "a/b", "1/0", "1/2/3"):
        with pytest.raises(ConfigError):
            parse_shard(bad)


def test_every_account_in_exactly_one_shard_and_balanced() -> None:
    ids = [f"{n:012d}" for n in range(100000000000, 100000000000 + 4000, 1)]
    for n in (1, 2, 3, 7):
        counts = [0] * n
        for a in ids:
            owners = [i for i in range(1, n + 1) if in_shard(a, (i, n))]
            assert owners == [shard_of(a, n)]
            counts[owners[0] - 1] += 1
        assert min(counts) > 0.8 * len(ids) / n  # a hash, not the walk's order
    assert in_shard("123456789012", None)
    assert shard_of("123456789012", 5) == shard_of("123456789012", 5)


def _scan(tmp: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch, out: str,
          *extra: str) -> int:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return main(["scan", "--config", str(tmp / "c.yaml"), "--out", str(tmp / out),
                 "--quiet", "--no-bundle", *extra])


def _verdicts(out: Path) -> set[tuple[str, str, str]]:
    doc = json.loads((out / "findings.json").read_text("utf-8"))
    return {(f["account_id"], f["rule_id"], f["status"]) for f in doc["findings"]}


def _coverage(out: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((out / "coverage.json").read_text("utf-8"))
    return doc


def test_shards_merge_to_the_unsharded_scan(walk_sim: SimServer, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yaml").write_text(RULES, "utf-8")
    assert _scan(tmp_path, walk_sim.env, monkeypatch, "whole") == 3
    for i in (1, 2, 3):
        assert _scan(tmp_path, walk_sim.env, monkeypatch, f"s{i}", "--shard", f"{i}/3") in (0, 3)
        assert (tmp_path / f"s{i}" / "shard.json").is_file()
    shard_accounts = [{a["account_id"] for a in _coverage(tmp_path / f"s{i}")["accounts"]}
                      for i in (1, 2, 3)]
    assert all(shard_accounts)
    assert not (shard_accounts[0] & shard_accounts[1] or shard_accounts[1] & shard_accounts[2]
                or shard_accounts[0] & shard_accounts[2])

    code = main(["merge", *(str(tmp_path / f"s{i}") for i in (1, 2, 3)),
                 "--out", str(tmp_path / "merged"), "--config", str(tmp_path / "c.yaml"),
                 "--no-bundle"])
    assert code == 3  # the missing role and the suspended account, as in the whole scan
    assert "Merged 3 shard(s) of 3" in capsys.readouterr().out
    whole, merged = tmp_path / "whole", tmp_path / "merged"
    assert _verdicts(merged) == _verdicts(whole)
    assert _coverage(merged)["counts"] == _coverage(whole)["counts"]
    org_findings = [f for f in json.loads((merged / "findings.json").read_text())["findings"]
                    if f["scope"] == "organization"]
    assert len(org_findings) == 1 and org_findings[0]["account_id"] == MGMT
    reasons = {a["account_id"]: a["reason"] for a in _coverage(merged)["accounts"]}
    assert "AccessDenied" in reasons[DENIED] and "SUSPENDED" in reasons[SUSPENDED]

    # Shard 2 left out: its accounts are listed, not assessed, with the reason.
    assert main(["merge", str(tmp_path / "s1"), str(tmp_path / "s3"), "--out",
                 str(tmp_path / "partial"), "--config", str(tmp_path / "c.yaml"),
                 "--no-bundle"]) == 3
    cov = _coverage(tmp_path / "partial")
    missing = {a["account_id"]: a for a in cov["accounts"] if a["account_id"] in shard_accounts[1]}
    assert set(missing) == shard_accounts[1]
    assert all(a["coverage"] == "not_assessed" and "shard 2/3 was not merged" in a["reason"]
               for a in missing.values())


def test_merge_refuses_mismatched_shards(walk_sim: SimServer, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "c.yaml").write_text(RULES, "utf-8")
    assert _scan(tmp_path, walk_sim.env, monkeypatch, "a", "--shard", "1/2") in (0, 3)
    other = tmp_path / "other.yaml"
    other.write_text("rules: {include: [root-mfa-enabled]}\n", "utf-8")
    # Another rule set than the shards were scanned with; the same shard twice.
    assert main(["merge", str(tmp_path / "a"), "--out", str(tmp_path / "m"),
                 "--config", str(other)]) == 2
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "a"), "--out",
                 str(tmp_path / "m"), "--config", str(tmp_path / "c.yaml")]) == 2
    assert main(["merge", str(tmp_path), "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "another rule set" in err and "given twice" in err and "not a shard" in err

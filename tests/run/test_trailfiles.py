"""Reading log files from disk: the walk, the folder layout, attribution and bounds."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scanner.core.trailparse import FileScan
from scanner.core.trailslices import slice_records, window_between
from scanner.run.trailfiles import Bounds, LogFile, Walk, read_files, scan_paths, walk
from tests.core.events import ev

A, B = "111122223333", "444455556666"


def _call(event_id: str, when: str, account: str) -> dict[str, Any]:
    return ev(event_id, when, recipientAccountId=account, identity={"accountId": account})


def test_walk_in_name_order_skips_digests_and_other_names(tmp_path: Path) -> None:
    d = tmp_path / "AWSLogs" / "o-x" / A / "CloudTrail" / "us-east-1" / "2026" / "01" / "10"
    d.mkdir(parents=True)
    for name in ("b.json.gz", "a.json", "c.JSON.GZ", "README.txt",
                 f"{A}_CloudTrail-Digest_us-east-1_x.json.gz"):
        (d / name).write_bytes(b"{}")
    named = tmp_path / "named.log"
    named.write_bytes(b"{}")
    seen = Walk()
    got = [p.name for p in walk([tmp_path / "AWSLogs", named, d / "a.json", named], seen)]
    assert got == ["a.json", "b.json.gz", "c.JSON.GZ", "named.log"]
    assert seen.skipped == {"digest": 1, "not_a_log_name": 1, "path_given_twice": 2}


def test_gzip_or_plain_by_content_first(tmp_path: Path) -> None:
    plain_named_gz = tmp_path / "plain.json.gz"
    plain_named_gz.write_text(json.dumps({"Records": [_call("p", "2026-01-10T00:00:00Z", A)]}))
    gz_named_json = tmp_path / "gz.json"
    gz_named_json.write_bytes(gzip.compress(json.dumps(
        {"Records": [_call("g", "2026-01-10T00:00:00Z", A)]}).encode()))
    damaged_gz = tmp_path / "damaged.json.gz"
    damaged_gz.write_bytes(b"\x00\x01 not gzip")
    read = read_files([tmp_path])
    assert sorted(e.event_id for e in read.slices[A].events) == ["g", "p"]
    assert [(Path(g["path"]).name, g["error"]) for g in read.gaps] == [
        ("damaged.json.gz", "corrupt")]


def test_layout_names_org_account_region_and_day() -> None:
    f = LogFile.at(Path(f"/copy/AWSLogs/o-abc/{A}/CloudTrail/eu-west-1/2026/02/03/x.json.gz"))
    assert (f.org_id, f.account_id, f.region, f.day) == ("o-abc", A, "eu-west-1", "2026/02/03")
    f = LogFile.at(Path(f"AWSLogs/{A}/CloudTrail/us-east-1/2026/02/03/x.json.gz"))
    assert (f.org_id, f.account_id) == (None, A)
    assert LogFile.at(Path("/export/x.json")).account_id is None


def test_bounds_skip_day_folders_outside_and_drop_events_outside(tmp_path: Path) -> None:
    for day, eid in (("09", "before"), ("10", "inside"), ("11", "after")):
        d = tmp_path / "AWSLogs" / A / "CloudTrail" / "us-east-1" / "2026" / "01" / day
        d.mkdir(parents=True)
        (d / "f.json.gz").write_bytes(gzip.compress(json.dumps(
            {"Records": [_call(eid, f"2026-01-{day}T12:00:00Z", A)]}).encode()))
    bounds = Bounds(datetime(2026, 1, 10, tzinfo=UTC), datetime(2026, 1, 10, 6, tzinfo=UTC))
    read = read_files([tmp_path], bounds)
    assert read.files == 1 and read.skipped == {"outside_window": 2}
    assert read.slices[A].events == []  # the one file read holds an event after --until
    assert read.slices[A].regions == ["us-east-1"]


def test_a_file_outside_the_layout_is_filed_under_the_accounts_its_records_name(
        tmp_path: Path) -> None:
    (tmp_path / "export.json").write_text(json.dumps(
        [_call("a1", "2026-01-10T00:00:00Z", A), _call("b1", "2026-01-10T01:00:00Z", B)]))
    read = read_files([tmp_path])
    assert sorted(read.slices) == [A, B]
    assert read.slices[A].files == read.slices[B].files == 1
    assert sorted(e.event_id for sl in read.slices.values() for e in sl.events) == ["a1", "b1"]
    assert read.span.first == datetime(2026, 1, 10, tzinfo=UTC)


def test_scan_paths_keeps_order_and_holds_few_paths() -> None:
    taken: list[int] = []

    def paths() -> Any:
        for i in range(40):
            taken.append(i)
            yield Path(f"f{i:02d}")

    results = scan_paths(paths(), workers=2, scan=lambda p: FileScan(str(p), 0))
    first = next(results)
    assert first.key == "f00" and len(taken) <= 4  # not the whole list up front
    assert [r.key for r in results] == [f"f{i:02d}" for i in range(1, 40)]


def test_a_gap_outside_a_folder_is_every_accounts(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps([_call("a1", "2026-01-10T00:00:00Z", A)]))
    text = json.dumps([_call("b1", "2026-01-10T00:00:00Z", B), _call("x", "2026-01-11", A)])
    (tmp_path / "b.json").write_text(text[: len(text) - 40])  # cut inside its second record
    read = read_files([tmp_path])
    assert read.gap_count == 1 and read.unattributed_gaps == 1
    assert read.slices[B].gaps and not read.slices[A].gaps  # B's records were seen in it
    assert sorted(e.event_id for sl in read.slices.values() for e in sl.events) == ["a1", "b1"]
    window = window_between(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))
    records = slice_records(read.slices, window, unattributed_gaps=read.unattributed_gaps)
    for rec in records:  # A's use is seen; whether B's logs hid more of A's is not known
        assert not rec.sources[0].complete
        assert "1 unreadable files not attributable to an account" in rec.sources[0].detail

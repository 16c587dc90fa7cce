"""findings.ocsf.json validated with the OCSF 1.5.0 models shipped by pydantic-ocsf (the
schema's own required attributes, types and enums), plus a strict walk that rejects any
attribute the class does not define (the models accept extras silently)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest

from scanner.core.results import ScanResult
from scanner.report.ocsf import OCSF_NAME, OCSF_VERSION

from .conftest import HOSTILE_NAME

events = pytest.importorskip("ocsf.v1_5_0.events", reason="pydantic-ocsf (test extra)")
objects = pytest.importorskip("ocsf.v1_5_0.objects", reason="pydantic-ocsf (test extra)")

# Attributes that OCSF profiles add to a class; the models hold class attributes only.
PROFILE_ATTRIBUTES = {"cloud": "Cloud"}
FREE_FORM = {"unmapped", "data"}  # OCSF "object"/json_t: anything goes


def _object_schemas(schema: dict[str, Any], defs: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a (sub)schema allows, through $ref / anyOf / arrays."""
    if "$ref" in schema:
        return _object_schemas(defs[schema["$ref"].rsplit("/", 1)[-1]], defs)
    out = []
    for alt in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        out += _object_schemas(alt, defs)
    if "items" in schema:
        out += _object_schemas(schema["items"], defs)
    if "properties" in schema:
        out.append(schema)
    return out


def _walk(schema: dict[str, Any], defs: dict[str, Any], data: Any, path: str) -> list[str]:
    if isinstance(data, list):
        return [k for i, item in enumerate(data) for k in _walk(schema, defs, item,
                                                                f"{path}[{i}]")]
    if not isinstance(data, dict):
        return []
    props: dict[str, Any] = {}
    for obj in _object_schemas(schema, defs):
        props.update(obj["properties"])
    bad = []
    for key, value in data.items():
        where = f"{path}.{key}"
        if key in FREE_FORM:
            continue
        if key not in props:
            bad.append(where)
        else:
            bad += _walk(props[key], defs, value, where)
    return bad


@functools.cache
def _schema_of(model: Any) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(by_alias=True, mode="validation")
    return schema


def unknown_keys(model: Any, data: Any) -> list[str]:
    """Attributes in ``data`` that the model (OCSF class or object) does not define. The
    models' own JSON Schema is used: their field annotations may be unresolved forward refs."""
    schema = _schema_of(model)
    defs = schema.get("$defs", {})
    bad = []
    for key in [k for k in data if k in PROFILE_ATTRIBUTES]:
        sub = getattr(objects, PROFILE_ATTRIBUTES[key])
        sub.model_validate(data[key])
        bad += [f".{key}{b}" for b in unknown_keys(sub, data[key])]
    rest = {k: v for k, v in data.items() if k not in PROFILE_ATTRIBUTES}
    return _walk(schema, defs, rest, "") + bad


def load(out: Path) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((out / OCSF_NAME).read_text("utf-8"))
    return data


def test_demo_ocsf_validates(demo_result: ScanResult, demo_out: Path) -> None:
    data = load(demo_out)
    assert len(data) == len(demo_result.findings)
    for event in data:
        events.ComplianceFinding.model_validate(event)
        assert not unknown_keys(events.ComplianceFinding, event), unknown_keys(
            events.ComplianceFinding, event)
        assert event["class_uid"] == 2003 and event["category_uid"] == 2
        assert event["type_uid"] == event["class_uid"] * 100 + event["activity_id"]
        assert event["metadata"]["version"] == OCSF_VERSION
        assert "cloud" in event["metadata"]["profiles"]
        assert event["metadata"]["product"]["name"] == "orgscan"
        assert event["cloud"]["provider"] == "AWS"
        assert event["cloud"]["org"]["uid"] == demo_result.org.id


def test_ocsf_mapping(demo_result: ScanResult, demo_out: Path) -> None:
    data = load(demo_out)
    by_status: dict[str, list[dict[str, Any]]] = {}
    for e in data:
        by_status.setdefault(e["unmapped"]["orgscan"]["status"], []).append(e)
    assert {e["compliance"]["status_id"] for e in by_status["FAIL"]} == {3}
    assert {e["compliance"]["status_id"] for e in by_status["PASS"]} == {1}
    assert {e["compliance"]["status_id"] for e in by_status["NOT_ASSESSED"]} == {2}
    assert {e["compliance"]["status_id"] for e in by_status.get("ERROR", [])} <= {2}
    keys = [e for e in by_status["FAIL"]
            if e["compliance"]["control"] == "root-access-keys-present"]
    assert keys and keys[0]["severity_id"] == 5
    assert "cis-aws-foundations-3.0:1.4" in keys[0]["compliance"]["requirements"]
    assert keys[0]["remediation"]["desc"]
    assert keys[0]["cloud"]["account"]["type_id"] == 10
    assert keys[0]["unmapped"]["orgscan"]["evidence"]
    # One identity per finding, stable across scans.
    uids = [e["finding_info"]["uid"] for e in data]
    assert len(set(uids)) == len(uids)


def test_hostile_ocsf_intact(hostile_out: Path) -> None:
    data = load(hostile_out)
    names = {e["cloud"]["account"]["name"] for e in data}
    assert any(n.startswith(HOSTILE_NAME) for n in names), "JSON keeps names exactly"
    for event in data[:50]:
        events.ComplianceFinding.model_validate(event)


def test_strict_walk_catches_misspelt_attributes(demo_out: Path) -> None:
    event = load(demo_out)[0]
    event["finding_info"]["titel"] = "x"
    event["cloud"]["acount"] = {}
    event["resources"][0]["owner"]["account"]["uuid"] = "1"
    bad = unknown_keys(events.ComplianceFinding, event)
    assert bad == [".finding_info.titel", ".resources[0].owner.account.uuid", ".cloud.acount"]


def test_muted_is_a_suppressed_fail(demo_result: ScanResult) -> None:
    from dataclasses import replace

    from scanner.core.models import Status
    from scanner.report.asff import to_asff
    from scanner.report.ocsf import to_ocsf

    f = next(f for f in demo_result.findings if f.status.value == "FAIL")
    muted = replace(f, status=Status.MUTED, muted_by="exceptions.yaml#root-keys-legacy")
    event = to_ocsf(demo_result, muted, None)
    events.ComplianceFinding.model_validate(event)
    assert (event["status_id"], event["compliance"]["status_id"]) == (3, 3)
    assert event["unmapped"]["orgscan"]["muted_by"] == muted.muted_by
    asff = to_asff(demo_result, muted, None, "us-east-1")
    assert (asff["Compliance"]["Status"], asff["Workflow"]["Status"]) == ("FAILED", "SUPPRESSED")
    assert asff["ProductFields"]["orgscan/MutedBy"] == muted.muted_by

"""CIS root-usage metric filter pattern recognition."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scanner.core.patterns import PatternError, is_cis_root_usage_pattern, parse_json_pattern

CIS = ('{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && '
       '$.eventType != "AwsServiceEvent" }')
A = '$.userIdentity.type = "Root"'
B = "$.userIdentity.invokedBy NOT EXISTS"
C = '$.eventType != "AwsServiceEvent"'


@pytest.mark.parametrize("pattern", [
    CIS,
    '{$.userIdentity.type="Root"&&$.userIdentity.invokedBy NOT EXISTS'
    '&&$.eventType!="AwsServiceEvent"}',
    "{ $.userIdentity.type = Root && $.userIdentity.invokedBy NOT EXISTS && "
    "$.eventType != AwsServiceEvent }",
    f"{{ ({A}) && ({B} && {C}) }}",
    f"{{ {C} && {A} && {B} }}",
    f"{{\n  {A}\n  && {B}\n  && {C}\n}}",
    f"{{ {A} && $.userIdentity.invokedBy not exists && {C} }}",
    f"{{ ({A} && {B} && {C}) || ({C} && {B} && {A}) }}",
    f"{{ {A} && {A} && {B} && {C} }}",
])
def test_cis_equivalents_accepted(pattern: str) -> None:
    assert is_cis_root_usage_pattern(pattern)


@pytest.mark.parametrize("pattern", [
    CIS.replace('"Root"', '"root"'),  # values are case-sensitive
    CIS.replace('"Root"', '"Root*"'),
    CIS.replace('"AwsServiceEvent"', '"awsserviceevent"'),
    f"{{ {A} && {B} }}",  # missing clause
    f"{{ {A} && {C} }}",
    f"{{ {A} && {B} || {C} }}",  # || weakens it
    f"{{ {A} || {B} || {C} }}",
    f"{{ {A} && ({B} || $.x = 1) && {C} }}",
    f"{{ {A} && $.userIdentity.invokedBy IS NULL && {C} }}",
    f'{{ {A} && {B} && {C} && $.eventName = "ConsoleLogin" }}',  # narrower: strict
    f'{{ $.userIdentity.type != "Root" && {B} && {C} }}',
    '{ $.userIdentity.type = "Root" }',
    CIS.replace("{", "", 1),
    CIS + " junk",
    "",
    "Root",
    '{ $.userIdentity.type = && }',
    f"{{ ({A} && {B} && {C} }}",
])
def test_non_cis_rejected(pattern: str) -> None:
    assert not is_cis_root_usage_pattern(pattern)


def test_parse_gives_dnf() -> None:
    assert len(parse_json_pattern(f"{{ ({A} || {B}) && ({C} || $.x = 1) }}")) == 4
    with pytest.raises(PatternError):
        parse_json_pattern("{ $.a = }")


def test_huge_pattern_refused_not_exploded() -> None:
    clause = "($.a = 1 || $.b = 2)"
    assert not is_cis_root_usage_pattern("{ " + " && ".join([clause] * 20) + " }")


spaces = st.sampled_from(["", " ", "  ", "\n", "\t"])


@given(st.permutations([A, B, C]), st.lists(spaces, min_size=8, max_size=8),
       st.booleans(), st.booleans())
def test_any_spacing_order_and_quoting_is_accepted(
        order: list[str], ws: list[str], quote: bool, paren: bool) -> None:
    clauses = [c if quote else c.replace('"', "") for c in order]
    if paren:
        clauses = [f"({c})" for c in clauses]
    body = f"{ws[1]}&&{ws[2] or ' '}".join(clauses)
    # Spaces are needed only between words (NOT EXISTS); the generator keeps those intact.
    assert is_cis_root_usage_pattern(f"{ws[0]}{{{ws[3]}{body}{ws[4]}}}{ws[5]}")


@given(st.permutations([A, B, C]), st.integers(0, 2), st.sampled_from([
    ("Root", "ROOT"), ("Root", "Roo"), ("NOT EXISTS", "EXISTS"), ("!=", "="),
    ("AwsServiceEvent", "AwsApiCall"), ("invokedBy", "invokedby"), ("$.eventType", "$.eventName"),
]))
def test_any_single_mutation_is_rejected(order: list[str], which: int,
                                         mutation: tuple[str, str]) -> None:
    old, new = mutation
    clauses = list(order)
    target = next((i for i in [which, 0, 1, 2] if old in clauses[i]), None)
    if target is None:
        return
    clauses[target] = clauses[target].replace(old, new, 1)
    assert not is_cis_root_usage_pattern("{ " + " && ".join(clauses) + " }")

"""Fuzzing: every request is refused with a RequestError or decided exactly as the reference evaluator
decides it; every mutated policy is refused with its file and pointer, or loads and agrees.

The default profile keeps this quick; `python bench/fuzz.py` runs the same properties much longer.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from profiles import scaled

from policy_engine import Engine, RequestError
from policy_engine.isolation import Isolated
from policy_engine.testing import (
    analyst_requests,
    assert_refused_or_matches_reference,
    check_policy_documents,
    json_values,
    mutated,
)

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


CORPUS = analyst_requests(POLICIES)
assert_refused_or_agrees = assert_refused_or_matches_reference


def test_the_corpus_is_real() -> None:
    assert len(CORPUS) > 300
    assert {r["platform"] for r in CORPUS} >= {"aliexpress", "dhgate", "amazon", "ebay", "wish", "lazada"}


@settings(
    max_examples=scaled(300), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None
)
@given(raw=mutated(CORPUS))
def test_fuzzed_requests_are_refused_or_decided_as_the_reference_decides(engine: Engine, raw: Any) -> None:
    assert_refused_or_agrees(engine, raw)


@settings(max_examples=scaled(60), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(raw=json_values())
def test_arbitrary_json_is_refused(engine: Engine, raw: Any) -> None:
    with pytest.raises(RequestError):
        engine.decide(raw)


@settings(max_examples=scaled(100), suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    base=st.sampled_from(CORPUS),
    pointer=st.sampled_from(
        [
            "/seller/metrics/refund_rate",
            "/seller/metrics/dispute_rate",
            "/seller/metrics/account_health_rating",
            "/product/price/amount",
        ]
    ),
    value=st.one_of(
        st.floats(allow_nan=False, allow_infinity=False),
        st.floats(min_value=0, max_value=1),
        st.integers(-(2**64), 2**64),
    ),
)
def test_every_finite_number_is_compared_exactly(
    engine: Engine, base: dict[str, Any], pointer: str, value: Any
) -> None:
    """Numbers are where the engine was once silently wrong: hit them directly, with any float or int."""
    raw = json.loads(json.dumps(base))
    _, root, *rest = pointer.split("/")
    target = raw.setdefault(root, {})
    for part in rest[:-1]:
        target = target.setdefault(part, {})
    target[rest[-1]] = value
    if pointer == "/product/price/amount":
        target.setdefault("currency", "USD")
    assert_refused_or_agrees(engine, raw)


# --- Policies ---------------------------------------------------------------------------------------

POLICY_FILES = sorted(
    p
    for p in POLICIES.glob("*/*.json")
    if p.name not in ("taxonomy.json", "invariants.json") and "tests" not in p.parts
)


@st.composite
def mutated_policy(draw: Any) -> tuple[Path, Any]:
    path = draw(st.sampled_from(POLICY_FILES))
    doc = json.loads(path.read_text(encoding="utf-8"))
    return path, draw(mutated([doc], max_mutations=2))


@pytest.fixture(scope="module")
def isolated() -> Iterator[Isolated]:
    """Mutated policies build many networks: in a child process, restarted if the engine crashes."""
    with Isolated() as child:
        yield child


def _documents(platform: str, mutated_name: str, mutated_doc: Any) -> dict[str, Any]:
    docs: dict[str, Any] = {}
    for folder in {platform, "common"}:
        for path in sorted((POLICIES / folder).glob("*.json")):
            docs[f"{folder}/{path.name}"] = json.loads(path.read_text(encoding="utf-8"))
    docs[f"{platform}/{mutated_name}"] = mutated_doc
    return docs


@settings(max_examples=scaled(12), suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=mutated_policy())
def test_mutated_policies_are_refused_with_file_and_pointer_or_agree(
    isolated: Isolated, case: tuple[Path, Any]
) -> None:
    path, doc = case
    platform = path.parent.name
    requests = [r for r in CORPUS if r["platform"] == platform][:25]
    assert isolated.call(check_policy_documents, _documents(platform, path.name, doc), requests) in (
        "refused",
        "agreed",
    )

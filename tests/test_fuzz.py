"""Fuzzing: every request is refused with a RequestError or decided exactly as the reference evaluator
decides it; every mutated policy is refused with its file and pointer, or loads and agrees.

The default profile keeps this quick; `python bench/fuzz.py` runs the same properties much longer.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine import CompileError, Engine, LoadError, RequestError
from policy_engine.testing import analyst_requests, assert_refused_or_matches_reference, json_values, mutated

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


CORPUS = analyst_requests(POLICIES)
assert_refused_or_agrees = assert_refused_or_matches_reference


def test_the_corpus_is_real() -> None:
    assert len(CORPUS) > 300
    assert {r["platform"] for r in CORPUS} >= {"aliexpress", "dhgate", "amazon", "ebay", "wish", "lazada"}


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(raw=mutated(CORPUS))
def test_fuzzed_requests_are_refused_or_decided_as_the_reference_decides(engine: Engine, raw: Any) -> None:
    assert_refused_or_agrees(engine, raw)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(raw=json_values())
def test_arbitrary_json_is_refused(engine: Engine, raw: Any) -> None:
    with pytest.raises(RequestError):
        engine.decide(raw)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow], deadline=None)
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


@settings(max_examples=12, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(case=mutated_policy())
def test_mutated_policies_are_refused_with_file_and_pointer_or_agree(case: tuple[Path, Any], tmp_path: Path) -> None:
    path, doc = case
    platform = path.parent.name
    target = tmp_path / "p"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir()
    for folder in {platform, "common"}:
        shutil.copytree(POLICIES / folder, target / folder, ignore=shutil.ignore_patterns("tests"))
    mutated_file = target / platform / path.name
    text = json.dumps(doc, ensure_ascii=True)  # lone surrogates survive as escapes, as an analyst could write
    mutated_file.write_text(text, encoding="utf-8")
    try:
        engine = Engine.from_directory(target)
    except (LoadError, CompileError) as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.file, problem
            assert problem.pointer == "" or problem.pointer.startswith("/"), problem
        return
    try:
        for raw in [r for r in CORPUS if r["platform"] == platform][:25]:
            assert_refused_or_agrees(engine, raw)
    finally:
        engine.close()

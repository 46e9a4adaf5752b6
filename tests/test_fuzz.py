"""Fuzzing: every request is refused with a RequestError or decided exactly as the reference evaluator
decides it; every mutated policy is refused with its file and pointer, or loads and agrees.

The default profile keeps this quick; `python bench/fuzz.py` runs the same properties much longer.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_engine import CompileError, Engine, LoadError, RequestError, schemas
from policy_engine.reference import evaluate
from policy_engine.request import normalize_request
from policy_engine.testing import json_values, mutated

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


def corpus_requests() -> list[dict[str, Any]]:
    """The requests of the analysts' test cases: real shapes, on every platform."""
    out = []
    for path in sorted(POLICIES.glob("*/tests/*.json")):
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("request"), dict):
            out.append(doc["request"])
    return out


CORPUS = corpus_requests()


def assert_refused_or_agrees(engine: Engine, raw: Any) -> str:
    """The fuzzing property; returns "refused" or the outcome."""
    try:
        decision = engine.decide(raw)
    except RequestError as exc:
        assert exc.problems, "a RequestError names at least one problem"
        for problem in exc.problems:
            assert problem.pointer == "" or problem.pointer.startswith("/")
            str(problem).encode("utf-8")
        return "refused"
    # Accepted: the request is valid, and the network decided it as the reference evaluator does.
    assert schemas.validate("request", raw) == []
    assert schemas.value_problems(raw) == []
    req = normalize_request(raw)
    ref = evaluate(engine.in_force(req["platform"], dt.date.fromisoformat(req["as_of"])), req)
    assert decision.error is None, decision.error
    got = (decision.outcome, decision.rules, tuple(a.rule for a in decision.advisories), decision.derived)
    assert got == (ref.outcome, ref.rules, ref.advisories, ref.derived), json.dumps(raw, ensure_ascii=True)[:2000]
    return decision.outcome


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

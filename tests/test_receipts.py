"""Decision receipts: the digest of the request as decided, of the policy set, and the software versions."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from profiles import scaled

import policy_engine
from policy_engine import Engine, EngineFault
from policy_engine._language import schemas
from policy_engine.decision import canonical_json, engine_version, policy_set_digest, request_digest
from policy_engine.parallel import _without_request
from policy_engine.testing import requests

REQUEST = {
    "platform": "aliexpress",
    "as_of": "2024-03-01",
    "seller": {
        "id": "s-1",
        "entity_type": "enterprise",
        "trademarks": [{"mark": "Acme", "status": "pending", "filed_on": "2023-01-10"}],
    },
    "product": {"category": "shoes/sneakers", "brand": "Acme", "title": "Chaussures légères 轻便鞋"},
}


def _reversed_keys(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {k: _reversed_keys(value[k]) for k in reversed(list(value))}
    if isinstance(value, list):
        return [_reversed_keys(v) for v in value]
    return value


def _sha256_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_canonical_json_is_sorted_compact_utf8() -> None:
    value = {"b": 1, "a": "é轻", "c": [1.5, {"y": None, "x": True}]}
    assert canonical_json(value) == '{"a":"é轻","b":1,"c":[1.5,{"x":true,"y":null}]}'.encode()
    assert canonical_json({"n": 1}) != canonical_json({"n": 1.0})


def test_receipt_fields(engine: Engine) -> None:
    d = engine.decide(REQUEST)
    receipt = d.to_dict()["receipt"]
    assert receipt["package_version"] == policy_engine.__version__
    assert receipt["engine_version"] == engine_version() == "2.0.28"
    # The request digest is over the normalized request: as_of and seller.account_status filled in.
    normalized = {**REQUEST, "seller": {**REQUEST["seller"], "account_status": "active"}}
    expected = json.dumps(normalized, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert receipt["request_digest"] == _sha256_of(expected)
    digests = sorted(p.digest for p in d.policies)
    assert receipt["policy_set_digest"] == _sha256_of(json.dumps(digests, separators=(",", ":")))
    assert schemas.validate("decision", d.to_dict()) == []


def test_request_digest_is_stable_under_key_order(engine: Engine) -> None:
    shuffled = _reversed_keys(REQUEST)
    assert list(shuffled) != list(REQUEST)
    assert engine.decide(shuffled).receipt == engine.decide(REQUEST).receipt


@settings(max_examples=scaled(50))
@given(req=requests())
def test_request_digest_ignores_key_order_of_any_request(req: dict[str, Any]) -> None:
    assert request_digest(_reversed_keys(req)) == request_digest(req)


def test_request_digest_changes_with_the_request(engine: Engine) -> None:
    base = engine.decide(REQUEST).receipt.request_digest
    other_brand = copy.deepcopy(REQUEST)
    other_brand["product"]["brand"] = "Acmé"
    assert engine.decide(other_brand).receipt.request_digest != base
    other_mark = copy.deepcopy(REQUEST)
    other_mark["seller"]["trademarks"][0]["filed_on"] = "2023-01-11"
    assert engine.decide(other_mark).receipt.request_digest != base
    assert engine.decide(REQUEST, as_of=dt.date(2024, 3, 2)).receipt.request_digest != base


def test_request_digest_covers_the_request_as_normalized(engine: Engine) -> None:
    """Filled-in defaults and the decision date given apart from the request are part of what was decided."""
    explicit = copy.deepcopy(REQUEST)
    explicit["seller"]["account_status"] = "active"
    no_date = {k: v for k, v in REQUEST.items() if k != "as_of"}
    base = engine.decide(REQUEST).receipt.request_digest
    assert engine.decide(explicit).receipt.request_digest == base
    assert engine.decide(no_date, as_of=dt.date(2024, 3, 1)).receipt.request_digest == base
    everywhere = engine.decide_everywhere(REQUEST)
    dhgate = {**REQUEST, "platform": "dhgate"}
    assert everywhere["dhgate"].receipt.request_digest == engine.decide(dhgate).receipt.request_digest


def test_policy_set_digest_depends_on_the_set_only() -> None:
    a, b, c = ("sha256:" + ch * 64 for ch in "abc")
    assert policy_set_digest([a, b]) == policy_set_digest([b, a])
    assert policy_set_digest([a, b]) != policy_set_digest([a, c])
    assert policy_set_digest([a]) != policy_set_digest([a, b])


def test_policy_set_digest_follows_the_versions_in_force(engine: Engine) -> None:
    cycling = {
        "platform": "dhgate",
        "seller": {"entity_type": "individual"},
        "product": {"category": "cycling/road-bikes", "brand": "Velo"},
    }
    before = engine.decide(cycling, as_of=dt.date(2016, 7, 14)).receipt.policy_set_digest
    after = engine.decide(cycling, as_of=dt.date(2016, 7, 15)).receipt.policy_set_digest
    assert before != after


def test_error_decisions_carry_receipts(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    req = {"platform": "aliexpress", "as_of": "2024-03-01", "seller": {}, "product": {"category": "toys"}}
    good = engine.decide(req)
    prepared = engine._prepared("aliexpress", dt.date(2024, 3, 1))

    def broken(batches: Any) -> Any:
        raise EngineFault("simulated engine failure")

    monkeypatch.setattr(prepared.network, "run", broken)
    d = engine.decide(req)
    assert d.outcome == "deny" and d.error
    out = d.to_dict()
    assert schemas.validate("decision", out) == []
    assert out["receipt"] == good.to_dict()["receipt"]
    assert out["receipt"]["request_digest"] is not None


def test_worker_decisions_keep_the_request_digest(engine: Engine) -> None:
    d = engine.decide(REQUEST)
    travelled = _without_request(d)
    assert travelled.request is None
    assert travelled.to_dict() == d.to_dict()


def test_decision_without_request_has_a_null_request_digest(engine: Engine) -> None:
    import attrs

    d = attrs.evolve(engine.decide(REQUEST), request=None)
    out = d.to_dict()
    assert out["receipt"]["request_digest"] is None
    assert schemas.validate("decision", out) == []


def test_engine_version_is_the_release_the_build_compiles() -> None:
    build = (Path(__file__).resolve().parent.parent / "hatch_build.py").read_text(encoding="utf-8")
    assert f'ENGINE_REQUIREMENT = "durable-rules=={engine_version()}"' in build
    assert engine_version() == "2.0.28"


def test_receipt_is_required_by_the_schema(engine: Engine) -> None:
    out = engine.decide(REQUEST).to_dict()
    del out["receipt"]
    assert schemas.validate("decision", out) != []
    out = engine.decide(REQUEST).to_dict()
    out["receipt"]["request_digest"] = "sha256:xyz"
    assert [p.pointer for p in schemas.validate("decision", out)] == ["/receipt/request_digest"]


def test_receipt_fields_are_documented() -> None:
    root = Path(__file__).resolve().parent.parent
    text = (root / "docs" / "language.md").read_text(encoding="utf-8")
    fields = schemas.load_schema("decision")["properties"]["receipt"]["properties"]
    assert set(fields) == {"request_digest", "policy_set_digest", "package_version", "engine_version"}
    assert [f for f in fields if f"`{f}`" not in text] == []


def test_every_proof_pointer_quotes_the_value_it_points_at(engine: Engine) -> None:
    """A count without `where` cites each element it counted, by its own pointer, not the list's pointer
    with the list's length as its value: every pointer of every proof resolves in the decided request to
    the value the proof quotes (Amazon's brand registry counts the seller's trademarks)."""
    from policy_engine._pipeline.request import resolve_pointer
    from policy_engine.testing import check_proofs

    root = Path(__file__).resolve().parent.parent
    case = json.loads((root / "policies/amazon/tests/amazon-062-brand-registry-2019-09-30.json").read_text())
    decision = engine.decide(case["request"])
    steps = [s for r in (*decision.reasons, *decision.advisories) for p in r.proof.walk() for s in p.steps]  # type: ignore[union-attr]
    counts = [s for s in steps if s.kind == "count"]
    assert counts and all(s.text.endswith(" counted)") for s in counts)
    for step in steps:
        for evidence in step.evidence:
            assert resolve_pointer(decision.request, evidence.pointer) == evidence.value, (step.text, evidence)
    assert check_proofs(decision, decision.request) == []  # type: ignore[arg-type]

"""The joins of a pattern, as durable_rules evaluates them: the compiler never emits an expression sequence
the engine reads past or evaluates wrongly, and the network that crashed the engine is decided as the
reference decides it.

durable_rules keeps the joins of each pattern in an expression sequence (an opening entry per `$and` and
`$or`, one per join, an `end` per opening). Stopping an `$and` at a false join, it looks for the `end` one
entry too far on: after the last join of a sequence it read on through the node pool and past it, and
crashed (upstream issue 381). `_engine` below is a model of that evaluation, written from the engine's
source, against which the compiler's shapes are checked for every truth value of their joins.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from builders import policy
from child_work import decide_generated
from hypothesis import given, reject, settings
from hypothesis import strategies as st
from profiles import scaled

from policy_engine import CompileError, Engine
from policy_engine._language.model import Policy
from policy_engine._language.reference import evaluate
from policy_engine._pipeline.compile import compile_policies, emit
from policy_engine._pipeline.compile.emit import close_joins
from policy_engine._pipeline.compile.limits import join_alias, sequence_entries, sequence_fault
from policy_engine._pipeline.load import parse_policy
from policy_engine._pipeline.request import normalize_request
from policy_engine.isolation import Isolated
from policy_engine.testing import policy_documents

MESSAGE = {"en": "Rule fired for {product.category}.", "zh": "规则触发。"}
JOIN = {"$gte": {"occurred_on": {"rq": "as_of"}}}
TEST = {"$ex": {"occurred_on": 1}}


class PastTheEnd(Exception):
    """The engine would read an entry past the end of the sequence."""


def _engine(entries: list[str], joins: list[bool]) -> bool:
    """What durable_rules 2.0.28 makes of one pattern's expression sequence (events.c,
    reduceExpressionSequence), given the value of each `join` entry in order (`close` entries hold).

    One position runs through the sequence. An opening entry evaluates the sequence after it; a join is
    evaluated; every value lands in one shared result. A sequence ends at an `end`, or once the result
    decides it (false in an `$and`, true in an `$or`): it then steps forward from the entry it was
    evaluating (before looking at where it stands) until it stands on an `end`.
    """
    values = iter(joins)
    at = 0
    result = True

    def read(n: int) -> str:
        if n >= len(entries):
            raise PastTheEnd(n)
        return entries[n]

    def sequence(kind: str) -> None:
        nonlocal at, result
        result = True
        while at < len(entries):
            current = read(at)
            if current == "end":
                return
            if current in ("and", "or"):
                at += 1
                sequence(current)
            else:
                result = next(values) if current == "join" else True
                at += 1
            if (kind == "and" and not result) or (kind == "or" and result):
                while current != "end":
                    at += 1
                    current = read(at)
                return

    sequence("")
    return result


def _meant(expr: Any, joins: Iterator[bool]) -> bool:
    """What the pattern's joins mean (tests on the fact alone are the alpha network's: they hold here)."""
    if isinstance(expr, dict) and len(expr) == 1:
        ((op, body),) = expr.items()
        if op in ("$and", "$or"):
            values = [_meant(part, joins) for part in body]  # every part, so the joins are taken in order
            return all(values) if op == "$and" else any(values)
    entries = sequence_entries(expr)
    return next(joins) if entries == ["join"] else True


def _assert_evaluated_as_meant(expr: Any) -> None:
    entries = sequence_entries(expr)
    for joins in itertools.product([False, True], repeat=entries.count("join")):
        assert _engine(entries, list(joins)) == _meant(expr, iter(joins)), (expr, joins)


def test_the_model_reads_past_an_and_whose_last_join_fails() -> None:
    bare = {"$and": [{"t": "violation"}, TEST, JOIN]}
    assert sequence_entries(bare) == ["and", "join", "end"]
    with pytest.raises(PastTheEnd):
        _engine(sequence_entries(bare), [False])
    assert _engine(sequence_entries(bare), [True]) is True
    assert sequence_fault(bare) is not None

    closed = close_joins(bare)
    assert closed == {"$and": [{"t": "violation"}, TEST, JOIN, {"$lte": {"sid": {"rq": "sid"}}}]}
    assert sequence_entries(closed) == ["and", "join", "close", "end"]
    assert sequence_fault(closed) is None
    _assert_evaluated_as_meant(closed)


@pytest.mark.parametrize(
    ("expr", "fault"),
    [
        ({"$and": [{"t": "x"}, JOIN]}, "last entry"),
        ({"$and": [{"t": "x"}, {"$or": [TEST, JOIN]}]}, "inside `$or`"),
        ({"$and": [{"$and": [TEST, {"$nex": {"a": 1}}]}, JOIN, JOIN]}, "after a nested"),
    ],
)
def test_faulty_shapes_are_named_and_the_model_shows_each(expr: Any, fault: str) -> None:
    found = sequence_fault(expr)
    assert found is not None and fault in found
    entries = sequence_entries(expr)
    wrong = []
    for joins in itertools.product([False, True], repeat=entries.count("join")):
        try:
            wrong.append(_engine(entries, list(joins)) != _meant(expr, iter(joins)))
        except PastTheEnd:
            wrong.append(True)
    assert any(wrong)


def test_tests_on_the_fact_alone_and_self_comparisons_are_not_joins() -> None:
    for test in (TEST, {"t": "x"}, {"$neq": {"a": "b"}}, {"$iany": {"p": {"$i": "x"}}}, {"a": {"$m": "b"}}):
        assert join_alias(test) is None
    assert join_alias({"v": {"pr": "category"}}) == "pr"
    assert join_alias(JOIN) == "rq"


_LEAF = st.sampled_from([JOIN, TEST, {"t": "x"}])
_TREE = st.recursive(
    _LEAF,
    lambda parts: st.builds(
        lambda op, items: {op: items}, st.sampled_from(["$and", "$or"]), st.lists(parts, min_size=1, max_size=4)
    ),
    max_leaves=10,
)
_ALPHA = st.recursive(
    st.sampled_from([TEST, {"t": "x"}]),
    lambda parts: st.builds(
        lambda op, items: {op: items}, st.sampled_from(["$and", "$or"]), st.lists(parts, min_size=1, max_size=3)
    ),
    max_leaves=5,
)
# The compiler's shape: tests on the fact, then its joins, then at most one `$or` (which holds no join).
_PATTERN = st.builds(
    lambda tests, joins, tail: {"$and": [{"t": "x"}, *tests, *joins, *tail]},
    st.lists(st.sampled_from([TEST, {"$nex": {"a": 1}}]), max_size=3),
    st.lists(st.just(JOIN), max_size=5),
    st.lists(_ALPHA.map(lambda a: {"$or": [a, TEST]}), max_size=1),
)


@settings(max_examples=scaled(300))
@given(expr=_TREE)
def test_a_sequence_without_a_fault_is_evaluated_as_meant(expr: Any) -> None:
    for shape in (expr, close_joins(expr)):
        if sequence_fault(shape) is None:
            _assert_evaluated_as_meant(shape)


@settings(max_examples=scaled(300))
@given(expr=_PATTERN)
def test_closing_the_compilers_patterns_leaves_no_fault(expr: Any) -> None:
    closed = close_joins(expr)
    assert sequence_fault(closed) is None
    _assert_evaluated_as_meant(closed)
    assert close_joins(closed) == closed


def _patterns(ruleset: dict[str, Any]) -> Iterator[Any]:
    for rule in ruleset.values():
        for pattern in rule["all"]:
            yield from pattern.values()


@settings(max_examples=scaled(100))
@given(doc=policy_documents())
def test_every_generated_network_has_only_sequences_the_engine_evaluates_as_meant(doc: dict[str, Any]) -> None:
    parsed, problems = parse_policy(doc, "generated.json")
    assert parsed is not None, problems
    try:
        compiled = compile_policies(parsed.platform, [parsed])
    except CompileError as exc:
        assert all(p.code != "PE037" for p in exc.problems), exc.problems
        reject()
    for expr in _patterns(compiled.ruleset):
        assert sequence_fault(expr) is None, expr
        _assert_evaluated_as_meant(expr)


def _late_failing_join(fillers: int) -> tuple[Policy, dict[str, Any]]:
    """The smallest network found to crash the engine: a rule whose `some` joins the element's date to the
    decision date, last in a ruleset large enough that the engine's node pool is a mapping of its own, and a
    request whose only element fails that join. Before the fix the engine read past its node pool
    (about 200 filler rules crashed under every hash seed tried)."""
    rules = [
        {
            "id": f"f{k}",
            "outcome": "review",
            "message": MESSAGE,
            "when": [{"field": "seller.entity_type", "equals": f"e{k}"}],
        }
        for k in range(fillers)
    ]
    late = {
        "id": "late",
        "outcome": "deny",
        "message": MESSAGE,
        "when": [{"some": "seller.violations", "where": [{"field": "item.occurred_on", "at_least": {"as_of": {}}}]}],
    }
    raw = {
        "platform": "testplatform",
        "as_of": "2024-03-02",
        "seller": {"violations": [{"kind": "trademark", "occurred_on": "2024-02-29", "status": "upheld"}]},
        "product": {"category": "cycling"},
    }
    return policy([*rules, late]), raw


def test_the_crashing_network_is_closed_and_decided_as_the_reference_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    late, raw = _late_failing_join(200)
    compiled = compile_policies("testplatform", [late])
    (pattern,) = [p for p in compiled.ruleset["t.big@1.0.0#late/1"]["all"] if "x0" in p]
    assert pattern["x0"]["$and"][-2:] == [{"$gte": {"occurred_on": {"rq": "as_of"}}}, {"$lte": {"sid": {"rq": "sid"}}}]
    ref = evaluate([late], normalize_request(raw))
    assert ref.outcome == "allow"
    later = dict(raw, seller={"violations": [{"kind": "trademark", "occurred_on": "2024-03-03", "status": "upheld"}]})
    # The engine's memory layout follows the hash seed: each seed in a fresh child, none may crash.
    for seed in ("0", "1", "2", "3"):
        monkeypatch.setenv("PYTHONHASHSEED", seed)
        with Isolated(retries=0) as isolated:
            decisions, _ = isolated.call(decide_generated, [late], [raw, later])
        assert [(d.outcome, d.rules, d.error) for d in decisions] == [
            ("allow", (), None),
            ("deny", ("t.big@1.0.0#late",), None),
        ]
        assert isolated.crashes == 0


def test_a_join_after_a_long_value_list_is_evaluated() -> None:
    """More than 32 tests on one fact were split into nested groups, and the engine never evaluated the join
    after them: a seller authorised only for another brand was denied (from 29 values on)."""
    grantors = [f"g{k}" for k in range(40)]
    rule = {
        "id": "r",
        "outcome": "deny",
        "message": MESSAGE,
        "when": [
            {
                "some": "seller.authorizations",
                "where": [
                    {"field": "item.grantor", "not_in": grantors},
                    {"field": "item.brand", "equals": {"field": "product.brand"}},
                ],
            }
        ],
    }
    p = policy([rule])
    engine = Engine([p], verify=0.0)
    try:
        for brand in ("Other", "Acme"):
            raw = {
                "platform": "testplatform",
                "as_of": "2024-03-02",
                "seller": {"authorizations": [{"brand": brand, "grantor": "zz"}]},
                "product": {"category": "shoes", "brand": "Acme"},
            }
            decision = engine.decide(raw)
            ref = evaluate([p], normalize_request(raw))
            assert decision.error is None
            assert (decision.outcome, decision.rules) == (ref.outcome, ref.rules)
            assert decision.outcome == ("deny" if brand == "Acme" else "allow")
    finally:
        engine.close()


def test_a_pattern_the_engine_would_evaluate_wrongly_is_refused_with_the_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the compiler ever leave a join last in a sequence, the rule is refused, not run."""
    monkeypatch.setattr(emit, "close_joins", lambda expr: expr)
    late, _raw = _late_failing_join(1)
    with pytest.raises(CompileError) as info:
        compile_policies("testplatform", [late])
    (problem,) = info.value.problems
    assert problem.code == "PE037"
    assert problem.pointer == "/rules/1/when"
    assert "last entry of its sequence" in problem.message

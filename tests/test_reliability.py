"""A gatekeeper fails closed: numbers compare exactly, every fact is proven seen, faults stay local."""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Decision, Disagreement, Engine, EngineFault, LoadError, RequestError
from policy_engine import engine as engine_module
from policy_engine._language.reference import evaluate
from policy_engine._pipeline import runtime
from policy_engine._pipeline.request import normalize_request

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def _dhgate(**metrics: Any) -> dict[str, Any]:
    req = json.loads((EXAMPLES / "dhgate-cycling.json").read_text())
    req["seller"]["account_status"] = "closed"
    req["seller"]["metrics"].update(metrics)
    return req


def _agrees(engine: Engine, raw: dict[str, Any]) -> None:
    decision = engine.decide(raw)
    req = normalize_request(raw)
    ref = evaluate(engine.in_force(req.platform, req.as_of), req)
    assert decision.error is None, decision.error
    assert (decision.outcome, decision.rules) == (ref.outcome, ref.rules)


@pytest.mark.parametrize(
    "value",
    [0.00001, 1e-05, 3e-07, 1e16, 5e-324, 1e100, -0.0, 1.7976931348623157e308, 2**53, 2**62, 9007199254740993.0],
)
def test_a_closed_account_is_denied_whatever_number_it_carries(engine: Engine, value: Any) -> None:
    for platform in ("dhgate", "amazon"):
        raw = {**_dhgate(refund_rate=value, account_health_rating=value), "platform": platform}
        decision = engine.decide(raw)
        assert decision.outcome == "deny"
        assert any("account" in rule for rule in decision.rules), decision.rules
        _agrees(engine, raw)


def test_exponent_numbers_compare_as_python_compares_them(engine: Engine) -> None:
    # 1e-05 is under the 5% refund limit, 1e+16 is far over it: the network must see both exactly.
    active = _dhgate(refund_rate=1e-05)
    active["seller"]["account_status"] = "active"
    over = copy.deepcopy(active)
    over["seller"]["metrics"]["refund_rate"] = 1e16
    assert "refund" not in " ".join(engine.decide(active).rules)
    assert any("refund-rate" in r for r in engine.decide(over).rules)
    _agrees(engine, active)
    _agrees(engine, over)


def test_engine_json_writes_exponents_after_a_decimal_point_and_leaves_text_alone() -> None:
    text = runtime.engine_json([1e-05, -5e-324, 1e16, 1.5e-07, 2.0, 10, {"title": "1e-05 and 3e+8", "v": 1e22}])
    assert json.loads(text) == [1e-05, -5e-324, 1e16, 1.5e-07, 2.0, 10, {"title": "1e-05 and 3e+8", "v": 1e22}]
    assert "1.0e-05" in text and "-5.0e-324" in text and "1.0e+16" in text and "1.5e-07" in text
    assert '"1e-05 and 3e+8"' in text
    with pytest.raises(ValueError):
        runtime.engine_json(float("nan"))


def test_a_request_the_engine_did_not_fully_read_is_denied_with_the_error(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the number fix the engine silently drops facts; the end-of-request marker catches it."""
    raw = _dhgate(refund_rate=1e-05)
    monkeypatch.setattr(runtime, "engine_json", lambda value: json.dumps(value, ensure_ascii=False))
    decision = engine.decide(raw)
    assert decision.outcome == "deny" and decision.rules == ()
    assert decision.error is not None and "did not read every fact" in decision.error
    monkeypatch.undo()
    # The session was cleaned, not abandoned: the same network answers the next request correctly.
    prepared = engine._prepared("dhgate", dt.date(2016, 9, 1))
    assert not prepared.network.poisoned
    assert engine.decide(raw).rules == ("common.account-status@1.0.0#account-closed-or-suspended",)


@pytest.mark.parametrize(
    ("pointer", "value", "expected"),
    [
        ("/seller/metrics/refund_rate", float("nan"), "not a finite number"),
        ("/seller/metrics/refund_rate", float("inf"), "not a finite number"),
        ("/seller/metrics/refund_rate", float("-inf"), "not a finite number"),
        ("/seller/metrics/refund_rate", 2**70, "cannot be compared exactly"),
        ("/seller/metrics/refund_rate", 2**53 + 1, "cannot be compared exactly"),
        ("/seller/metrics/refund_rate", 2**63, "cannot be compared exactly"),
        ("/product/title", "bike \ud800", "not valid Unicode"),
        ("/product/title", "x" * 70_000, "expected at most 65536"),
        ("/seller/account_status", [], "is not allowed"),
        ("/seller/account_status", {"a": 1}, "is not allowed"),
        ("/seller/categories", ["cycling"] * 1001, "1000"),
    ],
)
def test_values_that_cannot_be_compared_faithfully_are_refused_with_their_pointer(
    engine: Engine, pointer: str, value: Any, expected: str
) -> None:
    raw = _dhgate()
    target = raw
    *parents, last = pointer.strip("/").split("/")
    for part in parents:
        target = target[part]
    target[last] = value
    with pytest.raises(RequestError) as info:
        engine.decide(raw)
    assert any(p.pointer == pointer and expected in p.message for p in info.value.problems), info.value.problems
    str(info.value).encode("utf-8")  # the message itself is printable


def test_exactly_representable_large_integers_are_decided(engine: Engine) -> None:
    raw = _dhgate(refund_rate=2**60)
    raw["seller"]["account_status"] = "active"
    assert any("refund-rate" in r for r in engine.decide(raw).rules)
    _agrees(engine, raw)


def test_deep_nesting_is_a_request_error_not_a_recursion_error(engine: Engine) -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    raw = _dhgate()
    raw["product"]["attributes"] = {"a": deep}
    with pytest.raises(RequestError, match="nested deeper than"):
        engine.decide(raw)


@pytest.mark.parametrize("as_of", ["9999-12-31", "9999-12-01", "0001-01-01", "0001-06-30"])
def test_dates_at_the_ends_of_the_calendar_get_decisions(engine: Engine, as_of: str) -> None:
    for platform in sorted(engine.platforms):
        raw = {**_dhgate(), "platform": platform}
        raw["seller"]["account_status"] = "active"
        try:
            decision = engine.decide(raw, as_of=as_of)
        except RequestError as exc:  # no policy in force that early: refused, never allowed
            assert "in force" in str(exc)
            continue
        assert decision.error is None, decision.error
        _agrees(engine, {**raw, "as_of": as_of})


def test_decide_accepts_a_date_or_an_iso_string_and_refuses_anything_else(engine: Engine) -> None:
    raw = _dhgate()
    assert engine.decide(raw, as_of="2016-09-01") == engine.decide(raw, as_of=dt.date(2016, 9, 1))
    with pytest.raises(RequestError, match="not a date"):
        engine.decide(raw, as_of="yesterday")
    with pytest.raises(RequestError, match="not a date"):
        engine.decide(raw, as_of=20160901)  # type: ignore[arg-type]


def test_shadow_mode_fails_closed_on_a_disagreement_and_reports_it(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    found: list[Disagreement] = []
    engine = Engine.default(verify=1.0, on_disagreement=found.append)
    try:
        allowed = json.loads((EXAMPLES / "aliexpress-shoes-allowed.json").read_text())
        assert engine.decide(allowed).outcome == "allow" and engine.disagreements == 0
        # A second opinion that disagrees: the decision becomes a deny carrying both answers.
        from policy_engine._language.reference import ReferenceResult

        monkeypatch.setattr(
            engine_module, "evaluate", lambda policies, req, default: ReferenceResult("deny", ("x@1#y",), (), ())
        )
        decision = engine.decide(allowed)
        assert decision.outcome == "deny" and decision.error is not None
        assert "shadow check failed" in decision.error and "x@1#y" in decision.error
        assert engine.disagreements == 1 and len(found) == 1
        assert found[0].network[0] == "allow" and found[0].reference[0] == "deny"
        assert found[0].request["product"] == allowed["product"]
        assert "shadow check failed" in caplog.text and "Acme" in caplog.text
    finally:
        engine.close()


def test_shadow_mode_samples_a_fraction() -> None:
    with pytest.raises(ValueError):
        Engine([], verify=1.5)
    engine = Engine.default(verify=0.0)
    try:
        allowed = json.loads((EXAMPLES / "aliexpress-shoes-allowed.json").read_text())
        calls: list[int] = []
        original = engine_module.evaluate

        def counting(*args: Any) -> Any:
            calls.append(1)
            return original(*args)

        engine_module.evaluate = counting  # type: ignore[assignment]
        try:
            engine.decide_many([allowed] * 50)
            assert calls == []
            engine._verify = 0.5
            engine.decide_many([allowed] * 400)
            assert 100 < len(calls) < 300
        finally:
            engine_module.evaluate = original
    finally:
        engine.close()


def test_a_poisoned_network_costs_only_the_request_inside_the_failing_call(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = _dhgate()
    raw["seller"]["account_status"] = "active"
    expected = engine.decide(raw)
    prepared = engine._prepared("dhgate", dt.date(2016, 9, 1))
    before = prepared.network
    # Another thread's call poisoned the network just before this one: this call is not at fault.
    before.poisoned = True
    assert engine.decide(raw) == expected
    assert prepared.network is not before and prepared.network.usable


def test_abandoned_networks_are_bounded_then_fail_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine.default()
    try:
        raw = _dhgate()
        prepared = engine._prepared("dhgate", dt.date(2016, 9, 1))

        def poison(self: runtime.Network, batches: Any, *args: Any) -> Any:
            self.poisoned = True
            raise EngineFault("simulated fault beyond repair")

        monkeypatch.setattr(runtime.Network, "run", poison)
        for _ in range(engine_module.MAX_ABANDONED + 3):
            decision = engine.decide(raw)
            assert decision.outcome == "deny" and decision.error
        assert prepared.abandoned == engine_module.MAX_ABANDONED
        assert decision.error is not None and "no longer used" in decision.error
    finally:
        monkeypatch.undo()
        engine.close()


def test_threads_with_bad_requests_do_not_harm_others(engine: Engine) -> None:
    good = _dhgate()
    good["seller"]["account_status"] = "active"
    expected = engine.decide(good).to_dict()
    bad = copy.deepcopy(good)
    bad["product"]["title"] = "\ud800"
    failures: list[str] = []

    def work(n: int) -> None:
        for i in range(60):
            if (i + n) % 3 == 0:
                try:
                    engine.decide(bad)
                    failures.append("bad request decided")
                except RequestError:
                    pass
            elif engine.decide(good).to_dict() != expected:
                failures.append("innocent request changed")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_cli_shadow_mode_turns_a_disagreement_into_a_deny_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from policy_engine import cli
    from policy_engine._language.reference import ReferenceResult

    request = str(EXAMPLES / "aliexpress-shoes-allowed.json")
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["decide", "--verify", request], out, err) == 0  # a flag: the request may follow it
    assert json.loads(out.getvalue())["outcome"] == "allow"
    monkeypatch.setattr(engine_module, "evaluate", lambda policies, req, default: ReferenceResult("review", (), (), ()))
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["decide", request, "--verify-fraction", "1"], out, err) == 1
    decision = json.loads(out.getvalue())
    assert decision["outcome"] == "deny" and "shadow check failed" in decision["error"]
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["decide", request, "--verify-fraction", "0"], out, err) == 0  # off: no second opinion
    err = io.StringIO()
    assert cli.main(["decide", request, "--verify-fraction", "2"], io.StringIO(), err) == 2
    assert "not a fraction" in err.getvalue()


def _with_rules(tmp_path: Path, extra: int) -> Path:
    import shutil

    root = ROOT / "policies"
    target = tmp_path / "policies"
    for folder in ("dhgate", "common"):
        shutil.copytree(root / folder, target / folder, ignore=shutil.ignore_patterns("tests"))
    path = target / "dhgate" / "ip-penalties.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    template = next(r for r in doc["rules"] if "outcome" in r)
    doc["rules"] += [{**copy.deepcopy(template), "id": f"extra-{n}"} for n in range(extra)]
    path.write_text(json.dumps(doc), encoding="utf-8")
    return target


@pytest.mark.parametrize("extra", [4_100, 4_090, 300])
def test_too_many_rules_names_the_policy_that_brought_them_and_is_refused_early(
    tmp_path: Path, extra: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from policy_engine import CompileError, LoadError
    from policy_engine._pipeline.compile import normal_form

    target = _with_rules(tmp_path, extra)
    normalized: list[int] = []
    real = normal_form.dnf
    monkeypatch.setattr(normal_form, "dnf", lambda *a, **k: normalized.append(1) or real(*a, **k))
    with pytest.raises((LoadError, CompileError)) as info:
        Engine.from_directory(target)
    problems = info.value.problems
    assert all(p.file.endswith("ip-penalties.json") for p in problems), problems
    if extra >= 4090:  # near the engine's limit on rules, the policy's rules as a whole are blamed
        assert any(p.pointer == "/rules" for p in problems), problems
    assert not any(p.file.endswith("baseline.json") for p in problems), problems
    # Refused before any rule of the oversized platform was normalised (the slow part of compiling).
    if extra > 4094:
        assert isinstance(info.value, LoadError)
    elif extra >= 4090:
        assert len(normalized) < 500


@pytest.mark.parametrize("value", [dt.date(2016, 9, 1), __import__("decimal").Decimal("0.1"), {1, 2}, b"x", object()])
def test_python_values_that_are_not_json_are_request_errors_in_their_place(engine: Engine, value: Any) -> None:
    from policy_engine import ItemError

    raw = _dhgate()
    raw["seller"]["metrics"]["refund_rate"] = value
    with pytest.raises(RequestError, match="not a JSON value") as info:
        engine.decide(raw)
    assert info.value.problems[0].pointer == "/seller/metrics/refund_rate"
    good = _dhgate()
    results = engine.decide_each([good, raw, good])
    assert isinstance(results[1], ItemError) and not isinstance(results[0], ItemError)


def test_all_platforms_with_no_policy_in_force_anywhere_is_bad_input() -> None:
    import io

    from policy_engine import cli

    err = io.StringIO()
    request = str(EXAMPLES / "dhgate-cycling.json")
    assert cli.main(["decide", request, "--all-platforms", "--as-of", "0001-01-01"], io.StringIO(), err) == 2
    assert "no policy of any platform is in force on 0001-01-01" in err.getvalue()
    assert cli.main(["test", "--min-coverage", "101"], io.StringIO(), io.StringIO()) == 2


def test_an_integer_too_long_to_print_is_a_request_error(engine: Engine) -> None:
    raw = _dhgate(refund_rate=10**5000)  # Python refuses to turn it into text
    with pytest.raises(RequestError, match=r"about 5001 digits"):
        engine.decide(raw)


class _Interrupted(Exception):
    """What a caller's signal handler raises in the middle of a decision (a timeout, say)."""


@pytest.mark.parametrize("where", ["message", "start", "complete"])
def test_an_exception_while_an_engine_action_is_open_leaves_no_session_locked(
    monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """An exception between the engine handing over an action and its completion (while the action's
    message is read, or right after the call that started it returned) must not leave the session's
    30-second action lock held: every later request would be decided with no rule firing, a deny turned
    into the platform's allow. The interrupted call fails closed, and the next ones are decided right."""
    eng = Engine.default()
    try:
        examples = Path(__file__).parent.parent / "examples"
        denied = json.loads((examples / "aliexpress-shoes-denied.json").read_text())
        allowed = json.loads((examples / "aliexpress-shoes-allowed.json").read_text())
        assert (eng.decide(denied).outcome, eng.decide(allowed).outcome) == ("deny", "allow")
        real = runtime.dre
        armed = [True]

        interrupting = {"start": "start_action_for_state", "complete": "complete_and_start_action"}.get(where)

        class Dre:
            def __getattr__(self, name: str) -> Any:
                call = getattr(real, name)
                if name != interrupting:
                    return call

                def interrupted_after(*args: Any) -> Any:  # the engine's call returned, then the exception
                    result = call(*args)
                    if result and armed[0]:
                        armed[0] = False
                        raise _Interrupted
                    return result

                return interrupted_after

        def interrupted(message: str) -> Any:
            if armed[0]:
                armed[0] = False
                raise _Interrupted
            return runtime._DECODE(message)

        monkeypatch.setattr(runtime, "dre", Dre())
        if where == "message":
            monkeypatch.setattr(runtime.Network, "_rule_only", lambda self, message: interrupted(message))
        for _ in range(3):
            first = eng.decide_many([copy.deepcopy(denied), copy.deepcopy(allowed)], proofs=False)
            assert first[0].outcome == "deny"
            assert first[1].outcome == "allow" or first[1].error is not None
        assert not armed[0]  # the exception was raised
        later = eng.decide_many([copy.deepcopy(denied), copy.deepcopy(allowed)] * 2, proofs=False)
        assert [(d.outcome, d.error) for d in later] == [("deny", None), ("allow", None)] * 2
        assert (eng.decide(denied).outcome, eng.decide(denied).error) == ("deny", None)
    finally:
        monkeypatch.undo()
        eng.close()


def _watch(kind: str) -> dict[str, Any]:
    """Amazon's gated watches: denied without an approved `category_approval` grant."""
    return {
        "platform": "amazon",
        "marketplace": "amazon.com",
        "as_of": "2018-02-01",
        "seller": {"grants": [{"kind": kind, "platform": "amazon", "category": "watches", "status": "approved"}]},
        "product": {"category": "watches/wrist", "brand": "Horatio", "condition": "new"},
    }


@pytest.mark.parametrize(
    "text",
    [
        "category_approval" + "x" * (65_536 - 17),  # 65,536 bytes: would compare as its first 0
        "category_approval" + "x" * 65_000,  # 65,017 bytes: over the limit by a little
        "category_approval" + "\u00e9" * 32_768,  # 32,785 characters, 65,553 bytes: its first 17
        "category_approval" + "\x01" * 10_920,  # 10,937 characters, 65,537 bytes escaped (\u0001)
    ],
)
def test_a_text_longer_than_the_engine_compares_is_refused_not_cut(engine: Engine, text: str) -> None:
    """durable_rules keeps a text's length in 16 bits: a text of 65,536 + k bytes (UTF-8, JSON-escaped) would
    compare as its first k bytes, so a grant of another kind would pass for the approval. Refused with its
    pointer, as in a batch; the rule still denies without it."""
    assert engine.decide(_watch("other")).outcome == "deny"
    with pytest.raises(RequestError) as info:
        engine.decide(_watch(text))
    problems = info.value.problems
    assert {p.pointer for p in problems} == {"/seller/grants/0/kind"}
    assert any("bytes as the rule engine reads it; expected at most 65000" in p.message for p in problems), problems
    (result,) = engine.decide_each([_watch(text)])
    assert not isinstance(result, Decision)


def test_a_text_at_the_engines_limit_is_compared_whole(engine: Engine) -> None:
    """Texts of exactly the engine's limit are decided, and compared whole: a grant kind that only starts
    with the approval's is no approval, and brands of every width of character agree with the reference."""
    from policy_engine._language.schemas import MAX_TEXT_BYTES, engine_bytes

    def filled(start: str, pad: str) -> str:
        while engine_bytes(start + pad) <= MAX_TEXT_BYTES:
            start += pad * max(1, (MAX_TEXT_BYTES - engine_bytes(start)) // 8)
        assert engine_bytes(start) <= MAX_TEXT_BYTES < engine_bytes(start + pad)
        return start

    kind = filled("category_approval", "x")
    assert engine.decide(_watch(kind)).outcome == "deny"
    _agrees(engine, _watch(kind))
    for pad in ("x", "\u00e9", "\x01", "\U0001f600", '"'):
        raw = _watch("category_approval")
        raw["product"]["brand"] = filled("Horatio", pad)
        _agrees(engine, raw)


def test_a_policy_text_longer_than_the_engine_compares_is_a_load_problem(tmp_path: Path) -> None:
    policy = {
        "id": "long-text",
        "version": "1.0.0",
        "platform": "aliexpress",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "article-only"}],
        "rules": [
            {
                "id": "r",
                "provenance": "article-only",
                "source_refs": [0],
                "when": [{"field": "product.brand", "equals": "acme" + "\u00e9" * 32_768}],
                "outcome": "deny",
                "message": {"en": "no", "zh": "否"},
            }
        ],
    }
    (tmp_path / "p.json").write_text(json.dumps(policy))
    with pytest.raises(LoadError) as info:
        Engine.from_directory(tmp_path)
    assert any(
        p.pointer == "/rules/0/when/0/equals" and "bytes as the rule engine reads it" in p.message
        for p in info.value.problems
    ), info.value.problems


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize("call", ["assert_facts", "start_action_for_state", "retract_facts"])
def test_an_interrupt_inside_the_engine_stops_the_call_and_leaves_the_network_right(
    monkeypatch: pytest.MonkeyPatch, interrupt: type[BaseException], call: str
) -> None:
    """Ctrl-C (or a SystemExit) while the engine works stops `decide_many` with that interrupt, not a
    `deny` carrying it while the batch goes on; the network is left clean, and the next calls are right."""
    eng = Engine.default()
    try:
        examples = Path(__file__).parent.parent / "examples"
        denied = json.loads((examples / "aliexpress-shoes-denied.json").read_text())
        allowed = json.loads((examples / "aliexpress-shoes-allowed.json").read_text())
        batch = [copy.deepcopy(r) for r in (denied, allowed) * 3]
        expected = [(d.outcome, d.error) for d in eng.decide_many(batch, proofs=False)]
        assert {o for o, _ in expected} == {"deny", "allow"} and all(e is None for _, e in expected)
        real = runtime.dre
        armed = [True]

        class Dre:
            def __getattr__(self, name: str) -> Any:
                target = getattr(real, name)
                if name != call:
                    return target

                def interrupted(*args: Any) -> Any:
                    if armed[0]:
                        armed[0] = False
                        raise interrupt
                    return target(*args)

                return interrupted

        monkeypatch.setattr(runtime, "dre", Dre())
        with pytest.raises(interrupt):
            eng.decide_many(batch, proofs=False)
        assert not armed[0]
        assert [(d.outcome, d.error) for d in eng.decide_many(batch, proofs=False)] == expected
        assert [(d.outcome, d.error) for d in eng.decide_many(batch, proofs=True)] == expected
    finally:
        monkeypatch.undo()
        eng.close()


@pytest.mark.parametrize("position", [None, 0, 1, 63, 64, 65, 255, 399])
def test_hundreds_of_facts_in_one_join_memory_are_all_matched(engine: Engine, position: int | None) -> None:
    """The engine's join memories and fact index are chained hash tables with far fewer buckets than a
    request may bring facts: a seller with 400 grants and 400 trademarks puts many facts in every bucket,
    and the one grant that allows the listing is found wherever it stands (and removed with the others:
    the next request sees none of them)."""
    allowed = json.loads((EXAMPLES / "aliexpress-shoes-allowed.json").read_text())
    seller = allowed["seller"]
    grant = seller["grants"][0]
    others = [
        {**grant, "brand": f"Other{i}", "category": ("shoes", "bags", "wedding-dresses")[i % 3]} for i in range(400)
    ]
    marks = [{**seller["trademarks"][0], "mark": f"Other{i}"} for i in range(400)]
    marks[200 if position is None else position] = seller["trademarks"][0]  # the seller's own mark, registered
    if position is not None:
        others[position] = grant
    raw = {**allowed, "seller": {**seller, "grants": others, "trademarks": marks}}
    decisions = engine.decide_many([raw, allowed, raw], proofs=False)
    assert decisions[1].outcome == "allow"  # nothing of the crowded request stayed in working memory
    for decision in (decisions[0], decisions[2], engine.decide(raw)):
        assert decision.error is None, decision.error
        assert decision.outcome == ("deny" if position is None else "allow"), decision.rules
    _agrees(engine, raw)


@pytest.mark.parametrize(
    ("left", "right"), [(1, 1.0), (1.0, 1), (0.0, -0.0), (0, -0.0), (2**62, float(2**62)), (2.5, 2.5), (0.1, 0.2)]
)
def test_numbers_equal_in_value_meet_in_a_join_however_they_are_written(left: Any, right: Any) -> None:
    """The engine files an equality join under the text of the value (`%lld` for an integer, `%f` for a
    decimal): 1 and 1.0, or 0.0 and -0.0, never met, and a deny on two equal fields became an allow."""
    from policy_engine._pipeline.load import parse_policy

    def rule(rid: str, when: list[Any]) -> dict[str, Any]:
        return {"id": rid, "when": when, "outcome": "deny", "message": {"en": rid, "zh": rid}}

    doc = {
        "id": "demo.joins",
        "version": "1.0.0",
        "platform": "demo",
        "effective_from": "2000-01-01",
        "title": "joins on numbers",
        "sources": [{"document": "test", "provenance": "illustrative"}],
        "rules": [
            rule("fields", [{"field": "seller.metrics.x", "equals": {"field": "product.price.amount"}}]),
            rule(
                "element",
                [
                    {
                        "some": "seller.authorizations",
                        "where": [{"field": "item.level", "equals": {"field": "seller.metrics.x"}}],
                    }
                ],
            ),
        ],
    }
    parsed, problems = parse_policy(doc, "joins.json")
    assert parsed is not None, problems
    engine = Engine([parsed], cache=False)
    try:
        raw = {
            "platform": "demo",
            "as_of": "2024-01-01",
            "seller": {"metrics": {"x": left}},
            "product": {"category": "shoes", "price": {"amount": right, "currency": "USD"}},
        }
        if float(right).is_integer() and right >= 1:  # a level is a whole number, 1 or more
            raw["seller"]["authorizations"] = [{"brand": "Acme", "level": right}]
        decision = engine.decide(raw)
        req = normalize_request(raw)
        ref = evaluate(engine.in_force(req.platform, req.as_of), req)
        assert (decision.outcome, decision.rules) == (ref.outcome, ref.rules)
        assert decision.outcome == ("deny" if left == right else "allow")
    finally:
        engine.close()


_ALWAYS_JOINS = [  # a field every request has, compared with a field of another fact
    ("seller.account_status", "equals", "product.brand"),
    ("seller.account_status", "not_equals", "product.brand"),
    ("request.platform", "equals", "product.title"),
    ("request.platform", "not_equals", "product.title"),
    ("product.brand", "equals", "seller.account_status"),
    ("product.title", "not_equals", "request.platform"),
]


@pytest.mark.parametrize("brand", ["active", "closed", "Acme", None])
@pytest.mark.parametrize("title", ["testplatform", "x", None])
def test_a_comparison_with_a_field_every_request_has_joins_the_two_facts(brand: Any, title: Any) -> None:
    """`seller.account_status` and `request.platform` are always present, so the network needs no test that
    they exist; the fact holding them must still be joined to (without it the comparison held whenever the
    other field was present: `equals` fired on different values, `not_equals` on equal ones)."""
    from builders import policy

    rules = [
        {"id": f"j{k}", "when": [{"field": left, op: {"field": right}}], "derive": f"j{k}"}
        for k, (left, op, right) in enumerate(_ALWAYS_JOINS)
    ]
    built = policy(rules)
    engine = Engine([built], cache=False)
    product = {
        "id": "p",
        "category": "shoes",
        **({"brand": brand} if brand else {}),
        **({"title": title} if title else {}),
    }
    for status in ("active", "closed"):
        raw = {
            "platform": "testplatform",
            "as_of": "2024-03-01",
            "seller": {"account_status": status},
            "product": product,
        }
        decision = engine.decide(raw)
        assert decision.derived == evaluate([built], normalize_request(raw)).derived
    engine.close()


_CYCLE = [  # y and x derive each other; x also follows from w, which needs `not z`; r5 denies without y
    {"id": "ru", "when": [{"derived": "x"}], "derive": "y"},
    {"id": "rs", "when": [{"any": [{"derived": "y"}, {"derived": "w"}]}], "derive": "x"},
    {"id": "r2", "when": [{"not": {"derived": "z"}}], "derive": "w"},
    {"id": "r3", "when": [{"field": "product.brand", "equals": "Z"}], "derive": "z"},
    {"id": "r5", "when": [{"not": {"derived": "y"}}], "outcome": "deny", "message": {"en": "x", "zh": "x"}},
]


@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4], [1, 0, 2, 3, 4], [4, 3, 2, 1, 0], [2, 4, 1, 0, 3]])
@pytest.mark.parametrize("brand", ["Z", "A"])
def test_rules_deriving_one_another_share_a_stratum_whatever_their_order(order: list[int], brand: str) -> None:
    """A positive cycle (x from y, y from x) entered through a negation (w from `not z`) is one stratum,
    the highest its rules need: `not y` is tried only once y is complete. Strata were given rule by rule
    in the order the rules were visited, so one order put `ru` below `w`, and `r5` denied although y
    followed (the reference, sharing the strata, agreed with the wrong answer)."""
    from builders import policy

    from policy_engine._language.strata import stratify

    built = policy([_CYCLE[k] for k in order])
    levels, problems = stratify([(built, r) for r in built.rules])
    assert problems == []
    by_id = {r.id: levels[i] for i, r in enumerate(built.rules)}
    assert by_id["ru"] == by_id["rs"] == 1 and by_id["r5"] == 2
    raw = {
        "platform": "testplatform",
        "as_of": "2024-03-01",
        "seller": {},
        "product": {"category": "c", "brand": brand},
    }
    engine = Engine([built], cache=False)
    decision = engine.decide(raw)
    engine.close()
    ref = evaluate([built], normalize_request(raw))
    want = ("allow", ("w", "x", "y")) if brand == "A" else ("deny", ("z",))
    assert (decision.outcome, decision.derived) == (ref.outcome, ref.derived) == want


def test_a_rule_reading_a_conclusion_and_its_negation_in_one_cycle_cannot_be_stratified() -> None:
    """`a` needs b and `not b`, and b needs a: a cycle through negation, which a walk that saw the positive
    step first (and `b` finished) did not report."""
    from policy_engine._pipeline.check import check_policies
    from policy_engine._pipeline.load import parse_policy

    doc = {
        "id": "t.cycle",
        "version": "1.0.0",
        "platform": "testplatform",
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": [
            {"id": "a", "when": [{"derived": "b"}, {"not": {"derived": "b"}}], "derive": "a"},
            {"id": "b", "when": [{"derived": "a"}], "derive": "b"},
        ],
    }
    built, problems = parse_policy(doc, "cycle.json")
    assert built is not None and problems == []
    found = [p for p in check_policies([built]) if p.code == "PE031"]
    assert [(p.pointer, p.message) for p in found] == [
        ("/rules/0", "cycle through negation: a -> b -> a; negation must be stratified")
    ]


@pytest.mark.parametrize("marketplace", ["amazon.de", "ebay", None])
def test_text_operators_on_request_fields_are_worked_out_for_the_request_fact(marketplace: Any) -> None:
    """`contains` and `matches` are worked out while the facts are built; on the request's own fields
    (`request.platform`, `request.marketplace`) the result was never written into the request fact, so
    such a rule never fired (an allow where the reference denies)."""
    from builders import policy

    conds = [
        {"field": "request.platform", "matches": "test*"},
        {"field": "request.platform", "contains": "platform"},
        {"field": "request.marketplace", "contains": "amazon"},
        {"not": {"field": "request.marketplace", "matches": "ebay"}},
    ]
    built = policy([{"id": f"t{k}", "when": [cond], "derive": f"t{k}"} for k, cond in enumerate(conds)])
    engine = Engine([built], cache=False)
    raw: dict[str, Any] = {
        "platform": "testplatform",
        "as_of": "2024-03-01",
        "seller": {},
        "product": {"category": "c"},
    }
    if marketplace:
        raw["marketplace"] = marketplace
    decision = engine.decide(raw)
    engine.close()
    ref = evaluate([built], normalize_request(raw))
    assert decision.derived == ref.derived
    assert "t1" in decision.derived  # the platform contains "platform": never drawn before


_EDGE_SCALARS: list[Any] = [
    False, True, 0, 1, -1, 0.0, -0.0, 0.5, 1e-05, 1e16, 2**53, -(2**53), "", "a", "A", "0", "1", "true", "2024-01-01",
    "Pro", "Pro Max", "Pro!", 'a"', "a\\", "a\tb", "é", "\u2028",
]  # fmt: skip
_EDGE_OPERANDS: list[Any] = [*_EDGE_SCALARS, ["a", "b"], [0, 1], [True], [0.0, -0.0], [1, 1.0], ["1", 1]]
_ORDERS = ("less_than", "at_most", "greater_than", "at_least")


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _edge_policy(rules: list[dict[str, Any]]) -> dict[str, Any]:
    from builders import document

    return document(rules, "t.edges", "aliexpress")


def test_every_comparison_of_a_field_of_any_kind_draws_what_the_reference_draws() -> None:
    """A product attribute holds a text, a number or a boolean: every operator against every kind of value
    (booleans, zeros of both signs, exponents, the largest exact integers, texts that look like numbers or
    booleans, lists mixing them), alone and negated, as one rule each deriving its own conclusion, on a
    request per kind of value: each comparison the checks admit derives what the reference derives. (An
    order against a boolean was admitted and fired on both booleans, where the language says it never
    holds; texts were ordered as the engine reads them, closing quote included: both are refused now.)"""
    from policy_engine._language.operators import OPERATORS
    from policy_engine._pipeline.check import check_policies
    from policy_engine._pipeline.load import parse_policy

    admitted: list[dict[str, Any]] = []
    for op in OPERATORS:
        for operand in _EDGE_OPERANDS:
            compare = {"field": "product.attributes.x", op: operand}
            for cond in (compare, {"not": compare}):
                policy, problems = parse_policy(_edge_policy([{"id": "c", "when": [cond], "derive": "c"}]))
                if policy is not None and not problems and not check_policies([policy]):
                    admitted.append(cond)
    for cond in admitted:
        compare = cond.get("not", cond)
        for op in _ORDERS:  # a field of any kind orders numbers only: booleans and texts are refused
            assert op not in compare or {type(v) for v in _listed(compare[op])} <= {int, float}, cond
    assert len(admitted) > 100  # equality, membership, order and existence against texts, numbers and lists
    for start in range(0, len(admitted), 40):  # the engine takes some 60 tests pending for one fact
        chunk = admitted[start : start + 40]
        rules = [{"id": f"c{k}", "when": [cond], "derive": f"c{k}"} for k, cond in enumerate(chunk)]
        policy, problems = parse_policy(_edge_policy(rules))
        assert policy is not None and not problems and not check_policies([policy])
        engine = Engine([policy])
        try:
            for value in _EDGE_SCALARS:
                raw = {
                    "platform": "aliexpress",
                    "as_of": "2024-03-01",
                    "seller": {},
                    "product": {"category": "shoes", "attributes": {"x": value}},
                }
                decision = engine.decide(raw)
                assert decision.error is None, decision.error
                expected = evaluate([policy], normalize_request(raw)).derived
                wrong = sorted(set(decision.derived) ^ set(expected), key=lambda c: int(c[1:]))
                assert not wrong, (value, [chunk[int(c[1:])] for c in wrong])
        finally:
            engine.close()


def test_a_stratum_without_triggers_decides_instead_of_crashing_the_engine() -> None:
    """`not (product.title equals request.platform)` reads a field every request has under `not`, so its rule
    sits a stratum up; on one platform's network it is a test of a constant, which needs no trigger. The
    stratum above it then had no trigger fact, and asserting that empty batch gave back a state the engine
    never wrote: reading its actions crashed the process (SIGSEGV). Each request is decided, in a child
    process so that a crash fails this test instead of the run, as the reference decides it."""
    from child_work import decide_generated

    from policy_engine._pipeline.load import parse_policy
    from policy_engine.isolation import Isolated

    rules = [
        {
            "id": "r0",
            "when": [{"not": {"field": "product.title", "equals": {"field": "request.platform"}}}],
            "derive": "a",
        },
        {"id": "r1", "when": [{"not": {"derived": "a"}}], "outcome": "deny", "message": {"en": "x", "zh": "x"}},
    ]
    policy, problems = parse_policy(_edge_policy(rules))
    assert policy is not None and not problems
    reqs = [
        {"platform": "aliexpress", "as_of": "2024-03-01", "seller": {}, "product": {"category": "shoes", **title}}
        for title in ({}, {"title": "aliexpress"}, {"title": "Aliexpress"})
    ]
    with Isolated(retries=0) as isolated:
        batch, singles = isolated.call(decide_generated, [policy], reqs, True, True)
    for raw, decision, single in zip(reqs, batch, singles, strict=True):
        expected = evaluate([policy], normalize_request(raw))
        assert decision.error is None and single.error is None, (decision.error, single.error)
        assert (
            (decision.outcome, decision.rules) == (single.outcome, single.rules) == (expected.outcome, expected.rules)
        )
    assert [d.outcome for d in batch] == ["allow", "deny", "allow"]


def test_no_condition_of_a_where_is_dropped_when_its_alternatives_multiply() -> None:
    """A `where` of comparisons `under` another field (one alternative per depth of the category) multiplies
    into hundreds of alternatives. The normal form stopped multiplying past 256 and the conditions left
    were never added, while pruning brought the count back under the limit: the rules compiled without
    `item equals product.category`, the positive `some` fired too often (deny) and the negated one too
    rarely (the reference: review). Now the alternatives are pruned as they multiply, repeated conditions of
    a `where` count once, and the decision is the reference's."""
    from policy_engine._pipeline.load import parse_policy

    under = {"field": "product.category", "under": {"field": "item"}}
    same = {"field": "item", "equals": {"field": "product.category"}}
    rules = [
        {
            "id": "a",
            "when": [{"some": "seller.categories", "where": [under, {"all": [under, under]}, same]}],
            "outcome": "deny",
            "message": {"en": "x", "zh": "x"},
        },
        {
            "id": "b",
            "when": [{"not": {"some": "seller.commitments", "where": [under, under, under, same]}}],
            "outcome": "review",
            "message": {"en": "x", "zh": "x"},
        },
    ]
    policy, problems = parse_policy(_edge_policy(rules))
    assert policy is not None and not problems
    engine = Engine([policy], cache=False)
    try:
        for categories, commitments, category in [
            (["shoes"], ["shoes"], "shoes/sneakers"),
            (["shoes/sneakers"], ["shoes/sneakers"], "shoes/sneakers"),
            (["shoes"], ["bags"], "shoes"),
        ]:
            raw = {
                "platform": "aliexpress",
                "as_of": "2024-03-01",
                "seller": {"categories": categories, "commitments": commitments},
                "product": {"category": category},
            }
            expected = evaluate([policy], normalize_request(raw))
            for decision in (engine.decide(raw), engine.decide_many([raw], proofs=False)[0]):
                assert decision.error is None, decision.error
                assert (decision.outcome, decision.rules) == (expected.outcome, expected.rules), raw
    finally:
        engine.close()


def test_a_rule_whose_alternatives_outgrow_the_network_is_refused_not_cut_short() -> None:
    from policy_engine import CompileError
    from policy_engine._pipeline.compile import compile_policies
    from policy_engine._pipeline.load import parse_policy

    def eight(field: str) -> dict[str, Any]:  # eight alternatives that no pruning merges
        return {"any": [{"field": field, "equals": f"v{k}"} for k in range(8)]}

    where = [eight("item.kind"), eight("item.status"), eight("item.category"), eight("item.brand")]
    rules = [{"id": "r", "when": [{"some": "seller.grants", "where": where}], "derive": "d"}]
    policy, problems = parse_policy(_edge_policy(rules))
    assert policy is not None and not problems
    with pytest.raises(CompileError) as info:
        compile_policies("aliexpress", [policy])
    assert [(p.pointer, p.code) for p in info.value.problems] == [("/rules/0/when", "PE036")]
    assert "expand to more than 256 alternatives" in info.value.problems[0].message


def test_several_some_in_one_rule_are_each_derived_once_not_joined_element_by_element() -> None:
    """Three `some` over a seller's trademarks in one rule: the network joined every element satisfying one
    with every element satisfying the next (n³ partial matches: minutes for 200 trademarks, within the
    schema's 1,000). Each `some` of such a rule is now an internal derived conclusion, one fact however
    many elements satisfy it; the decisions, and the elements their proofs show (the first in list order),
    are the reference's."""
    from policy_engine._pipeline.compile import compile_policies
    from policy_engine._pipeline.load import parse_policy
    from policy_engine.testing import check_proofs

    marks = "seller.trademarks"
    rules = [
        {
            "id": "mark",
            "when": [
                {"some": marks, "where": [{"field": "item.mark", "equals": {"field": "product.brand"}}]},
                {"some": marks, "where": [{"field": "item.status", "equals": "registered"}]},
                {"some": marks, "where": [{"field": "item.office", "equals": "CNIPA"}]},
            ],
            "outcome": "deny",
            "message": {"en": "{product.brand}", "zh": "{product.brand}"},
        }
    ]
    policy, problems = parse_policy(_edge_policy(rules))
    assert policy is not None and not problems
    compiled = compile_policies("aliexpress", [policy])
    body = json.dumps(compiled.ruleset["t.edges@1.0.0#mark/1"])
    assert body.count('"__some-') == 3 and '"t": "trademark"' not in body  # no element joins left

    def mark(i: int, **fields: str) -> dict[str, Any]:
        return {"mark": f"M{i}", "status": "pending", "office": "USPTO", **fields}

    sellers = [
        [mark(i) for i in range(300)] + [mark(300, mark="Acme", status="registered", office="CNIPA")],
        [mark(0, mark="Acme"), *[mark(i, status="registered") for i in range(1, 200)], mark(200, office="CNIPA")],
        [mark(0, mark="Acme"), mark(1, status="registered")],
        [],
    ]
    engine = Engine([policy], cache=False)
    try:
        for trademarks in sellers:
            raw = {
                "platform": "aliexpress",
                "as_of": "2024-03-01",
                "seller": {"trademarks": trademarks},
                "product": {"category": "shoes", "brand": "Acme"},
            }
            expected = evaluate([policy], normalize_request(raw))
            for decision in (engine.decide(raw), engine.decide_many([raw], proofs=False)[0]):
                assert decision.error is None, decision.error
                assert (decision.outcome, decision.rules) == (expected.outcome, expected.rules)
            assert check_proofs(engine.decide(raw), normalize_request(raw).body) == []
    finally:
        engine.close()

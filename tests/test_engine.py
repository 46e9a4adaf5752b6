"""The Engine API: versions by date, platforms, batches, fail-closed behaviour, thread safety."""

from __future__ import annotations

import datetime as dt
import json
import threading
import types
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine, EngineFault, RequestError, UnknownPlatformError
from policy_engine._language import schemas
from policy_engine._pipeline import request as request_module
from policy_engine._pipeline.runtime import _IDS, _fnv1a32

CYCLING = {
    "platform": "dhgate",
    "seller": {"entity_type": "individual", "account_status": "active"},
    "product": {"category": "cycling/road-bikes", "brand": "Velo"},
}


def test_dhgate_cycling_admission_applies_from_2016_07_15(engine: Engine) -> None:
    before = engine.decide({**CYCLING, "as_of": "2016-07-14"})
    on = engine.decide({**CYCLING, "as_of": "2016-07-15"})
    assert before.outcome == "allow"
    assert on.outcome == "deny"
    assert "dhgate.cycling-admission@1.0.0#not-enterprise" in on.rules
    assert "dhgate.cycling-admission@1.0.0" not in {f"{p.id}@{p.version}" for p in before.policies}


class _LateEvening(dt.datetime):
    """A clock that reads 2031-05-06 23:30 in UTC (east of UTC+1 it is already the 7th)."""

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
        return dt.datetime(2031, 5, 6, 23, 30, tzinfo=dt.timezone.utc).astimezone(tz)


def test_as_of_override_and_default_today(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    d = engine.decide(CYCLING, as_of=dt.date(2016, 7, 14))
    assert d.as_of == "2016-07-14"
    clock = types.SimpleNamespace(date=dt.date, datetime=_LateEvening, timezone=dt.timezone, timedelta=dt.timedelta)
    monkeypatch.setattr(request_module, "dt", clock)
    today = engine.decide(CYCLING)
    assert today.as_of == "2031-05-06"  # the date in UTC
    assert today.to_dict()["as_of"] == "2031-05-06" and today.outcome == "deny"


def test_python_dates_in_a_request_decide_like_their_iso_text(engine: Engine) -> None:
    example = Path(__file__).resolve().parent.parent / "examples" / "aliexpress-shoes-denied.json"
    text = json.loads(example.read_text(encoding="utf-8"))
    dated = json.loads(json.dumps(text))
    dated["as_of"] = dt.date(2024, 3, 1)
    dated["seller"]["trademarks"][0]["filed_on"] = dt.date(2023, 8, 20)
    expected = engine.decide(text).to_dict()
    assert engine.decide(dated).to_dict() == expected  # outcome, proofs and receipt digest alike
    assert [d.to_dict() for d in engine.decide_many([dated, text])] == [expected, expected]
    with_time = {**dated, "as_of": dt.datetime(2024, 3, 1, 18, 30)}
    assert engine.decide(with_time).to_dict() == expected
    for where, value in (("as_of", dt.time(12)), ("marketplace", dt.date(2024, 3, 1))):
        with pytest.raises(RequestError) as info:
            engine.decide({**text, where: value})
        assert info.value.problems[0].pointer == f"/{where}"


def test_unknown_platform_is_an_error_never_an_allow(engine: Engine) -> None:
    with pytest.raises(UnknownPlatformError) as info:
        engine.decide({**CYCLING, "platform": "nowhere"})
    assert "nowhere" in str(info.value) and "aliexpress" in str(info.value)


def test_platform_without_policy_in_force_is_an_error(engine: Engine) -> None:
    with pytest.raises(UnknownPlatformError):
        engine.decide({**CYCLING, "platform": "aliexpress", "as_of": "2010-01-01"})


def test_bad_request_is_reported_with_pointer(engine: Engine) -> None:
    with pytest.raises(RequestError) as info:
        engine.decide({**CYCLING, "seller": {"entity_type": "corporation"}})
    (problem,) = info.value.problems
    assert problem.pointer == "/seller/entity_type" and "enterprise" in problem.message


def test_a_bad_request_of_a_batch_is_named_by_its_index(engine: Engine) -> None:
    import pickle

    good = {**CYCLING, "as_of": "2020-01-01"}
    for bad, error, pointer in (
        ({**CYCLING, "seller": {"entity_type": "corporation"}}, RequestError, "/seller/entity_type"),
        ({**CYCLING, "platform": "nowhere"}, UnknownPlatformError, "/platform"),
    ):
        with pytest.raises(error) as info:
            engine.decide_many([good, good, bad, good])
        assert info.value.index == 2 and type(info.value) is error
        assert [p.pointer for p in info.value.problems] == [pointer]  # within the request
        assert str(info.value).startswith("1 problem in the request at index 2 of the batch\n")
        again = pickle.loads(pickle.dumps(info.value))  # as it crosses from a worker process
        assert (type(again), again.index, again.problems) == (error, 2, info.value.problems)
    with pytest.raises(RequestError) as info:
        engine.decide({**CYCLING, "seller": {"entity_type": "corporation"}})
    assert info.value.index is None and str(info.value).startswith("1 problem in the request\n")


def test_decision_round_trips_through_the_schema(engine: Engine) -> None:
    d = engine.decide({**CYCLING, "as_of": "2020-01-01"})
    assert schemas.validate("decision", d.to_dict()) == []
    assert d.to_dict()["policies"][0]["digest"].startswith("sha256:")
    assert d.remedies and all(r.message["zh"] for r in d.remedies)


def test_messages_fill_placeholders_in_both_languages(engine: Engine) -> None:
    req = {
        "platform": "aliexpress",
        "as_of": "2024-03-01",
        "seller": {"entity_type": "enterprise"},
        "product": {"category": "shoes/sneakers", "brand": "Acme"},
    }
    (reason,) = engine.decide(req).reasons
    assert "Acme" in reason.message["en"] and "Acme" in reason.message["zh"]
    assert "{" not in reason.message["en"] + reason.message["zh"]


def _requests() -> list[dict[str, Any]]:
    out = []
    for i in range(60):
        out.append(
            {
                "platform": ("aliexpress", "dhgate")[i % 2],
                "as_of": ("2016-07-14", "2016-07-15", "2024-03-01")[i % 3],
                "seller": {
                    "entity_type": ("enterprise", "individual")[i % 2 == 0 and i % 4 == 0],
                    "trademarks": [{"mark": "Acme", "status": ("registered", "pending")[i % 5 == 0]}],
                    "commitments": ["cycling"] if i % 7 else [],
                },
                "product": {"category": ("shoes/sneakers", "cycling", "toys")[i % 3], "brand": "Acme"},
            }
        )
    return [r for r in out if not (r["platform"] == "aliexpress" and r["as_of"] < "2017-01-01")]


def test_decide_many_keeps_order_and_equals_decide(engine: Engine) -> None:
    reqs = _requests()
    many = engine.decide_many(reqs, batch_size=7)
    assert [d.to_dict() for d in many] == [engine.decide(r).to_dict() for r in reqs]


def test_decide_everywhere_answers_per_platform(engine: Engine) -> None:
    req = {
        "as_of": "2024-03-01",
        "platform": "ignored",
        "seller": {"account_status": "suspended"},
        "product": {"category": "toys"},
    }
    out = engine.decide_everywhere(req)
    assert set(out) == {
        p for p in engine.platforms if any(x.platform == p for x in engine.in_force(p, dt.date(2024, 3, 1)))
    }
    assert all(d.outcome == "deny" for d in out.values())
    assert all("common.account-status@1.0.0#account-closed-or-suspended" in d.rules for d in out.values())


def test_concurrent_calls_from_threads_agree_with_sequential(engine: Engine) -> None:
    reqs = _requests()
    expected = [d.to_dict() for d in engine.decide_many(reqs)]
    results: dict[int, list[dict[str, Any]]] = {}
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            results[k] = [engine.decide(r).to_dict() for r in reqs]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert all(results[k] == expected for k in range(6))


def test_engine_fault_fails_closed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    req = {"platform": "aliexpress", "as_of": "2024-03-01", "seller": {}, "product": {"category": "toys"}}
    assert engine.decide(req).outcome == "allow"
    prepared = engine._prepared("aliexpress", dt.date(2024, 3, 1))

    def broken(*batches: Any) -> Any:
        raise EngineFault("simulated engine failure")

    monkeypatch.setattr(prepared.network, "run", broken)
    monkeypatch.setattr(prepared.network, "run_shared", broken)  # a seller's run of requests
    d = engine.decide(req)
    assert d.outcome == "deny" and d.error is not None and "simulated" in d.error
    assert schemas.validate("decision", d.to_dict()) == []
    many = engine.decide_many([req, req])
    assert all(x.outcome == "deny" and x.error for x in many)


def test_engine_error_codes_fail_closed(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    import policy_engine._pipeline.runtime as runtime

    req = {"platform": "aliexpress", "as_of": "2024-03-01", "seller": {}, "product": {"category": "toys"}}
    original = runtime.dre.assert_facts
    monkeypatch.setattr(runtime.dre, "assert_facts", lambda h, payload: (2, 0))
    d = engine.decide(req)
    monkeypatch.setattr(runtime.dre, "assert_facts", original)
    assert d.outcome == "deny" and d.error and "already observed" in d.error
    assert engine.decide(req).outcome == "allow"  # the network still works afterwards


def test_fact_ids_have_distinct_hashes() -> None:
    ids = _IDS.take(5000)[:5000]
    raw = {_fnv1a32(i.encode()) for i in ids}
    quoted = {_fnv1a32(f'"{i}"'.encode()) for i in ids}
    assert len(raw) == len(quoted) == 5000 and not raw & quoted


def test_decide_each_answers_every_good_request_and_marks_bad_ones_in_place(engine: Engine) -> None:
    from policy_engine import ItemError

    good = json.loads((Path(__file__).parent.parent / "examples" / "aliexpress-shoes-denied.json").read_text())
    results = engine.decide_each([good, {"platform": "aliexpress"}, {**good, "platform": "nowhere"}, good])
    assert [type(r).__name__ for r in results] == ["Decision", "ItemError", "ItemError", "Decision"]
    bad_schema, bad_platform = results[1], results[2]
    assert isinstance(bad_schema, ItemError) and bad_schema.index == 1 and bad_schema.kind == "request"
    assert isinstance(bad_platform, ItemError) and bad_platform.kind == "platform"
    assert bad_platform.to_dict()["problems"][0]["pointer"] == "/platform"
    assert results[0] == results[3] == engine.decide(good)


def test_every_product_of_a_catalog_on_an_ungoverned_platform_is_an_item_error(engine: Engine) -> None:
    """A run of one seller's products on a platform no policy governs: each product is an ItemError in its
    place (not only the run's first), and the requests around it are decided."""
    from policy_engine import ItemError

    good = json.loads((Path(__file__).parent.parent / "examples" / "aliexpress-shoes-denied.json").read_text())
    lost = {**good, "platform": "nowhere"}
    other = {**lost, "product": {**good["product"], "id": "second"}}
    results = engine.decide_each([good, lost, other, lost, good])
    assert [type(r).__name__ for r in results] == ["Decision", "ItemError", "ItemError", "ItemError", "Decision"]
    assert all(
        isinstance(r, ItemError) and r.kind == "platform" and r.index == i
        for i, r in enumerate(results)
        if i in (1, 2, 3)
    )
    catalog = engine.decide_catalog(good["seller"], [good["product"]] * 3, platform="nowhere", as_of=good["as_of"])
    assert [(type(r).__name__, getattr(r, "index", None)) for r in catalog] == [("ItemError", n) for n in range(3)]


@pytest.mark.parametrize("size", [0, -1, True, 2.5, None, "256"])
def test_a_batch_size_that_is_not_a_positive_whole_number_is_refused_before_anything_is_read(
    engine: Engine, size: Any
) -> None:
    read: list[int] = []

    def requests() -> Any:
        read.append(1)
        yield {}

    for call in (engine.decide_many, engine.decide_each):
        with pytest.raises(ValueError, match="batch_size must be a whole number of requests, at least 1"):
            call(requests(), batch_size=size)
    assert read == []
    assert len(engine.decide_each([{}, {}], batch_size=1)) == 2


def test_in_force_takes_a_date_or_its_iso_text(engine: Engine) -> None:
    import datetime as dt

    assert engine.in_force("dhgate", "2016-07-14") == engine.in_force("dhgate", dt.date(2016, 7, 14))
    assert engine.in_force("dhgate", dt.datetime(2016, 7, 15, 23, 59)) == engine.in_force("dhgate", "2016-07-15")
    assert {p.id for p in engine.in_force("dhgate", "2016-07-15")} - {
        p.id for p in engine.in_force("dhgate", "2016-07-14")
    } == {"dhgate.cycling-admission"}
    with pytest.raises(RequestError, match="not a date"):
        engine.in_force("dhgate", "2016-13-01")


def test_the_platform_default_holds_in_every_version_whichever_sets_it(tmp_path: Any) -> None:
    """A platform's default outcome is what any of its documents sets, in any version (they must agree): a
    later version that leaves it out does not turn the platform's `deny` into `allow`."""
    import json

    def version(number: str, start: str, **more: Any) -> dict[str, Any]:
        return {
            "id": "zz.listing",
            "version": number,
            "platform": "zz",
            "effective_from": start,
            "title": "t",
            "sources": [{"document": "t", "provenance": "illustrative"}],
            "rules": [
                {
                    "id": "closed",
                    "provenance": "illustrative",
                    "source_refs": [0],
                    "when": [{"field": "seller.account_status", "equals": "closed"}],
                    "outcome": "deny",
                    "message": {"en": "closed", "zh": "关闭"},
                    "remedies": [{"code": "reopen", "en": "Reopen.", "zh": "重开。"}],
                }
            ],
            **more,
        }

    (tmp_path / "v1.json").write_text(
        json.dumps(version("1.0.0", "2000-01-01", effective_until="2022-01-01", default_outcome="deny"))
    )
    (tmp_path / "v2.json").write_text(json.dumps(version("2.0.0", "2022-01-01")))
    engine = Engine.from_directory(tmp_path, cache=False, verify=1.0)
    try:
        for as_of in ("2021-06-01", "2023-06-01"):
            decision = engine.decide({"platform": "zz", "as_of": as_of, "seller": {}, "product": {"category": "x"}})
            assert (decision.outcome, decision.default_applied, decision.error) == ("deny", True, None), as_of
        assert engine.disagreements == 0  # the reference evaluator reads the same default
    finally:
        engine.close()


def test_negation_is_stratified_among_the_versions_in_force_together(tmp_path: Any) -> None:
    """Version 1 derives `a` from not `b`, version 2 (from the day version 1 ends) `b` from not `a`: never
    in force together, so no cycle through negation (validate refused it); each period decides by its own
    version, as the reference does. The same two rules in force together are still refused."""
    import json

    from policy_engine import LoadError

    def policy(number: str, start: str, until: str | None, negated: str, plain: str) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "id": "vd.a",
            "version": number,
            "platform": "vd",
            "effective_from": start,
            "title": "t",
            "sources": [{"document": "t", "provenance": "illustrative"}],
            "rules": [
                {"id": f"r{negated}", "when": [{"not": {"derived": plain}}], "derive": negated},
                {"id": f"r{plain}", "when": [{"field": "product.brand", "equals": "B"}], "derive": plain},
                {"id": "deny-a", "when": [{"derived": "a"}], "outcome": "deny", "message": {"en": "a", "zh": "甲"}},
            ],
        }
        if until:
            doc["effective_until"] = until
        return doc

    (tmp_path / "v1.json").write_text(json.dumps(policy("1.0.0", "2024-01-01", "2025-01-01", "a", "b")))
    (tmp_path / "v2.json").write_text(json.dumps(policy("2.0.0", "2025-01-01", None, "b", "a")))
    engine = Engine.from_directory(tmp_path, cache=False, verify=1.0)
    try:
        for as_of, brand, outcome in (
            ("2024-06-01", "B", "allow"),  # b derived, so not a
            ("2024-06-01", "C", "deny"),  # no b: a
            ("2025-06-01", "B", "deny"),  # a derived
            ("2025-06-01", "C", "allow"),  # neither
        ):
            request = {"platform": "vd", "as_of": as_of, "seller": {}, "product": {"category": "x", "brand": brand}}
            assert engine.decide(request).outcome == outcome, (as_of, brand)
        assert engine.disagreements == 0
    finally:
        engine.close()
    (tmp_path / "v2.json").write_text(json.dumps(policy("2.0.0", "2024-06-01", None, "b", "a")))  # overlapping
    (tmp_path / "v1.json").write_text(json.dumps({**policy("1.0.0", "2024-01-01", None, "a", "b"), "id": "vd.b"}))
    with pytest.raises(LoadError, match="cycle through negation"):
        Engine.from_directory(tmp_path, cache=False)


def test_an_engine_built_from_policies_joined_by_hand_checks_them_as_one_set(tmp_path: Any) -> None:
    """Two folders loaded apart pass each its own checks; joined in one Engine they are checked as one set
    when it is built: a cycle through negation across the two, or a folder loaded twice, is a LoadError
    naming the file and JSON pointer then, not a CompileError when a request first needs the network."""
    from policy_engine import LoadError, load_documents

    def policy(pid: str, negated: str, plain: str) -> dict[str, Any]:
        return {
            "id": pid,
            "version": "1.0.0",
            "platform": "vd",
            "effective_from": "2024-01-01",
            "title": "t",
            "sources": [{"document": "t", "provenance": "illustrative"}],
            "rules": [
                {"id": f"r{negated}", "when": [{"not": {"derived": plain}}], "derive": negated},
                {"id": f"r{plain}", "when": [{"field": "product.brand", "equals": pid}], "derive": plain},
                {
                    "id": f"deny-{negated}",
                    "when": [{"derived": negated}],
                    "outcome": "deny",
                    "message": {"en": negated, "zh": "甲"},
                },
            ],
        }

    for folder, (pid, negated, plain) in {"one": ("vd.a", "a", "b"), "two": ("vd.b", "b", "a")}.items():
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "p.json").write_text(json.dumps(policy(pid, negated, plain)))
    one, two = load_documents([tmp_path / "one"]), load_documents([tmp_path / "two"])
    Engine(one).close()  # each folder alone is a valid set
    Engine(two).close()
    with pytest.raises(LoadError, match="cycle through negation") as joined:
        Engine([*one, *two])
    assert any(p.file.endswith("p.json") and p.pointer.startswith("/rules/") for p in joined.value.problems)
    with pytest.raises(LoadError, match="also defined in") as twice:
        Engine(one + one)
    assert {p.pointer for p in twice.value.problems} >= {"/version"}
    one.append(two[0])  # a loader's list changed after it was checked: checked again
    with pytest.raises(LoadError, match="cycle through negation"):
        Engine(one)


def test_an_engine_is_built_from_policy_objects_and_a_loaders_list_survives_copies() -> None:
    """A path or anything but Policy objects is a TypeError naming what to call instead; the loader's list,
    copied or pickled with any protocol (sent to another process), is still the checked set, and a list
    changed since is checked again as a plain list."""
    import copy
    import pickle

    from policy_engine import LoadError, load_documents
    from policy_engine._pipeline import CheckedPolicies

    with pytest.raises(TypeError, match=r"Engine.from_directory\('policies'\)"):
        Engine("policies")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="expected the Policy objects"):
        Engine(["policies"])  # type: ignore[list-item]
    for nothing in (None, 42):
        with pytest.raises(TypeError, match="expected a list of the Policy objects"):
            Engine(nothing)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"from_directory\(\*\['policies'\]\)"):
        Engine.from_directory(["policies"])  # type: ignore[arg-type]
    loaded = load_documents([Path(__file__).parents[1] / "policies" / "dhgate"])
    copies = [copy.copy(loaded), copy.deepcopy(loaded)]
    copies += [pickle.loads(pickle.dumps(loaded, protocol=n)) for n in range(pickle.HIGHEST_PROTOCOL + 1)]
    for same in copies:
        assert type(same) is CheckedPolicies and same.unchanged() and [p.key for p in same] == [p.key for p in loaded]
        Engine(same).close()
    loaded.append(loaded[0])
    assert type(copy.copy(loaded)) is list and type(pickle.loads(pickle.dumps(loaded, protocol=0))) is list
    with pytest.raises(LoadError, match="also defined in"):
        Engine(copy.copy(loaded))


@pytest.mark.parametrize(
    "text", ["20240301", "2024-W09-5", "2024-061", "2024-03-01T00:00", " 2024-03-01", "２０２４-03-01"]
)
def test_a_decision_date_given_as_text_reads_as_the_requests_own(engine: Engine, text: str) -> None:
    """`as_of=` takes the text the request's `as_of` takes (YYYY-MM-DD), not every form Python's
    `date.fromisoformat` reads (basic, week and ordinal dates)."""
    request = {**CYCLING, "as_of": "2016-07-15"}
    with pytest.raises(RequestError, match=r"expected a datetime\.date or YYYY-MM-DD"):
        engine.decide(request, as_of=text)
    with pytest.raises(RequestError):
        engine.decide({**request, "as_of": text})
    assert engine.decide(request, as_of="2016-07-14").as_of == "2016-07-14"


def test_an_object_with_a_key_that_is_not_text_is_refused_however_it_is_submitted(engine: Engine) -> None:
    """JSON objects have text keys: `{1: 2}` among a product's attributes or a seller's metrics is not a
    JSON value (its decision could not be written as one either), alone or in a catalog run."""
    base = {"platform": "amazon", "as_of": "2024-03-01", "seller": {}, "product": {"category": "electronics"}}
    bad = [
        {**base, "product": {"category": "electronics", "attributes": {1: 2, "voltage": 3}}},
        {**base, "seller": {"metrics": {7: 0.5}}},
    ]
    for request in bad:
        with pytest.raises(RequestError, match="is not text; expected text keys"):
            engine.decide(request)
        results = engine.decide_each([base, base, request, base])
        assert [type(r).__name__ for r in results] == ["Decision", "Decision", "ItemError", "Decision"]


def test_a_request_joins_a_catalog_run_only_as_the_same_json_data(engine: Engine) -> None:
    """A request that is not plain JSON data is refused in a catalog run as when decided alone, and an
    object whose `==` says equal when it is not never makes a request the run's: a closed store whose
    status claims to equal "active" was decided as the run's active seller."""
    import collections
    from unittest import mock

    from policy_engine.parallel import decide_each_in_workers

    class Claims(str):
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    ok = {"platform": "aliexpress", "as_of": "2024-03-01", "seller": {"account_status": "active"}}
    ok["product"] = {"category": "bags"}
    odd = [
        {**ok, "seller": collections.OrderedDict(account_status="active")},
        {**ok, "seller": {"account_status": Claims("closed")}},
        {**ok, "seller": {"account_status": mock.ANY}},
    ]
    for request in odd:
        with pytest.raises(RequestError):
            engine.decide(request)
        assert request["seller"] == ok["seller"]  # what `==` says
        for results in (engine.decide_each([ok, ok, request, ok]), engine.decide_each([ok, ok, request], batch_size=1)):
            assert [type(r).__name__ for r in results][:3] == ["Decision", "Decision", "ItemError"]
        with pytest.raises(RequestError):
            engine.decide_many([ok, ok, request])

    class Key(str):  # a key that claims to be every key
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = str.__hash__

    for key in (Key("seller"), Key("other")):
        keyed = {"platform": "aliexpress", "as_of": "2024-03-01", key: ok["seller"], "product": ok["product"]}
        results = engine.decide_each([ok, ok, keyed])
        assert [type(r).__name__ for r in results] == ["Decision", "Decision", "ItemError"], key
    results = decide_each_in_workers([ok, ok, odd[0], ok, odd[2]], workers=1)  # requests the workers own
    assert [type(r).__name__ for r in results] == ["Decision", "Decision", "ItemError", "Decision", "ItemError"]

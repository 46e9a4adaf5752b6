"""`_policy_engine_json.same`: the exact comparison of JSON data that joins a catalog's requests to a run.

It must say True exactly when two values are the same JSON data with the same Python types (1, 1.0 and
True apart, 0.0 and -0.0 apart, dicts with text keys, in any key order), and never run Python code of the
values compared: a subclass or a foreign object whose `__eq__` lies must not make a request the run's."""

from __future__ import annotations

import collections
import copy
import math
from typing import Any
from unittest import mock

from _policy_engine_json import same
from hypothesis import given
from hypothesis import strategies as st

_SCALARS = (str, int, float, bool, type(None))


def reference(a: Any, b: Any) -> bool:
    """The meaning, in Python: exact types, equal values, the same keys."""
    if type(a) is not type(b):
        return False
    if type(a) is float:
        return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
    if type(a) in _SCALARS:
        return bool(a == b)
    if type(a) is dict:
        return (
            len(a) == len(b)
            and all(type(k) is str for k in (*a, *b))
            and all(k in b and reference(v, b[k]) for k, v in a.items())
        )
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(reference(x, y) for x, y in zip(a, b, strict=True))
    return False


class _Liar(str):
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = str.__hash__


_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.integers(),
    st.floats(),
    st.sampled_from([0.0, -0.0, 1.0, 1, True, 0, False]),
    st.text(max_size=4),
    st.sampled_from(["é", "\U0001f600", "a\x00", "ſ"]),
)
_values = st.recursive(
    _leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=3), st.integers(0, 2)), inner, max_size=4),
    ),
    max_leaves=12,
)


def _variant(value: Any, draw: Any) -> Any:
    """A copy of a value, some of its parts changed in type or content, or its dicts' keys reordered."""
    choice = draw(st.integers(0, 9))
    if type(value) is dict:
        items = [(k, _variant(v, draw)) for k, v in value.items()]
        if choice == 0:
            items.reverse()
        if choice == 1 and items:
            items.pop()
        return collections.OrderedDict(items) if choice == 2 else dict(items)
    if type(value) in (list, tuple):
        out = [_variant(v, draw) for v in value]
        return type(value)(out) if choice != 3 else (tuple(out) if type(value) is list else list(out))
    if choice == 4 and type(value) is str:
        return _Liar(value)
    if choice == 5 and type(value) in (int, bool) and not isinstance(value, bool):
        return float(value)
    if choice == 6 and type(value) is float and value == 0.0:
        return -value
    if choice == 7:
        return mock.ANY
    return copy.copy(value)


@given(st.data(), _values)
def test_same_is_the_exact_comparison_of_json_data(data: st.DataObject, value: Any) -> None:
    other = _variant(value, data.draw)
    assert same(value, other) is reference(value, other)
    assert same(other, value) is reference(other, value)
    assert same(value, copy.deepcopy(value)) is reference(value, value)


def test_no_lie_about_equality_is_believed() -> None:
    seller = {"account_status": "active", "trademarks": [{"mark": "M", "status": "registered"}]}
    assert same(seller, copy.deepcopy(seller))
    for liar in (
        {"account_status": _Liar("closed"), "trademarks": seller["trademarks"]},
        {"account_status": mock.ANY, "trademarks": seller["trademarks"]},
        collections.OrderedDict(seller),
        {**seller, "trademarks": [collections.OrderedDict(mark="M", status="registered")]},
    ):
        assert liar == seller  # what `==` believes
        assert not same(liar, seller) and not same(seller, liar)
    assert not same({**seller, "trademarks": tuple(seller["trademarks"])}, seller)
    assert not same({1: "x"}, {1: "x"})  # JSON keys are texts
    assert not same(1, True) and not same(1, 1.0) and not same(0.0, -0.0) and same(-0.0, -0.0)
    nan = float("nan")  # one NaN object is not the same number as itself, alone or inside a container
    assert not same(nan, nan) and not same([nan], [nan]) and not same({"a": nan}, {"a": nan})


def test_nesting_too_deep_for_the_interpreter_is_an_error_not_an_answer() -> None:
    deep: Any = []
    for _ in range(100_000):
        deep = [deep]
    try:
        same(deep, copy.copy(deep))
    except RecursionError:
        pass
    else:  # a shallow copy shares the inner list: the walk must still stop before the C stack does
        raise AssertionError("expected RecursionError")


def test_the_comparison_is_the_one_this_distribution_built_for_this_python() -> None:
    import importlib.metadata
    import sysconfig
    from pathlib import Path

    import _policy_engine_json

    module = Path(_policy_engine_json.__file__).resolve()
    assert module.name == "_policy_engine_json" + sysconfig.get_config_var("EXT_SUFFIX")
    owned = {Path(str(f.locate())).resolve() for f in importlib.metadata.files("policy-engine") or ()}
    assert module in owned

"""The rule engine the runtime drives: durable_rules' C core as this distribution builds it (hatch_build.py)."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from policy_engine._pipeline import runtime


def test_runtime_drives_the_engine_built_by_this_distribution_for_this_python() -> None:
    module = Path(runtime.dre.__file__).resolve()
    assert runtime.dre.__spec__.name == "_policy_engine_dre"
    # Compiled for the running interpreter, not some other build that happens to load.
    assert module.name == "_policy_engine_dre" + sysconfig.get_config_var("EXT_SUFFIX")
    # Installed by policy-engine itself (standard or editable install), not by the durable-rules distribution.
    owned = {Path(str(f.locate())).resolve() for f in importlib.metadata.files("policy-engine") or ()}
    assert module in owned


def test_engine_calls_back_into_python() -> None:
    """The engine's callbacks into Python are the calls that used the API CPython 3.13 removed."""
    dre = runtime.dre
    handle = dre.create_ruleset("engine-module-test", json.dumps({"r": {"all": [{"m": {"t": "a"}}]}}))
    stored: list[tuple[Any, ...]] = []

    def store(*args: Any) -> int:
        stored.append(args)
        return 0

    dre.set_store_message_callback(handle, store)
    code, _state = dre.assert_fact(handle, json.dumps({"sid": "s1", "id": "f1", "t": "a"}))
    assert code == 0
    facts = [(sid, mid, json.loads(content)) for _ruleset, sid, mid, _kind, content in stored]
    assert ("s1", "f1", {"sid": "s1", "id": "f1", "t": "a"}) in facts


_JOIN = {"r": {"all": [{"a": {"t": "a"}}, {"b": {"$and": [{"t": "b"}, {"k": {"a": "k"}}]}}]}}


def _retract_while_dispatching(dre: Any, rounds: int, extra: int) -> list[int]:
    """Each round: facts `a` and `b` (and `extra` more `b`s) join; the first match's action is started, both
    facts of that match are retracted before it completes, then the actions are completed. The number of
    actions completed per round."""
    handle = dre.create_ruleset(f"dispatching-{rounds}-{extra}", json.dumps(_JOIN))
    completed = []
    try:
        for n in range(rounds):
            pair = [{"sid": "1", "id": f"a{n}", "t": "a", "k": n}, {"sid": "1", "id": f"b{n}", "t": "b", "k": n}]
            more = [{"sid": "1", "id": f"b{n}x{j}", "t": "b", "k": n} for j in range(extra)]
            _code, state = dre.assert_facts(handle, json.dumps(pair + more))
            count = 1 if dre.start_action_for_state(handle, state) else 0
            dre.retract_facts(handle, json.dumps(pair))  # the started action's frame is dispatching
            while dre.complete_and_start_action(handle, state):
                count += 1
            if more:
                dre.retract_facts(handle, json.dumps(more))
            assert dre.get_facts(handle, "1") == "[]"
            completed.append(count)
    finally:
        dre.delete_ruleset(handle)
    return completed


def test_facts_retracted_while_their_action_is_dispatching_leave_the_engine_clean() -> None:
    """A retraction that reaches an action while it is dispatching removes the fact from the action's frame
    (hatch_build.py, BOUNDED_REMOVAL): the action still completes once, matches of the retracted facts that
    had not started are dropped, and the session is empty after each round."""
    assert _retract_while_dispatching(runtime.dre, rounds=5, extra=0) == [1] * 5
    assert _retract_while_dispatching(runtime.dre, rounds=5, extra=3) == [1] * 5


@pytest.mark.skipif(
    not (os.environ.get("POLICY_ENGINE_VALGRIND") and shutil.which("valgrind")),
    reason="set POLICY_ENGINE_VALGRIND=1 on a machine with valgrind (about 10 s)",
)
def test_the_engine_reads_no_uninitialised_memory_when_retracting_during_dispatch(tmp_path: Path) -> None:
    """Under valgrind, the rounds above report no error inside the engine (the removal of a message from a
    dispatching frame used to read past the frame's slots once one of its messages had been removed)."""
    script = tmp_path / "rounds.py"
    script.write_text(
        "import sys\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "from policy_engine._pipeline import runtime\n"
        "from test_engine_module import _retract_while_dispatching\n"
        "_retract_while_dispatching(runtime.dre, rounds=5, extra=3)\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        ["valgrind", "--error-limit=no", sys.executable, str(script)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONMALLOC": "malloc"},
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    # valgrind's reports are separated by lines holding only its prefix (==PID==)
    reports = re.split(r"^==\d+== *$", run.stderr, flags=re.M)
    errors = [r for r in reports if re.search(r"uninitialised|Invalid (read|write)", r)]
    assert not [r for r in errors if re.search(r"\((state|state_bounded|events|rete|json|regex|rules)\.c:\d+\)", r)], (
        errors[:3]
    )


_COMMA_LOCALE_CHILD = r"""
import json, locale, sys
from policy_engine import Engine
from policy_engine._language.reference import evaluate
from policy_engine._pipeline.request import normalize_request

engine_before = Engine.from_directory(sys.argv[1])  # built in the "C" locale
locale.setlocale(locale.LC_ALL, "")
assert locale.localeconv()["decimal_point"] == ",", locale.localeconv()
engine_after = Engine.from_directory(sys.argv[1], cache=False)  # its network built under the comma locale
out = []
for rate in (0.31, 0.051, 0.05, 0.049, 1e-05, 0.5):
    req = json.loads(sys.argv[2])
    req["seller"]["metrics"]["refund_rate"] = rate
    n = normalize_request(req)
    ref = evaluate(engine_before.in_force(n.platform, n.as_of), n)
    for engine in (engine_before, engine_after):
        d = engine.decide(req)
        out.append([rate, d.outcome, list(d.rules), ref.outcome, list(ref.rules)])
print(json.dumps(out))
"""


def test_decimal_numbers_read_the_same_under_a_comma_decimal_locale(tmp_path: Path) -> None:
    """A host that sets its locale (`setlocale(LC_ALL, "")`) under de_DE has C's `atof` read 0.31 as 0: the
    engine is built to parse numbers in the "C" locale (hatch_build.py, NUMBERS), so a refund rate over
    DHgate's limit is denied, by a network built before and one built after the locale changed."""
    localedef = shutil.which("localedef")
    if localedef is None:
        pytest.skip("no localedef to build a comma-decimal locale with")
    built = subprocess.run(
        [localedef, "-i", "de_DE", "-f", "UTF-8", str(tmp_path / "de_DE.UTF-8")], capture_output=True, text=True
    )
    if not (tmp_path / "de_DE.UTF-8").exists():
        pytest.skip(f"localedef could not build de_DE.UTF-8: {built.stderr.strip()[:200]}")
    root = Path(__file__).resolve().parent.parent
    request = {
        "platform": "dhgate",
        "as_of": "2024-03-01",
        "seller": {
            "entity_type": "enterprise",
            "commitments": ["cycling"],
            "grants": [{"kind": "category_admission", "category": "cycling", "status": "approved"}],
            "metrics": {"refund_rate": 0.31, "dispute_rate": 0.02},
        },
        "product": {"category": "cycling/bikes", "brand": None},
    }
    env = {**os.environ, "LOCPATH": str(tmp_path), "LANG": "de_DE.UTF-8", "LC_ALL": "de_DE.UTF-8"}
    env["POLICY_ENGINE_CACHE"] = str(tmp_path / "cache")
    child = subprocess.run(
        [sys.executable, "-c", _COMMA_LOCALE_CHILD, str(root / "policies"), json.dumps(request)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    rows = json.loads(child.stdout)
    assert [(r[1], r[2]) for r in rows] == [(r[3], r[4]) for r in rows]
    assert {r[0] for r in rows if r[1] == "deny"} >= {0.31, 0.5}

"""The rule engine the runtime drives: durable_rules' C core as this distribution builds it (hatch_build.py)."""

from __future__ import annotations

import importlib.metadata
import json
import sysconfig
from pathlib import Path
from typing import Any

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

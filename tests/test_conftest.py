"""The suite's own machinery (conftest.py): a network compiled once serves every copy of its documents."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from conftest import CompileMemo
from policy_engine import Engine
from policy_engine._pipeline import cache as cache_module

ROOT = Path(__file__).resolve().parent.parent
DENIED = {
    "platform": "aliexpress",
    "as_of": "2024-03-01",
    "seller": {"entity_type": "enterprise"},
    "product": {"category": "shoes/sneakers", "brand": "Acme"},
}


def test_compiling_is_memoised_for_the_run() -> None:
    assert isinstance(cache_module.compile_policies, CompileMemo)


def test_a_copy_of_the_policies_decides_with_its_own_files(engine: Engine, tmp_path: Path) -> None:
    memo = cache_module.compile_policies
    assert isinstance(memo, CompileMemo)
    copy = tmp_path / "policies"
    shutil.copytree(ROOT / "policies" / "aliexpress", copy / "aliexpress")
    shutil.copytree(ROOT / "policies" / "common", copy / "common")
    misses = memo.misses
    copied = Engine.from_directory(copy)
    try:
        assert memo.misses == misses  # every network came from the memo
        original, again = engine.decide(DENIED), copied.decide(DENIED)
        assert (again.outcome, again.rules) == (original.outcome, original.rules) and again.reasons
        # decisions cite files relative to the policy folder: the copy's read the same as the original's
        assert again.to_dict() == original.to_dict()
        day = dt.date.fromisoformat(DENIED["as_of"])
        network = copied.compiled("aliexpress", day)
        assert {Path(p.file).parent.parent for p in network.policies} == {copy}  # its own documents
        assert all(Path(a.policy.file).is_relative_to(copy) for a in network.actions.values())
    finally:
        copied.close()


def test_a_changed_document_is_compiled_again(tmp_path: Path) -> None:
    memo = cache_module.compile_policies
    assert isinstance(memo, CompileMemo)
    copy = tmp_path / "policies"
    shutil.copytree(ROOT / "policies" / "wish", copy / "wish")
    shutil.copytree(ROOT / "policies" / "common", copy / "common")
    baseline = copy / "wish" / "baseline.json"
    baseline.write_text(baseline.read_text(encoding="utf-8").replace("ready", "ready now"), encoding="utf-8")
    misses = memo.misses
    Engine.from_directory(copy).close()
    assert memo.misses > misses

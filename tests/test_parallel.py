"""Deciding in worker processes gives the same decisions, in the same order."""

from __future__ import annotations

from pathlib import Path

from policy_engine import Engine
from policy_engine.parallel import decide_in_workers

ROOT = Path(__file__).resolve().parent.parent


def test_workers_agree_with_one_process(engine: Engine) -> None:
    import json

    cases = sorted((ROOT / "policies").glob("*/tests/*.json"))
    reqs = []
    for path in cases:
        case = json.loads(path.read_text())
        if "request" in case and "error" not in case["expect"]:
            reqs.append(case["request"])
    reqs = reqs[:120]
    got = decide_in_workers(reqs, policies=[ROOT / "policies"], workers=2, chunk_size=25)
    want = engine.decide_many(reqs, proofs=False)
    assert [d.to_dict() for d in got] == [d.to_dict() for d in want]

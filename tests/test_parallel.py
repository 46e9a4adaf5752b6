"""Deciding in worker processes gives the same decisions, in the same order, whatever a worker does."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine
from policy_engine.errors import ItemError, RequestError, UnknownPlatformError
from policy_engine.parallel import CRASH_ENV, WorkerPool, decide_each_in_workers, decide_in_workers

ROOT = Path(__file__).resolve().parent.parent
AE = [ROOT / "policies" / "aliexpress", ROOT / "policies" / "common"]  # one platform: workers start fast
MARK = "crash-target-seller"


def _cases(pattern: str) -> list[dict[str, Any]]:
    reqs = []
    for path in sorted((ROOT / "policies").glob(pattern)):
        case = json.loads(path.read_text())
        if "request" in case and "error" not in case["expect"]:
            reqs.append(case["request"])
    return reqs


def _dicts(decisions: list[Any]) -> list[Any]:
    return [d.to_dict() for d in decisions]


@pytest.fixture(scope="module")
def ae_engine() -> Iterator[Engine]:
    engine = Engine.from_directory(*AE)
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[WorkerPool]:
    with WorkerPool(AE, workers=2, chunk_size=4) as pool:
        yield pool


@pytest.fixture(scope="module")
def ae_requests() -> list[dict[str, Any]]:
    reqs = _cases("aliexpress/tests/*.json")[:40]
    reqs[21] = dict(reqs[21], seller=dict(reqs[21]["seller"], id=MARK))  # chunk 5 of 10 holds the crash mark
    return reqs


def test_workers_agree_with_one_process(engine: Engine) -> None:
    reqs = _cases("*/tests/*.json")[::5]  # every platform: the workers compile every network anyway
    assert len({r["platform"] for r in reqs}) >= 6
    got = decide_in_workers(reqs, policies=[ROOT / "policies"], workers=2, chunk_size=25)
    want = engine.decide_many(reqs, proofs=False)
    assert _dicts(got) == _dicts(want)


def test_a_script_without_main_guard_gets_real_decisions(tmp_path: Path, ae_engine: Engine) -> None:
    """Workers never import the caller's script, so it needs no `if __name__ == "__main__":` guard."""
    reqs = _cases("aliexpress/tests/*.json")[:6]
    (tmp_path / "reqs.json").write_text(json.dumps(reqs))
    script = tmp_path / "batch.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import json
            from policy_engine.parallel import decide_in_workers

            print("script body ran")
            reqs = json.load(open({str(tmp_path / "reqs.json")!r}))
            out = decide_in_workers(reqs, policies={[str(p) for p in AE]!r}, workers=2, chunk_size=3)
            print(json.dumps([d.to_dict() for d in out]))
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "script body ran" and len(lines) == 2  # the body ran once: no worker re-ran it
    got = json.loads(lines[1])
    assert got == _dicts(ae_engine.decide_many(reqs, proofs=False))
    assert all(d.get("error") is None for d in got)


def test_one_worker_death_costs_one_chunk_and_one_start(
    pool: WorkerPool, ae_engine: Engine, ae_requests: list[dict[str, Any]], tmp_path: Path, monkeypatch: Any
) -> None:
    token = tmp_path / "once"
    token.touch()
    pool.decide(ae_requests[:8])  # both workers are up (an earlier test may have left a slot to restart)
    monkeypatch.setenv(CRASH_ENV, f"{MARK}@{token}")
    before = pool.starts
    got = pool.decide(ae_requests)
    assert not token.exists()  # the worker holding the marked chunk did kill itself
    assert pool.starts == before + 1  # one replacement worker, not one per unfinished chunk
    assert _dicts(got) == _dicts(ae_engine.decide_many(ae_requests, proofs=False))  # the retry decided it


def test_a_chunk_that_kills_every_worker_is_denied_alone(
    pool: WorkerPool, ae_engine: Engine, ae_requests: list[dict[str, Any]], monkeypatch: Any
) -> None:
    pool.decide(ae_requests[:8])
    monkeypatch.setenv(CRASH_ENV, MARK)
    before = pool.starts
    got = pool.decide(ae_requests)
    assert before + 1 <= pool.starts <= before + 2  # the retry's worker, and perhaps the next one
    want = ae_engine.decide_many(ae_requests, proofs=False)
    doomed = range(20, 24)  # chunk 5 holds the marked request
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        if i in doomed:
            assert g.outcome == "deny"
            assert g.error == "the worker process deciding this request was killed by signal SIGKILL (twice)"
            assert (g.platform, g.as_of) == (w.platform, w.as_of)
        else:
            assert g.to_dict() == w.to_dict()
    monkeypatch.delenv(CRASH_ENV)
    assert _dicts(pool.decide(ae_requests[20:24])) == _dicts(want[20:24])  # the pool still works


def test_a_worker_killed_between_calls_is_replaced(
    pool: WorkerPool, ae_engine: Engine, ae_requests: list[dict[str, Any]]
) -> None:
    pool.decide(ae_requests[:8])  # both workers are loaded and idle
    before = pool.starts
    os.kill(pool.pids[0], signal.SIGKILL)
    got = pool.decide(ae_requests[:8])
    # The dead worker is replaced (once; a second start only if the replacement met the kill too, which a
    # heavily loaded machine can make happen).
    assert before + 1 <= pool.starts <= before + 2
    assert _dicts(got) == _dicts(ae_engine.decide_many(ae_requests[:8], proofs=False))


def test_per_item_results_keep_their_index(pool: WorkerPool, ae_engine: Engine, ae_requests: list[Any]) -> None:
    reqs: list[Any] = list(ae_requests[:10])
    reqs[2] = {"platform": "aliexpress"}  # no seller, no product
    reqs[5] = dict(reqs[5], platform="nowhere")
    reqs[9] = "not a request"
    got = pool.decide_each(reqs)
    want = ae_engine.decide_each(reqs, proofs=False)
    assert [type(r) for r in got] == [type(r) for r in want]
    for g, w in zip(got, want, strict=True):
        if isinstance(w, ItemError):
            assert g == w  # same index in the whole input (not in its chunk), same problems and kind
        else:
            assert g.to_dict() == w.to_dict()  # type: ignore[union-attr]
    assert [r.index for r in got if isinstance(r, ItemError)] == [2, 5, 9]
    with pytest.raises(UnknownPlatformError) as platform_error:
        pool.decide(reqs[4:])
    assert platform_error.value.index == 1  # reqs[5], the first bad request of reqs[4:]
    with pytest.raises(RequestError) as request_error:
        pool.decide(reqs)
    assert request_error.value.index == 2
    assert decide_each_in_workers(reqs[:6], policies=AE, workers=1, chunk_size=4) == [
        attrs_without_request(r) for r in want[:6]
    ]


def attrs_without_request(result: Any) -> Any:
    import attrs

    return attrs.evolve(result, request=None) if not isinstance(result, ItemError) else result


def _refilled(reqs: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The requests made from one request dict and one seller dict, refilled for each (a streaming
    pattern): a caller that changes its objects once it has handed them over."""
    seller: dict[str, Any] = {}
    request: dict[str, Any] = {}
    for raw in reqs:
        seller.clear()
        seller.update(json.loads(json.dumps(raw["seller"])))
        request.clear()
        request.update({**json.loads(json.dumps(raw)), "seller": seller})
        yield request


def test_a_generator_refilling_its_dicts_gets_the_decisions_of_each_request(
    pool: WorkerPool, ae_engine: Engine, ae_requests: list[Any]
) -> None:
    """The workers are sent the requests once all are read: each is read as a copy, so a generator that
    refills one dict gets what `Engine.decide_many` gives, not the last request's decision for every one."""
    reqs = ae_requests[:12]
    want = [attrs_without_request(d) for d in ae_engine.decide_many(reqs, proofs=False)]
    assert len({d.outcome for d in want}) > 1
    assert pool.decide(_refilled(reqs)) == want
    assert pool.decide_each(_refilled(reqs)) == want
    assert decide_in_workers(_refilled(reqs), policies=AE, workers=1, chunk_size=4) == want
    assert decide_each_in_workers(_refilled(reqs), policies=AE, workers=1, chunk_size=4) == want

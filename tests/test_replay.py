"""Catalog replay: flips grouped as deciding each line under both policy sets says, locally and on Dask."""

from __future__ import annotations

import copy
import io
import json
import shutil
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from policy_engine import Engine, cli
from policy_engine.errors import PolicyEngineError
from policy_engine.replay import Line, map_chunks, read_catalog, replay

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the shipped library where DHgate's cycling refund-rate limit went from 0.05 to 0.2."""
    target = tmp_path_factory.mktemp("planted") / "policies"
    shutil.copytree(POLICIES, target)
    path = target / "dhgate" / "cycling-admission.json"
    text = path.read_text(encoding="utf-8")
    assert '"max_refund_rate": 0.05' in text
    path.write_text(text.replace('"max_refund_rate": 0.05', '"max_refund_rate": 0.2'), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = json.loads((ROOT / "examples" / "dhgate-cycling.json").read_text())
    shoes = json.loads((ROOT / "examples" / "aliexpress-shoes-denied.json").read_text())
    lines = []
    for i in range(240):
        r = copy.deepcopy(base if i % 3 else shoes)
        r["seller"]["id"] = f"s{i % 7}"
        r["seller"].setdefault("metrics", {})["refund_rate"] = [0.01, 0.1, 0.3, 0.06][i % 4]
        r["product"]["id"] = f"p{i}"
        lines.append(json.dumps(r))
    lines.insert(10, "{not json")
    lines.insert(20, json.dumps({**base, "platform": "nowhere"}))
    path = tmp_path_factory.mktemp("catalog") / "catalog.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _expected_flips(catalog: Path, old: Path, new: Path) -> int:
    a, b = Engine.from_directory(old), Engine.from_directory(new)
    flips = 0
    for text in catalog.read_text().splitlines():
        try:
            raw = json.loads(text)
            x, y = a.decide(raw, proofs=False), b.decide(raw, proofs=False)
        except (ValueError, PolicyEngineError):  # a line that is not JSON, a platform with no policy
            continue
        strip = lambda d: (d.outcome, sorted(r.split("@")[0] + "#" + r.split("#")[1] for r in d.rules))  # noqa: E731
        flips += strip(x) != strip(y)
    return flips


def test_replay_finds_exactly_the_lines_that_flip(catalog: Path, planted: Path) -> None:
    report = replay(read_catalog(str(catalog)), [POLICIES], [planted])
    assert report.decided == 240
    assert report.flipped == _expected_flips(catalog, POLICIES, planted) > 0
    (group,) = report.flips
    assert group.platform == "dhgate"
    assert group.old == ("deny", ("dhgate.cycling-admission#refund-rate-too-high",))
    assert group.new[0] == "allow"
    assert {s for s, _ in group.sellers} <= {f"s{i}" for i in range(7)}
    assert group.categories == (("cycling/road-bikes", group.count),)
    assert group.example is not None and group.example["platform"] == "dhgate"
    bad = dict(report.bad)
    assert set(bad) == {f"{catalog}:11", f"{catalog}:21"}
    assert "malformed JSON" in bad[f"{catalog}:11"] and "platform" in bad[f"{catalog}:21"]


def test_replay_of_the_same_policies_flips_nothing(catalog: Path) -> None:
    report = replay(read_catalog(str(catalog)), [POLICIES], [POLICIES])
    assert report.decided == 240 and report.flips == () and report.failed == ()


def test_replay_command_formats_and_exit_codes(catalog: Path, planted: Path, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(
        ["replay", str(catalog), "--old", str(POLICIES), "--new", str(planted), "--format", "json"], out, err
    )
    assert code == 2  # bad lines: reported, counted, and the rest decided
    report = json.loads(out.getvalue())
    assert report["decided"] == 240 and report["flips"][0]["count"] == report["flipped"]
    assert {b["line"] for b in report["bad"]} == {f"{catalog}:11", f"{catalog}:21"}
    assert f"{catalog}:11" in err.getvalue()
    good = tmp_path / "good.jsonl"
    good.write_text("\n".join(x for n, x in enumerate(catalog.read_text().splitlines()) if n not in (10, 20)) + "\n")
    out = io.StringIO()
    assert cli.main(["replay", str(good), "--old", str(POLICIES), "--new", str(planted)], out, io.StringIO()) == 1
    assert "dhgate: deny [dhgate.cycling-admission#refund-rate-too-high] -> allow" in out.getvalue()
    assert cli.main(["replay", str(good), "--old", str(POLICIES), "--new", str(POLICIES)], io.StringIO(), err) == 0
    csv_file = tmp_path / "flips.csv"
    args = [
        "replay",
        str(good),
        "--old",
        str(POLICIES),
        "--new",
        str(planted),
        "--format",
        "csv",
        "--out",
        str(csv_file),
    ]
    assert cli.main(args, io.StringIO(), io.StringIO()) == 1
    rows = csv_file.read_text().splitlines()
    assert rows[0].startswith("platform,old_outcome,old_rules,new_outcome,new_rules,count") and len(rows) == 2
    folder = tmp_path / "catalogs"
    folder.mkdir()
    shutil.copy(good, folder / "a.jsonl")
    shutil.copy(good, folder / "b.jsonl")
    out = io.StringIO()
    cli.main(["replay", str(folder), "--old", str(POLICIES), "--new", str(planted), "--format", "json"], out, err)
    assert json.loads(out.getvalue())["decided"] == 480
    missing = cli.main(["replay", str(good), "--old", str(tmp_path / "nope"), "--new", str(planted)], out, err)
    assert missing == 2


def test_dask_gives_the_local_answer_line_for_line(catalog: Path, planted: Path, tmp_path: Path) -> None:
    local = replay(read_catalog(str(catalog)), [POLICIES], [planted], chunk_size=50)
    on_dask = replay(read_catalog(str(catalog)), [POLICIES], [planted], workers=1, chunk_size=50)
    assert on_dask.to_dict() == local.to_dict()
    # `decide --workers` prints what `decide` prints, in order, bad lines in their place.
    out_local, out_dask = io.StringIO(), io.StringIO()
    assert cli.main(["decide", str(catalog)], out_local, io.StringIO()) == 2
    assert cli.main(["decide", str(catalog), "--workers", "1"], out_dask, io.StringIO()) == 2
    assert out_dask.getvalue() == out_local.getvalue()
    # With --as-of, every line on that date, on the cluster as here.
    out_local, out_dask = io.StringIO(), io.StringIO()
    assert cli.main(["decide", str(catalog), "--as-of", "2016-07-14"], out_local, io.StringIO()) == 2
    assert cli.main(["decide", str(catalog), "--as-of", "2016-07-14", "--workers", "1"], out_dask, io.StringIO()) == 2
    assert out_dask.getvalue() == out_local.getvalue()
    assert {json.loads(x).get("as_of") for x in out_dask.getvalue().splitlines()} == {"2016-07-14", None}


_KILLER = """
import os

def decide(shared, chunk, extra):
    if any(line.label == "die" for line in chunk):
        os._exit(9)  # the worker process dies while holding this chunk
    return [line.label for line in chunk]
"""


def test_a_chunk_whose_worker_dies_twice_is_reported_and_the_others_complete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "replay_killer.py").write_text(textwrap.dedent(_KILLER))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the worker processes import the function too
    import replay_killer  # type: ignore[import-not-found]

    chunks = [[Line("a", "")], [Line("die", "")], [Line("c", "")]]
    lost: list[str] = []

    def on_lost(chunk: list[Line]) -> Any:
        lost.extend(line.label for line in chunk)
        return ["LOST"]

    results = list(map_chunks(replay_killer.decide, chunks, ("shared",), ("extra",), on_lost, 1, None))
    assert [r for _, r in results] == [["a"], ["LOST"], ["c"]]
    assert lost == ["die"]
    sys.modules.pop("replay_killer", None)


def test_an_empty_catalog_is_bad_input(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n\n")
    err = io.StringIO()
    assert cli.main(["replay", str(empty), "--old", str(POLICIES), "--new", str(POLICIES)], io.StringIO(), err) == 2
    assert "no requests in the catalog" in err.getvalue()


def test_bad_policies_on_one_side_name_the_users_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(POLICIES / "dhgate", bad / "dhgate", ignore=shutil.ignore_patterns("tests"))
    path = bad / "dhgate" / "cycling-admission.json"
    doc = json.loads(path.read_text())
    doc["data"]["max_refund_rate"] = "high"
    path.write_text(json.dumps(doc))
    catalog = tmp_path / "c.jsonl"
    catalog.write_text((ROOT / "examples" / "dhgate-cycling.json").read_text().replace("\n", " ") + "\n")
    err = io.StringIO()
    assert cli.main(["replay", str(catalog), "--old", str(bad), "--new", str(POLICIES)], io.StringIO(), err) == 2
    assert str(path) in err.getvalue() and "policy-engine-replay" not in err.getvalue()


def test_policy_files_are_read_as_loading_them_from_disk_reads_them(tmp_path: Path) -> None:
    """The policies a replay sends to its workers are read as `validate` reads them: a UTF-8 byte order
    mark is allowed, and bytes that are not UTF-8 are PE003 with their place, not a lone surrogate."""
    from policy_engine import load_documents
    from policy_engine._pipeline import load_texts
    from policy_engine.replay import policy_texts

    folder = tmp_path / "p"
    shutil.copytree(POLICIES / "dhgate", folder, ignore=shutil.ignore_patterns("tests"))
    path = folder / "cycling-admission.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert [p.key for p in load_texts(policy_texts([folder]))] == [p.key for p in load_documents([folder])]
    path.write_bytes(path.read_bytes().replace(b"Cycling", b"Cycl\xffing", 1))
    for load in (load_documents, policy_texts):
        with pytest.raises(PolicyEngineError, match=r"PE003: not valid UTF-8 at line \d+, column \d+") as info:
            load([folder])
        assert str(path) in str(info.value)


def test_lines_are_read_as_decide_reads_a_file(tmp_path: Path) -> None:
    """A line with a key twice (the JSON parser would keep the last: an account `closed` then `active`),
    bytes that are not UTF-8, or nesting too deep is a bad line with the reason `policy-engine decide` gives,
    never a decision; the good lines are decided."""
    example = json.loads((POLICIES.parent / "examples" / "dhgate-cycling.json").read_text())
    good = json.dumps(example)
    twice = good.replace('"seller": {', '"seller": {"account_status": "closed", "account_status": "active", ', 1)
    assert twice != good
    catalog = tmp_path / "c.jsonl"
    catalog.write_bytes(
        b"\n".join([good.encode(), twice.encode(), b'{"platform": "dhgate\xff"}', b"[" * 40 + b"]" * 40, good.encode()])
        + b"\n"
    )
    report = replay(read_catalog(str(catalog)), [POLICIES], [POLICIES])
    assert report.decided == 2
    bad = dict(report.bad)
    assert set(bad) == {f"{catalog}:2", f"{catalog}:3", f"{catalog}:4"}
    assert "'account_status' appears twice" in bad[f"{catalog}:2"]
    assert "not valid UTF-8 at column 21 (byte 0xff)" in bad[f"{catalog}:3"]
    assert "nested deeper" in bad[f"{catalog}:4"]
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["decide", str(catalog), "--format", "json"], out, err) == 2
    records = [json.loads(x) for x in out.getvalue().splitlines()]
    assert [r.get("error") for r in records][:3] == [None, "json", "json"]
    assert [r.get("error") is None for r in records][3:] == [False, True]  # too deep: refused as a request

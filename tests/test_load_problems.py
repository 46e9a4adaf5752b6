"""Loading and compiling were made faster without weakening a check: the same bad documents give the same
problems, with the same file, JSON pointer, message and code (the free code names of that time
replaced by their catalogue codes, `errors.CATALOGUE`), as before (`tests/load_problems.json`,
written by `tests/bad_documents.py` with the code before the change)."""

from __future__ import annotations

import json
from pathlib import Path

import bad_documents

EXPECTED = Path(__file__).resolve().parent / "load_problems.json"


def test_bad_documents_give_exactly_the_problems_they_gave_before() -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    found = bad_documents.all_problems()
    assert sorted(found) == sorted(expected)
    for case, outcome in expected.items():
        assert found[case] == outcome, case
    assert sum(not o["loaded"] for o in expected.values()) >= 30


def test_a_cache_that_recorded_valid_files_under_the_same_names_changes_no_problem(tmp_path: Path) -> None:
    expected = json.loads(EXPECTED.read_text(encoding="utf-8"))
    cache = tmp_path / "cache"
    found = bad_documents.all_problems(cache=cache)
    for case, outcome in expected.items():
        assert found[case] == outcome, case
    assert any(cache.glob("*.json"))  # the valid files were recorded: the bad ones were checked all the same

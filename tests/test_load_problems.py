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

"""Properties every shipped policy keeps: a machine-readable basis for its start date, shown on the platform pages,
and `borrowed` rules that say where they are borrowed from."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p for p in (ROOT / "policies").glob("*/*.json") if p.name not in ("taxonomy.json", "invariants.json"))


def _doc(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_start_date_has_a_basis_shown_on_the_platform_page(path: Path) -> None:
    doc = _doc(path)
    assert doc.get("effective_from_basis") in ("stated", "earliest-dated-source", "assumed")
    assert doc.get("effective_from_note")
    page = (ROOT / "docs" / "platforms" / f"{'common' if doc['platform'] == '*' else doc['platform']}.md").read_text(
        encoding="utf-8"
    )
    assert f"Start date {doc['effective_from']} (" in page and doc["effective_from_note"] in page


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_borrowed_rules_say_so(path: Path) -> None:
    for rule in _doc(path)["rules"]:
        if rule.get("provenance") != "borrowed":
            continue
        assert "borrowed" in rule.get("description", "").lower(), rule["id"]
        if "message" in rule:
            assert "borrowed" in rule["message"]["en"], rule["id"]
            assert "借用" in rule["message"]["zh"], rule["id"]

"""The shipped taxonomies and the policies that use them agree: each platform's category-placement policy knows
exactly the taxonomy's categories, and a policy list naming a category also names the places it is filed under
(its aliases)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
TAXONOMIES = sorted(POLICIES.glob("*/taxonomy.json"))


def _under(category: str, ancestor: str) -> bool:
    return category == ancestor or category.startswith(ancestor + "/")


def _policies(platform_dir: Path) -> list[dict[str, Any]]:
    return [
        json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(platform_dir.glob("*.json"))
        if p.name not in ("taxonomy.json", "invariants.json")
    ]


@pytest.mark.parametrize("taxonomy", TAXONOMIES, ids=lambda p: p.parent.name)
def test_category_placement_knows_exactly_the_taxonomy(taxonomy: Path) -> None:
    tax = json.loads(taxonomy.read_text(encoding="utf-8"))
    (placement,) = [d for d in _policies(taxonomy.parent) if d["id"] == f"{tax['platform']}.category-placement"]
    data = placement["data"]
    known = [c for name, values in sorted(data.items()) if name.startswith("known_categories") for c in values]
    assert sorted(known) == sorted(tax["categories"])
    parents = {"/".join(c.split("/")[:i]) for c in tax["categories"] for i in range(1, c.count("/") + 1)}
    assert sorted(data.get("known_parents", [])) == sorted(parents - set(tax["categories"]))


@pytest.mark.parametrize("taxonomy", TAXONOMIES, ids=lambda p: p.parent.name)
def test_aliases_are_declared_and_named_with_their_category(taxonomy: Path) -> None:
    tax = json.loads(taxonomy.read_text(encoding="utf-8"))
    declared = tax["categories"]
    for alias, target in tax.get("aliases", {}).items():
        assert any(_under(c, alias) for c in declared), f"alias {alias} is not declared"
        assert any(_under(c, target) for c in declared), f"{target} (for alias {alias}) is not declared"
        for doc in _policies(taxonomy.parent):
            if doc["id"].endswith(".category-placement"):
                continue
            for name, values in (doc.get("data") or {}).items():
                if not isinstance(values, list) or not any(_under(target, v) for v in values if isinstance(v, str)):
                    continue
                assert any(_under(alias, v) for v in values if isinstance(v, str)), (
                    f"{doc['id']} data {name} names {target} but not its alias {alias}"
                )

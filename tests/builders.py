"""Small policies built in memory for the unit tests."""

from __future__ import annotations

from typing import Any

from policy_engine._language.model import Policy
from policy_engine._pipeline.check import check_policies
from policy_engine._pipeline.load import parse_policy


def document(rules: list[dict[str, Any]], policy_id: str = "t.big", platform: str = "testplatform") -> dict[str, Any]:
    """The document of one policy in force from 2000 holding `rules`."""
    return {
        "id": policy_id,
        "version": "1.0.0",
        "platform": platform,
        "effective_from": "2000-01-01",
        "title": "t",
        "sources": [{"document": "t", "provenance": "illustrative"}],
        "rules": rules,
    }


def policy(rules: list[dict[str, Any]], policy_id: str = "t.big", platform: str = "testplatform") -> Policy:
    """One policy in force from 2000 holding `rules`, parsed and checked (a problem fails the test)."""
    p, problems = parse_policy(document(rules, policy_id, platform))
    assert p is not None and not problems, problems
    assert check_policies([p]) == []
    return p

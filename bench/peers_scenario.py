"""policy_engine in the shared peer harness (`../shared/bench/peers`).

The scenario's rules are the policy document `bench/peers_policy/brand-gating.json`; this module only
translates the harness's request format into the request vocabulary and the decision back:

    run.py --engine bench.peers_scenario:make_decide --path "$PWD"

The harness calls its factory's function once per request, so only `make_decide` plugs in there;
`make_decide_many` (the batch path) is timed by `bench/bench.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from policy_engine import Decision, Engine

POLICY_DIR = Path(__file__).resolve().parent / "peers_policy"
DIST = "policy-engine"


def to_request(req: dict[str, Any]) -> dict[str, Any]:
    """The harness's request in policy_engine's request vocabulary."""
    s, p = req["seller"], req["product"]
    return {
        "platform": req["platform"],
        "as_of": req["at"],
        "seller": {
            "id": str(s["id"]),
            "entity_type": "enterprise" if s["account_type"] == "enterprise" else "individual",
            "account_status": "closed" if s["store_status"] == "closed" else "active",
            "categories": list(s["categories"]),
            "trademarks": [{"mark": t["brand"], "status": t["status"]} for t in s["trademarks"]],
            "authorizations": [{"brand": a["brand"], "valid_to": a["expires"]} for a in s["authorizations"]],
            "grants": [
                {
                    "kind": "brand_qualification",
                    "status": "approved",
                    "category": q["category"],
                    "brand": q["brand"],
                    "expires_on": q["expires"],
                }
                for q in s["qualifications"]
            ],
        },
        "product": {"id": str(p["id"]), "category": p["category"], "brand": p["brand"]},
    }


def to_answer(decision: Decision) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """(decision, deny reasons, advisories) with the rule ids as the scenario's reason codes."""
    if decision.error:
        raise RuntimeError(decision.error)
    deny = tuple(sorted(r.rule.rsplit("#", 1)[1] for r in decision.reasons if r.outcome == "deny"))
    adv = tuple(sorted(a.rule.rsplit("#", 1)[1] for a in decision.advisories))
    return decision.outcome, deny, adv


def make_decide() -> Callable[[dict[str, Any]], Any]:
    """`decide(request)` for the harness: one request at a time, without proof trees."""
    engine = Engine.from_directory(POLICY_DIR)

    def decide(req: dict[str, Any]) -> Any:
        return to_answer(engine.decide(to_request(req), proofs=False))

    return decide


def make_decide_many() -> Callable[[list[dict[str, Any]]], list[Any]]:
    """`decide_many(requests)` for the harness: the batch path."""
    engine = Engine.from_directory(POLICY_DIR)

    def decide_many(reqs: list[dict[str, Any]]) -> list[Any]:
        return [to_answer(d) for d in engine.decide_many([to_request(r) for r in reqs], proofs=False)]

    return decide_many

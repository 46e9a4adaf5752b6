"""How often durable_rules' own pattern match (`$mt`) disagrees with the meaning of `contains`/`matches`.

    python bench/mt_probe.py                 # 8 seeds of 40 literals x ~140 texts, per shape
    python bench/mt_probe.py --seeds 20 --seed 100

Why the network does not use `$mt` (docs/design.md): for random literals and texts over a small
alphabet (plus unicode), each pattern shape is written as a `$mt` test in a ruleset of its own, the texts
are asserted as facts, and what fired is compared with `policy_engine._language.textmatch`. Texts are sent
lowercased, with the characters JSON escapes replaced, so that the escapes the engine reads are not what
is measured. Prints one line per shape: patterns the engine refused to build (its state limits), texts
compared, and disagreements.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable

import _policy_engine_dre as dre

from policy_engine._language import textmatch

_ALPHABET = [*"abAB .%*", "é", "İ", "手", "😀", "ß", "Σ"]
# The engine reads a text as it stands in its JSON: replace what JSON escapes by letters lowercase text lacks.
_SAFE = str.maketrans({'"': "Q", "\\": "R", **{chr(c): chr(0x41 + c % 26) for c in range(0x20)}})
_DURABLE_META = set(".|?*+()[]{}%")


def _engine_fired(patterns: list[str], texts: list[str], name: str) -> dict[tuple[int, int], bool] | None:
    rules: dict[str, object] = {"__init": {"all": [{"m": {"t": "init"}}]}}
    for i, p in enumerate(patterns):
        rules[f"r{i}"] = {"all": [{"m": {"$and": [{"t": "x"}, {"$mt": {"v": p}}]}}]}
    try:
        handle = dre.create_ruleset(name, json.dumps(rules, ensure_ascii=False))
    except Exception:
        return None
    out: dict[tuple[int, int], bool] = {}
    try:
        for j, text in enumerate(texts):
            sid = f"s{j}"
            _, state = dre.assert_fact(handle, json.dumps({"sid": sid, "id": "i0", "t": "init"}))
            result = dre.start_action_for_state(handle, state)
            while result:
                result = dre.complete_and_start_action(handle, state)
            fact = {"sid": sid, "id": "i1", "t": "x", "v": text}
            _, state = dre.assert_fact(handle, json.dumps(fact, ensure_ascii=False))
            fired: set[str] = set()
            result = dre.start_action_for_state(handle, state)
            message = result[1] if result else None
            while message:
                fired.update(json.loads(message))
                message = dre.complete_and_start_action(handle, state)
            for i in range(len(patterns)):
                out[(i, j)] = f"r{i}" in fired
            dre.delete_state(handle, sid)
    finally:
        dre.delete_ruleset(handle)
    return out


def _escape(text: str) -> str:
    return "".join("%" + c if c in _DURABLE_META else c for c in text.lower().translate(_SAFE))


def _shapes(rng: random.Random) -> dict[str, Callable[[str], tuple[str, str]]]:
    """shape -> literal -> (pattern of the dialect, `$mt` pattern)"""

    def dots(lit: str) -> tuple[str, str]:
        chars = ["." if rng.random() < 0.3 else c for c in lit]
        ours = "".join(c if c == "." else ("\\" + c if c in "\\.[]*+?(){}|^$" else c) for c in chars)
        theirs = "".join("." if c == "." else _escape(c) for c in chars)
        return ".*" + ours + ".*", ".*" + theirs + ".*"

    def contains(lit: str) -> tuple[str, str]:
        ours = "".join("\\" + c if c in "\\.[]*+?(){}|^$" else c for c in lit)
        return ".*" + ours + ".*", ".*" + _escape(lit) + ".*"

    def prefix(lit: str) -> tuple[str, str]:
        ours = "".join("\\" + c if c in "\\.[]*+?(){}|^$" else c for c in lit)
        return ours + ".*", _escape(lit) + ".*"

    return {"contains (.*LIT.*)": contains, "starts with (LIT.*)": prefix, "with dots (.*L.T.*)": dots}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=8, help="rounds, each with fresh literals and texts")
    parser.add_argument("--seed", type=int, default=0, help="the first seed")
    args = parser.parse_args()
    totals: dict[str, list[int]] = {}  # shape -> [patterns, texts compared, disagreements, refused]
    for seed in range(args.seed, args.seed + args.seeds):
        rng = random.Random(seed)

        def text(alphabet: list[str], rng: random.Random = rng) -> str:
            return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 20, 40])))

        literals = [
            (text(["a", "b"] if rng.random() < 0.5 else _ALPHABET)[: rng.randint(1, 6)] or "a") for _ in range(40)
        ]
        texts = [text(["a", "b"] if rng.random() < 0.5 else _ALPHABET) for _ in range(100)]
        texts += [text(["a", "b"]) + lit + text(["a", "b"]) for lit in literals]
        for shape, make in _shapes(rng).items():
            row = totals.setdefault(shape, [0, 0, 0, 0])
            sent = [t.lower().translate(_SAFE) for t in texts]
            for k, lit in enumerate(literals):
                ours, theirs = make(lit)
                fired = _engine_fired([theirs], sent, f"p{seed}_{len(totals)}_{k}")
                row[0] += 1
                if fired is None:
                    row[3] += 1
                    continue
                wrong = [textmatch.matches(t, ours) != fired[(0, j)] for j, t in enumerate(texts)]
                row[1] += len(wrong)
                row[2] += sum(wrong)
    print("| shape | patterns | refused by the engine | texts compared | disagreements |")
    print("|---|---|---|---|---|")
    for shape, (patterns, n, bad, refused) in totals.items():
        print(f"| {shape} | {patterns} | {refused} | {n} | {bad} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

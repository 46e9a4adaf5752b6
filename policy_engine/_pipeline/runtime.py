"""Run stage: drive a compiled ruleset on durable_rules, defensively. The only module that imports it.

How the engine's traps are avoided (see docs/performance.md and docs/design.md):

* No `durable.engine.Host`: its background dispatcher threads read freed sessions and crash. This module
  calls the C extension directly and runs every action synchronously on the calling thread. The extension
  is durable_rules' own C core, built into this distribution as `_policy_engine_dre` (hatch_build.py).
* One live session per ruleset at a time, under a lock: sessions are located by a 32-bit hash of the
  session id, so two live sessions could merge; with one there is nothing to collide with. The lock also
  makes concurrent calls from several threads safe (the C core holds the GIL anyway).
* Fact ids come from a pool whose 32-bit FNV hashes are all distinct, so no fact is ever mistaken for an
  "already observed" one.
* The session is reused from request to request: every fact a request asserted is retracted, and the
  session is checked to be empty before the next request (creating a session costs time in proportion
  to the network). Every session fires at least one action (the `__init` rule) before it is ever
  deleted, which avoids the engine freeing an uninitialised pointer.
* Negation is stratified by trigger facts asserted after the facts they negate are complete.
* Numbers reach the engine in a form its JSON parser reads exactly: its parser accepts an exponent only
  after a decimal point, and silently stops reading a batch of facts at the first number it cannot
  parse (`1e-05`), dropping that fact and every later one. `engine_json` (facts.py) writes `1.0e-05`.
  Requests are validated before they get here (finite numbers, integers exactly representable as
  doubles, strings encodable as UTF-8), so every comparison in the network equals Python's.
* Every request is proven seen: its facts end with a sentinel fact that a never-firing rule keeps in
  the network, and asserting the sentinel again must be refused as "already observed". Anything else
  means the engine did not read the whole request: an EngineFault, never the platform default.
* Any error code from the engine, and any exception while running actions, raises EngineFault
  (without proofs an action message is read up to its rule's name only: its matched facts are not
  decoded, so not checked). An action left open by an exception is completed first (its lease would
  otherwise keep every other action of the session from firing). The session is then cleaned (every
  fact retracted, checked empty) and reused; only when cleaning fails is the network poisoned: its
  session is never touched again (deleting a session in an inconsistent state can crash the process),
  and the caller builds a new network and turns the fault into a `deny`.
"""

from __future__ import annotations

import itertools
import json
import json.scanner
import threading
from collections.abc import Callable, Sequence
from typing import Any

import _policy_engine_dre as dre
import attrs

from ..errors import EngineFault
from .compile import Compiled, RuleAction
from .facts import DERIVED_TYPE, INIT_RULE, SEEN_RULE, SEEN_TYPE, TRIGGER_TYPE, engine_json

__all__ = ["Firing", "Network", "NetworkUnavailable", "Trace", "engine_json"]


def _decoder() -> Callable[[str], Any]:
    """`json.loads` for the engine's action messages, through the C scanner made once; anything but one
    JSON value from the first character to the last goes to `json.loads` (its answer, or its error)."""
    scanner = getattr(json.scanner, "c_make_scanner", None)
    if scanner is None:  # pragma: no cover - CPython has the C scanner
        return json.loads
    scan = scanner(json.JSONDecoder())

    def decode(text: str) -> Any:
        try:
            value, end = scan(text, 0)
        except StopIteration:
            return json.loads(text)
        return value if end == len(text) else json.loads(text)

    return decode


_DECODE = _decoder()


class _Dirty(Exception):
    """The session was not clean after a shared run: its items are decided again, each alone."""


class NetworkUnavailable(EngineFault):
    """The network was closed, or poisoned by an earlier fault; build a new one and try again."""


_FNV_PRIME = 16777619
_FNV_BASIS = 0x811C9DC5
_ENGINE_OK, _NOT_HANDLED, _OBSERVED = 0, 1, 2
_HOUSEKEEPING = (INIT_RULE, SEEN_RULE)  # the network's own rules: no outcome, no conclusion
_UNREAD: dict[str, dict[str, Any]] = {}  # the matched facts of a firing recorded without them (never changed)


def _fnv1a32(data: bytes) -> int:
    h = _FNV_BASIS
    for b in data:
        h = ((h ^ b) * _FNV_PRIME) & 0xFFFFFFFF
    return h


class _IdPool:
    """Fact ids with pairwise distinct 32-bit FNV hashes (raw and JSON-quoted), grown on demand."""

    def __init__(self) -> None:
        self._ids: list[str] = []
        self._seen: set[int] = set()
        self._next = 0
        self._lock = threading.Lock()

    def take(self, n: int) -> list[str]:
        if len(self._ids) < n:
            with self._lock:
                while len(self._ids) < n:
                    cand = format(self._next, "x")
                    self._next += 1
                    a, b = _fnv1a32(cand.encode()), _fnv1a32(f'"{cand}"'.encode())
                    if a in self._seen or b in self._seen or a == b:
                        continue
                    self._seen.update((a, b))
                    self._ids.append(cand)
        return self._ids


_IDS = _IdPool()
_RULESET_NAMES = itertools.count(1)


@attrs.frozen
class Firing:
    """One activation of a rule: the rule and the facts it matched, by alias."""

    action: RuleAction
    match: dict[str, dict[str, Any]] = attrs.field(eq=False)


@attrs.define
class Trace:
    """What fired for one request: the chosen derivation of each conclusion, and every outcome rule.

    `summary` is free for the explain stage to keep what it computes from the trace alone (products of
    a catalog with identical facts share one Trace)."""

    derived: dict[str, Firing] = attrs.field(factory=dict)
    outcomes: dict[str, Firing] = attrs.field(factory=dict)
    summary: Any = attrs.field(default=None, eq=False, repr=False)


def _payload(facts: list[dict[str, Any]], sid: str, ids: list[str], first: int, seen: str) -> str:
    """The JSON of a batch of facts, numbered from `ids[first]` in session `sid`, ending with a sentinel."""
    for n, fact in enumerate(facts, start=first):
        fact["sid"] = sid
        fact["id"] = ids[n]
    return engine_json(facts)[:-1] + ("," if facts else "") + seen + "]"


class _Slots:
    """A session's fixed facts: stratum triggers, one set of copies per derived conclusion, and two
    end-of-batch sentinels (a shared context's and an item's), each with an id of its own; the facts of
    a request take ids from `first` on. Their JSON is written once per session."""

    def __init__(self, sid: str, compiled: Compiled) -> None:
        self.sid = sid
        names = sorted({a.rule.derive for a in compiled.actions.values() if a.consumed and a.rule.derive})
        copies = sum(compiled.derived_groups.get(n, 1) for n in names)
        self.first = len(compiled.triggers) + copies + 2
        ids = _IDS.take(self.first)
        n = 0
        self.triggers: list[str] = []
        for k in range(1, compiled.strata + 1):
            group = [
                {"sid": sid, "id": ids[n + j], "t": TRIGGER_TYPE, "k": k, "g": g}
                for j, (_, g) in enumerate(t for t in compiled.triggers if t[0] == k)
            ]
            n += len(group)
            if group:  # a stratum none of whose rules waits for a trigger: nothing to assert (the engine
                # answers an empty batch with a state it never wrote, and crashed reading actions from it)
                self.triggers.append(json.dumps(group))
        self.derived: dict[str, str] = {}
        for name in names:
            count = compiled.derived_groups.get(name, 1)
            self.derived[name] = json.dumps(
                [{"sid": sid, "id": ids[n + g], "t": DERIVED_TYPE, "n": name, "g": g} for g in range(count)]
            )
            n += count
        self.seen = (
            json.dumps({"sid": sid, "id": ids[n], "t": SEEN_TYPE}),
            json.dumps({"sid": sid, "id": ids[n + 1], "t": SEEN_TYPE}),
        )


class Network:
    """A compiled ruleset loaded into durable_rules.

    One session is live at a time and is reused: after each request every fact it asserted is
    retracted (triggers first, so no negation can fire on the way out), and the session is checked to be
    empty, which keeps the cost of a request independent of the size of the network (creating a session
    allocates state for every node). The session is replaced every `RECYCLE` requests, and at once if
    anything is left over, so no fact of one request is ever seen by the next. After an
    engine error the network is `poisoned` and must not be used again: the caller builds a new one.
    """

    RECYCLE = 20_000

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.name = f"policy_engine_{next(_RULESET_NAMES)}_{compiled.platform}"
        try:
            text = compiled.engine_text if compiled.engine_text is not None else engine_json(compiled.ruleset)
            self._handle = dre.create_ruleset(self.name, text)
        except BaseException as exc:  # the C core reports problems as bare error codes
            raise EngineFault(f"durable_rules refused the compiled ruleset for {compiled.platform!r}: {exc}") from exc
        self._lock = threading.Lock()
        self._sids = itertools.count(1)
        self._slots: _Slots | None = None
        # Whether an action the engine handed over is still open: 0 none, 2 one is (its message was read),
        # 1 unknown (a call that may have started one returned, or not, before an exception). An open
        # action holds the session's lock for the engine's 30-second lease: no other action would fire.
        self._acting = 0
        self._state = 0  # the live session's state in the engine (as the engine's calls return it)
        self._uses = 0
        self._actions = compiled.actions
        self._closed = False
        self.poisoned = False
        self._order = {id(action): n for n, action in enumerate(compiled.actions.values())}
        self._citations = {name: action.citation for name, action in compiled.actions.items()}

    @property
    def usable(self) -> bool:
        """Neither closed nor poisoned."""
        return not (self._closed or self.poisoned)

    def close(self) -> None:
        """Free the engine's copy of the ruleset (a poisoned one is left alone: freeing it may crash)."""
        with self._lock:
            if not self._closed:
                self._closed = True
                if not self.poisoned:
                    if self._slots is not None:
                        dre.delete_state(self._handle, self._slots.sid)
                    dre.delete_ruleset(self._handle)

    def run(self, batches: Sequence[list[dict[str, Any]]], matches: bool = True) -> list[Trace]:
        """Decide the facts of each request in turn, each alone in the session; one Trace each.

        `matches=False`: the firings record their rules but not the facts they matched (`Firing.match`
        empty), which only proofs read; the engine's messages are then not decoded. An EngineFault stops
        the run and poisons the network.
        """
        with self._lock:
            if self._closed or self.poisoned:
                raise NetworkUnavailable("the network is closed or was poisoned by an earlier engine error")
            return [self._request(facts, matches) for facts in batches]

    def run_shared(
        self, context: list[dict[str, Any]], items: Sequence[list[dict[str, Any]]], matches: bool = True
    ) -> list[Trace]:
        """Decide requests that share their context facts (one seller on one day): one Trace per item.

        The context facts are asserted once and stay in the session, with every conclusion drawn from
        them alone, while each item's facts (a product's) are asserted, decided and retracted in turn.
        Each Trace equals the one that asserting the context and that item's facts alone would give (the
        firing recorded for each conclusion and outcome is chosen canonically, not by arrival order).
        Items whose facts are identical get the same Trace: the network's answer depends on the facts
        in working memory only. After the run the context is retracted and the session must be empty;
        if it is not, the whole run is decided again item by item (never an answer from a dirty session).
        An EngineFault stops the run (the caller decides the items alone to isolate it). `matches` as
        in `run`.
        """
        with self._lock:
            if self._closed or self.poisoned:
                raise NetworkUnavailable("the network is closed or was poisoned by an earlier engine error")
            slots = self._session()
            sid = slots.sid
            ids = _IDS.take(slots.first + len(context) + max((len(f) for f in items), default=0))
            base = Trace()
            shared: list[tuple[bool, str]] = []
            try:
                self._assert(_payload(context, sid, ids, slots.first, slots.seen[0]), slots, base, shared, 0, matches)
                first = slots.first + len(context)
                decided: dict[str, Trace] = {}
                traces: list[Trace] = []
                for facts in items:
                    payload = _payload(facts, sid, ids, first, slots.seen[1])
                    known = decided.get(payload)
                    if known is not None:
                        traces.append(known)
                        continue
                    trace = Trace(dict(base.derived), dict(base.outcomes))
                    asserted: list[tuple[bool, str]] = []
                    try:
                        self._assert(payload, slots, trace, asserted, 1, matches)
                        self._fire_strata(slots, trace, asserted, matches)
                        if self._retract(asserted):
                            raise _Dirty
                    except BaseException:
                        self._recover(sid, asserted)
                        raise
                    decided[payload] = trace
                    traces.append(trace)
                self._uses += len(items)
                dirty = self._retract(shared)
                shared.clear()
                if dirty or dre.get_facts(self._handle, sid) != "[]":
                    raise _Dirty
            except _Dirty:
                self._recover(sid, shared)
                if self.poisoned:
                    raise EngineFault(
                        "the rule engine kept facts of a finished request; the network is replaced"
                    ) from None
                self._reset(sid)
                return [self._request([*context, *facts], matches) for facts in items]
            except BaseException as exc:
                self._recover(sid, shared)
                if isinstance(exc, EngineFault) or not isinstance(exc, Exception):
                    raise  # an interrupt (KeyboardInterrupt, SystemExit) stops the call: nothing is decided
                raise EngineFault(f"the rule engine failed: {type(exc).__name__}: {exc}") from exc
            if self._uses >= self.RECYCLE:
                self._reset(sid)
            return traces

    def _session(self) -> _Slots:
        """The live session's fixed payloads (triggers, derived copies, sentinels), made on first use."""
        if self._slots is None:
            self._slots = _Slots(str(next(self._sids)), self.compiled)
        return self._slots

    def _fire_strata(self, slots: _Slots, trace: Trace, asserted: list[tuple[bool, str]], matches: bool = True) -> None:
        """Assert the stratum triggers in order: rules with negations fire once all below is complete."""
        for payload in slots.triggers:
            self._assert(payload, slots, trace, asserted, None, matches)

    def _request(self, facts: list[dict[str, Any]], matches: bool = True) -> Trace:
        slots = self._session()
        trace = Trace()
        ids = _IDS.take(slots.first + len(facts))
        asserted: list[tuple[bool, str]] = []  # (many, payload), to retract in reverse
        try:
            self._assert(
                _payload(facts, slots.sid, ids, slots.first, slots.seen[0]), slots, trace, asserted, 0, matches
            )
            self._fire_strata(slots, trace, asserted, matches)
            self._clean(slots.sid, asserted)
        except BaseException as exc:
            self._recover(slots.sid, asserted)
            if isinstance(exc, EngineFault) or not isinstance(exc, Exception):
                raise  # an interrupt (KeyboardInterrupt, SystemExit) stops the call: nothing is decided
            raise EngineFault(f"the rule engine failed: {type(exc).__name__}: {exc}") from exc
        return trace

    def _recover(self, sid: str, asserted: list[tuple[bool, str]]) -> None:
        """After a fault: retract what the request asserted and drain the agenda; poison if that fails.

        The session is kept, not deleted: the engine may not have fired any action in it yet, and
        deleting such a session frees an uninitialised pointer. The next request checks it is empty.
        """
        if self.poisoned:
            return
        try:
            if self._acting == 1:  # maybe open: release the lease (a no-op otherwise); it is then offered again
                dre.abandon_action(self._handle, self._state)
                if dre.start_action_for_state(self._handle, self._state):
                    self._acting = 2
            if self._acting == 2:  # complete the open action (and any it starts) before retracting its facts
                while dre.complete_and_start_action(self._handle, self._state):
                    pass
            self._acting = 0
            for many, payload in reversed(asserted):
                _code, state = (dre.retract_facts if many else dre.retract_fact)(self._handle, payload)
                if dre.start_action_for_state(self._handle, state):
                    while dre.complete_and_start_action(self._handle, state):
                        pass
            if dre.get_facts(self._handle, sid) != "[]":
                self.poisoned = True
        except BaseException:
            self.poisoned = True

    def _retract(self, asserted: list[tuple[bool, str]]) -> bool:
        """Retract what was asserted, newest first (triggers before the facts they guard); True if a
        retraction woke a rule (drained; the session must then start afresh)."""
        woke = False
        handle = self._handle
        for many, payload in reversed(asserted):
            code, state = (dre.retract_facts if many else dre.retract_fact)(handle, payload)
            if code != _ENGINE_OK and code != _NOT_HANDLED:
                self._check(code)
            self._acting = 1
            if dre.start_action_for_state(handle, state):
                woke = True
                while dre.complete_and_start_action(handle, state):
                    pass
            self._acting = 0
        return woke

    def _reset(self, sid: str) -> None:
        """Start the next request on a new session."""
        dre.delete_state(self._handle, sid)
        self._slots = None
        self._uses = self._acting = 0

    def _clean(self, sid: str, asserted: list[tuple[bool, str]]) -> None:
        """Retract what the request asserted, newest first; recycle the session if anything is left."""
        leftover = self._retract(asserted)
        self._uses += 1
        # The next request must start from an empty working memory: checked, not assumed (about 2 µs).
        leftover = leftover or dre.get_facts(self._handle, sid) != "[]"
        if leftover or self._uses >= self.RECYCLE:
            self._reset(sid)

    def _assert(
        self,
        payload: str,
        slots: _Slots,
        trace: Trace,
        asserted: list[tuple[bool, str]],
        seen: int | None = None,
        matches: bool = True,
    ) -> None:
        """Assert a batch of facts and run every action it wakes, recording the firings in `trace`.

        With `seen`, the batch ends with that sentinel, which the engine must then hold already. Without
        `matches`, a firing's matched facts are not read (see `run`)."""
        asserted.append((True, payload))
        handle = self._handle
        code, state = dre.assert_facts(handle, payload)
        self._state = state
        if code != _ENGINE_OK and code != _NOT_HANDLED:
            self._check(code)
        if seen is not None:
            again, _ = dre.assert_fact(handle, slots.seen[seen])
            if again != _OBSERVED:
                asserted.append((False, slots.seen[seen]))
                raise EngineFault(
                    "the rule engine did not read every fact of the request (the end-of-request marker "
                    f"was not found; code {again}): deciding on part of a request is refused"
                )
        self._acting = 1
        result = dre.start_action_for_state(handle, state)
        if not result:
            self._acting = 0
            return
        message = result[1]
        self._acting = 2
        actions = self._actions
        read = _DECODE if matches else self._rule_only
        while message:
            for name, match in read(message).items():
                if name in (INIT_RULE, SEEN_RULE):
                    continue
                action = actions[name]
                rule = action.rule
                if rule.derive is not None:
                    known = trace.derived.get(rule.derive)
                    if known is not None:
                        if self._rank(action, match) < self._rank(known.action, known.match):
                            trace.derived[rule.derive] = Firing(action, match)
                    else:
                        trace.derived[rule.derive] = Firing(action, match)
                        if action.consumed:
                            derived = slots.derived[rule.derive]
                            asserted.append((True, derived))
                            code, _ = dre.assert_facts(handle, derived)
                            self._check(code)
                else:
                    citation = self._citations[name]
                    known = trace.outcomes.get(citation)
                    if known is None or self._rank(action, match) < self._rank(known.action, known.match):
                        trace.outcomes[citation] = Firing(action, match)
            self._acting = 1
            message = dre.complete_and_start_action(handle, state)
            self._acting = 2 if message else 0

    def _rule_only(self, message: str) -> dict[str, dict[str, Any]]:
        """The rule an action message is for, without the facts it matched (`{}`).

        The engine writes every message as `{"<rule name>":<the matched facts>}`, the name as the ruleset
        gave it; any message that does not start with a known rule name that way is decoded whole."""
        if message.startswith('{"'):
            end = message.find('"', 2)
            name = message[2:end]
            if end > 2 and message[end + 1 : end + 2] == ":" and (name in self._actions or name in _HOUSEKEEPING):
                return {name: _UNREAD}
        found: dict[str, dict[str, Any]] = _DECODE(message)
        return found

    def _rank(self, action: RuleAction, match: dict[str, dict[str, Any]]) -> tuple[int, tuple[tuple[str, int], ...]]:
        """The order in which firings of one conclusion or outcome are preferred as its justification.

        The first rule in policy order, then the lowest list positions matched: a choice that does not
        depend on the order in which the engine happened to fire, so a request decided alone and one
        decided with its seller's facts already in the session get the same proofs.
        """
        return self._order[id(action)], tuple(sorted((alias, fact.get("i", -1)) for alias, fact in match.items()))

    @staticmethod
    def _check(code: int) -> None:
        if code not in (_ENGINE_OK, _NOT_HANDLED):
            reason = "a fact was taken for one already observed" if code == _OBSERVED else f"error code {code}"
            raise EngineFault(f"the rule engine rejected the request facts: {reason}")

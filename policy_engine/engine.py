"""The public facade: load policies once, decide many requests, from any number of threads."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ._language.model import Policy
from ._language.reference import evaluate
from ._pipeline import checked, load_documents
from ._pipeline.cache import CompileCache
from ._pipeline.compile import Compiled, compile_policies
from ._pipeline.compile.reach import Reach
from ._pipeline.explain import build_decision, build_decisions, error_decision
from ._pipeline.facts import FactBuilder
from ._pipeline.gcpause import gc_paused
from ._pipeline.request import Request, RequestReader, decision_date, normalize_request, own_copy
from ._pipeline.runtime import Network, NetworkUnavailable, Trace
from .decision import Decision
from .errors import CompileError, EngineFault, ItemError, Problem, RequestError, UnknownPlatformError
from .resources import data_dir

__all__ = ["Disagreement", "Engine"]

_SHADOW_LOG = logging.getLogger("policy_engine.shadow")

DEFAULT_BATCH = 256
MAX_ABANDONED = 8  # poisoned networks abandoned (never freed) per set of versions before failing closed
_RETRIES = 3  # attempts on a network that another call poisoned meanwhile
# `decide` on policies of at least PARTIAL_RULES rules in force, whose network is neither built nor in the
# compile cache, builds a network of the rules the request can reach (`compile.reach`); at most
# PARTIAL_NETWORKS of them per set of versions, then the whole network.
PARTIAL_RULES = 500
PARTIAL_NETWORKS = 8


@attrs.frozen(kw_only=True)
class Disagreement:
    """A decision of the network that the reference evaluator does not confirm (shadow mode)."""

    request: dict[str, Any] = attrs.field(eq=False)
    platform: str
    as_of: str
    network: tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # outcome, rules, advisories, derived
    reference: tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]

    def describe(self) -> str:
        def one(side: tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]) -> str:
            outcome, rules, advisories, derived = side
            return (
                f"{outcome} by [{', '.join(rules)}] "
                f"(advisories [{', '.join(advisories)}], derived [{', '.join(derived)}])"
            )

        return (
            f"shadow check failed on {self.platform} as of {self.as_of}: the network decided {one(self.network)}; "
            f"the reference evaluator decided {one(self.reference)}"
        )


class _Prepared:
    """A compiled network with its fact builder, for one platform and one set of versions in force."""

    def __init__(self, compiled: Compiled) -> None:
        self.compiled = compiled
        self.builder = FactBuilder(compiled.plan, [action.rule.when for action in compiled.actions.values()])
        self.network = Network(compiled)
        self.abandoned = 0
        self._lock = threading.Lock()

    def renew(self) -> None:
        """Replace a network that an engine error poisoned (the old one is abandoned, not freed).

        Freeing a poisoned network may crash the process, so its memory stays allocated. At most
        MAX_ABANDONED networks are abandoned per set of versions; after that this raises EngineFault and
        every request on it fails closed, rather than memory growing without bound.
        """
        with self._lock:
            if self.network.poisoned:
                if self.abandoned >= MAX_ABANDONED:
                    raise EngineFault(
                        f"the rule engine failed {self.abandoned + 1} times beyond repair on the network of "
                        f"{self.compiled.platform!r}; it is no longer used (restart the process)"
                    )
                self.abandoned += 1
                self.network = Network(self.compiled)


class _Partial:
    """The networks of rules single requests could reach, for one set of versions in force."""

    def __init__(self, reach: Reach) -> None:
        self.reach = reach
        self.networks: dict[frozenset[str], _Prepared] = {}
        self.refused = False  # the whole network could not be compiled: no request is decided without it


class Engine:
    """Decides listing requests against a fixed, validated set of policy documents.

    Build it with `Engine.from_directory(path)` or `Engine.default()`, or from policies a loader
    returned (`Engine(load_documents(paths))`). An Engine is immutable once built: loading new policies
    means building a new Engine (a bad policy never replaces a good one). A list of policies put together
    any other way (two loads joined, a list reordered or cut) is checked across documents when the Engine
    is built: a version defined twice, rule ids cited twice on one day, a cycle through a negation,
    default outcomes that disagree raise LoadError then, not when a request needs them. Each document's
    own checks are made when it is loaded from its text: a policy is changed by changing its document.
    """

    def __init__(
        self,
        policies: Sequence[Policy],
        *,
        verify: float = 0.0,
        on_disagreement: Callable[[Disagreement], None] | None = None,
        cache: bool | str | Path | CompileCache | None = None,
    ) -> None:
        if not 0.0 <= verify <= 1.0:
            raise ValueError(f"verify must be a fraction between 0 and 1, got {verify!r}")
        self._verify = verify
        self._on_disagreement = on_disagreement
        self.disagreements = 0
        self._policies = tuple(checked(policies))
        self._platforms = frozenset(p.platform for p in self._policies) - {"*"}
        # A platform's default outcome is the one any of its documents sets, in any version (they agree: a
        # load check), whichever versions are in force; `allow` when none sets it.
        self._defaults: dict[str, str] = {p.platform: p.default_outcome for p in self._policies if p.default_outcome}
        self._cache: dict[tuple[str, tuple[str, ...]], _Prepared] = {}
        # The same versions are in force from one window start to the next: look networks up by period.
        self._periods = {platform: self.windows(platform) for platform in self._platforms}
        self._by_period: dict[tuple[str, dt.date], _Prepared] = {}
        # Networks of the rules single requests could reach, per set of versions (None: not for that set).
        self._partial: dict[tuple[str, tuple[str, ...]], _Partial | None] = {}
        self._lock = threading.Lock()
        self._compile_cache = CompileCache.choose(cache)

    @classmethod
    def from_directory(
        cls,
        *paths: str | Path,
        verify: float = 0.0,
        on_disagreement: Callable[[Disagreement], None] | None = None,
        prepare: bool = True,
        cache: bool | str | Path | CompileCache | None = None,
    ) -> Engine:
        """Load, check and compile every policy under the given folders or files.

        Raises LoadError listing every problem, or CompileError if some set of versions in force cannot
        be compiled into a network the engine can run safely. With `prepare=False` only the networks
        that requests need are compiled, on first use (a command deciding one request starts faster);
        a network that cannot be compiled then raises CompileError when a request needs it.

        Compiled networks are kept in a disk cache (`policy_engine._pipeline.cache`): `cache=None` (the default)
        uses the folder `POLICY_ENGINE_CACHE` names (`off`: none) or the user's cache folder, `False`
        none, and a path that folder. The cache also records which sets of policy files passed every
        check of loading, byte for byte: loading the same files again rebuilds them without the checks.

        Shadow mode: with `verify` above 0, that fraction of decisions (sampled at random; 1.0 means
        every one) is recomputed by the independent reference evaluator. A disagreement turns the
        decision into a `deny` carrying both answers (fail closed), is logged on the
        `policy_engine.shadow` logger with the request, and is passed to `on_disagreement`.
        """
        if len(paths) == 1 and isinstance(paths[0], (list, tuple)):
            raise TypeError(f"from_directory takes each folder as an argument: from_directory(*{list(paths[0])!r})")
        chosen = CompileCache.choose(cache)
        engine = cls(
            load_documents(paths or (data_dir("policies"),), cache=chosen),
            verify=verify,
            on_disagreement=on_disagreement,
            cache=chosen,
        )
        if prepare:
            engine.prepare_all()
        return engine

    def windows(self, platform: str) -> list[dt.date]:
        """The first day of every period in which a different set of versions is in force."""
        days = {dt.date.min}
        for p in self._policies:
            if p.platform in (platform, "*"):
                days.add(p.effective_from)
                if p.effective_until is not None:
                    days.add(p.effective_until)
        return sorted(days)

    def prepare_all(self, platforms: Iterable[str] | None = None) -> None:
        """Compile the network of every platform (or of the given ones) for every period (all problems at
        once, up front)."""
        problems: list[Problem] = []
        chosen = self._platforms if platforms is None else self._platforms & set(platforms)
        for platform in sorted(chosen):
            for day in self.windows(platform):
                if any(p.platform == platform for p in self.in_force(platform, day)):
                    try:
                        self._prepared(platform, day)
                    except CompileError as exc:
                        problems.extend(p for p in exc.problems if p not in problems)
        if problems:
            raise CompileError(problems)

    @classmethod
    def default(
        cls,
        *,
        verify: float = 0.0,
        on_disagreement: Callable[[Disagreement], None] | None = None,
        cache: bool | str | Path | CompileCache | None = None,
    ) -> Engine:
        """The policies shipped with the package."""
        return cls.from_directory(data_dir("policies"), verify=verify, on_disagreement=on_disagreement, cache=cache)

    @property
    def policies(self) -> tuple[Policy, ...]:
        return self._policies

    @property
    def platforms(self) -> frozenset[str]:
        """Platforms that have at least one policy of their own."""
        return self._platforms

    def in_force(self, platform: str, day: dt.date | str) -> tuple[Policy, ...]:
        """The policy versions in force for a platform on a day, a date or `YYYY-MM-DD` (shared `*` policies
        included); RequestError for anything else."""
        if type(day) is not dt.date:
            day = decision_date(day, "")
        return tuple(p for p in self._policies if p.platform in (platform, "*") and p.in_force(day))

    def compiled(self, platform: str, day: dt.date) -> Compiled:
        """The compiled network for a platform on a day (compiled once, then cached)."""
        return self._prepared(platform, day).compiled

    def _prepared(self, platform: str, day: dt.date, body: dict[str, Any] | None = None) -> _Prepared:
        """The network of the versions in force for a platform on a day; with a request's `body`, a network
        of only the rules that request can reach may do (see PARTIAL_RULES) while the whole one is not
        built."""
        periods = self._periods.get(platform)
        if periods is not None:
            start = periods[bisect.bisect_right(periods, day) - 1]
            hit = self._by_period.get((platform, start))
            if hit is not None:
                return hit
        if platform not in self._platforms:
            known = ", ".join(sorted(self._platforms)) or "none"
            raise UnknownPlatformError(
                [
                    Problem(
                        file="",
                        pointer="/platform",
                        message=f"no policy governs platform {platform!r}; expected one of: {known}",
                        code="PE040",
                    )
                ]
            )
        policies = self.in_force(platform, day)
        if not any(p.platform == platform for p in policies):
            raise UnknownPlatformError(
                [
                    Problem(
                        file="",
                        pointer="/as_of",
                        message=f"no policy of platform {platform!r} is in force on {day}",
                        code="PE040",
                    )
                ]
            )
        key = (platform, tuple(sorted(p.key for p in policies)))
        prepared = self._cache.get(key)
        if prepared is None and body is not None:
            partial = self._reachable(key, policies, body)
            if partial is not None:
                return partial
        if prepared is None:
            with self._lock:
                prepared = self._cache.get(key)
                if prepared is None:
                    try:
                        compiled = self._compile_cache.compile(platform, policies)
                    except CompileError:
                        # From now on every request of these versions raises it, as the whole network does,
                        # even one a network of the rules it reaches decided before.
                        refused = self._partial.get(key)
                        if isinstance(refused, _Partial):
                            refused.refused = True
                        else:
                            self._partial[key] = None
                        raise
                    prepared = self._cache[key] = self._prepare(compiled)
        if periods is not None:
            self._by_period[(platform, start)] = prepared
        return prepared

    def _reachable(
        self, key: tuple[str, tuple[str, ...]], policies: tuple[Policy, ...], body: dict[str, Any]
    ) -> _Prepared | None:
        """A network without the rules this request cannot reach, or None when the whole network is the
        one to build: policies of fewer than PARTIAL_RULES rules, a network in the compile cache, a request
        that reaches most rules, or PARTIAL_NETWORKS such networks built already for these versions."""
        partial = self._partial.get(key, False)
        if partial is None:
            return None
        if partial is False:
            with self._lock:
                partial = self._partial.get(key, False)
                if partial is False:
                    platform = key[0]
                    rules = sum(len(p.rules) for p in policies)
                    if rules < PARTIAL_RULES or self._compile_cache.has_entry(platform, policies):
                        partial = None
                    else:
                        with gc_paused():  # thousands of small objects beside the policies' own
                            partial = _Partial(Reach(policies))
                    self._partial[key] = partial
            if partial is None:
                return None
        assert isinstance(partial, _Partial)
        if partial.refused:
            return None
        omit = partial.reach.unreachable(body)
        if 2 * len(omit) < partial.reach.rules:
            return None
        prepared = partial.networks.get(omit)
        if prepared is None:
            with self._lock:
                prepared = partial.networks.get(omit)
                if prepared is None:
                    if len(partial.networks) >= PARTIAL_NETWORKS:
                        return None
                    compiled = compile_policies(key[0], policies, omit=omit)
                    prepared = partial.networks[omit] = self._prepare(compiled)
        return prepared

    def _prepare(self, compiled: Compiled) -> _Prepared:
        """A compiled network made ready to decide, with the platform's default outcome."""
        default = self._platform_default(compiled.platform)
        if compiled.default_outcome != default:  # set by a version not in force on this day
            compiled = attrs.evolve(compiled, default_outcome=default)
        return _Prepared(compiled)

    def _platform_default(self, platform: str) -> str:
        """The outcome of a listing on the platform that no rule decides."""
        return self._defaults.get(platform, "allow")

    def close(self) -> None:
        """Release the engine's compiled networks."""
        with self._lock:
            for prepared in self._cache.values():
                prepared.network.close()
            for partial in self._partial.values():
                for prepared in partial.networks.values() if partial is not None else ():
                    prepared.network.close()
            self._cache.clear()
            self._partial.clear()
            self._by_period.clear()

    def decide(self, request: Any, *, as_of: dt.date | str | None = None, proofs: bool = True) -> Decision:
        """Decide one request. Bad input raises RequestError; an engine fault gives a `deny` with the error.

        On a large policy whose network is not built yet, the first requests may be decided by networks of
        only the rules each can reach, with the same decisions (docs/design.md, "Networks of the rules a
        request reaches")."""
        return self._decide_many([request], as_of, proofs, DEFAULT_BATCH, batch=False)[0]

    def decide_many(
        self,
        requests: Iterable[Any],
        *,
        as_of: dt.date | str | None = None,
        proofs: bool = True,
        batch_size: int = DEFAULT_BATCH,
    ) -> list[Decision]:
        """Decide many requests, in order. Requests that meet the same network run back to back.

        The first bad request (or one for a platform with no policy in force) raises its RequestError
        before anything is decided; `decide_each` answers every good request instead.
        """
        # A batch makes no reference cycles, so the cyclic collector is paused meanwhile: its collections
        # would walk the caller's whole heap again and again (reference counting still frees everything).
        _check_batch_size(batch_size)
        with gc_paused():
            return self._decide_many(requests, as_of, proofs, batch_size)

    def _decide_many(
        self, requests: Iterable[Any], as_of: dt.date | str | None, proofs: bool, batch_size: int, batch: bool = True
    ) -> list[Decision]:
        read = RequestReader(as_of)
        reqs: list[Request | ItemError] = []
        runs: list[int] = []
        last = 0  # the run of the previous request (runs are numbered from 1)
        for index, raw in enumerate(requests):
            try:
                req, run = read(raw)
                if run != last:  # raise UnknownPlatformError up front, before any decision
                    last = run
                    self._prepared_or_fault(req, partial=not batch)
            except RequestError as exc:
                if not batch:
                    raise
                raise type(exc)(exc.problems, index=index) from None  # which request of the batch it is
            reqs.append(req)
            runs.append(run)
        results = self._decide_normalized(reqs, proofs, batch_size, runs, partial=not batch)
        return results  # type: ignore[return-value]  # an invalid request raised: every result is a Decision

    def decide_each(
        self,
        requests: Iterable[Any],
        *,
        as_of: dt.date | str | None = None,
        proofs: bool = True,
        batch_size: int = DEFAULT_BATCH,
    ) -> list[Decision | ItemError]:
        """Decide many requests, in order; a bad request gives an `ItemError` in its place.

        Every good request gets its decision whatever the others hold: an invalid request, or one for a
        platform or date that no policy governs, is an `ItemError` with its index and its problems.
        """
        return self._decide_each(requests, as_of, proofs, batch_size)

    def _decide_each(
        self,
        requests: Iterable[Any],
        as_of: dt.date | str | None,
        proofs: bool,
        batch_size: int = DEFAULT_BATCH,
        *,
        owned: bool = False,
    ) -> list[Decision | ItemError]:
        """`decide_each`; `owned`: the requests are the engine's own (parsed from files or received from
        another process, held by no one else), so they are read without a copy."""
        _check_batch_size(batch_size)
        with gc_paused():  # as decide_many
            read = RequestReader(as_of, copy=not owned)
            reqs: list[Request | ItemError] = []
            runs: list[int] = []
            last = 0  # the run of the previous request (runs are numbered from 1)
            unknown: UnknownPlatformError | None = None  # that run's platform, when no policy governs it
            for i, raw in enumerate(requests):
                run = -1
                try:
                    req, run = read(raw)
                    if run != last:
                        last, unknown = run, None
                        try:
                            self._prepared_or_fault(req)
                        except UnknownPlatformError as exc:
                            unknown = exc
                    if unknown is not None:  # every request of the run, not only its first
                        reqs.append(ItemError(index=i, problems=unknown.problems, kind="platform"))
                    else:
                        reqs.append(req)
                except RequestError as exc:
                    reqs.append(ItemError(index=i, problems=exc.problems))
                runs.append(run)
            return self._decide_normalized(reqs, proofs, batch_size, runs)

    def decide_catalog(
        self,
        seller: Any,
        products: Iterable[Any],
        *,
        platform: str,
        as_of: dt.date | str | None = None,
        marketplace: str | None = None,
        proofs: bool = True,
        batch_size: int = DEFAULT_BATCH,
    ) -> list[Decision | ItemError]:
        """Decide every product of one seller's catalog on one platform and day; an `ItemError` in place
        of an invalid product.

        The same decisions as `decide_each` on one request per product: the seller's facts, and every
        conclusion drawn from them alone, are asserted once for the whole catalog (as `decide_many` and
        `decide_each` do by themselves for consecutive requests that share a seller).
        """
        base: dict[str, Any] = {"platform": platform, "seller": seller}
        if marketplace is not None:
            base["marketplace"] = marketplace
        return self.decide_each(
            ({**base, "product": product} for product in products), as_of=as_of, proofs=proofs, batch_size=batch_size
        )

    def _prepared_or_fault(self, req: Request, partial: bool = False) -> _Prepared | EngineFault:
        try:
            return self._prepared(req.platform, req.as_of, req.body if partial else None)
        except EngineFault as exc:  # the engine refused the network: the request fails closed
            return exc

    def _decide_normalized(
        self,
        reqs: Sequence[Request | ItemError],
        proofs: bool,
        batch_size: int,
        runs: Sequence[int],
        partial: bool = False,
    ) -> list[Decision | ItemError]:
        """The decisions of normalized requests; `partial`: a single request (`decide`), which a network of
        the rules it can reach may decide."""
        out: list[Decision | ItemError | None] = [None] * len(reqs)
        networks: dict[tuple[str, dt.date], _Prepared | EngineFault] = {}
        groups: dict[int, tuple[_Prepared, list[int]]] = {}
        last, members = -1, None  # the run of the previous request, and its network's members when it has one
        for i, req in enumerate(reqs):
            if isinstance(req, ItemError):
                out[i] = req
                last = -1
                continue
            run = runs[i]
            if run == last and members is not None:  # a run shares its platform and date, so its network
                members.append(i)
                continue
            last = run
            key = (req.platform, req.as_of)
            prepared = networks.get(key)
            if prepared is None:
                prepared = networks[key] = self._prepared_or_fault(req, partial)
            if isinstance(prepared, EngineFault):
                out[i] = error_decision(req.platform, req.body["as_of"], str(prepared), None, req)
                members = None
            else:
                members = groups.setdefault(id(prepared), (prepared, []))[1]
                members.append(i)
        for prepared, members in groups.values():
            start = 0
            while start < len(members):
                end = min(start + batch_size, len(members))
                limit = min(start + 4 * batch_size, len(members))
                while end < limit and runs[members[end]] == runs[members[end - 1]]:
                    end += 1  # a seller's run is not cut at a batch boundary (up to 4 batches long)
                chunk = members[start:end]
                start = end
                first, last = chunk[0], chunk[-1]
                if last - first == len(chunk) - 1:  # consecutive requests (all valid, one network): sliced
                    span = slice(first, last + 1)
                    decisions = self._run(prepared, reqs[span], proofs, runs=runs[span])  # type: ignore[arg-type]
                    if len(decisions) != len(chunk):  # one decision per request, in order, or none at all
                        raise EngineFault(f"{len(decisions)} decisions for {len(chunk)} requests")
                    out[span] = decisions
                    continue
                decisions = self._run(
                    prepared,
                    [reqs[i] for i in chunk],  # type: ignore[misc]
                    proofs,
                    runs=[runs[i] for i in chunk],
                )
                for i, decision in zip(chunk, decisions, strict=True):
                    out[i] = decision
        return [d for d in out if d is not None]

    def decide_everywhere(
        self, request: Any, *, as_of: dt.date | str | None = None, proofs: bool = True
    ) -> dict[str, Decision]:
        """One decision per platform that has policies in force (the request's `platform` is ignored)."""
        results: dict[str, Decision] = {}
        request = own_copy(request)  # the decisions' request is the engine's own, as for decide
        for platform in sorted(self._platforms):
            req = normalize_request(request, as_of=as_of, platform=platform)
            if any(p.platform == platform for p in self.in_force(platform, req.as_of)):
                results[platform] = self._run(self._prepared(platform, req.as_of), [req], proofs)[0]
        return results

    def _run(
        self,
        prepared: _Prepared,
        reqs: list[Request],
        proofs: bool,
        attempt: int = 0,
        runs: Sequence[int] | None = None,
    ) -> list[Decision]:
        compiled = prepared.compiled
        try:
            traces = self._traces(prepared, reqs, runs, coarse=not proofs)
            if proofs:
                decisions = [build_decision(compiled, t, r) for t, r in zip(traces, reqs, strict=True)]
            else:
                decisions = build_decisions(compiled, traces, reqs)
        except NetworkUnavailable as unavailable:
            # Another call poisoned the network before this one started: none of these requests is at
            # fault, so they run again on a new network.
            reason = self._renew(prepared) or str(unavailable)
            if attempt < _RETRIES and prepared.network.usable:
                return self._run(prepared, reqs, proofs, attempt + 1, runs)
            return [error_decision(compiled.platform, r.body["as_of"], reason, compiled, r) for r in reqs]
        except EngineFault as fault:
            reason = self._renew(prepared) or str(fault)
            if len(reqs) > 1:
                # Isolate the fault: decide each request alone, so a failed session fails only its own request.
                return [d for r in reqs for d in self._run(prepared, [r], proofs)]
            return [error_decision(compiled.platform, reqs[0].body["as_of"], reason, compiled, reqs[0])]
        except Exception as exc:  # anything unexpected fails closed, never allows
            return [
                error_decision(compiled.platform, r.body["as_of"], f"{type(exc).__name__}: {exc}", compiled, r)
                for r in reqs
            ]
        if self._verify > 0.0:
            decisions = [self._shadow(compiled, d, r) for d, r in zip(decisions, reqs, strict=True)]
        return decisions

    @staticmethod
    def _traces(
        prepared: _Prepared, reqs: list[Request], runs: Sequence[int] | None, coarse: bool = False
    ) -> list[Trace]:
        """Run the requests through the network; consecutive requests of one run share their context facts.
        Products of a run that the network cannot tell apart get one trace (`coarse`: also texts no
        condition tells apart, when no proof will be read from the trace; see `FactBuilder.distinct_items`;
        and the firings keep their rules, not the facts they matched)."""
        builder, network = prepared.builder, prepared.network
        if runs is None:
            return network.run([builder.facts(req) for req in reqs], not coarse)
        traces: list[Trace] = []
        alone: list[list[dict[str, Any]]] = []
        start = 0
        while start < len(reqs):
            end = start + 1
            while end < len(reqs) and runs[end] == runs[start]:
                end += 1
            if end - start == 1:
                alone.append(builder.facts(reqs[start]))
            else:
                if alone:
                    traces += network.run(alone, not coarse)
                    alone = []
                firsts, slots = builder.distinct_items(reqs[start:end], coarse)  # equal products are decided once
                found = network.run_shared(builder.context(firsts[0]), [builder.item(r) for r in firsts], not coarse)
                traces += found if len(firsts) == len(slots) else [found[n] for n in slots]
            start = end
        if alone:
            traces += network.run(alone, not coarse)
        return traces

    @staticmethod
    def _renew(prepared: _Prepared) -> str | None:
        """Replace a poisoned network; the reason to fail closed if it may not be replaced any more."""
        try:
            prepared.renew()
        except EngineFault as exc:
            return str(exc)
        return None

    def _shadow(self, compiled: Compiled, decision: Decision, request: Request) -> Decision:
        """Shadow mode: recompute a sampled decision with the reference evaluator; disagreeing fails closed."""
        if decision.error is not None or (self._verify < 1.0 and random.random() >= self._verify):
            return decision
        req = request.body
        try:
            ref = evaluate(compiled.policies, request, compiled.default_outcome)
        except Exception as exc:  # the second opinion could not be had: say so, and do not allow
            return error_decision(
                compiled.platform,
                decision.as_of,
                f"shadow check failed: {type(exc).__name__}: {exc}",
                compiled,
                request,
            )
        mine = (decision.outcome, decision.rules, tuple(a.rule for a in decision.advisories), decision.derived)
        theirs = (ref.outcome, ref.rules, ref.advisories, ref.derived)
        if mine == theirs:
            return decision
        found = Disagreement(
            request=req, platform=compiled.platform, as_of=decision.as_of, network=mine, reference=theirs
        )
        self.disagreements += 1
        _SHADOW_LOG.error("%s; request: %s", found.describe(), json.dumps(req, ensure_ascii=False, sort_keys=True))
        if self._on_disagreement is not None:
            self._on_disagreement(found)
        return error_decision(compiled.platform, decision.as_of, found.describe(), compiled, request)


def _check_batch_size(batch_size: Any) -> None:
    """A batch size is a whole number of requests, at least one (ValueError otherwise, before any is read)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a whole number of requests, at least 1; got {batch_size!r}")

"""Shared fixtures and settings of the test suite.

* Hypothesis profiles: `ci` (the default), `thorough` for long runs (`HYPOTHESIS_PROFILE=thorough`).
* `engine`: the shipped policies compiled once per run, in shadow mode (every decision re-checked by the
  reference evaluator). Tests that only read it share it.
* `shipped_cli`: commands run in-process on the shipped policies reuse that engine.
* Each distinct set of policy versions is compiled once per run (`CompileMemo`): many tests load the
  shipped library, or a copy of it with one file changed, and compiling is most of what loading costs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import profiles  # noqa: F401  (registers and loads the hypothesis profile)
import pytest

from policy_engine import Engine, cli
from policy_engine._language.model import Policy
from policy_engine._pipeline import cache as cache_module
from policy_engine._pipeline.compile import Compiled, RuleAction

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "policies").resolve()


class CompileMemo:
    """`compile_policies` that compiles each distinct set of policy documents once.

    The key is the platform and the digests of the documents in force, so a copy of the shipped library
    in a temporary folder hits the entries of the original: the cached network is handed back bound to
    the new `Policy` objects (their files), exactly as compiling them would give it. A compile error is
    never cached.
    """

    FIELDS = frozenset(
        [
            "platform",
            "policies",
            "_ruleset",
            "actions",
            "strata",
            "triggers",
            "derived_groups",
            "plan",
            "default_outcome",
            "engine_text",
            "omitted",
        ]
    )

    def __init__(self, compile_policies: Callable[[str, Sequence[Policy]], Compiled]) -> None:
        if set(attrs.fields_dict(Compiled)) != self.FIELDS:  # a new field may hold a Policy: rebind it below
            raise AssertionError(f"Compiled has fields {sorted(attrs.fields_dict(Compiled))}; update CompileMemo")
        self._compile = compile_policies
        self._cache: dict[tuple[str, tuple[str, ...]], Compiled] = {}
        self.hits = self.misses = 0

    def __call__(self, platform: str, policies: Sequence[Policy]) -> Compiled:
        key = (platform, tuple(sorted(p.digest for p in policies)))
        cached = self._cache.get(key)
        if cached is None:
            self.misses += 1
            self._cache[key] = compiled = self._compile(platform, policies)
            return compiled
        self.hits += 1
        by_digest = {p.digest: p for p in policies}
        if all(by_digest[p.digest] is p for p in cached.policies):
            return cached

        def rebind(action: RuleAction) -> RuleAction:
            policy = by_digest[action.policy.digest]
            index = next((i for i, r in enumerate(action.policy.rules) if r is action.rule), None)
            rule = action.rule if index is None else policy.rules[index]  # None: a rule the compiler made
            return attrs.evolve(action, policy=policy, rule=rule)

        return attrs.evolve(
            cached,
            policies=tuple(by_digest[p.digest] for p in cached.policies),
            actions={name: rebind(a) for name, a in cached.actions.items()},
        )


def pytest_configure(config: pytest.Config) -> None:
    patch = pytest.MonkeyPatch()
    patch.setattr(cache_module, "compile_policies", CompileMemo(cache_module.compile_policies))
    config.add_cleanup(patch.undo)


@pytest.fixture(scope="session", autouse=True)
def _compile_cache_in_a_temporary_folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Tests never read or write the user's compile cache, and start from an empty one (children too)."""
    from policy_engine._pipeline.cache import CACHE_ENV

    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(tmp_path_factory.mktemp("compile-cache"))
    yield
    if before is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = before


@pytest.fixture
def compilations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The platform of each network compiled while the test runs, in order (the compile cache off)."""
    from policy_engine._pipeline.cache import CACHE_ENV

    monkeypatch.setenv(CACHE_ENV, "off")
    platforms: list[str] = []
    real = cache_module.compile_policies

    def counted(platform: str, policies: Sequence[Policy]) -> Compiled:
        platforms.append(platform)
        return real(platform, policies)

    monkeypatch.setattr(cache_module, "compile_policies", counted)
    return platforms


@pytest.fixture(scope="session")
def engine() -> Iterator[Engine]:
    eng = Engine.from_directory(ROOT / "policies", verify=1.0)  # every decision checked by the reference
    yield eng
    eng.close()


@pytest.fixture
def shipped_cli(monkeypatch: pytest.MonkeyPatch, engine: Engine) -> Iterator[None]:
    """Commands on the shipped policies reuse the session's engine; other folders are loaded for real."""
    real = cli._engine

    def reuse(paths: Any, verify: float = 0.0, prepare: bool = True, cache: bool = True) -> Engine:
        if verify == 0.0 and (not paths or [Path(p).resolve() for p in paths] == [SHIPPED]):
            return engine
        return real(paths, verify, prepare, cache)

    monkeypatch.setattr(cli, "_engine", reuse)
    monkeypatch.setattr(engine, "close", lambda: None)
    yield

"""pytest plugin: the analysts' test cases (`policies/<platform>/tests/*.json`, one case or a table of
cases per file) and invariants (`policies/<platform>/invariants.json`) run under pytest too.

Registered as a `pytest11` entry point, so `pytest` alone collects them. The folder of policies comes
from the ini option `policy_engine_policies` (default `policies`, relative to the rootdir).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ._tools.suite import Case, load_cases, report_failure, run_case
from .engine import Engine

__all__ = [
    "CaseFailedError",
    "CaseFile",
    "CaseItem",
    "InvariantFile",
    "InvariantItem",
    "pytest_addoption",
    "pytest_collect_file",
    "pytest_unconfigure",
]

_ENGINES = pytest.StashKey[dict[Path, Engine]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("policy_engine_policies", "folder of policies whose tests/ cases pytest runs", default="policies")


def _root(config: pytest.Config) -> Path:
    return (config.rootpath / str(config.getini("policy_engine_policies"))).resolve()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    root = _root(parent.config)
    if file_path.suffix == ".json" and file_path.parent.name == "tests" and root in file_path.resolve().parents:
        return CaseFile.from_parent(parent, path=file_path)
    if file_path.name == "invariants.json" and root in file_path.resolve().parents:
        return InvariantFile.from_parent(parent, path=file_path)
    return None


def _engine(config: pytest.Config) -> Engine:
    engines = config.stash.setdefault(_ENGINES, {})
    root = _root(config)
    if root not in engines:
        engines[root] = Engine.from_directory(root)
    return engines[root]


class InvariantFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        from ._tools.invariants import load_invariants

        invariants = load_invariants(self.path)
        for inv in invariants.invariants:
            yield InvariantItem.from_parent(self, name=inv.id, invariants=invariants, invariant_id=inv.id)


class InvariantItem(pytest.Item):
    def __init__(self, *, invariants: Any, invariant_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.invariants = invariants
        self.invariant_id = invariant_id

    def runtest(self) -> None:
        import attrs

        from ._tools.invariants import check_invariants

        one = attrs.evolve(
            self.invariants, invariants=tuple(i for i in self.invariants.invariants if i.id == self.invariant_id)
        )
        violations = check_invariants(_engine(self.config), one, max_examples=100)
        if violations:
            raise CaseFailedError(violations[0].describe())

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailedError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"policy invariant: {self.name}"


def pytest_unconfigure(config: pytest.Config) -> None:
    for engine in config.stash.get(_ENGINES, {}).values():
        engine.close()


class CaseFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        for case in load_cases(self.path):  # one case, or each case of a table
            yield CaseItem.from_parent(self, name=case.name, case=case)


class CaseFailedError(Exception):
    pass


class CaseItem(pytest.Item):
    def __init__(self, *, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        result = run_case(_engine(self.config), self.case)
        if not result.passed:
            raise CaseFailedError(report_failure(result))

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseFailedError):
            return str(excinfo.value)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"policy case: {self.name}"

"""The public surface: what `import policy_engine` offers, which modules are public, and that the
documentation shows only those."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

import policy_engine

ROOT = Path(__file__).resolve().parent.parent

PUBLIC_NAMES = {
    "CompileError",
    "Decision",
    "Disagreement",
    "Engine",
    "EngineFault",
    "Evidence",
    "ItemError",
    "LoadError",
    "PolicyEngineError",
    "Problem",
    "Proof",
    "Reason",
    "RemedyRef",
    "RequestError",
    "Step",
    "UnknownPlatformError",
    "load_documents",
    "resources",
}
# Modules a program may import (besides the package itself); everything else is private: its name or
# the name of a package above it starts with an underscore.
PUBLIC_MODULES = {
    "policy_engine.cli",
    "policy_engine.decision",
    "policy_engine.engine",
    "policy_engine.errors",
    "policy_engine.isolation",
    "policy_engine.parallel",
    "policy_engine.pytest_plugin",
    "policy_engine.replay",
    "policy_engine.resources",
    "policy_engine.testing",
}


def _modules() -> list[str]:
    return sorted(
        info.name for info in pkgutil.walk_packages(policy_engine.__path__, "policy_engine.") if not info.ispkg
    )


def test_the_package_exports_exactly_the_public_names() -> None:
    assert set(policy_engine.__all__) == PUBLIC_NAMES
    assert len(policy_engine.__all__) == len(PUBLIC_NAMES)  # no name twice
    for name in policy_engine.__all__:
        assert getattr(policy_engine, name) is not None


def test_every_module_is_public_or_marked_private() -> None:
    found = set(_modules()) - {"policy_engine.__main__"}
    public = {m for m in found if not any(part.startswith("_") for part in m.split(".")[1:])}
    assert public == PUBLIC_MODULES
    private = found - public
    assert private and all(re.search(r"\._", m) for m in private)


def test_public_modules_list_what_they_export() -> None:
    for name in sorted(PUBLIC_MODULES):
        module = importlib.import_module(name)
        exported = getattr(module, "__all__", None)
        assert exported, f"{name} has no __all__"
        for attr in exported:
            assert hasattr(module, attr), f"{name}.__all__ names {attr!r}, which {name} does not define"


def test_the_documentation_imports_only_public_modules() -> None:
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    imports = re.compile(r"^\s*(?:from (policy_engine[\w.]*) import|import (policy_engine[\w.]*))", re.M)
    for page in pages:
        for match in imports.finditer(page.read_text(encoding="utf-8")):
            module = match.group(1) or match.group(2)
            assert module == "policy_engine" or module in PUBLIC_MODULES, f"{page.name} imports {module}"

"""The package's shape: what `import policy_engine` offers, which modules are public, that the
documentation shows only those, and that the pipeline's stages import only the stages before them."""

from __future__ import annotations

import ast
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


# The pipeline's modules in stage order: each may import only modules before it (and `_language`, `errors`,
# `resources`, `decision`). `facts` is the encoding the compiler writes rules for and the builder writes.
PIPELINE_ORDER = ["gcpause", "load", "check", "facts", "compile", "cache", "request", "runtime", "explain"]
BELOW_PIPELINE = {"errors", "resources", "decision", "_language", "__version__"}


def _imports(path: Path) -> set[str]:
    """Modules of the package a file imports, as dotted names relative to `policy_engine`."""
    package = path.relative_to(ROOT).with_suffix("").parts[:-1]
    if path.name == "__init__.py":
        package = path.relative_to(ROOT).parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - node.level + 1])
            module = [*base[1:], *(node.module.split(".") if node.module else [])]
            if node.module:
                found.add(".".join(module))
            else:
                found.update(".".join([*module, alias.name]) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("policy_engine"):
            found.add(node.module.removeprefix("policy_engine").lstrip("."))
    return found


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "_pipeline" and len(parts) > 1 else None


def test_each_stage_imports_only_earlier_stages() -> None:
    for path in sorted((ROOT / "policy_engine" / "_pipeline").rglob("*.py")):
        rel = path.relative_to(ROOT / "policy_engine").with_suffix("").parts
        if rel == ("_pipeline", "__init__"):
            continue  # the package runs load then check
        own = rel[1]
        for module in _imports(path):
            stage = _stage(module)
            if stage is not None:
                assert stage == own or PIPELINE_ORDER.index(stage) < PIPELINE_ORDER.index(own), (
                    f"{path.name} ({own}) imports {module}, a later stage"
                )
            else:
                head = module.split(".")[0]
                assert head in BELOW_PIPELINE or module == "_pipeline", f"{path.name} imports {module}"


def test_the_language_depends_on_nothing_above_it() -> None:
    for path in sorted((ROOT / "policy_engine" / "_language").rglob("*.py")):
        for module in _imports(path):
            head = module.split(".")[0]
            assert head in {"_language", "errors", "resources"}, f"{path.name} imports {module}"


def test_third_party_imports_stay_in_their_module() -> None:
    homes = {
        "_policy_engine_dre": {"_pipeline/runtime.py"},
        "_policy_engine_json": {"_pipeline/request.py"},
        "jsonschema": {"_language/schemas.py"},
        "dask": {"replay.py"},
        "distributed": {"replay.py"},
    }
    for path in sorted((ROOT / "policy_engine").rglob("*.py")):
        rel = path.relative_to(ROOT / "policy_engine").as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if isinstance(node, ast.ImportFrom) and node.module and not node.level
                else []
            )
            for name in names:
                top = name.split(".")[0]
                if top in homes:
                    assert rel in homes[top], f"{rel} imports {name}"

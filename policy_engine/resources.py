"""Where the shipped policies, schemas and examples are: inside the installed package, or beside it in a checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["ENGINE_VERSION", "data_dir"]

# The rule engine's version: the wheel build (hatch_build.py) compiles exactly this durable_rules release
# into `_policy_engine_dre`; a test keeps the two in step.
ENGINE_VERSION = "2.0.28"

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `policies`, `schemas` or `examples` that ships with the package."""
    for candidate in (_HERE / "_data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the package's {name}/ folder is missing (looked in {_HERE / '_data'} and {_HERE.parent})")

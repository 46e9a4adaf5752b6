"""The files that ship with the package: the policies, the JSON Schemas and the example requests.

They are inside the installed package (`policy_engine/_data/`), or beside it in a source checkout; these
functions find them in either place, so a program never builds a site-packages path itself:

    from policy_engine import resources

    resources.policies_dir()        # the shipped policies: Engine.from_directory(resources.policies_dir())
    resources.schemas_dir()         # policy.json, request.json, decision.json, testcase.json, ...
    resources.schema("request")     # schemas/request.json, parsed
    resources.schema_path("decision")
    resources.examples_dir()        # example requests (examples/*.json)
    resources.validate("request", value)   # its problems against schemas/request.json (empty: valid)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import Problem

__all__ = [
    "ENGINE_VERSION",
    "SCHEMAS",
    "data_dir",
    "examples_dir",
    "policies_dir",
    "schema",
    "schema_path",
    "schemas_dir",
    "validate",
]

# The rule engine's version: the wheel build (hatch_build.py) compiles exactly this durable_rules release
# into `_policy_engine_dre`; a test keeps the two in step.
ENGINE_VERSION = "2.0.28"

SCHEMAS = ("policy", "request", "decision", "testcase", "invariants", "taxonomy")
"""The names of the shipped JSON Schemas (`schema(name)`, `schemas_dir() / f"{name}.json"`)."""

_HERE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The folder `policies`, `schemas` or `examples` that ships with the package."""
    for candidate in (_HERE / "_data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"the package's {name}/ folder is missing (looked in {_HERE / '_data'} and {_HERE.parent})")


def policies_dir() -> Path:
    """The folder of the shipped policies (`<platform>/*.json`, with their `tests/`, taxonomies and
    invariants), as `Engine.default()` loads it."""
    return data_dir("policies")


def schemas_dir() -> Path:
    """The folder of the shipped JSON Schemas (draft 2020-12), one file per name in `SCHEMAS`."""
    return data_dir("schemas")


def examples_dir() -> Path:
    """The folder of the shipped example requests."""
    return data_dir("examples")


def schema_path(name: str) -> Path:
    """The file of the shipped schema `name` (`"request"`, `"decision"`, ...: see `SCHEMAS`)."""
    if name not in SCHEMAS:
        raise ValueError(f"no shipped schema {name!r}; expected one of: {', '.join(SCHEMAS)}")
    return schemas_dir() / f"{name}.json"


def schema(name: str) -> dict[str, Any]:
    """The shipped schema `name`, parsed (a new copy on each call)."""
    with schema_path(name).open(encoding="utf-8") as fh:
        loaded: dict[str, Any] = json.load(fh)
    return loaded


def validate(name: str, value: Any, file: str = "") -> list[Problem]:
    """The problems of `value` against the shipped schema `name` (empty when it is valid), each with the
    JSON pointer of the part at fault; `file` names the value's source in the messages."""
    from ._language import schemas  # jsonschema is imported when a value is first checked, not before

    if name not in SCHEMAS:
        raise ValueError(f"no shipped schema {name!r}; expected one of: {', '.join(SCHEMAS)}")
    return schemas.validate(name, value, file)

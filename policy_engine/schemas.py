"""JSON Schema validation (draft 2020-12) of policies, requests, decisions and test cases.

The only module that imports `jsonschema`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError, best_match, relevance

from .errors import Problem
from .resources import data_dir

__all__ = ["SCHEMA_NAMES", "load_schema", "validate"]

SCHEMA_NAMES = ("policy", "request", "decision", "testcase")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema `schemas/<name>.json`."""
    with open(data_dir("schemas") / f"{name}.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def _validator(name: str) -> Any:
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _describe(error: ValidationError) -> str:
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}; expected one of: {allowed}"
    if error.validator == "required":
        return f"expected {error.message.replace(' is a required property', '')} to be present"
    if error.validator == "enum":
        return f"{error.instance!r} is not allowed; expected one of {', '.join(map(repr, error.validator_value))}"
    if error.validator == "pattern":
        return f"{error.instance!r} does not have the expected form (pattern {error.validator_value})"
    if error.validator == "format":
        return f"{error.instance!r} is not a valid {error.validator_value} (expected YYYY-MM-DD)"
    if error.validator == "type":
        return f"{json.dumps(error.instance, ensure_ascii=False)[:60]} is not of type {error.validator_value}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{json.dumps(error.instance, ensure_ascii=False)[:80]} matches none of the allowed forms"
    return error.message


def _flatten(error: ValidationError) -> ValidationError:
    # For oneOf/anyOf failures, the most relevant sub-error says more than "is not valid under any".
    while error.context:
        deeper = best_match(error.context)
        if deeper is None or len(deeper.absolute_path) < len(error.absolute_path):
            break
        error = deeper
    return error


def iter_problems(name: str, instance: Any, file: str = "") -> Iterator[Problem]:
    """Every schema violation of `instance`, most relevant first."""
    errors = sorted(_validator(name).iter_errors(instance), key=relevance)
    seen: set[tuple[str, str]] = set()
    for top in errors:
        error = _flatten(top)
        problem = Problem(file, _pointer(error.absolute_path), _describe(error), code="schema")
        if (problem.pointer, problem.message) not in seen:
            seen.add((problem.pointer, problem.message))
            yield problem


def validate(name: str, instance: Any, file: str = "") -> list[Problem]:
    """The schema problems of `instance` (empty when valid)."""
    return list(iter_problems(name, instance, file))

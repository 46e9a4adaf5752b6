"""JSON Schema validation (draft 2020-12) of policies, requests, decisions and test cases.

The only module that imports `jsonschema`, and only when a document is invalid (or its validator is asked
for): valid requests and policies are checked by code generated from the schemas, so a command that
reads valid input never pays for importing the validator.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import Problem
from ..resources import data_dir

__all__ = [
    "MAX_DEPTH",
    "MAX_STRING",
    "MAX_TEXT_BYTES",
    "SCHEMA_NAMES",
    "TOO_DEEP",
    "load_schema",
    "quoted",
    "text_fits",
    "validate",
    "value_problems",
]

SCHEMA_NAMES = ("policy", "request", "decision", "testcase", "invariants")


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """The parsed schema `schemas/<name>.json`."""
    with open(data_dir("schemas") / f"{name}.json", encoding="utf-8") as fh:
        schema: dict[str, Any] = json.load(fh)
    return schema


@functools.cache
def _registry() -> Any:
    """Every shipped schema by its `$id`, so one schema can refer to another (`policy.json#/$defs/...`)."""
    from referencing import Registry, Resource

    return Registry().with_resources(
        (load_schema(n)["$id"], Resource.from_contents(load_schema(n))) for n in (*SCHEMA_NAMES, "taxonomy")
    )


@functools.cache
def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A schema's `pattern` as JSON Schema reads it (ECMA-262, no flags): `$` holds only at the very end of
    the text, where Python's `$` also holds before a final newline (`"shoes\\n"` would pass
    `^[a-z]+$`); `\\d`, `\\w` and `\\s` stand for ASCII characters only."""
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            out.append("\\Z")
            continue
        out.append(char)
    return re.compile("".join(out), re.ASCII)


@functools.cache
def _validator(name: str) -> Any:
    schema = load_schema(name)
    import jsonschema
    import jsonschema.validators

    def pattern(validator: Any, expected: str, instance: Any, _schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and ecma_regex(expected).search(instance) is None:
            yield jsonschema.ValidationError(f"{instance!r} does not match {expected!r}")

    jsonschema.Draft202012Validator.check_schema(schema)
    checker = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"pattern": pattern})
    return checker(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER, registry=_registry())


def _pointer(path: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def quoted(value: Any, most: int) -> str:
    """A value of the input as messages quote it: text as `'text'` (like every other message), anything else as
    JSON; at most `most` characters."""
    return (repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=repr))[:most]


def _describe(error: Any) -> str:
    inst = error.instance
    path = list(error.absolute_path)
    if len(path) == 2 and path[0] == "data" and error.validator in ("type", "minItems"):  # a policy's named data
        return f"{quoted(inst, 80)} is not named data: expected text, a number, a boolean, or a non-empty list of them"
    invariant = (isinstance(error.schema, dict) and "never" in error.schema.get("properties", {})) or (
        isinstance(inst, dict) and bool({"never", "versions_of", "except_when"} & set(inst))
    )
    if invariant and error.validator in ("oneOf", "not", "required"):
        return "an invariant has either `never` or `versions_of` (optionally with `except_when`), not both"
    if isinstance(inst, dict) and "when" in inst and "id" in inst and error.validator in ("not", "oneOf", "required"):
        deciding = [k for k in ("outcome", "message", "remedies") if k in inst]
        if "derive" in inst and deciding:
            return "a rule either derives a conclusion (`derive`) or decides (`outcome` with `message`), not both"
        if "outcome" in inst and "message" not in inst:
            return "a rule with an `outcome` needs a `message` with `en` and `zh`"
        if "derive" not in inst and "outcome" not in inst:
            return "a rule needs `derive` (a conclusion) or `outcome` (deny, review, allow or advisory)"
    if (
        error.validator in ("minProperties", "maxProperties")
        and isinstance(inst, dict)
        and error.schema.get("properties")
    ):
        structure = {"field", "count", "where", "distinct", "including", "merge"}
        ops = [k for k in error.schema["properties"] if k not in structure]
        form = "a comparison" if "field" in inst else "a count" if "count" in inst else "this condition"
        found = [k for k in inst if k in ops]
        shown = ", ".join(map(repr, found)) if found else "none"
        return f"{form} takes exactly one operator, found {shown}; expected one of: {', '.join(ops)}"
    if error.validator == "not" and isinstance(inst, dict) and "count" in inst:
        return "`distinct` does not combine with `where` or `merge` in a count"
    if error.validator == "not":
        return "this combination of fields is not allowed here"
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        return f"unknown field{'s' if len(extra) > 1 else ''} {', '.join(map(repr, extra))}; expected one of: {allowed}"
    if error.validator == "required":
        return f"expected {error.message.replace(' is a required property', '')} to be present"
    if error.validator == "enum":
        return f"{error.instance!r} is not allowed; expected one of {', '.join(map(repr, error.validator_value))}"
    if error.validator == "pattern":
        return f"{quoted(error.instance, 200)} does not have the expected form (pattern {error.validator_value})"
    if error.validator == "maxItems":
        return f"a list of {len(error.instance)} entries; expected at most {error.validator_value}"
    if error.validator == "format":
        return f"{error.instance!r} is not a valid {error.validator_value} (expected YYYY-MM-DD)"
    if error.validator == "type":
        return f"{quoted(error.instance, 60)} is not of type {error.validator_value}"
    if error.validator in ("oneOf", "anyOf"):
        return f"{quoted(error.instance, 80)} matches none of the allowed forms"
    return str(error.message)


def _branch_errors(error: Any, root: dict[str, Any]) -> list[Any]:
    """For a `oneOf` of object forms, the errors of the one form the instance names by a key that form alone
    requires (`count`, `some`, `field`, ...), so that a typo inside a count is reported by the count's own
    fields; empty when no single form is named."""
    inst = error.instance
    if error.validator != "oneOf" or not isinstance(inst, dict):
        return []
    forms = []
    for form in error.validator_value:
        ref = form.get("$ref", "") if isinstance(form, dict) else ""
        forms.append(
            root.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {}) if ref.startswith("#/$defs/") else form
        )
    named = []
    for i, form in enumerate(forms):
        others = {k for j, o in enumerate(forms) if j != i for k in o.get("properties", {})}
        if any(k in inst and k not in others for k in form.get("required", ())):
            named.append(i)
    if len(named) != 1:
        return []
    return [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == named[0]]


def _flatten(error: Any, root: dict[str, Any]) -> Any:
    # For oneOf/anyOf failures, the most relevant sub-error says more than "is not valid under any".
    while error.context:
        from jsonschema.exceptions import best_match

        named = _branch_errors(error, root)
        deeper = best_match(named or error.context)
        if deeper is None or (not named and len(deeper.absolute_path) < len(error.absolute_path)):
            break
        error = deeper
    return error


def iter_problems(name: str, instance: Any, file: str = "") -> Iterator[Problem]:
    """Every schema violation of `instance`, most relevant first."""
    from jsonschema.exceptions import relevance

    errors = sorted(_validator(name).iter_errors(instance), key=relevance)
    root = _validator(name).schema
    seen: set[tuple[str, str]] = set()
    for top in errors:
        error = _flatten(top, root)
        problem = Problem(file=file, pointer=_pointer(error.absolute_path), message=_describe(error), code="PE010")
        if (problem.pointer, problem.message) not in seen:
            seen.add((problem.pointer, problem.message))
            yield problem


def validate(name: str, instance: Any, file: str = "") -> list[Problem]:
    """The schema problems of `instance` (empty when valid)."""
    return list(iter_problems(name, instance, file))


_Check = Any  # Callable[[Any], bool]

# The kinds of JSON values as the generated checkers tell them apart (exact types: a bool is no number), and
# which kind each schema type accepts (`_CodeGen.dispatch`).
_KIND_OF_TYPE = {
    "object": "dict",
    "array": "list",
    "string": "str",
    "number": "num",
    "integer": "num",
    "boolean": "bool",
    "null": "none",
}
_KIND_TESTS = {
    "list": "type(v) is list",
    "str": "type(v) is str",
    "num": "(type(v) is int or type(v) is float)",
    "bool": "type(v) is bool",
    "none": "v is None",
}
# Beyond the schema, every value must reach the rule engine faithfully (see `value_problems`): the
# generated checker tests the same limits inline, so the fast path refuses exactly what they refuse.
_TYPE_TESTS = {
    "object": "type({v}) is dict",
    "array": "type({v}) is list",
    "string": (
        "(type({v}) is str and len({v}) <= _MAXSTR and ({v}.isascii() or _utf8({v}))"
        " and (len({v}) <= _SHORT or _fits({v})))"
    ),
    "number": "(type({v}) is float and _finite({v}) or type({v}) is int and (-_SAFE <= {v} <= _SAFE or _exact({v})))",
    "integer": (
        "(type({v}) is int and (-_SAFE <= {v} <= _SAFE or _exact({v})) or type({v}) is float and {v}.is_integer())"
    ),
    "boolean": "type({v}) is bool",
    "null": "{v} is None",
}
MAX_STRING = 65_536  # characters in one string value
# Bytes of one text as the rule engine reads it (UTF-8, with JSON's escapes): durable_rules keeps a text's
# length in 16 bits, so a text of 65,536 bytes or more would compare as its first (length - 65,536) bytes.
MAX_TEXT_BYTES = 65_000
_SHORT_TEXT = MAX_TEXT_BYTES // 6  # no text this short can exceed it (at most 6 bytes a character, `\u001f`)
MAX_DEPTH = 32  # nesting of arrays and objects in a request (the schema needs 5)
_SAFE_INT = 2**53  # every integer up to this magnitude is exactly a double
_BAD_TEXT = "the text is not valid Unicode (a lone surrogate); expected text encodable as UTF-8"
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels; expected at most {MAX_DEPTH}"


def _exact_int(value: int) -> bool:
    """An integer the engine compares exactly: within its 64-bit range and exactly a double."""
    return -(2**63) < value < 2**63 and float(value) == value


def _shown_int(value: int) -> str:
    """An integer as a message shows it: in full when short, else its first digits and its size."""
    if value.bit_length() > 200:  # beyond 60 digits (and Python refuses to print past 4,300)
        sign = "negative " if value < 0 else ""
        return f"({sign}about {int(value.bit_length() * 0.30103) + 1} digits)"
    return str(value)


def _json_key(value: Any) -> Any:
    """A hashable key equal for JSON-equal values, as `uniqueItems` compares them: numbers by value
    (1 and 1.0 are one number), booleans apart from numbers, objects whatever their key order."""
    kind = type(value)
    if kind is bool:
        return ("b", value)
    if kind is int or kind is float:
        return ("n", value)
    if kind is list:
        return ("l", tuple(_json_key(x) for x in value))
    if kind is dict:
        return ("d", frozenset((k, _json_key(x)) for k, x in value.items()))
    return ("v", kind.__name__, value)


def _unique(values: list[Any]) -> bool:
    """No two items equal as JSON values (`uniqueItems`)."""
    try:
        return len({_json_key(x) for x in values}) == len(values)
    except TypeError:  # an unhashable non-JSON value: not valid anyway
        return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_ESCAPED = json.encoder.encode_basestring  # the text between quotes, as facts and rulesets are encoded


def engine_bytes(text: str) -> int:
    """The length of a text as the rule engine reads it: UTF-8, with JSON's escapes (lone surrogates, refused
    anyway, counted as three bytes)."""
    return len(_ESCAPED(text).encode("utf-8", "surrogatepass")) - 2


def text_fits(text: str) -> bool:
    """Whether the rule engine can compare the whole text (at most MAX_TEXT_BYTES bytes as it reads it)."""
    return len(text) <= _SHORT_TEXT or engine_bytes(text) <= MAX_TEXT_BYTES


def value_problems(instance: Any, file: str = "", max_depth: int = MAX_DEPTH) -> list[Problem]:
    """What the schema cannot say about a JSON value but the rule engine needs, each with its pointer.

    Numbers must be finite; integers exactly representable as a double (any up to 2^53 in magnitude);
    strings at most MAX_STRING characters, encodable as UTF-8 (no lone surrogates) and at most MAX_TEXT_BYTES
    bytes as the engine reads them (it keeps lengths in 16 bits); nesting at
    most MAX_DEPTH deep. Anything else could not be compared faithfully, so it is refused.
    """
    problems: list[Problem] = []
    stack: list[tuple[Any, str, int]] = [(instance, "", 0)]
    while stack and len(problems) < 20:
        value, pointer, depth = stack.pop()
        kind = type(value)
        if kind is float:
            if not math.isfinite(value):
                problems.append(
                    Problem(file=file, pointer=pointer, message=f"{value!r} is not a finite number", code="PE010")
                )
        elif kind is int:
            if not (-_SAFE_INT <= value <= _SAFE_INT or _exact_int(value)):
                problems.append(
                    Problem(
                        file=file,
                        pointer=pointer,
                        message=f"the integer {_shown_int(value)} cannot be compared exactly; expected at most 2^53 in "
                        "magnitude "
                        "(or a value exactly representable as a double below 2^63)",
                        code="PE010",
                    )
                )
        elif kind is str:
            if len(value) > MAX_STRING:
                problems.append(
                    Problem(
                        file=file,
                        pointer=pointer,
                        message=f"a text of {len(value)} characters; expected at most {MAX_STRING}",
                        code="PE010",
                    )
                )
            elif not value.isascii() and not _utf8(value):
                problems.append(Problem(file=file, pointer=pointer, message=_BAD_TEXT, code="PE010"))
            elif not text_fits(value):
                problems.append(
                    Problem(
                        file=file,
                        pointer=pointer,
                        message=f"a text of {engine_bytes(value)} bytes as the rule engine reads it; expected at "
                        f"most {MAX_TEXT_BYTES} (UTF-8, JSON-escaped: the engine compares no further)",
                        code="PE010",
                    )
                )
        elif kind is bool or value is None:
            pass
        elif kind is not dict and kind is not list:
            what = type(value).__name__
            problems.append(
                Problem(
                    file=file,
                    pointer=pointer,
                    message=f"a Python {what} is not a JSON value; expected text, a number, true, false, null, a list "
                    "or an object",
                    code="PE010",
                )
            )
        elif kind is dict or kind is list:
            if depth >= max_depth:
                too_deep = f"nested deeper than {max_depth} levels; expected at most {max_depth}"
                problems.append(Problem(file=file, pointer=pointer, message=too_deep, code="PE010"))
                continue
            items = value.items() if kind is dict else enumerate(value)
            for key, item in items:
                if kind is dict and type(key) is not str:
                    problems.append(
                        Problem(
                            file=file,
                            pointer=pointer,
                            message=f"a key {key!r} is not text; expected text keys",
                            code="PE010",
                        )
                    )
                    continue
                if isinstance(key, str) and not key.isascii() and not _utf8(key):
                    problems.append(Problem(file=file, pointer=pointer, message="a key " + _BAD_TEXT[9:], code="PE010"))
                    continue
                part = str(key).replace("~", "~0").replace("/", "~1")
                stack.append((item, f"{pointer}/{part}", depth + 1))
    return sorted(problems, key=lambda p: p.pointer)


_FAST_KEYWORDS = {
    "type",
    "enum",
    "pattern",
    "format",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
    "maxLength",
    "minProperties",
    "dependentRequired",
    "oneOf",
    "anyOf",
    "not",
    "$ref",
    "maxProperties",
    "propertyNames",
    "if",
    "then",
    "else",
    "uniqueItems",
    "minimum",
    "maximum",
    "minLength",
    "description",
    "default",
    "title",
    "$schema",
    "$id",
    "$defs",
}


_ANNOTATIONS = {"description", "default", "title", "$schema", "$id", "$defs"}
# The keywords that check a single value, which `_CodeGen.inline` writes in place.
_SCALAR_KEYWORDS = {"type", "enum", "pattern", "format", "maxLength", "minLength", "minimum", "maximum"}
_MEMO_TEXTS = 65_536  # valid texts remembered per pattern or format


class _CodeGen:
    """Generates Python functions that answer "is this instance valid?" for a schema.

    One function per schema node; objects dispatch on the keys the instance has (not on every property
    the schema allows). It supports exactly the keywords the request schema uses and refuses any other,
    so it cannot silently accept what the schema rejects; a test checks it agrees with jsonschema.
    """

    def __init__(self, root: dict[str, Any], prefix: str = "") -> None:
        self.root = root
        self.prefix = prefix  # of every name this generator defines, so several checkers share one module
        self.lines: list[str] = []
        self.consts: list[str] = []  # `name = expression` lines, defined after the functions they may name
        self.count = 0
        self.refs: dict[str, str] = {}
        self.made: dict[int, str] = {}  # the function generated for each schema node (of `root`, kept alive)

    def name(self, kind: str) -> str:
        self.count += 1
        return f"{self.prefix}_{kind}{self.count - 1}"

    def const(self, source: str) -> str:
        """The name of a module-level value made by the expression `source`."""
        name = self.name("c")
        self.consts.append(f"{name} = {source}")
        return name

    def ref(self, pointer: str) -> str:
        """The function checking the schema at a `$ref` (generated once; references may recurse)."""
        name = self.refs.get(pointer)
        if name is None:
            target = self.target(pointer)
            name = self.made.get(id(target))  # generated already, reached without this pointer
            if name is None:  # `function` records it before generating the body: references may recurse
                name = self.name("r")
                self.function(target, name)
            self.refs[pointer] = name
        return name

    def target(self, pointer: str) -> dict[str, Any]:
        """The schema node a `$ref` pointer (`#/$defs/...`) names."""
        node = self.root
        for part in pointer.lstrip("#/").split("/"):
            node = node[part]
        return node

    def function(self, schema: dict[str, Any], name: str | None = None) -> str:
        """The name of a generated function checking `schema`."""

        unknown = set(schema) - _FAST_KEYWORDS
        if unknown:
            raise ValueError(f"the fast checker does not support {sorted(unknown)}")
        checks = {k: v for k, v in schema.items() if k not in _ANNOTATIONS}
        if name is None and set(checks) == {"$ref"}:
            return self.ref(schema["$ref"])
        if name is None:
            made = self.made.get(id(schema))
            if made is not None:  # one function per schema node, however many places lead to it
                return made
            name = self.name("f")
        self.made[id(schema)] = name
        body: list[str] = []
        if "$ref" in schema:
            body.append(f"if not {self.ref(schema['$ref'])}(v): return False")
        for key, join in (("anyOf", " or "), ("oneOf", None)):
            if key in schema:
                parts = [self.function(sub) for sub in schema[key]]
                tests = self.dispatch(schema[key]) if key == "oneOf" else None
                if join:
                    body.append("if not (" + join.join(f"{f}(v)" for f in parts) + "): return False")
                elif tests is not None:  # only the alternative the value's type (and key) selects can hold
                    for n, (test, i) in enumerate(tests):
                        body.append(f"{'el' if n else ''}if {test}:")
                        body.append(f"    if not {parts[i]}(v): return False")
                    body.append("else:")
                    body.append("    return False")
                else:
                    body.append("if (" + " + ".join(f"bool({f}(v))" for f in parts) + ") != 1: return False")
        if "not" in schema:
            body.append(f"if {self.function(schema['not'])}(v): return False")
        if "if" in schema and ("then" in schema or "else" in schema):
            test = self.function(schema["if"])
            if "then" in schema:
                body.append(f"if {test}(v) and not {self.function(schema['then'])}(v): return False")
            if "else" in schema:
                body.append(f"if not {test}(v) and not {self.function(schema['else'])}(v): return False")
        if "minProperties" in schema:
            body.append(f"if type(v) is dict and len(v) < {int(schema['minProperties'])}: return False")
        for key, needed in schema.get("dependentRequired", {}).items():
            test = " and ".join(f"{n!r} in v" for n in needed) or "True"
            body.append(f"if type(v) is dict and {key!r} in v and not ({test}): return False")
        body += self.scalar_checks(schema, "v")
        if "minItems" in schema:
            body.append(f"if type(v) is list and len(v) < {int(schema['minItems'])}: return False")
        if "maxItems" in schema:
            body.append(f"if type(v) is list and len(v) > {int(schema['maxItems'])}: return False")
        if schema.get("uniqueItems") is True:
            body.append("if type(v) is list and len(v) > 1 and not _unique(v): return False")
        if "items" in schema:
            item = self.function(schema["items"])
            body += ["if type(v) is list:", "    for x in v:", f"        if not {item}(x): return False"]
        if any(
            k in schema for k in ("maxProperties", "propertyNames", "required", "properties", "additionalProperties")
        ):
            body.append("if type(v) is dict:")
            if "maxProperties" in schema:
                body.append(f"    if len(v) > {int(schema['maxProperties'])}: return False")
            for r in schema.get("required", ()):
                body.append(f"    if {r!r} not in v: return False")
            # A property whose schema is a plain value check is checked in the loop itself (one test of
            # the key each, no call); the others through a table of functions.
            inline = {k: self.inline(sub, "x") for k, sub in schema.get("properties", {}).items()}
            props = {k: self.function(sub) for k, sub in schema.get("properties", {}).items() if inline[k] is None}
            extra = schema.get("additionalProperties", True)
            names_ok = self.function(schema["propertyNames"]) if "propertyNames" in schema else None
            extra_ok = self.function(extra) if isinstance(extra, dict) else None
            dispatch = self.const("{" + ", ".join(f"{k!r}: {f}" for k, f in props.items()) + "}")
            body += ["    for k, x in v.items():"]
            if extra is not False:  # JSON object keys are text (a closed object refuses any other key anyway)
                body.append("        if type(k) is not str: return False")
            if names_ok:
                body.append(f"        if not {names_ok}(k): return False")
            pad = "        "
            for n, (key, lines) in enumerate((k, lines) for k, lines in inline.items() if lines is not None):
                body.append(f"{pad}{'el' if n else ''}if k == {key!r}:")
                body += [f"{pad}    {line}" for line in lines]
            if any(lines is not None for lines in inline.values()):
                body.append(f"{pad}else:")
                pad += "    "
            body += [f"{pad}f = {dispatch}.get(k)", f"{pad}if f is None:"]
            if extra is False:
                body.append(f"{pad}    return False")
            elif extra_ok:
                body.append(f"{pad}    if not {extra_ok}(x): return False")
            else:
                body.append(f"{pad}    pass")
            body.append(f"{pad}elif not f(x): return False")
        if schema.get("type") == "string" and ("pattern" in schema or "format" in schema):
            # Texts checked against a pattern or a format (dates, categories) repeat from request to
            # request: remember the valid ones (a pure check of an exact str; bounded).
            seen = self.const("set()")
            body = [f"if type(v) is str and v in {seen}: return True", *body]
            body.append(f"if len({seen}) < {_MEMO_TEXTS}: {seen}.add(v)")
        self.lines += [f"def {name}(v):", *("    " + line for line in body), "    return True", ""]
        return name

    def resolved(self, schema: dict[str, Any]) -> dict[str, Any]:
        """The schema after plain `$ref`s (a node that holds nothing but a reference and annotations)."""
        seen: set[str] = set()
        while {k for k in schema if k not in _ANNOTATIONS} == {"$ref"} and schema["$ref"] not in seen:
            seen.add(schema["$ref"])
            schema = self.target(schema["$ref"])
        return schema

    def dispatch(self, alternatives: list[dict[str, Any]]) -> list[tuple[str, int]] | None:
        """For `oneOf` alternatives that a value's type tells apart: (a test of the value, the alternative
        it selects) pairs, in order; None when the alternatives are not of that form.

        Every alternative names its `type`s. Of the value kinds (object; array; string; number or integer;
        boolean; null), each but object is accepted by at most one alternative; the alternatives accepting
        objects are closed (`additionalProperties: false`) and each requires a key that no other of them
        allows. Then a value of a kind other alternatives do not accept fails them all, an object with
        alternative i's key fails every other object alternative (a key it does not allow), and an object
        with none of the keys fails all of them: exactly one alternative holds when and only when the one
        selected holds, and the others need not be evaluated (a policy's conditions are one of seven kinds,
        an operand one of five)."""
        found = [self.resolved(alt) for alt in alternatives]
        kinds: dict[str, list[int]] = {}
        for i, alt in enumerate(found):
            types = alt.get("type")
            if types is None:
                return None
            for name in types if isinstance(types, list) else [types]:
                if name not in _KIND_OF_TYPE:
                    return None
                kinds.setdefault(_KIND_OF_TYPE[name], []).append(i)
        objects = kinds.pop("dict", [])
        if any(len(set(owners)) > 1 for owners in kinds.values()):
            return None
        tests: list[tuple[str, int]] = []
        if len(objects) == 1:
            tests.append(("type(v) is dict", objects[0]))
        elif objects:
            for i in objects:
                alt = found[i]
                if alt.get("additionalProperties") is not False or "patternProperties" in alt:
                    return None
                if not isinstance(alt.get("properties", {}), dict):
                    return None
                others = [set(found[j].get("properties", {})) for j in objects if j != i]
                key = next((r for r in alt.get("required", ()) if all(r not in names for names in others)), None)
                if key is None:
                    return None
                tests.append((f"type(v) is dict and {key!r} in v", i))
        by_alternative: dict[int, list[str]] = {}
        for kind, owners in kinds.items():
            by_alternative.setdefault(owners[0], []).append(_KIND_TESTS[kind])
        tests += [(" or ".join(found_tests), i) for i, found_tests in sorted(by_alternative.items())]
        return tests

    def scalar_checks(self, schema: dict[str, Any], v: str) -> list[str]:
        """Lines that return False when the value named `v` breaks one of the schema's value keywords."""

        lines: list[str] = []
        if "maxLength" in schema:
            lines.append(f"if type({v}) is str and len({v}) > {int(schema['maxLength'])}: return False")
        types = schema.get("type")
        if types is not None:
            names = types if isinstance(types, list) else [types]
            lines.append("if not (" + " or ".join(_TYPE_TESTS[t].format(v=v) for t in names) + "): return False")
        if "enum" in schema:
            pairs = sorted({f"({_TYPE_NAMES[type(a)]}, {a!r})" for a in schema["enum"]})
            allowed = self.const("frozenset({" + ", ".join(pairs) + "})")
            lines.append(f"if type({v}) not in _SCALARS or (type({v}), {v}) not in {allowed}: return False")
        if "pattern" in schema:
            rx = self.const(f"_ecma({schema['pattern']!r})")
            lines.append(f"if type({v}) is str and {rx}.search({v}) is None: return False")
        if "minLength" in schema:
            lines.append(f"if type({v}) is str and len({v}) < {int(schema['minLength'])}: return False")
        for key, cmp in (("minimum", "<"), ("maximum", ">")):
            if key in schema:
                lines.append(f"if type({v}) in (int, float) and {v} {cmp} {schema[key]!r}: return False")
        if schema.get("format") == "date":
            lines.append(f"if type({v}) is str and not _is_date({v}): return False")
        return lines

    def inline(self, schema: dict[str, Any], v: str) -> list[str] | None:
        """Lines checking the value named `v` in place (returning False when it is invalid), or None when
        the schema (after plain `$ref`s) checks more than a single value: objects, lists, combinations."""
        schema = self.resolved(schema)
        if not {k for k in schema if k not in _ANNOTATIONS} <= _SCALAR_KEYWORDS:
            return None
        types = schema.get("type")
        if types is None or {"object", "array"} & set(types if isinstance(types, list) else [types]):
            return None
        lines = self.scalar_checks(schema, v)
        if schema.get("type") == "string" and ("pattern" in schema or "format" in schema):
            seen = self.const("set()")  # valid texts remembered, as in `function`
            return [
                f"if type({v}) is not str or {v} not in {seen}:",
                *("    " + line for line in lines),
                f"    if len({seen}) < {_MEMO_TEXTS}: {seen}.add({v})",
            ]
        return lines

    def top(self, at: str = "") -> str:
        """The name of the function checking the subschema at the JSON pointer `at` (`source` defines it)."""
        node = self.root
        for part in at.lstrip("/").split("/") if at else ():
            node = node[part]
        return self.function(node)

    def source(self) -> str:
        """Python source defining every function and value generated so far."""
        return "\n".join([*self.lines, *self.consts, ""])


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


_TYPE_NAMES = {str: "str", int: "int", float: "float", bool: "bool", type(None): "type(None)"}
# What the generated code reads besides its own names (the shipped module imports them from here).
_HELPERS = {
    "_MAXSTR": MAX_STRING,
    "_SHORT": _SHORT_TEXT,
    "_fits": text_fits,
    "_SAFE": _SAFE_INT,
    "_exact": _exact_int,
    "_utf8": _utf8,
    "_finite": math.isfinite,
    "_unique": _unique,
    "_SCALARS": (str, int, float, bool, type(None)),
    "_is_date": _is_date,
    "_ecma": ecma_regex,
}
# The checkers the package uses, generated ahead into `_language/checkers.py` (`python -m
# policy_engine._tools.checkers` writes it; a test checks that it is what the schemas give now): a process
# then imports their bytecode instead of generating and compiling them (tens of milliseconds).
SHIPPED_CHECKERS = (("policy", ""), ("request", ""), ("request", "/properties/product"), ("testcase", ""))


@functools.cache
def _source_digest(name: str) -> str:
    """SHA-256 of what a checker of the schema `name` is generated from: the schema file and this module
    (the generator); OSError when either cannot be read."""
    schema = (data_dir("schemas") / f"{name}.json").read_bytes()
    return hashlib.sha256(schema + b"\0" + Path(__file__).read_bytes()).hexdigest()


def checkers_source() -> str:
    """The text of the module `_language/checkers.py`: the shipped checkers, generated from the schemas."""
    names = sorted({name for name, _ in SHIPPED_CHECKERS})
    digests = "".join(f"    {n!r}: {_source_digest(n)!r},\n" for n in names)
    parts = [
        '"""Validity checks generated from the JSON Schemas under `schemas/` (see `schemas.fast_checker`).\n\n'
        "Do not edit: `python -m policy_engine._tools.checkers` writes this file from the schemas, and a test\n"
        "checks that it matches them. A schema whose SHA-256 with the generator's (`schemas.py`) differs from the\n"
        'one below is checked by code generated from it when first used."""\n',
        "# ruff: noqa\n# mypy: ignore-errors\n# fmt: off\n",
        "from .schemas import _HELPERS\n\nglobals().update(_HELPERS)  # the names the generated code reads\n",
        f"SOURCE_SHA256 = {{\n{digests}}}\n",
    ]
    tops: dict[tuple[str, str], str] = {}
    for name in names:  # one generator per schema: the checkers of its parts share their functions
        gen = _CodeGen(load_schema(name), f"_{name}")
        tops.update(((n, at), gen.top(at)) for n, at in SHIPPED_CHECKERS if n == name)
        parts.append(f"\n# {name}.json\n" + gen.source())
    table = "".join(f"    ({n!r}, {at!r}): {top},\n" for (n, at), top in tops.items())
    parts.append(f"\nCHECKERS = {{\n{table}}}\n")
    return "".join(parts)


def _shipped(name: str, at: str) -> _Check | None:
    """The shipped checker of the schema `name` at `at`, if there is one and it was generated from the
    schema and by the generator as they are now."""
    if (name, at) not in SHIPPED_CHECKERS:
        return None
    try:
        from . import checkers
    except ModuleNotFoundError as exc:  # not generated (a checkout being rebuilt): generate at run time
        if exc.name != f"{__package__}.checkers":
            raise
        return None
    try:
        if checkers.SOURCE_SHA256.get(name) != _source_digest(name):
            return None
    except OSError:
        return None
    checker: _Check | None = checkers.CHECKERS.get((name, at))
    return checker


@functools.cache
def fast_checker(name: str, at: str = "") -> _Check:
    """A yes/no validity check equivalent to the schema, for the hot path (errors come from `validate`).

    `at` is a JSON pointer to a subschema (its `$ref`s resolve in the whole schema), e.g. the product
    of a request: `fast_checker("request", "/properties/product")`.
    """
    shipped = _shipped(name, at)
    if shipped is not None:
        return shipped
    gen = _CodeGen(load_schema(name), f"_{name}")
    top = gen.top(at)
    namespace = dict(_HELPERS)
    exec(compile(gen.source(), f"<checker of {name}.json{at}>", "exec"), namespace)  # from the schema file
    checker: _Check = namespace[top]
    return checker

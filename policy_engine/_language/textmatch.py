"""Case-insensitive text matching: the meaning of `contains` and `matches`.

Both compare the lowercase of a text field (`str.lower()`) with the lowercase of a literal or of a
pattern. A pattern is a small dialect, anchored (it matches the whole text; `.*` at either end means
"anywhere"):

| syntax | matches |
|---|---|
| a character | itself (in lowercase) |
| `.` | any one character |
| `[abc]`, `[a-z0-9]` | one character of the class (ranges by code point) |
| `[^abc]` | one character that is not in the class |
| `X*`, `X+`, `X?` | `X` any number of times, at least once, at most once |
| `\\X` | the character `X` itself, for `\\ . [ ] * + ? ( ) { } | ^ $` |

`(`, `)`, `{`, `}`, `|`, `^` and `$` outside a class are refused, so that a regular expression written
out of habit never silently means something else.

The matcher simulates the set of pattern positions over the text: linear in the text, never
backtracking, so no pattern can make a decision slow. The rule network does not match text itself:
durable_rules' `$mt` disagrees with these semantics on ordinary inputs (`.*babab.*` does not match
`bababa`; see docs/design.md), so the request's facts carry the result of this matcher
(`facts.FactBuilder`) and the network tests it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import attrs

__all__ = [
    "MAX_CLASS",
    "MAX_PATTERN",
    "Pattern",
    "PatternError",
    "contains",
    "fold",
    "matches",
    "parse_pattern",
    "witness",
]

MAX_PATTERN = 200  # characters in one pattern
MAX_CLASS = 65_536  # characters one class may cover (a range of CJK ideographs fits)

_META = set("\\.[]*+?(){}|^$")
_RESERVED = set("(){}|^$")
_QUANTIFIERS = set("*+?")


class PatternError(ValueError):
    """A pattern outside the dialect; the message says where and what was expected."""


def fold(text: str) -> str:
    """The form both sides of `contains` and `matches` are compared in: the lowercase (`str.lower()`)."""
    return text.lower()


@attrs.frozen
class _Item:
    """One position of a pattern: the characters it accepts, and how often."""

    chars: frozenset[str] | None  # None: any character
    negated: bool = False  # a class `[^...]`: any character but these
    repeat: str = ""  # "", "*", "?" ("X+" is kept as "X" then "X*")

    def accepts(self, ch: str) -> bool:
        if self.chars is None:
            return True
        return (ch in self.chars) != self.negated


@attrs.frozen
class Pattern:
    """A parsed pattern: items over the lowercase text."""

    source: str
    items: tuple[_Item, ...]

    def fullmatch(self, text: str) -> bool:
        """Whether the lowercase of `text` matches the whole pattern (a position-set simulation)."""
        items = self.items
        n = len(items)

        def close(states: Iterable[int]) -> set[int]:
            out: set[int] = set()
            stack = list(states)
            while stack:
                i = stack.pop()
                if i in out:
                    continue
                out.add(i)
                if i < n and items[i].repeat in ("*", "?"):
                    stack.append(i + 1)
            return out

        current = close([0])
        for ch in fold(text):
            following = []
            for i in current:
                if i < n and items[i].accepts(ch):
                    following.append(i if items[i].repeat == "*" else i + 1)
            if not following:
                return False
            current = close(following)
        return n in current


def _lower_one(ch: str, where: str) -> str:
    low = fold(ch)
    if len(low) != 1:
        raise PatternError(f"{ch!r} {where} is {len(low)} characters in lowercase; expected one character")
    return low


def _read_class(src: str, i: int) -> tuple[_Item, int]:
    """The class starting at src[i] == "[", and the index after its "]"."""
    start = i
    i += 1
    negated = i < len(src) and src[i] == "^"
    if negated:
        i += 1
    members: list[str] = []
    pending_range = False
    while True:
        if i >= len(src):
            raise PatternError(f"the class opened at character {start + 1} is not closed; expected `]`")
        ch = src[i]
        if ch == "]":
            break
        if ch == "\\":
            if i + 1 >= len(src):
                raise PatternError("the pattern ends with `\\`; expected a character after it")
            ch = src[i + 1]
            i += 1
        elif ch == "-" and members and not pending_range and i + 1 < len(src) and src[i + 1] != "]":
            pending_range = True
            i += 1
            continue
        elif ch in "[":
            raise PatternError(f"`[` inside the class opened at character {start + 1}; write `\\[` for the character")
        if pending_range:
            low = members.pop()
            if ord(ch) < ord(low):
                raise PatternError(f"the range {low}-{ch} is reversed; expected the smaller character first")
            if ord(ch) - ord(low) + 1 > MAX_CLASS:
                raise PatternError(
                    f"the range {low}-{ch} covers {ord(ch) - ord(low) + 1} characters; expected at most {MAX_CLASS}"
                )
            members.extend(chr(c) for c in range(ord(low), ord(ch) + 1))
            pending_range = False
        else:
            members.append(ch)
        i += 1
    if not members:
        raise PatternError(f"the class opened at character {start + 1} is empty; expected at least one character")
    lowered = {_lower_one(m, "in a class") for m in members}
    if len(lowered) > MAX_CLASS:
        raise PatternError(f"a class covers {len(lowered)} characters; expected at most {MAX_CLASS}")
    return _Item(frozenset(lowered), negated), i + 1


@functools.lru_cache(maxsize=4096)
def parse_pattern(source: str) -> Pattern:
    """Parse a pattern of the dialect; PatternError says what is wrong and where."""
    if not source:
        raise PatternError("the pattern is empty; expected at least one character")
    if len(source) > MAX_PATTERN:
        raise PatternError(f"the pattern has {len(source)} characters; expected at most {MAX_PATTERN}")
    items: list[_Item] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch in _QUANTIFIERS:
            if not items or items[-1].repeat:
                raise PatternError(
                    f"`{ch}` at character {i + 1} follows nothing it can repeat; expected a character, "
                    "`.` or a class before it (write `\\" + ch + "` for the character)"
                )
            last = items.pop()
            if ch == "+":
                items += [last, attrs.evolve(last, repeat="*")]
            else:
                items.append(attrs.evolve(last, repeat=ch))
            i += 1
            continue
        if ch in _RESERVED:
            raise PatternError(
                f"`{ch}` at character {i + 1} is not part of the pattern language (no groups, "
                "alternatives, counts or anchors: a pattern always matches the whole text); "
                f"write `\\{ch}` for the character"
            )
        if ch == "]":
            raise PatternError(f"`]` at character {i + 1} closes no class; write `\\]` for the character")
        if ch == "[":
            item, i = _read_class(source, i)
            items.append(item)
            continue
        if ch == ".":
            items.append(_Item(None))
            i += 1
            continue
        if ch == "\\":
            if i + 1 >= len(source):
                raise PatternError("the pattern ends with `\\`; expected a character after it")
            ch = source[i + 1]
            if ch not in _META:
                raise PatternError(
                    f"`\\{ch}` at character {i + 1} escapes a character that needs no escape; expected one of "
                    + " ".join(sorted(_META))
                )
            i += 1
        low = fold(ch)
        if len(low) > 1 and i + 1 < len(source) and source[i + 1] in _QUANTIFIERS:
            raise PatternError(f"{ch!r} is {len(low)} characters in lowercase; it cannot take `{source[i + 1]}`")
        items.extend(_Item(frozenset(c)) for c in low)
        i += 1
    return Pattern(source, tuple(items))


def matches(text: str, pattern: str) -> bool:
    """The meaning of `matches`: the lowercase text matches the whole pattern."""
    return parse_pattern(pattern).fullmatch(text)


def contains(text: str, literal: str) -> bool:
    """The meaning of `contains`: the lowercase text contains the lowercase literal."""
    return fold(literal) in fold(text)


def witness(pattern: str) -> str:
    """A text the pattern matches (the shortest by construction), for request generators."""
    out = []
    for item in parse_pattern(pattern).items:
        if item.repeat:
            continue
        if item.chars is None:
            out.append("x")
        elif not item.negated:
            out.append(min(item.chars))
        else:
            out.append(next(chr(c) for c in range(0x20, 0x110000) if chr(c) not in item.chars))
    return "".join(out)

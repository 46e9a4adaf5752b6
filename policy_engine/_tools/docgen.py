"""Reference pages generated from the policies: one Markdown page per platform, listing every policy
version, its window, its sources and its rules. `tests/test_docs.py` keeps `docs/platforms/` in step.

`policy-engine docs [--policies DIR] [--out DIR] [--check]` writes (or, with `--check`,
compares) the pages; exit 0 when written or up to date, 1 when `--check` finds a page out of date, 2 on
bad input.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .._language.model import Policy
from .._pipeline import load_documents
from .._pipeline.explain import describe
from ..errors import LoadError
from ..resources import data_dir

__all__ = ["add_arguments", "pages", "platform_page", "run", "write_pages"]


_BASIS = {
    "stated": "stated by a source",
    "earliest-dated-source": "the date of the earliest dated source; the rule may be older",
    "assumed": "assumed, no source dates it",
}


def _window(p: Policy) -> str:
    return f"from {p.effective_from}" + (f" until {p.effective_until} (exclusive)" if p.effective_until else "")


def _heading(p: Policy, versions: Sequence[Policy]) -> str:
    return f"{p.id}@{p.version}" if len(versions) > 1 else p.id


def _anchor(heading: str) -> str:
    """The anchor Markdown renderers give a heading: lowercase, punctuation dropped, spaces as dashes."""
    return "".join(c for c in heading.lower().replace(" ", "-") if c.isalnum() or c in "-_")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def platform_page(platform: str, policies: Sequence[Policy], root: Path) -> str:
    """The Markdown page of one platform (`*` policies are listed on their own page)."""
    mine = sorted((p for p in policies if p.platform == platform), key=lambda p: (p.id, p.effective_from))
    title = "Every platform" if platform == "*" else platform
    lines = [
        f"# {title}",
        "",
        "Generated from the policy documents; do not edit by hand (`policy-engine docs` rewrites it).",
        "",
    ]
    if platform != "*":
        lines += ["The policies for every platform (`*`) apply here too: see [common](common.md).", ""]
    by_id: dict[str, list[Policy]] = defaultdict(list)
    for p in mine:
        by_id[p.id].append(p)
    lines += ["| policy | versions |", "|---|---|"]
    for pid, versions in by_id.items():
        links = "; ".join(f"[{v.version}](#{_anchor(_heading(v, versions))}) {_window(v)}" for v in versions)
        lines.append(f"| {pid} | {links} |")
    for versions in by_id.values():
        for p in versions:
            rel = (
                Path(p.file).resolve().relative_to(root.resolve()) if root in Path(p.file).resolve().parents else p.file
            )
            lines += [
                "",
                f"## {p.id}@{p.version}" if len(versions) > 1 else f"## {p.id}",
                "",
                f"**{p.title}** — version {p.version}, {_window(p)}. File: `{rel}`.",
                "",
            ]
            if p.effective_from_basis:
                basis = _BASIS.get(p.effective_from_basis, p.effective_from_basis)
                note = f": {p.effective_from_note}" if p.effective_from_note else "."
                lines += [f"Start date {p.effective_from} ({basis}){note}", ""]
            if p.description:
                lines += [p.description, ""]
            lines += ["Sources:", ""]
            for i, s in enumerate(p.sources):
                where = s.url or s.document or ""
                lines.append(
                    f"{i}. {where} ({s.provenance}{', ' + s.date if s.date else ''})"
                    + (f": {s.note}" if s.note else "")
                )
            lines += [
                "",
                "| rule | does | when | provenance | sources | message (en) | remedies |",
                "|---|---|---|---|---|---|---|",
            ]
            for r in p.rules:
                does = f"derives `{r.derive}`" if r.derive else f"**{r.outcome}**"
                when = " and ".join(describe(c) for c in r.when.conditions)
                refs = ", ".join(map(str, r.source_refs)) or "all"
                msg = r.message.en if r.message else ""
                remedies = ", ".join(f"`{m.code}`" for m in r.remedies)
                lines.append(
                    f"| `{r.id}` | {does} | {_cell(when)} | {r.provenance} | {refs} | {_cell(msg)} | {remedies} |"
                )
    return "\n".join(lines) + "\n"


def pages(policies: Sequence[Policy], root: Path) -> dict[str, str]:
    """File name (`<platform>.md`, `common.md` for `*`) -> page text, for every platform."""
    return {
        ("common.md" if platform == "*" else f"{platform}.md"): platform_page(platform, policies, root)
        for platform in sorted({p.platform for p in policies})
    }


def write_pages(policies: Sequence[Policy], root: Path, out: Path) -> list[Path]:
    """Write `out/<platform>.md` for every platform (and `common.md` for `*`); returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in pages(policies, root).items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


DEFAULT_OUT = Path("docs") / "platforms"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `policy-engine docs`."""
    parser.add_argument(
        "--policies",
        metavar="DIR",
        help="the policy folder (default: the shipped policies); file paths in the "
        "pages are relative to its parent folder",
    )
    parser.add_argument(
        "--out", metavar="DIR", help=f"where the pages go (default: {DEFAULT_OUT} in the current folder, if it exists)"
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if a page is missing or out of date"
    )


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """`policy-engine docs`: write or check the pages; returns the exit code."""
    target = Path(args.out) if args.out else DEFAULT_OUT
    if args.out is None and not target.is_dir():
        print(
            f"policy-engine docs: {target.resolve()} does not exist; expected --out DIR or a run from the repository",
            file=err,
        )
        return 2
    if target.exists() and not target.is_dir():
        print(f"policy-engine docs: {target} is not a folder; expected a folder for the pages", file=err)
        return 2
    policy_dir = Path(args.policies) if args.policies else data_dir("policies")
    try:
        policies = load_documents([policy_dir])
    except LoadError as exc:
        print(f"policy-engine docs: {exc}", file=err)
        return 2
    expected = pages(policies, policy_dir.resolve().parent)
    if args.check:
        stale = [
            target / name
            for name, text in expected.items()
            if not (target / name).is_file() or (target / name).read_text(encoding="utf-8") != text
        ]
        for path in stale:
            print(f"out of date: {path}", file=out)
        print(f"{len(stale)} of {len(expected)} pages out of date", file=out)
        return 1 if stale else 0
    try:
        written = write_pages(policies, policy_dir.resolve().parent, target)
    except OSError as exc:
        print(f"policy-engine docs: cannot write the pages to {target}: {exc.strerror or exc}", file=err)
        return 2
    print("\n".join(map(str, written)), file=out)
    return 0

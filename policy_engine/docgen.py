"""Reference pages generated from the policies: one Markdown page per platform, listing every policy
version, its window, its sources and its rules. `tests/test_docs.py` keeps `docs/platforms/` in step."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from .explain import describe
from .model import Policy

__all__ = ["platform_page", "write_pages"]


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
        "Generated from the policy documents; do not edit by hand (`python -m policy_engine.docgen` rewrites it).",
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


def write_pages(policies: Sequence[Policy], root: Path, out: Path) -> list[Path]:
    """Write `out/<platform>.md` for every platform (and `common.md` for `*`); returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for platform in sorted({p.platform for p in policies}):
        path = out / ("common.md" if platform == "*" else f"{platform}.md")
        path.write_text(platform_page(platform, policies, root), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    from .load import load_documents
    from .resources import data_dir

    repo = Path(__file__).resolve().parent.parent
    pages = write_pages(load_documents([data_dir("policies")]), repo, repo / "docs" / "platforms")
    print("\n".join(map(str, pages)))

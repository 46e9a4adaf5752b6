"""Write `policy_engine/_language/checkers.py`, the validity checks generated from the JSON Schemas.

    python -m policy_engine._tools.checkers          # after changing a schema under schemas/
    python -m policy_engine._tools.checkers --check  # exit 1 when the file does not match the schemas

A schema changed without running this still validates correctly: its checker is then generated when a
process first uses it (the shipped file records each schema's SHA-256), only slower to start.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .._language.schemas import checkers_source

__all__ = ["main", "target"]


def target() -> Path:
    """The shipped module's path in this package."""
    return Path(__file__).resolve().parent.parent / "_language" / "checkers.py"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="only check that the file matches the schemas")
    args = ap.parse_args(argv)
    text = checkers_source()
    path = target()
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} does not match the schemas: run python -m policy_engine._tools.checkers", file=sys.stderr)
            return 1
        print(f"{path} matches the schemas")
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The python examples of docs/testing.md run, in order, as one program."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "testing.md"
_PYTHON = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_the_examples_of_the_testing_guide_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = _PYTHON.findall(PAGE.read_text(encoding="utf-8"))
    assert len(blocks) >= 6, "docs/testing.md lost its examples"
    monkeypatch.chdir(ROOT)
    namespace: dict[str, object] = {"__name__": "testing_docs"}
    for n, block in enumerate(blocks, start=1):
        try:
            exec(compile(block, f"docs/testing.md block {n}", "exec"), namespace)
        except SystemExit as exc:
            pytest.fail(f"docs/testing.md block {n}: {exc}")
    assert capsys.readouterr().out.splitlines() == ["the new policies allow a request the old ones do not"]
    # The failure the page shows is the one the example gets.
    shown = re.search(r"^```text\n(the new policies allow.*?)^```", PAGE.read_text(encoding="utf-8"), re.S | re.M)
    assert shown and shown.group(1) == f"{namespace['report']}\n"

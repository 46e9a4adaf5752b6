"""`policy-engine docs`: writes or checks the platform pages, and never guesses where they go."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from policy_engine import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "docs" / "platforms"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["docs", *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_help_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, _ = run("--help")
    assert code == 0 and "--out DIR" in out and "--check" in out
    assert list(tmp_path.iterdir()) == []


def test_without_out_outside_a_repository_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run()
    assert code == 2 and out == ""
    assert f"{tmp_path / 'docs' / 'platforms'} does not exist; expected --out DIR" in err
    assert list(tmp_path.iterdir()) == []


def test_writes_the_pages_into_out(tmp_path: Path) -> None:
    code, out, _ = run("--policies", str(ROOT / "policies"), "--out", str(tmp_path / "pages"))
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "pages").iterdir())
    assert written == sorted(p.name for p in PAGES.iterdir())
    for name in written:
        assert (tmp_path / "pages" / name).read_text(encoding="utf-8") == (PAGES / name).read_text(encoding="utf-8")
    assert sorted(out.splitlines()) == [str(tmp_path / "pages" / name) for name in written]


def test_default_out_is_docs_platforms_of_the_current_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    code, out, _ = run("--check")
    assert (code, out.splitlines()[-1]) == (0, f"0 of {len(list(PAGES.iterdir()))} pages out of date")


def test_check_reports_stale_and_missing_pages(tmp_path: Path) -> None:
    run("--out", str(tmp_path), "--policies", str(ROOT / "policies"))
    (tmp_path / "wish.md").write_text("old\n", encoding="utf-8")
    (tmp_path / "ebay.md").unlink()
    code, out, _ = run("--out", str(tmp_path), "--policies", str(ROOT / "policies"), "--check")
    assert code == 1
    assert out.splitlines() == [
        f"out of date: {tmp_path / 'ebay.md'}",
        f"out of date: {tmp_path / 'wish.md'}",
        out.splitlines()[-1],
    ]
    assert (tmp_path / "wish.md").read_text(encoding="utf-8") == "old\n" and not (tmp_path / "ebay.md").exists()


def test_bad_policies_and_bad_out_exit_2(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_text("[", encoding="utf-8")
    code, _, err = run("--policies", str(tmp_path), "--out", str(tmp_path / "pages"))
    assert code == 2 and f"{tmp_path / 'p.json'}:/: error PE002: malformed JSON" in err
    assert not (tmp_path / "pages").exists()
    code, _, err = run("--out", str(tmp_path / "p.json"))
    assert code == 2 and f"{tmp_path / 'p.json'} is not a folder" in err
    assert run("--bogus")[0] == 2

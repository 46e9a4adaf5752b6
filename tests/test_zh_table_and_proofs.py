"""Chinese output beyond messages: the decision table and the fixed phrases of proofs."""

from __future__ import annotations

import io
import json
from pathlib import Path

from policy_engine import Engine
from policy_engine._pipeline.explain import render_text
from policy_engine.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_chinese_table_has_chinese_headers_and_outcomes() -> None:
    out, err = io.StringIO(), io.StringIO()
    example = str(ROOT / "examples" / "aliexpress-shoes-denied.json")
    assert main(["decide", example, "--format", "table", "--lang", "zh"], out, err) == 0
    head, row = out.getvalue().splitlines()[:2]
    assert head.split() == ["请求", "平台", "结果", "决定规则", "提示"]
    assert "拒绝 deny" in row
    out = io.StringIO()
    assert main(["decide", example, "--format", "table"], out, err) == 0
    assert out.getvalue().split()[:3] == ["request", "platform", "outcome"]


def test_chinese_proofs_translate_derived_and_absent_steps() -> None:
    request = json.loads((ROOT / "examples" / "aliexpress-shoes-denied.json").read_text(encoding="utf-8"))
    decision = Engine.default().decide(request)
    zh = render_text(decision, "zh")
    assert "closed-category-admitted 未被推导出" in zh and "brand-mark-filed 成立" in zh
    assert "was not derived" not in zh and " holds\n" not in zh
    en = render_text(decision, "en")
    assert "closed-category-admitted was not derived" in en and "brand-mark-filed holds" in en

"""Chinese text output: outcome labels, enumerated values and headers are in Chinese."""

from __future__ import annotations

from policy_engine import Engine
from policy_engine._pipeline.explain import render_text


def test_chinese_text_translates_outcomes_enum_values_and_headers() -> None:
    engine = Engine.default()
    denied = engine.decide(
        {
            "platform": "dhgate",
            "as_of": "2022-01-01",
            "seller": {"entity_type": "individual_business"},
            "product": {"category": "phones/cellphones", "brand": "Xenon"},
        }
    )
    text = render_text(denied, "zh")
    assert text.splitlines()[0].startswith("拒绝 DENY  dhgate  截至 2022-01-01")
    assert "个体工商户（individual_business）" in text
    assert "依据：" in text and "补救措施：" in text and "生效的政策：" in text
    english = render_text(denied, "en")
    assert english.startswith("DENY  dhgate") and "individual_business)" in english and "个体" not in english

    allowed = engine.decide(
        {
            "platform": "aliexpress",
            "as_of": "2024-03-01",
            "seller": {"entity_type": "enterprise"},
            "product": {"category": "home-garden/kitchen"},
        }
    )
    zh = render_text(allowed, "zh").splitlines()
    assert zh[0].startswith("允许 ALLOW") and zh[1].endswith("平台默认结果为 允许")

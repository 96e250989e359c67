"""The explanation trace, the cases tests/test_explain.py leaves out (mutation testing of
rules/explain.py): a money-or-none limit shown in yuan, a source with a document number and no
address, a value with no source at all, a zero amount, the default language."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.explain import Explanation, Step, param_use

USER = """
region: {code: "990121", pinyin: explain_more, name_zh: 说明补充, name_en: Explain more,
         inherits: national, pooling_level: hypothetical, confidence: low}
sources:
  numbered_only: {title: "a notice", doc_no: "某医保发〔2024〕2号", confidence: medium}
parameters:
  settlement.personal_oop_cap: [{from: 2024-01-01, value: "5000.5", source: numbered_only}]
"""


def snap(tmp_path: Path) -> Snapshot:
    f = tmp_path / "more.yaml"
    f.write_text(USER, encoding="utf-8")
    return Registry(policy_files=[f]).policy("explain_more").at(dt.date(2024, 3, 1))


def test_a_money_or_none_limit_is_shown_in_yuan_with_its_document_number(tmp_path: Path) -> None:
    """settlement.personal_oop_cap is money-or-none: a set cap shows as money; a source with a
    document number and no address shows the number alone."""
    use = param_use(snap(tmp_path), "settlement.personal_oop_cap")
    assert (use.shown, use.source, use.confidence) == ("5000.50 元/yuan", "某医保发〔2024〕2号", "medium")
    assert use.render("en") == (
        "annual cap on the personal in-scope burden (seed 000 proposal) = 5000.50 元/yuan "
        "[settlement.personal_oop_cap; from 2024-01-01; explain_more; source: 某医保发〔2024〕2号 (medium)]")
    assert use.render("zh") == (
        "个人负担年度封顶 = 5000.50 元/yuan〔settlement.personal_oop_cap；自 2024-01-01 起；explain_more；"
        "来源：某医保发〔2024〕2号（可信度 medium）〕")


def test_a_value_without_a_source_says_so_with_dashes(tmp_path: Path) -> None:
    """national.yaml leaves contribution.flexible.rate unknown with no source: shown as '-'."""
    use = param_use(snap(tmp_path), "contribution.flexible.rate")
    assert (use.source, use.confidence, use.start, use.defined_in) == (
        "-", "-", dt.date(1998, 1, 1), "national")
    assert use.render("en").endswith("[contribution.flexible.rate; from 1998-01-01; national; source: - (-)]")
    assert use.render("zh").endswith(
        "〔contribution.flexible.rate；自 1998-01-01 起；national；来源：-（可信度 -）〕")


def test_a_zero_amount_is_shown_and_json_defaults_to_chinese() -> None:
    """0 fen is an amount ("= 0.00"), unlike a step with no amount; render and JSON default to zh."""
    ex = Explanation("标题", "Title")
    ex.add(Step("零", "zero", "0 × 2%", 0))
    assert ex.render() == "标题\n1. 零: 0 × 2% = 0.00"
    assert ex.render("en") == "Title\n1. zero: 0 × 2% = 0.00"
    assert ex.as_json() == [{"step": "零", "arithmetic": "0 × 2%", "amount": "0.00", "params": []}]
    assert ex.steps == [Step("零", "zero", "0 × 2%", 0, ())]

"""The explanation trace: each parameter line names its value, key, start date, defining file and
source (document number, else title, with the address), in Chinese and in English."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot
from yibao.rules.explain import Explanation, Step, param_use

USER = """
region: {code: "990120", pinyin: explain_check, name_zh: 说明核对, name_en: Explain check,
         inherits: beijing, pooling_level: hypothetical, confidence: low}
sources:
  titled: {title: "a title only", confidence: low}
  numbered: {title: "a numbered notice", doc_no: "某医保发〔2024〕1号", href: "https://example.org/n",
             confidence: high}
parameters:
  contribution.base_cap: [{from: 2024-01-01, value: "33891.50", source: numbered}]
  contribution.individual_rate.basic: [{from: 2024-01-01, value: "2.5%", source: titled}]
"""


def snap(tmp_path: Path) -> Snapshot:
    f = tmp_path / "x.yaml"
    f.write_text(USER, encoding="utf-8")
    return Registry(policy_files=[f]).policy("explain_check").at(dt.date(2024, 3, 1))


def test_money_rate_and_plain_values_with_their_sources(tmp_path: Path) -> None:
    """Money shows in yuan with its unit, rates as percentages, other values as they are."""
    s = snap(tmp_path)
    cap = param_use(s, "contribution.base_cap")
    assert cap.render("en") == ("contribution base cap = 33891.50 元/yuan [contribution.base_cap; "
                                "from 2024-01-01; explain_check; source: 某医保发〔2024〕1号 "
                                "<https://example.org/n> (high)]")
    assert cap.render("zh") == ("缴费基数上限 = 33891.50 元/yuan〔contribution.base_cap；自 2024-01-01 "
                                "起；explain_check；来源：某医保发〔2024〕1号 <https://example.org/n>"
                                "（可信度 high）〕")
    rate = param_use(s, "contribution.individual_rate.basic")
    assert rate.shown == "2.5%" and rate.source == "a title only" and rate.confidence == "low"
    years = param_use(s, "retirement.min_years.male")
    assert years.shown == "25" and years.defined_in == "beijing"
    assert param_use(s, "contribution.base_cap", "one cell").shown == "one cell"


def test_an_explanation_renders_numbered_steps_and_json(tmp_path: Path) -> None:
    s = snap(tmp_path)
    ex = Explanation("标题", "Title")
    ex.add(Step("甲", "A", "1 + 1", 200, (param_use(s, "contribution.individual_rate.basic"),)))
    ex.add(Step("乙", "B", "x"))
    assert ex.render() == ex.render("zh")
    assert ex.render("zh").splitlines() == [
        "标题", "1. 甲: 1 + 1 = 2.00",
        "    · 个人缴费比例 = 2.5%〔contribution.individual_rate.basic；自 2024-01-01 起；explain_check；"
        "来源：a title only（可信度 low）〕", "2. 乙: x"]
    assert ex.render("en").splitlines()[:2] == ["Title", "1. A: 1 + 1 = 2.00"]
    assert ex.render("en").splitlines()[3] == "2. B: x"
    assert ex.as_json("en") == [
        {"step": "A", "arithmetic": "1 + 1", "amount": "2.00",
         "params": [{"key": "contribution.individual_rate.basic", "value": "2.5%",
                     "source": "a title only", "confidence": "low",
                     "effective_from": "2024-01-01", "defined_in": "explain_check"}]},
        {"step": "B", "arithmetic": "x", "amount": None, "params": []}]
    assert ex.as_json()[0]["step"] == "甲"


def test_a_value_of_none_reads_as_no_limit() -> None:
    """`none` in a policy file means no limit (docs/policy-format.md §3), not the word None."""
    import datetime as dt

    from yibao.policy.registry import Registry
    from yibao.rules.explain import param_use

    snap = Registry().policy("national").at(dt.date(2024, 1, 1))
    use = param_use(snap, "settlement.personal_oop_cap")
    assert use.shown == "不设上限 / no limit"
    assert "None" not in use.render("en")

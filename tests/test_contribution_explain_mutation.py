"""The contribution breakdown, step by step, for each person type (mutation testing of
rules/contribution_explain.py).

Uses the check region of tests/test_contribution_mutation.py (made-up, distinct values). Every
figure is "computed by us from DOMAIN.md §2 and that region's values"; the parameter lines'
rendering itself is checked in tests/test_explain.py, here we check which parameters each step
cites, with which value, and from which file and date.
"""

from __future__ import annotations

import datetime as dt

import pytest

import test_contribution_mutation as cm
from yibao.policy.registry import Registry
from yibao.rules.contribution import ContributionParams, assess_contributions
from yibao.rules.contribution_explain import explain_contribution
from yibao.rules.explain import Explanation

Make = cm.Make
k = cm.k
make = cm.make  # the check region, a module fixture
FILE = "contrib_mut"  # the check region's pinyin, shown as the file that defines a value
OWN = ("2024-01-01", FILE)
NATIONAL = ("1998-01-01", "national")


def explain(p: ContributionParams, kind: int, wage_fen: int, option: int = 0) -> Explanation:
    cols = assess_contributions([wage_fen], [kind], p, option=[option])
    return explain_contribution(p, cols, 0, kind, wage_fen, option)


def lines(ex: Explanation, lang: str) -> list[str]:
    """The title and the step lines, without the parameter lines."""
    return [ln for ln in ex.render(lang).splitlines() if not ln.startswith("    · ")]


def cited(ex: Explanation) -> list[list[tuple[str, str, str, str]]]:
    """Per step: (key, value shown, effective from, defining file) of each parameter cited."""
    return [[(p["key"], p["value"], p["effective_from"], p["defined_in"]) for p in s["params"]]
            for s in ex.as_json("en")]


def test_unit_employee_breakdown_in_chinese(make: Make) -> None:
    """Wage 12345.67 → base 12346; 7% / 0.7% / 1.1% / 1.3% employer, 2% + 3 yuan individual."""
    assert lines(explain(make(), 0, 1_234_567), "zh") == [
        "缴费核对 2024-03-01 在职职工月缴费",
        "1. 缴费基数 = 申报工资取整后限定在上下限之间: min(max(round(12345.67), 3000.00), 30000.00)"
        " = 12346.00",
        "2. 单位缴费（基本医疗，入统筹基金）: 12346.00 × 7% (fen_half_up) = 864.22",
        "3. 单位缴费（生育，入生育基金）: 12346.00 × 0.7% (fen_half_up) = 86.42",
        "4. 单位缴费（大额互助，入大额基金）: 12346.00 × 1.1% (fen_half_up) = 135.81",
        "5. 单位缴费（地方附加，入地方附加基金）: 12346.00 × 1.3% (fen_half_up) = 160.50",
        "6. 个人缴费（入个人账户）: 12346.00 × 2% (fen_half_up) = 246.92",
        "7. 定额缴费（入大额基金）: 3.00 = 3.00",
        "8. 合计：单位 + 个人: 1246.95 + 249.92 = 1496.87",
        "9. 去向：统筹 / 个人账户 / 生育 / 大额 / 地方附加: 864.22 / 246.92 / 86.42 / 138.81 / 160.50"
        " = 1496.87",
    ]


def test_unit_employee_breakdown_in_english_with_its_citations(make: Make) -> None:
    ex = explain(make(), 0, 1_234_567)
    assert lines(ex, "en") == [
        "Contribution check 2024-03-01 monthly contribution, in_service",
        "1. base = declared wage, rounded, clamped to the floor and cap: "
        "min(max(round(12345.67), 3000.00), 30000.00) = 12346.00",
        "2. employer, basic medical (pooled fund): 12346.00 × 7% (fen_half_up) = 864.22",
        "3. employer, maternity (maternity fund): 12346.00 × 0.7% (fen_half_up) = 86.42",
        "4. employer, large-amount mutual aid (large-amount fund): 12346.00 × 1.1% (fen_half_up)"
        " = 135.81",
        "5. employer, local supplement (local supplement fund): 12346.00 × 1.3% (fen_half_up) = 160.50",
        "6. individual contribution (individual account): 12346.00 × 2% (fen_half_up) = 246.92",
        "7. fixed monthly premium (large-amount fund): 3.00 = 3.00",
        "8. total: employer + individual: 1246.95 + 249.92 = 1496.87",
        "9. routing: pooled / individual account / maternity / large-amount / local supplement: "
        "864.22 / 246.92 / 86.42 / 138.81 / 160.50 = 1496.87",
    ]
    rounding = ("contribution.amount_rounding", "fen_half_up", *NATIONAL)
    assert cited(ex) == [
        [("contribution.base_floor", "3000.00 元/yuan", *OWN),
         ("contribution.base_cap", "30000.00 元/yuan", *OWN),
         ("contribution.base_rounding", "yuan_half_up", *NATIONAL)],
        [("contribution.employer_rate.basic", "7%", *OWN), rounding],
        [("contribution.employer_rate.maternity", "0.7%", *OWN), rounding],
        [("contribution.employer_rate.large_amount", "1.1%", *OWN), rounding],
        [("contribution.employer_rate.local_supplement", "1.3%", *OWN), rounding],
        [("contribution.individual_rate.basic", "2%", *OWN), rounding],
        [("contribution.individual_fixed_premium", "3.00 元/yuan", *OWN)],
        [], [],
    ]
    assert [s["amount"] for s in ex.as_json()] == [
        "12346.00", "864.22", "86.42", "135.81", "160.50", "246.92", "3.00", "1496.87", "1496.87"]


def test_flexible_worker_breakdown_names_the_chosen_option(make: Make) -> None:
    """Option 2 (300% of 10001 = 30003): 6% = 1800.18 to the pooled fund, 2 yuan fixed."""
    ex = explain(make(), 1, 0, 2)
    assert lines(ex, "zh") == [
        "缴费核对 2024-03-01 灵活就业人员月缴费",
        "1. 缴费基数 = 社会平均工资 × 所选基数比例，按基数取整规则取整: round(10001.00 × 300%) = 30003.00",
        "2. 个人缴费（入统筹基金，由本人全额缴纳）: 30003.00 × 6% (fen_half_up) = 1800.18",
        "3. 定额缴费（入大额基金）: 2.00 = 2.00",
        "4. 合计：单位 + 个人: 0.00 + 1802.18 = 1802.18",
        "5. 去向：统筹 / 个人账户 / 生育 / 大额 / 地方附加: 1800.18 / 0.00 / 0.00 / 2.00 / 0.00 = 1802.18",
    ]
    assert lines(ex, "en")[:4] == [
        "Contribution check 2024-03-01 monthly contribution, flexible",
        "1. base = average wage × the chosen base option, rounded by the base rounding rule: "
        "round(10001.00 × 300%) = 30003.00",
        "2. individual contribution (pooled fund, paid by the worker alone): "
        "30003.00 × 6% (fen_half_up) = 1800.18",
        "3. fixed monthly premium (large-amount fund): 2.00 = 2.00",
    ]
    assert cited(ex)[:3] == [
        [("contribution.average_wage_monthly", "10001.00 元/yuan", *OWN),
         ("contribution.flexible.base_options", "60%, 100%, 300%", *OWN),
         ("contribution.base_rounding", "yuan_half_up", *NATIONAL)],
        [("contribution.flexible.rate", "6%", *OWN),
         ("contribution.amount_rounding", "fen_half_up", *NATIONAL)],
        [("contribution.flexible.fixed_premium", "2.00 元/yuan", *OWN)],
    ]
    assert lines(explain(make(), 1, 0, 0), "en")[1].endswith("round(10001.00 × 60%) = 6001.00")


def test_new_form_breakdown_shows_the_base_share(make: Make) -> None:
    """12346 × 80% = 9876.8 → 9877; 5% = 493.85 to the pooled fund; the flexible 2-yuan premium."""
    ex = explain(make(), 2, 1_234_567)
    assert lines(ex, "zh") == [
        "缴费核对 2024-03-01 新就业形态劳动者月缴费",
        "1. 缴费基数 = 申报工资取整后限定在上下限之间: "
        "round(min(max(round(12345.67), 3000.00), 30000.00) × 80%) = 9877.00",
        "2. 个人缴费（入统筹基金，由本人全额缴纳）: 9877.00 × 5% (fen_half_up) = 493.85",
        "3. 定额缴费（入大额基金）: 2.00 = 2.00",
        "4. 合计：单位 + 个人: 0.00 + 495.85 = 495.85",
        "5. 去向：统筹 / 个人账户 / 生育 / 大额 / 地方附加: 493.85 / 0.00 / 0.00 / 2.00 / 0.00 = 495.85",
    ]
    assert lines(ex, "en")[0] == "Contribution check 2024-03-01 monthly contribution, new_form"
    assert cited(ex)[:3] == [
        [("contribution.base_floor", "3000.00 元/yuan", *OWN),
         ("contribution.base_cap", "30000.00 元/yuan", *OWN),
         ("contribution.base_rounding", "yuan_half_up", *NATIONAL),
         ("contribution.new_form.base_share", "80%", *OWN)],
        [("contribution.new_form.rate", "5%", *OWN),
         ("contribution.amount_rounding", "fen_half_up", *NATIONAL)],
        [("contribution.flexible.fixed_premium", "2.00 元/yuan", *OWN)],
    ]


def test_retiree_breakdown_has_no_base_and_the_retiree_premium(make: Make) -> None:
    ex = explain(make(), 3, 1_234_567)
    assert lines(ex, "zh") == [
        "缴费核对 2024-03-01 退休人员月缴费",
        "1. 退休人员不缴基本医疗保险费，无缴费基数: 0 = 0.00",
        "2. 定额缴费（入大额基金）: 4.50 = 4.50",
        "3. 合计：单位 + 个人: 0.00 + 4.50 = 4.50",
        "4. 去向：统筹 / 个人账户 / 生育 / 大额 / 地方附加: 0.00 / 0.00 / 0.00 / 4.50 / 0.00 = 4.50",
    ]
    assert lines(ex, "en")[:3] == [
        "Contribution check 2024-03-01 monthly contribution, retiree",
        "1. retirees pay no basic contribution: no base: 0 = 0.00",
        "2. fixed monthly premium (large-amount fund): 4.50 = 4.50",
    ]
    assert cited(ex) == [[], [("contribution.retiree_fixed_premium", "4.50 元/yuan", *OWN)], [], []]


def test_zero_rates_and_zero_premiums_are_left_out(make: Make) -> None:
    """A component at 0% (no maternity, no local supplement) and a 0-yuan premium get no step."""
    p = make(**{k("contribution.employer_rate.maternity"): '"0%"',
                k("contribution.employer_rate.local_supplement"): '"0%"',
                k("contribution.individual_fixed_premium"): "0",
                k("contribution.retiree_fixed_premium"): "0"})
    heads = [s["step"] for s in explain(p, 0, 1_234_567).as_json("en")]
    assert heads == ["base = declared wage, rounded, clamped to the floor and cap",
                     "employer, basic medical (pooled fund)",
                     "employer, large-amount mutual aid (large-amount fund)",
                     "individual contribution (individual account)", "total: employer + individual",
                     "routing: pooled / individual account / maternity / large-amount / local supplement"]
    assert len(explain(p, 3, 0).steps) == 3


def test_derived_limits_are_said_derived_and_cite_the_average_wage_once(make: Make) -> None:
    """No published limits: 60% / 300% of 10001 → 6001 / 30003; each parameter is cited once."""
    p = make(**{k("contribution.base_floor"): None, k("contribution.base_cap"): None})
    ex = explain(p, 0, 1_234_567)
    assert lines(ex, "zh")[1] == ("1. 缴费基数 = 申报工资取整后限定在上下限之间"
                                  "（floor、cap 为推算值 derived）: "
                                  "min(max(round(12345.67), 6001.00), 30003.00) = 12346.00")
    assert lines(ex, "en")[1] == ("1. base = declared wage, rounded, clamped to the floor and cap "
                                  "(floor, cap derived): min(max(round(12345.67), 6001.00), 30003.00)"
                                  " = 12346.00")
    assert [c[0] for c in cited(ex)[0]] == [
        "contribution.average_wage_monthly", "contribution.base_floor_share",
        "contribution.base_rounding", "contribution.base_cap_share"]
    only_cap = make(**{k("contribution.base_cap"): None})
    assert "(cap derived)" in lines(explain(only_cap, 0, 0), "en")[1]


@pytest.mark.parametrize(("rounding", "shown"), [("jiao_up", "jiao_up"), ("yuan_down", "yuan_down")])
def test_the_amount_rounding_rule_is_named_in_each_amount(make: Make, rounding: str, shown: str) -> None:
    p = make(**{k("contribution.amount_rounding"): rounding})
    assert f"× 7% ({shown})" in lines(explain(p, 0, 1_234_567), "en")[2]


def test_the_option_defaults_to_the_first(make: Make) -> None:
    """No option given: the first base option (60% of 10001 → 6001) is the one explained."""
    p = make()
    cols = assess_contributions([0], [1], p)
    ex = explain_contribution(p, cols, 0, 1, 0)
    assert lines(ex, "en")[1].endswith("round(10001.00 × 60%) = 6001.00")


def test_beijing_2021_limits_are_marked_derived() -> None:
    """beijing.yaml marks the 2021-07 floor 5360 and cap 28221 derived (back-computed from the 2022
    notice, 京人社保发〔2022〕30号, and the +9.50% / +12.98% report): the breakdown says so."""
    p = ContributionParams.from_snapshot(Registry().policy("beijing").at(dt.date(2021, 7, 1)))
    assert (p.limits["floor"].fen, p.limits["floor"].derived) == (536_000, True)
    assert (p.limits["cap"].fen, p.limits["cap"].derived) == (2_822_100, True)
    ex = explain(p, 0, 1_000_000)
    assert lines(ex, "en")[1] == ("1. base = declared wage, rounded, clamped to the floor and cap "
                                  "(floor, cap derived): min(max(round(10000.00), 5360.00), 28221.00)"
                                  " = 10000.00")
    assert [c[0] for c in cited(ex)[0]] == [
        "contribution.base_floor", "contribution.base_cap", "contribution.base_rounding"]

"""The breakdown of one row of a contribution assessment, in Chinese or English.

Built from the arrays :func:`yibao.rules.contribution.assess_contributions` returned for row ``i``
and the parameters that compiled them — never a second calculation (ARCHITECTURE: one rule).
"""

from __future__ import annotations

from yibao.money import fen_to_yuan_str, rate_bp_to_str
from yibao.policy.resolve import Snapshot
from yibao.rules.contribution import (
    COLUMNS,
    F_EMP_BASIC,
    F_EMP_LARGE,
    F_EMP_LOCAL,
    F_EMP_MAT,
    F_FIXED,
    F_IND_RATE,
    F_MODE,
    F_SHARE,
    MODE_CLAMP,
    MODE_OPTION,
    PERSON_TYPES,
    ContributionColumns,
    ContributionParams,
    assess_contributions,
    person_type_codes,
)
from yibao.rules.explain import Explanation, ParamUse, Step, param_use

__all__ = ["COLUMN_LABELS", "assess_one", "explain_contribution"]

#: The amounts :func:`assess_one` returns, in order, with their names in Chinese and English (the
#: counter, the CLI and the web calculator show these beside the field name).
COLUMN_LABELS: dict[str, tuple[str, str]] = {
    "base": ("缴费基数", "contribution base"),
    "employer_basic": ("单位缴费（基本医疗）", "employer, basic medical"),
    "employer_maternity": ("单位缴费（生育）", "employer, maternity"),
    "employer_large_amount": ("单位缴费（大额互助）", "employer, large-amount mutual aid"),
    "employer_local_supplement": ("单位缴费（地方附加）", "employer, local supplement"),
    "individual_basic": ("个人缴费（基本医疗）", "individual, basic medical"),
    "fixed_premium": ("大额互助定额（个人）", "large-amount fixed premium (individual)"),
    "to_pooled_fund": ("划入统筹基金", "to the pooled fund"),
    "to_individual_account": ("划入个人账户", "to the individual account"),
    "to_maternity_fund": ("划入生育保险基金", "to the maternity fund"),
    "to_large_amount_fund": ("划入大额医疗费用补助基金", "to the large-amount fund"),
    "to_local_supplement_fund": ("划入地方附加基金", "to the local supplement fund"),
    "employer_total": ("单位缴费合计", "employer total"),
    "individual_total": ("个人缴费合计", "individual total"),
    "total": ("缴费合计", "total"),
}


def assess_one(snap: Snapshot, wage_fen: int, person_type: str,
               option: int = 0) -> tuple[dict[str, int], Explanation]:
    """One person's month, as the counter, the CLI and the web calculator show it: every column and
    total in fen, named without the ``_fen`` suffix, and the explanation."""
    kind = person_type_codes([person_type])
    params = ContributionParams.from_snapshot(snap)
    cols = assess_contributions([wage_fen], kind, params, option=[option])
    amounts = {k.removesuffix("_fen"): v for k, v in cols.row(0).items()}
    return amounts, explain_contribution(params, cols, 0, int(kind[0]), wage_fen, option)

_TYPE_ZH = {"in_service": "在职职工", "flexible": "灵活就业人员", "new_form": "新就业形态劳动者",
            "retiree": "退休人员"}
_EMPLOYER = (
    (F_EMP_BASIC, "basic", 1, "单位缴费（基本医疗，入统筹基金）", "employer, basic medical (pooled fund)"),
    (F_EMP_MAT, "maternity", 2, "单位缴费（生育，入生育基金）", "employer, maternity (maternity fund)"),
    (F_EMP_LARGE, "large_amount", 3, "单位缴费（大额互助，入大额基金）",
     "employer, large-amount mutual aid (large-amount fund)"),
    (F_EMP_LOCAL, "local_supplement", 4, "单位缴费（地方附加，入地方附加基金）",
     "employer, local supplement (local supplement fund)"),
)


def _uses(params: ContributionParams, keys: tuple[str, ...]) -> tuple[ParamUse, ...]:
    return tuple(param_use(params.snap, k) for k in dict.fromkeys(keys))


def _base_step(params: ContributionParams, t: int, wage_fen: int, base_fen: int, option: int) -> Step:
    row = params.table[t]
    mode = int(row[F_MODE])
    if mode == MODE_OPTION:
        okeys = ("contribution.average_wage_monthly", "contribution.flexible.base_options",
                 "contribution.base_rounding")
        opts = params.snap.get(okeys[1])
        shown = ", ".join(rate_bp_to_str(int(o)) for o in opts)
        uses = (param_use(params.snap, okeys[0]), param_use(params.snap, okeys[1], shown),
                param_use(params.snap, okeys[2]))
        return Step("缴费基数 = 社会平均工资 × 所选基数比例，按基数取整规则取整",
                    "base = average wage × the chosen base option, rounded by the base rounding rule",
                    f"round({fen_to_yuan_str(int(params.snap.get(okeys[0])))} × "
                    f"{rate_bp_to_str(int(opts[option]))})", base_fen, uses)
    if mode != MODE_CLAMP:
        return Step("退休人员不缴基本医疗保险费，无缴费基数", "retirees pay no basic contribution: no base",
                    "0", 0)
    lo, hi = params.limits["floor"], params.limits["cap"]
    derived = [w for w, lim in (("floor", lo), ("cap", hi)) if lim.derived]
    note_zh = f"（{'、'.join(derived)} 为推算值 derived）" if derived else ""
    note_en = f" ({', '.join(derived)} derived)" if derived else ""
    arith = (f"min(max(round({fen_to_yuan_str(wage_fen)}), {fen_to_yuan_str(lo.fen)}), "
             f"{fen_to_yuan_str(hi.fen)})")
    keys: tuple[str, ...] = (*lo.keys, *hi.keys, "contribution.base_rounding")
    share = int(row[F_SHARE])
    if share != 10_000:
        arith = f"round({arith} × {rate_bp_to_str(share)})"
        keys = (*keys, "contribution.new_form.base_share")
    return Step(f"缴费基数 = 申报工资取整后限定在上下限之间{note_zh}",
                f"base = declared wage, rounded, clamped to the floor and cap{note_en}",
                arith, base_fen, _uses(params, keys))


def explain_contribution(params: ContributionParams, cols: ContributionColumns, i: int,
                         person_type: int, wage_fen: int, option: int = 0) -> Explanation:
    """Explain row ``i`` (its person type code, declared wage, base option) of an assessment."""
    name = PERSON_TYPES[person_type]
    ex = Explanation(f"{params.snap.region.name_zh} {params.snap.date} {_TYPE_ZH[name]}月缴费",
                     f"{params.snap.region.name_en} {params.snap.date} monthly contribution, {name}")
    r = cols.row(i)
    base = r["base_fen"]
    ex.add(_base_step(params, person_type, wage_fen, base, option))
    row = params.table[person_type]
    au = str(params.amount_rounding)
    for f, comp, col, zh, en in _EMPLOYER:
        rate = int(row[f])
        if rate:
            key = f"contribution.employer_rate.{comp}"
            ex.add(Step(zh, en, f"{fen_to_yuan_str(base)} × {rate_bp_to_str(rate)} ({au})",
                        r[COLUMNS[col]], _uses(params, (key, "contribution.amount_rounding"))))
    rate_key = {"in_service": "contribution.individual_rate.basic",
                "flexible": "contribution.flexible.rate",
                "new_form": "contribution.new_form.rate"}.get(name)
    if rate_key is not None:
        dest_zh, dest_en = (("入个人账户", "individual account") if name == "in_service"
                            else ("入统筹基金，由本人全额缴纳", "pooled fund, paid by the worker alone"))
        ex.add(Step(f"个人缴费（{dest_zh}）", f"individual contribution ({dest_en})",
                    f"{fen_to_yuan_str(base)} × {rate_bp_to_str(int(row[F_IND_RATE]))} ({au})",
                    r["individual_basic_fen"], _uses(params, (rate_key, "contribution.amount_rounding"))))
    fixed_key = {"in_service": "contribution.individual_fixed_premium",
                 "retiree": "contribution.retiree_fixed_premium"}.get(name,
                                                                      "contribution.flexible.fixed_premium")
    if int(row[F_FIXED]):
        ex.add(Step("定额缴费（入大额基金）", "fixed monthly premium (large-amount fund)",
                    fen_to_yuan_str(int(row[F_FIXED])), r["fixed_premium_fen"],
                    _uses(params, (fixed_key,))))
    ex.add(Step("合计：单位 + 个人", "total: employer + individual",
                f"{fen_to_yuan_str(r['employer_total_fen'])} + "
                f"{fen_to_yuan_str(r['individual_total_fen'])}", r["total_fen"]))
    ex.add(Step("去向：统筹 / 个人账户 / 生育 / 大额 / 地方附加",
                "routing: pooled / individual account / maternity / large-amount / local supplement",
                " / ".join(fen_to_yuan_str(r[c]) for c in (
                    "to_pooled_fund_fen", "to_individual_account_fen", "to_maternity_fund_fen",
                    "to_large_amount_fund_fen", "to_local_supplement_fund_fen")), r["total_fen"]))
    return ex


"""The closed catalogue of policy parameters: every key a region file may set.

A key names a concept from the glossary (DOMAIN.md §11), its value kind and its unit. The
catalogue is closed: a region file with a key not listed here fails to load. Adding a parameter
means adding it here, to ``params/national.yaml`` (a value or ``unknown``) and to
docs/policy-format.md.

Benefit classes and facility levels are closed enums too. A table that leaves a class or level
out falls back as documented in :data:`CLASS_FALLBACK` / :data:`LEVEL_FALLBACK`; otherwise the cell
is unknown, never invented.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "BENEFIT_CLASSES",
    "CATALOGUE",
    "CLASS_FALLBACK",
    "LEVELS",
    "LEVEL_FALLBACK",
    "Kind",
    "ParamSpec",
    "spec",
]


class Kind(StrEnum):
    """How a value is written in YAML and what it becomes in Python."""

    money = "money"  # yuan in YAML → int fen
    money_or_none = "money_or_none"  # "none" = no limit
    rate = "rate"  # "9.8%" / 0.098 → int basis points
    integer = "integer"  # months, years, ages: int
    boolean = "boolean"
    choice = "choice"  # one of ParamSpec.choices
    choices = "choices"  # a list drawn from ParamSpec.choices
    month_day = "month_day"  # "07-01"
    rounding = "rounding"  # "yuan_half_up"
    date_or_none = "date_or_none"  # "2000-12-31" or "none"
    by_class_money = "by_class_money"
    by_class_money_or_none = "by_class_money_or_none"
    by_class_rate = "by_class_rate"
    by_class_level_money = "by_class_level_money"
    by_class_level_rate = "by_class_level_rate"
    bands = "bands"  # [{upto: money|none, ratio: by_class_level_rate}]
    age_tiers_rate = "age_tiers_rate"  # [{age_from: n, value: rate}]
    age_tiers_money = "age_tiers_money"
    rate_list = "rate_list"


BENEFIT_CLASSES: tuple[str, ...] = (
    "in_service",  # 在职职工 (unit employees)
    "flexible",  # 灵活就业人员 in service
    "retired",  # 退休人员
    "retired_senior",  # retirees at or above benefit_class.senior_age
    "retired_early",  # retirees retired before benefit_class.early_retiree_before (上海 "老人")
)
CLASS_FALLBACK: dict[str, str] = {
    "flexible": "in_service",
    "retired_senior": "retired",
    "retired_early": "retired",
}

LEVELS: tuple[str, ...] = (
    "pharmacy",  # 定点药店
    "community",  # 基层/社区 facilities
    "level_1",  # 一级
    "level_2",  # 二级
    "level_3",  # 三级
    "level_3a",  # 三级甲等, where a region sets it apart (银川)
)
LEVEL_FALLBACK: dict[str, str] = {"community": "level_1", "level_3a": "level_3"}


@dataclass(frozen=True)
class ParamSpec:
    key: str
    kind: Kind
    unit: str
    zh: str
    en: str
    choices: tuple[str, ...] = ()


_ROUTE = ("pooled_fund", "individual_account", "maternity_fund", "large_amount_fund",
          "local_supplement_fund")
_SCOPE = ("per_admission", "per_year")
_BASIS = ("cost", "fund_payment")
_ACCOUNT_PAYS = ("deductible", "coinsurance", "preselfpay", "over_ceiling", "over_limit",
                 "full_self_pay")


def _p(key: str, kind: Kind, unit: str, zh: str, en: str, choices: tuple[str, ...] = ()) -> ParamSpec:
    return ParamSpec(key, kind, unit, zh, en, choices)


def _settlement(kind: str, zh_kind: str) -> list[ParamSpec]:
    k = f"settlement.{kind}"
    return [
        _p(f"{k}.deductible.scope", Kind.choice, "-", f"{zh_kind}起付线计算范围",
           f"{kind} deductible scope", _SCOPE),
        _p(f"{k}.deductible.first", Kind.by_class_level_money, "yuan", f"{zh_kind}起付线（首次/年度）",
           f"{kind} deductible (first admission, or per year)"),
        _p(f"{k}.deductible.second", Kind.by_class_level_money, "yuan", f"{zh_kind}第二次住院起付线",
           f"{kind} deductible for the second admission"),
        _p(f"{k}.deductible.third_plus", Kind.by_class_level_money, "yuan",
           f"{zh_kind}第三次及以后住院起付线", f"{kind} deductible for the third and later admissions"),
        _p(f"{k}.bands", Kind.bands, "yuan", f"{zh_kind}分段支付比例", f"{kind} reimbursement bands"),
        _p(f"{k}.band_basis", Kind.choice, "-", f"{zh_kind}分段依据（费用或基金支付额）",
           f"{kind} bands measured on cost or on fund payment", _BASIS),
        _p(f"{k}.pooled_ceiling", Kind.by_class_money_or_none, "yuan/year",
           f"{zh_kind}统筹基金年度封顶线", f"{kind} pooled-fund annual ceiling"),
        _p(f"{k}.ceiling_basis", Kind.choice, "-", f"{zh_kind}封顶线依据（费用或基金支付额）",
           f"{kind} ceiling measured on cost or on fund payment", _BASIS),
        _p(f"{k}.ceiling_shared_with_inpatient", Kind.boolean, "-", f"{zh_kind}与住院共用封顶线",
           f"{kind} shares the inpatient pooled ceiling"),
        _p(f"{k}.large_amount.ratio", Kind.by_class_rate, "bp", f"{zh_kind}大额（封顶线以上）支付比例",
           f"{kind} large-amount segment ratio (above the pooled ceiling)"),
        _p(f"{k}.large_amount.ceiling", Kind.by_class_money_or_none, "yuan/year",
           f"{zh_kind}大额年度限额", f"{kind} large-amount annual limit"),
        _p(f"{k}.large_amount.ceiling_basis", Kind.choice, "-", f"{zh_kind}大额限额依据",
           f"{kind} large-amount limit measured on cost or on fund payment", _BASIS),
    ]


CATALOGUE: dict[str, ParamSpec] = {
    s.key: s
    for s in [
        # -- benefit year and classes ------------------------------------------------------
        _p("benefit_year.start", Kind.month_day, "MM-DD", "医保年度起始日", "insurance year start"),
        _p("benefit_class.senior_age", Kind.integer, "years", "高龄退休人员年龄",
           "age from which a retiree is in class retired_senior"),
        _p("benefit_class.early_retiree_before", Kind.date_or_none, "date",
           "早期退休人员界限日（此日前退休）", "retired on or before this date: class retired_early"),
        # -- contribution --------------------------------------------------------------------
        _p("contribution.average_wage_monthly", Kind.money, "yuan/month", "缴费基数所依社会平均工资（月）",
           "local average monthly wage the base limits derive from"),
        _p("contribution.base_floor", Kind.money, "yuan/month", "缴费基数下限", "contribution base floor"),
        _p("contribution.base_cap", Kind.money, "yuan/month", "缴费基数上限", "contribution base cap"),
        _p("contribution.base_floor_share", Kind.rate, "bp of average wage", "缴费基数下限比例",
           "base floor as a share of the average wage (used when no floor is published)"),
        _p("contribution.base_cap_share", Kind.rate, "bp of average wage", "缴费基数上限比例",
           "base cap as a share of the average wage (used when no cap is published)"),
        _p("contribution.base_rounding", Kind.rounding, "-", "缴费基数取整", "rounding of the base"),
        _p("contribution.amount_rounding", Kind.rounding, "-", "缴费金额取整",
           "rounding of each contribution amount"),
        _p("contribution.employer_rate.basic", Kind.rate, "bp", "单位缴费比例（基本医疗）",
           "employer rate, basic medical (to the pooled fund)"),
        _p("contribution.employer_rate.maternity", Kind.rate, "bp", "单位缴费比例（生育，并入部分）",
           "employer rate, maternity component (to the maternity fund)"),
        _p("contribution.employer_rate.large_amount", Kind.rate, "bp", "单位缴费比例（大额互助）",
           "employer rate, large-amount mutual aid (to the large-amount fund)"),
        _p("contribution.employer_rate.local_supplement", Kind.rate, "bp", "单位缴费比例（地方附加）",
           "employer rate, local supplement (to the local supplement fund)"),
        _p("contribution.individual_rate.basic", Kind.rate, "bp", "个人缴费比例",
           "individual rate (to the individual account)"),
        _p("contribution.individual_fixed_premium", Kind.money, "yuan/month", "在职人员大额互助定额",
           "in-service fixed monthly premium (to the large-amount fund)"),
        _p("contribution.retiree_fixed_premium", Kind.money, "yuan/month", "退休人员大额互助定额",
           "retiree fixed monthly premium (to the large-amount fund)"),
        _p("contribution.retiree_rate", Kind.rate, "bp of own pension", "退休人员缴费比例（占本人养老金）",
           "retiree contribution rate on the own monthly pension (to the pooled fund; seed 000 proposal)"),
        _p("contribution.flexible.rate", Kind.rate, "bp", "灵活就业人员缴费比例",
           "flexible-worker rate (total, paid by the worker)"),
        _p("contribution.flexible.account_rate", Kind.rate, "bp", "灵活就业人员计入个人账户比例",
           "part of the flexible-worker rate credited to the account"),
        _p("contribution.flexible.base_choice", Kind.choice, "-", "灵活就业人员基数选择方式",
           "how a flexible worker's base is set", ("fixed_options", "free_within_limits")),
        _p("contribution.flexible.base_options", Kind.rate_list, "bp of average wage",
           "灵活就业人员可选基数（占社平工资比例）", "flexible-worker base options (share of average wage)"),
        _p("contribution.flexible.scheme", Kind.choice, "-", "灵活就业人员参保方式",
           "flexible-worker scheme", ("pooling_plus_account", "pooling_only")),
        _p("contribution.flexible.fixed_premium", Kind.money, "yuan/month", "灵活就业人员大额定额",
           "flexible-worker fixed monthly premium"),
        _p("contribution.new_form.rate", Kind.rate, "bp", "新就业形态劳动者缴费比例",
           "new-form worker rate"),
        _p("contribution.new_form.base_share", Kind.rate, "bp", "新就业形态劳动者基数比例",
           "new-form worker base as a share of the ordinary base"),
        _p("contribution.new_form.with_account", Kind.boolean, "-", "新就业形态劳动者是否建个人账户",
           "new-form workers have an individual account"),
        # -- individual account --------------------------------------------------------------
        _p("account.regime", Kind.choice, "-", "个人账户划入办法", "account crediting regime",
           ("pre_2021_reform", "post_2021_reform")),
        _p("account.in_service.individual_share", Kind.rate, "bp", "个人缴费计入个人账户比例",
           "share of the individual contribution credited to the account"),
        _p("account.in_service.employer_tiers", Kind.age_tiers_rate, "bp of base",
           "单位缴费划入个人账户比例（按年龄）", "employer part credited to the account, by age"),
        _p("account.in_service.tiers_cover", Kind.choice, "-", "年龄段比例含义",
           "whether the age-tier rate is the employer part or the whole credit",
           ("employer_part", "total_credit")),
        _p("account.flexible.credited", Kind.boolean, "-", "灵活就业人员是否划入个人账户",
           "flexible workers get account credits"),
        _p("account.retiree.mode", Kind.choice, "-", "退休人员个人账户划入方式", "retiree credit mode",
           ("fixed_monthly", "pct_own_pension", "pct_average_pension", "pct_average_wage")),
        _p("account.retiree.fixed_tiers", Kind.age_tiers_money, "yuan/month",
           "退休人员定额划入（按年龄）", "retiree fixed monthly credit, by age"),
        _p("account.retiree.rate_tiers", Kind.age_tiers_rate, "bp", "退休人员按比例划入（按年龄）",
           "retiree credit rate, by age"),
        _p("account.retiree.average_pension_monthly", Kind.money, "yuan/month",
           "核定划入所依平均基本养老金（月）", "average monthly pension the credit is based on"),
        _p("account.retiree.flexible_factor", Kind.rate, "bp", "灵活就业退休人员划入系数",
           "share of the retiree credit for retirees who were flexible workers"),
        _p("account.credit_rounding", Kind.rounding, "-", "个人账户划入取整", "rounding of credits"),
        _p("account.family_mutual_aid.relations", Kind.choices, "-", "个人账户家庭共济可用亲属",
           "relatives whose costs the account may pay (family mutual aid)",
           ("spouse", "child", "parent", "near_relative")),
        # -- settlement ----------------------------------------------------------------------
        *_settlement("inpatient", "住院"),
        *_settlement("outpatient", "普通门诊"),
        _p("settlement.category_b_first_self_pay", Kind.rate, "bp", "乙类先行自付比例",
           "category-B first self-pay share"),
        _p("settlement.account_pays", Kind.choices, "-", "个人账户可支付的个人负担部分",
           "parts of the personal share the account may pay", _ACCOUNT_PAYS),
        _p("settlement.personal_oop_cap", Kind.money_or_none, "yuan/year", "个人负担年度封顶",
           "annual cap on the personal in-scope burden (seed 000 proposal)"),
        _p("settlement.rounding", Kind.rounding, "-", "结算金额取整", "rounding of fund payments"),
        _p("remote.registered_ratio_reduction", Kind.rate, "bp", "异地就医已备案支付比例降低",
           "remote care, registered or referred: ratio reduction (percentage points)"),
        _p("remote.unregistered_ratio_reduction", Kind.rate, "bp", "异地就医未备案支付比例降低",
           "remote care, not registered: ratio reduction (percentage points)"),
        # -- eligibility ---------------------------------------------------------------------
        # -- enrollment ----------------------------------------------------------------------
        _p("enrollment.flexible.hukou_required", Kind.choice, "-", "灵活就业人员参保户籍条件",
           "hukou condition for flexible workers enrolling",
           ("none", "local_hukou", "local_hukou_or_residence")),
        _p("eligibility.waiting.unit_months", Kind.integer, "months", "单位职工新参保等待期",
           "waiting period, unit employees enrolling"),
        _p("eligibility.waiting.flexible_months", Kind.integer, "months", "灵活就业人员新参保等待期",
           "waiting period, flexible workers enrolling"),
        _p("eligibility.waiting.after_gap_months", Kind.integer, "months", "断保超期后等待期",
           "waiting period after a gap longer than the back-payable gap"),
        _p("eligibility.waiting.after_gap_backpaid_months", Kind.integer, "months",
           "断保超期但已补缴的等待期", "waiting period after a long gap that was back-paid"),
        _p("eligibility.waiting.reduced_share", Kind.rate, "bp", "等待期内待遇比例",
           "share of benefits paid during a waiting period (0 = none)"),
        _p("eligibility.backpay_max_gap_months", Kind.integer, "months", "可补缴视为连续的最长断保月数",
           "longest gap that back-payment keeps continuous"),
        _p("eligibility.benefit_start", Kind.choice, "-", "待遇享受起始", "when benefits start",
           ("same_month", "next_month")),
        _p("eligibility.waiting.max_months", Kind.integer, "months", "等待期最长月数",
           "longest waiting period any rule of the region sets"),
        # -- retirement ----------------------------------------------------------------------
        _p("retirement.min_years.male", Kind.integer, "years", "男性最低缴费年限",
           "minimum contribution years, men"),
        _p("retirement.min_years.female", Kind.integer, "years", "女性最低缴费年限",
           "minimum contribution years, women"),
        _p("retirement.min_local_actual_years", Kind.integer, "years", "本地实际缴费最低年限",
           "minimum years actually paid locally"),
        _p("retirement.deemed_years_count", Kind.boolean, "-", "视同缴费年限是否计入",
           "deemed years count towards the minimum"),
        _p("retirement.shortfall.base_share", Kind.rate, "bp", "补缴基数（占社平工资比例）",
           "shortfall payment base as a share of the average wage"),
        _p("retirement.shortfall.rate", Kind.rate, "bp", "补缴费率", "shortfall payment rate"),
        _p("retirement.shortfall.mode", Kind.choice, "-", "缴费年限不足的处理", "how a shortfall is met",
           ("lump_sum_payment", "continue_paying")),
        # -- transfer ------------------------------------------------------------------------
        _p("transfer.years_conversion_ratio", Kind.rate, "bp", "转入缴费年限折算比例",
           "conversion ratio applied to years transferred in"),
        _p("transfer.account_balance_follows", Kind.boolean, "-", "个人账户余额随转",
           "the account balance moves with the member"),
        # -- resident insurance, for comparison ----------------------------------------------
        _p("resident.individual_contribution", Kind.money, "yuan/year", "城乡居民医保个人缴费",
           "resident insurance: individual contribution per year"),
        _p("resident.subsidy", Kind.money, "yuan/year", "城乡居民医保财政补助",
           "resident insurance: government subsidy per year"),
        _p("resident.waiting_months", Kind.integer, "months", "城乡居民医保等待期",
           "resident insurance: waiting period for late enrollment"),
        _p("resident.inpatient.deductible", Kind.by_class_level_money, "yuan", "城乡居民医保住院起付线",
           "resident insurance: inpatient deductible"),
        _p("resident.inpatient.ratio", Kind.by_class_level_rate, "bp", "城乡居民医保住院支付比例",
           "resident insurance: inpatient fund share"),
        _p("resident.inpatient.ceiling", Kind.money_or_none, "yuan/year", "城乡居民医保住院封顶线",
           "resident insurance: inpatient annual ceiling"),
    ]
}


def spec(key: str) -> ParamSpec:
    """The spec of a catalogue key (KeyError if the key is not in the closed catalogue)."""
    return CATALOGUE[key]

"""The pages' words in Chinese and English (Chinese first)."""

from __future__ import annotations

from typing import Final

__all__ = ["TEXT", "lang_of", "t"]

TEXT: Final[dict[str, tuple[str, str]]] = {
    "site": ("医保", "yibao"),
    "switch": ("English", "中文"),
    "calculator": ("缴费与报销计算器", "Contribution and reimbursement calculator"),
    "chooser": ("灵活就业人员参保方案比较", "Which scheme? A flexible worker's choice"),
    "compare": ("地区政策对比", "Regions side by side"),
    "region": ("统筹地区", "Pooling region"),
    "date": ("日期", "Date"),
    "wage": ("月工资（元）", "Monthly wage (yuan)"),
    "person_type": ("人员类别", "Member type"),
    "in_service": ("在职职工", "Employee"),
    "flexible": ("灵活就业人员", "Flexible worker"),
    "new_form": ("新就业形态劳动者", "New-form worker"),
    "retiree": ("退休人员", "Retiree"),
    "retired": ("退休人员", "Retiree"),
    "compute": ("计算", "Calculate"),
    "contribution": ("每月缴费", "Monthly contributions"),
    "claim": ("一次就医的报销", "Reimbursement of one treatment"),
    "med_type": ("就医类型", "Care"),
    "inpatient": ("住院", "Inpatient"),
    "outpatient": ("普通门诊", "General outpatient"),
    "hosp_lv": ("医院等级", "Hospital level"),
    "age": ("年龄", "Age"),
    "total": ("医疗费总额（元）", "Total cost (yuan)"),
    "self_pay": ("其中全自费（元）", "of which outside the catalogue (yuan)"),
    "item": ("项目", "Item"),
    "amount": ("金额（元）", "Amount (yuan)"),
    "explanation": ("计算过程", "How it was calculated"),
    "source": ("来源", "Source"),
    "error": ("输入有误", "Input error"),
    "work_region": ("工作所在地", "Where you work"),
    "hukou_region": ("户籍所在地", "Where your hukou is"),
    "income": ("月收入（元）", "Monthly income (yuan)"),
    "scheme": ("方案", "Scheme"),
    "employee_at_work": (
        "在工作地参加职工医保（灵活就业）",
        "Employee insurance where you work (as a flexible worker)",
    ),
    "resident_at_work": ("在工作地参加居民医保", "Resident insurance where you work"),
    "resident_at_hukou": (
        "在户籍地参加居民医保（异地就医）",
        "Resident insurance at your hukou place (remote care)",
    ),
    "cost_year": ("每年缴费（元）", "Cost a year (yuan)"),
    "account_year": ("其中划入个人账户（元/年）", "Of which to your account (yuan a year)"),
    "reimbursement": ("一次典型住院的报销（元）", "Reimbursed for a typical admission (yuan)"),
    "waiting": ("等待期（月）", "Waiting period (months)"),
    "hukou_ok": ("户籍条件允许", "Hukou allows it"),
    "unknown": ("未知（缺来源）", "unknown (source needed)"),
    "missing": ("缺少来源的参数", "Parameters without a source yet"),
    "yes": ("是", "yes"),
    "no": ("否", "no"),
    "typical": (
        "典型住院：一次 12,175 元（2023 年职工平均住院费用，三级医院）",
        "Typical admission: 12,175 yuan (2023 average employee admission, level-3 hospital)",
    ),
    "regions": ("地区（可多选）", "Regions (choose two or more)"),
    "parameter": ("参数", "Parameter"),
    "home": ("首页", "Home"),
}


def lang_of(value: str | None) -> str:
    """``en`` if asked for, otherwise Chinese."""
    return "en" if value == "en" else "zh"


def t(key: str, lang: str) -> str:
    zh, en = TEXT.get(key, (key, key))
    return en if lang == "en" else zh

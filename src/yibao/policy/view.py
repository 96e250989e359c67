"""How parameters are shown — by `yibao policy`, the web pages and the API: readable values,
provenance rows, sections, periods.

Values are shown as a reader of the policy text would write them: money in yuan, rates in %,
tables by benefit class and facility level with the classes and levels that only repeat their
fallback left out, and ``unknown`` as "未知，需来源 / unknown, source needed". Nothing here
computes a benefit; it only renders what :mod:`yibao.policy.resolve` returns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from yibao.money import Rounding, fen_to_yuan_str, rate_bp_to_str
from yibao.policy.catalog import CATALOGUE, CLASS_FALLBACK, LEVEL_FALLBACK, Kind
from yibao.policy.resolve import Policy, Resolved
from yibao.policy.values import AgeTier, Band, Unknown

__all__ = [
    "DIFF_PREFIXES",
    "SECTIONS",
    "Period",
    "Text",
    "defined_in_kind",
    "json_value",
    "periods",
    "row",
    "section_keys",
    "show_value",
]


@dataclass(frozen=True)
class Text:
    """One label in both languages; ``pick`` chooses by ``--lang`` (None = both, Chinese first)."""

    zh: str
    en: str

    def pick(self, lang: str | None) -> str:
        if lang == "zh":
            return self.zh
        if lang == "en":
            return self.en
        return f"{self.zh} / {self.en}"

    def sentence(self, lang: str | None) -> str:
        """Like :meth:`pick`, but both languages go on separate lines (for whole sentences)."""
        return f"{self.zh}\n{self.en}" if lang is None else self.pick(lang)


UNKNOWN_TEXT = Text("未知，需来源", "unknown, source needed")
NO_LIMIT = Text("不设上限", "no limit")
NONE_TEXT = Text("无", "none")

# The sections `policy regions` counts completeness in (DOMAIN.md §2-§6 and §1's resident column).
SECTIONS: dict[str, tuple[Text, tuple[str, ...]]] = {
    "contribution": (Text("缴费", "contribution"), ("contribution.",)),
    "account": (Text("个人账户", "account"), ("account.",)),
    "inpatient": (Text("住院", "inpatient"), ("settlement.inpatient.",)),
    "outpatient": (Text("门诊", "outpatient"),
                   ("settlement.outpatient.", "settlement.category_b_first_self_pay")),
    "eligibility": (Text("待遇资格", "eligibility"), ("eligibility.",)),
    "retirement": (Text("退休", "retirement"), ("retirement.",)),
    "resident": (Text("居民医保", "resident"), ("resident.",)),
}

# The regional differences seed 000 lists (rates, bases, waiting periods, deductibles, ceilings,
# minimum years): what `policy diff` compares unless --all is given.
DIFF_PREFIXES: tuple[str, ...] = (
    "contribution.employer_rate.", "contribution.individual_rate.", "contribution.flexible.rate",
    "contribution.base_floor", "contribution.base_cap", "contribution.average_wage_monthly",
    "eligibility.waiting.", "settlement.inpatient.deductible.", "settlement.outpatient.deductible.",
    "settlement.inpatient.pooled_ceiling", "settlement.outpatient.pooled_ceiling",
    "settlement.inpatient.large_amount.ceiling", "retirement.min_years.",
    "retirement.min_local_actual_years",
)

_CLASS = {"in_service": Text("在职", "in-service"), "flexible": Text("灵活就业", "flexible"),
          "retired": Text("退休", "retired"), "retired_senior": Text("高龄退休", "senior retired"),
          "retired_early": Text("早期退休", "early retired")}
_LEVEL = {"pharmacy": Text("药店", "pharmacy"), "community": Text("社区", "community"),
          "level_1": Text("一级", "L1"), "level_2": Text("二级", "L2"), "level_3": Text("三级", "L3"),
          "level_3a": Text("三甲", "L3A")}


def section_keys(section: str) -> list[str]:
    """Catalogue keys of one section, in catalogue order."""
    prefixes = SECTIONS[section][1]
    return [k for k in CATALOGUE if k.startswith(prefixes)]


def _lang1(lang: str | None) -> str:
    """Cells inside a value use one language to stay short: English only for --lang en."""
    return "en" if lang == "en" else "zh"


def _money(fen: int, lang: str | None) -> str:
    yuan = f"{fen // 100:,}" if fen % 100 == 0 else fen_to_yuan_str(fen)
    return f"{yuan} yuan" if lang == "en" else f"{yuan} 元"


def _cell(kind: str, v: Any, lang: str | None) -> str:
    if isinstance(v, Unknown):
        return "?"
    if v is None:
        return NO_LIMIT.pick(_lang1(lang))
    return _money(v, lang) if kind == "money" else rate_bp_to_str(v)


def _levels(kind: str, table: Mapping[str, Any], lang: str | None) -> str:
    shown = {lv: v for lv, v in table.items()
             if not (lv in LEVEL_FALLBACK and v == table.get(LEVEL_FALLBACK[lv]))}
    known = {lv: v for lv, v in shown.items() if not isinstance(v, Unknown)}
    if not known:
        return "?"
    if len(set(map(repr, known.values()))) == 1 and len(known) == len(shown):
        return _cell(kind, next(iter(known.values())), lang)
    # an unknown level is named with "?" so a reader sees which level lacks a source
    return ", ".join(f"{_LEVEL[lv].pick(_lang1(lang))} {_cell(kind, v, lang)}" for lv, v in shown.items())


def _classes(kind: str, table: Mapping[str, Any], lang: str | None, by_level: bool) -> str:
    def one(v: Any) -> str:
        return _levels(kind, v, lang) if by_level else _cell(kind, v, lang)

    shown = {c: v for c, v in table.items()
             if not (c in CLASS_FALLBACK and v == table.get(CLASS_FALLBACK[c]))}
    texts = {c: one(v) for c, v in shown.items()}
    if len(set(texts.values())) == 1:
        return next(iter(texts.values()))
    return "; ".join(f"{_CLASS[c].pick(_lang1(lang))}: {t}" for c, t in texts.items())


def show_value(key: str, value: object, lang: str | None) -> str:
    """A parameter value as a reader writes it (yuan, %, readable tables)."""
    if isinstance(value, Unknown):
        return UNKNOWN_TEXT.pick(lang)
    k = CATALOGUE[key].kind
    if value is None:
        return (NONE_TEXT if k is Kind.date_or_none else NO_LIMIT).pick(lang)
    if k in (Kind.money, Kind.money_or_none):
        return _money(int(value), lang)  # type: ignore[call-overload]
    if k is Kind.rate:
        return rate_bp_to_str(int(value))  # type: ignore[call-overload]
    if k is Kind.integer:
        return f"{value} {CATALOGUE[key].unit}"
    if k is Kind.boolean:
        return (Text("是", "yes") if value else Text("否", "no")).pick(lang)
    if k is Kind.rate_list or k is Kind.choices:
        items = value if isinstance(value, tuple) else (value,)
        return ", ".join(rate_bp_to_str(x) if k is Kind.rate_list else str(x) for x in items)
    if isinstance(value, Mapping):
        money = k.value.endswith(("money", "money_or_none"))
        return _classes("money" if money else "rate", value, lang, by_level="level" in k.value)
    if k is Kind.bands:
        return _bands(value, lang)  # type: ignore[arg-type]
    if k in (Kind.age_tiers_rate, Kind.age_tiers_money):
        return _tiers(k, value, lang)  # type: ignore[arg-type]
    return str(value)


def _bands(bands: tuple[Band, ...], lang: str | None) -> str:
    lines = []
    for b in bands:
        head = (f"≤ {_money(b.upto_fen, lang)}" if b.upto_fen is not None
                else Text("以上", "above").pick(_lang1(lang)))
        lines.append(f"{head}: {_classes('rate', b.ratio, lang, by_level=True)}")
    return "\n".join(lines)


def _tiers(kind: Kind, tiers: tuple[AgeTier, ...], lang: str | None) -> str:
    def v(t: AgeTier) -> str:
        return _money(t.value, lang) if kind is Kind.age_tiers_money else rate_bp_to_str(t.value)

    if len(tiers) == 1:
        return v(tiers[0])
    fmt = "age {a}+: {v}" if lang == "en" else "{a}岁起 {v}"
    return "; ".join(fmt.format(a=t.age_from, v=v(t)) for t in tiers)


def json_value(value: object) -> Any:
    """A parameter value as JSON: fen and basis points stay integers; unknown is "unknown"."""
    if isinstance(value, Unknown):
        return "unknown"
    if isinstance(value, Band):
        return {"upto_fen": value.upto_fen, "ratio_bp": json_value(value.ratio)}
    if isinstance(value, AgeTier):
        return {"age_from": value.age_from, "value": value.value}
    if isinstance(value, Mapping):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [json_value(v) for v in value]
    if isinstance(value, Rounding | dt.date):
        return str(value)
    return value


def defined_in_kind(policy: Policy, layer: str) -> Text:
    """Whether a layer is the region itself, an inherited region, the national baseline or a reform."""
    if layer == "national":
        return Text("全国", "national")
    if layer == policy.region.pinyin:
        return Text("本地区", "region")
    if any(ly.reform is not None and ly.name == layer for ly in policy.layers):
        return Text("改革", "reform")
    return Text("上级地区", "parent region")


def entry_end(policy: Policy, r: Resolved) -> dt.date | None:
    """The last day of the answering entry: its ``to``, else the day before its layer's next entry."""
    if r.end is not None:
        return r.end
    for ly in policy.layers:
        if ly.name != r.defined_in:
            continue
        later = [e.start for e in ly.entries.get(r.key, []) if e.start > r.start]
        return min(later) - dt.timedelta(days=1) if later else None
    return None


def row(policy: Policy, r: Resolved, lang: str | None) -> dict[str, Any]:
    """One parameter with its provenance, for tables and JSON."""
    spec = CATALOGUE[r.key]
    src = r.source
    end = entry_end(policy, r)
    return {
        "key": r.key,
        "label": Text(spec.zh, spec.en).pick(lang),
        "unit": spec.unit,
        "value": json_value(r.value),
        "shown": show_value(r.key, r.value, lang),
        "known": r.known,
        "from": r.start.isoformat(),
        "to": end.isoformat() if end else None,
        "defined_in": r.defined_in,
        "defined_in_kind": defined_in_kind(policy, r.defined_in).pick("en"),
        "source": None if src is None else {"title": src.title, "doc_no": src.doc_no,
                                            "href": src.href},
        "confidence": src.confidence if src else None,
        "status": r.status,
        "derived": r.derived,
        "note": r.note,
    }


@dataclass(frozen=True)
class Period:
    """One period of a parameter's history: when it was in force, and what answered."""

    start: dt.date
    end: dt.date | None
    resolved: Resolved


def periods(policy: Policy, key: str) -> list[Period]:
    """Policy.history with effective dates: a lower layer resumes the day after an upper one ends."""
    hist = policy.history(key)
    starts: list[dt.date] = []
    for i, r in enumerate(hist):
        prev_end = hist[i - 1].end if i else None
        starts.append(max(r.start, prev_end + dt.timedelta(days=1)) if prev_end else r.start)
    out = []
    for i, r in enumerate(hist):
        end = starts[i + 1] - dt.timedelta(days=1) if i + 1 < len(hist) else entry_end(policy, r)
        out.append(Period(starts[i], end, r))
    return out

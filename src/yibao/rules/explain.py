"""The trace that turns a calculation into a readable breakdown, in Chinese or English.

A rule that is asked to explain itself returns an :class:`Explanation`: a list of
:class:`Step` objects, each with its arithmetic and the parameters it used (value, source,
effective date). The counter clerk reads it to answer "why was I paid this?".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from yibao.money import fen_to_yuan_str, rate_bp_to_str
from yibao.policy.catalog import CATALOGUE, Kind
from yibao.policy.resolve import Resolved, Snapshot

__all__ = ["Explanation", "ParamUse", "Step", "param_use"]


@dataclass(frozen=True)
class ParamUse:
    """A parameter as used in a step: the key, the value shown, where it came from."""

    key: str
    shown: str
    source: str
    confidence: str
    start: dt.date
    defined_in: str

    def render(self, lang: str) -> str:
        label = CATALOGUE[self.key].en if lang == "en" else CATALOGUE[self.key].zh
        if lang == "en":
            return (f"{label} = {self.shown} [{self.key}; from {self.start}; {self.defined_in}; "
                    f"source: {self.source} ({self.confidence})]")
        return (f"{label} = {self.shown}〔{self.key}；自 {self.start} 起；{self.defined_in}；"
                f"来源：{self.source}（可信度 {self.confidence}）〕")


def _shown(kind: Kind, value: Any) -> str:
    if kind in (Kind.money, Kind.money_or_none) and isinstance(value, int):
        return f"{fen_to_yuan_str(value)} 元/yuan"
    if kind is Kind.rate and isinstance(value, int):
        return rate_bp_to_str(value)
    if value is None:  # `none` in a policy file: no limit (not unknown)
        return "不设上限 / no limit"
    if isinstance(value, tuple) and all(isinstance(v, str) for v in value):
        return ", ".join(value)  # a list of choices, as a policy file writes it
    return str(value)


def param_use(snap: Snapshot, key: str, shown: str | None = None) -> ParamUse:
    """Record that ``key`` of ``snap`` was used; ``shown`` overrides the display (e.g. one cell)."""
    r: Resolved = snap[key]
    src = "-"
    conf = "-"
    if r.source is not None:
        src = r.source.doc_no or r.source.title
        if r.source.href:
            src = f"{src} <{r.source.href}>"
        conf = r.source.confidence
    return ParamUse(key, shown if shown is not None else _shown(CATALOGUE[key].kind, r.value),
                    src, conf, r.start, r.defined_in)


@dataclass(frozen=True)
class Step:
    """One step: a label in both languages, the arithmetic, the result in fen."""

    zh: str
    en: str
    arithmetic: str
    amount_fen: int | None = None
    params: tuple[ParamUse, ...] = ()

    def render(self, lang: str) -> str:
        head = self.en if lang == "en" else self.zh
        amt = f" = {fen_to_yuan_str(self.amount_fen)}" if self.amount_fen is not None else ""
        # a step that only states a fact (the nth claim, the ceiling reached) has no arithmetic
        body = "" if self.arithmetic == "-" and not amt else f": {self.arithmetic}{amt}"
        lines = [f"{head}{body}"]
        lines += [f"    · {p.render(lang)}" for p in self.params]
        return "\n".join(lines)


@dataclass
class Explanation:
    """The steps of one calculation for one row, in order."""

    title_zh: str
    title_en: str
    steps: list[Step] = field(default_factory=list)

    def add(self, step: Step) -> None:
        self.steps.append(step)

    # Equivalent mutants (no mutate): any language but "en" renders Chinese, so a changed default
    # "zh" renders the same.
    def render(self, lang: str = "zh") -> str:  # pragma: no mutate
        title = self.title_en if lang == "en" else self.title_zh
        return "\n".join([title, *(f"{i}. {s.render(lang)}" for i, s in enumerate(self.steps, 1))])

    def as_json(self, lang: str = "zh") -> list[dict[str, Any]]:  # pragma: no mutate (as render)
        return [
            {
                "step": s.en if lang == "en" else s.zh,
                "arithmetic": s.arithmetic,
                "amount": fen_to_yuan_str(s.amount_fen) if s.amount_fen is not None else None,
                "params": [
                    {"key": p.key, "value": p.shown, "source": p.source, "confidence": p.confidence,
                     "effective_from": p.start.isoformat(), "defined_in": p.defined_in}
                    for p in s.params
                ],
            }
            for s in self.steps
        ]

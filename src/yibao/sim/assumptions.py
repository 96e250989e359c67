"""The policy lab's assumptions (``assumptions.yaml``): utilisation and cost of care, mortality,
retirement and the projection's ranges, each with its source; loaded and checked once.

A scenario may override any value (``Assumptions.with_overrides``); an override keeps the
parameter's source and notes that it was changed, so a report always shows what was assumed.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, model_validator

from yibao.errors import InputError
from yibao.sim.statistics import Source, load_shipped

__all__ = ["Assumption", "Assumptions", "lab_assumptions"]


class Assumption(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    value: Any
    source: str
    year: int | None = None
    range: tuple[float, float] | None = None
    note: str = ""
    overridden: bool = False


class Assumptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sources: dict[str, Source]
    parameters: dict[str, Assumption]

    @model_validator(mode="after")
    def _check(self) -> Assumptions:
        for name, a in self.parameters.items():
            if a.source not in self.sources:
                raise ValueError(f"{name}: unknown source {a.source!r}")
            if a.range is not None and not a.range[0] <= float(a.value) <= a.range[1]:
                raise ValueError(f"{name}: value {a.value} outside its range {a.range}")
        return self

    def __getitem__(self, name: str) -> Any:
        return self.parameters[name].value

    def with_overrides(self, overrides: dict[str, Any]) -> Assumptions:
        """The same assumptions with some values replaced (a scenario's ``assumptions:``).

        A number may replace a number (kept inside the parameter's range if it has one); a
        mapping replaces a mapping with the same keys."""
        params = dict(self.parameters)
        for name, value in overrides.items():
            if name not in params:
                raise InputError(
                    f"assumptions.{name}",
                    value,
                    f"未知假设，可用：{', '.join(sorted(params))}",
                    f"unknown assumption; known: {', '.join(sorted(params))}",
                )
            old = params[name]
            if isinstance(old.value, dict):
                if not isinstance(value, dict) or set(value) != set(old.value):
                    raise InputError(
                        f"assumptions.{name}",
                        value,
                        f"应为含 {sorted(old.value)} 的映射",
                        f"must be a mapping with keys {sorted(old.value)}",
                    )
            elif not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InputError(f"assumptions.{name}", value, "应为数值", "must be a number")
            elif old.range is not None and not old.range[0] <= value <= old.range[1]:
                lo, hi = old.range
                raise InputError(
                    f"assumptions.{name}", value, f"应在 {lo}–{hi} 之间", f"must be within {lo}–{hi}"
                )
            params[name] = old.model_copy(update={"value": value, "overridden": True})
        return self.model_copy(update={"parameters": params})

    def table(self) -> pl.DataFrame:
        """One row per assumption: name, value, range, source title and link, confidence, note."""
        rows = []
        for name, a in self.parameters.items():
            src = self.sources[a.source]
            rows.append(
                {
                    "name": name,
                    "value": str(a.value),
                    "range": "" if a.range is None else f"{a.range[0]}–{a.range[1]}",
                    "source": src.title,
                    "href": src.href,
                    "confidence": src.confidence,
                    "note": a.note,
                    "overridden": a.overridden,
                }
            )
        return pl.DataFrame(rows)


@lru_cache(maxsize=1)
def lab_assumptions() -> Assumptions:
    """The shipped assumptions, validated (a broken file is a bilingual error naming the entry)."""
    return load_shipped("assumptions.yaml", Assumptions)

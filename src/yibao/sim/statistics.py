"""The national statistics the policy lab is calibrated to (issue 7): ``statistics.yaml``, checked.

Each figure is a series of yearly values with its unit and, per value, its source (a key of the
file's ``sources``), whether it is derived and a note. :func:`national_statistics` loads and
validates the file once; :meth:`Statistics.table` gives every value as one polars frame, the form
the calibration report prints.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Final, TypeVar

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yibao.errors import InputError

__all__ = ["FIGURES", "Figure", "Source", "Statistics", "load_shipped", "national_statistics"]

#: The figures the file must hold.
FIGURES: Final = ("employee_enrollees", "employee_in_service", "employee_retired",
                  "flexible_and_other_enrollees", "employee_fund_income", "employee_fund_expenditure",
                  "employee_account_balance", "avg_wage_urban_non_private", "avg_wage_urban_private")


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    href: str
    confidence: str = Field(pattern="^(high|medium|low)$")


class YearValue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    year: int = Field(ge=2000, le=2100)
    value: float = Field(gt=0)
    source: str
    derived: bool = False
    note: str | None = None


class Figure(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str
    values: list[YearValue]

    def by_year(self, exclude: frozenset[int] = frozenset()) -> dict[int, float]:
        return {v.year: v.value for v in self.values if v.year not in exclude}


class Statistics(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sources: dict[str, Source]
    figures: dict[str, Figure]

    @model_validator(mode="after")
    def _check(self) -> Statistics:
        missing = [f for f in FIGURES if f not in self.figures]
        if missing:
            raise ValueError(f"figures missing: {', '.join(missing)}")
        for key, fig in self.figures.items():
            years = [v.year for v in fig.values]
            if len(set(years)) != len(years):
                raise ValueError(f"{key}: a year appears twice")
            unknown = sorted({v.source for v in fig.values} - set(self.sources))
            if unknown:
                raise ValueError(f"{key}: unknown sources {', '.join(unknown)}")
        return self

    def table(self) -> pl.DataFrame:
        """One row per published value: figure, year, value, unit, source, confidence, derived, note."""
        rows = [{"figure": key, "year": v.year, "value": v.value, "unit": fig.unit, "source": v.source,
                 "href": self.sources[v.source].href, "confidence": self.sources[v.source].confidence,
                 "derived": v.derived, "note": v.note}
                for key, fig in self.figures.items() for v in fig.values]
        return pl.DataFrame(rows).sort("figure", "year")


M = TypeVar("M", bound=BaseModel)


def load_shipped(name: str, model: type[M]) -> M:
    """A YAML file shipped in ``yibao.sim``, validated by ``model``; a broken file is a bilingual
    error naming the file, the entry and the problem."""
    text = resources.files("yibao.sim").joinpath(name).read_text(encoding="utf-8")
    try:
        return model.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InputError(f"{name}:{where}", first.get("input"), f"数据文件有误：{first['msg']}",
                         f"the data file is wrong: {first['msg']}") from None


@lru_cache(maxsize=1)
def national_statistics() -> Statistics:
    """The shipped ``statistics.yaml``, validated (a broken file names the problem)."""
    return load_shipped("statistics.yaml", Statistics)

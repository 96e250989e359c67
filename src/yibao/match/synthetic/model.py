"""The world and corruption model of the synthetic generator, read from ``model.yaml``.

The numbers are data (``model.yaml`` next to this module, explained in docs/match-synthetic.md),
each with its source or the word *assumption*; the schema is closed, so a misspelt key or a rate
outside 0..1 fails the load instead of being ignored.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from importlib import resources
from typing import Any, Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yibao.errors import InputError

__all__ = ["CORRUPTION_TYPES", "FEEDS", "WORLD_KEYS", "FeedFormat", "Model", "load_model"]

#: Corruption types applied to feed rows, in the order they are drawn.
CORRUPTION_TYPES: Final = ("id_typo", "id_transposition", "id_missing", "id_legacy15", "name_variant",
                           "name_homophone", "field_missing", "birth_date_typo", "date_format",
                           "duplicate_row")
#: Error types that make a row's ID unusable for exact matching.
ID_UNUSABLE: Final = ("id_typo", "id_transposition", "id_missing")
#: The feeds the generator writes (names of shipped specs).
FEEDS: Final = ("tax_wages", "ps_births", "ps_deaths", "ps_hukou_moves", "hr_employment",
                "hr_unemployment", "ca_low_income", "other_region_register")

_SHARES: Final = (
    "other_region_only_share", "child_share", "elderly_share", "male_share", "migrant_share",
    "employed_share", "flexible_share", "wage_sigma", "noncompliant_employer_share",
    "uninsured_share_noncompliant", "uninsured_share_compliant", "uninsured_resident_share",
    "under_declaring_employer_share", "declared_ratio_low", "declared_ratio_high", "flexible_insured_share",
    "retiree_employee_share", "resident_child_share", "resident_other_share",
    "employee_resident_duplicate_share", "cross_region_duplicate_share", "move_out_share",
    "move_out_still_enrolled_share", "move_in_share", "death_share", "death_unknown_share", "birth_share",
    "newborn_enrolled_share", "twin_share", "interrupted_share", "short_gap_share",
    "flexible_at_risk_share", "low_income_share", "hire_share", "unemployment_share",
    "legacy_register_share")
_NUMBERS: Final = ("employer_mean_size", "wage_anchor_yuan_year", "first_month", "last_month",
                   "newborn_delay_max_months")
_TEXTS: Final = ("home_region", "home_policy", "other_region")
_CODE_LISTS: Final = ("home_districts", "other_districts", "migrant_origins", "tax_months")
#: Every key of the ``world`` section (closed).
WORLD_KEYS: Final = _SHARES + _NUMBERS + _TEXTS + _CODE_LISTS


class Entry(BaseModel):
    """One world parameter: its value and where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    value: Any
    unit: str | None = None
    source: str = Field(min_length=1)
    note: str | None = None


class Rate(BaseModel):
    """One corruption type: the share of feed rows it hits and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rate: float = Field(ge=0.0, le=1.0)
    source: str = Field(min_length=1)
    note: str | None = None


class FeedFormat(BaseModel):
    """How one feed is sent, and rates that differ from the defaults for it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["csv", "xlsx", "parquet"]
    encoding: Literal["utf-8", "gb18030"] = "utf-8"
    overrides: dict[str, float] = Field(default_factory=dict)
    note: str | None = None


class Model(BaseModel):
    """The whole model file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    fixed_on: dt.date
    world: dict[str, Entry]
    corruption: dict[str, Rate]
    feeds: dict[str, FeedFormat]

    @model_validator(mode="after")
    def _closed(self) -> Model:
        for what, got, known in (("world", self.world, WORLD_KEYS), ("corruption", self.corruption,
                                                                       CORRUPTION_TYPES),
                                 ("feeds", self.feeds, FEEDS)):
            unknown, missing = sorted(set(got) - set(known)), sorted(set(known) - set(got))
            if unknown or missing:
                raise ValueError(f"{what}: unknown keys {unknown}, missing keys {missing}")
        for key in _SHARES:
            value = self.world[key].value
            if not isinstance(value, int | float) or not 0 <= value <= 1:
                raise ValueError(f"world.{key} must be a number in 0..1, got {value!r}")
        for name, feed in self.feeds.items():
            bad = sorted(k for k, v in feed.overrides.items() if k not in CORRUPTION_TYPES or not 0 <= v <= 1)
            if bad:
                raise ValueError(f"feeds.{name}.overrides: unknown type or rate outside 0..1: {bad}")
        return self

    def share(self, key: str) -> float:
        """A share or rate of the world section."""
        return float(self.world[key].value)

    def number(self, key: str) -> int:
        return int(self.world[key].value)

    def text(self, key: str) -> str:
        return str(self.world[key].value)

    def codes(self, key: str) -> list[str]:
        return [str(v) for v in self.world[key].value]

    def rate(self, kind: str, feed: str | None = None) -> float:
        """The rate of a corruption type, for one feed if it overrides the default."""
        if feed is not None and kind in self.feeds[feed].overrides:
            return float(self.feeds[feed].overrides[kind])
        return self.corruption[kind].rate


@lru_cache(maxsize=1)
def load_model() -> Model:
    """The shipped model (``model.yaml``)."""
    text = (resources.files("yibao.match.synthetic") / "model.yaml").read_text(encoding="utf-8")
    try:
        return Model.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError("model.yaml", "invalid", f"合成数据模型文件无效：{problems}",
                         f"the synthetic model file is invalid: {problems}") from None

"""The pydantic schema of a policy file (a region or a reform overlay).

The schema is closed (``extra="forbid"``) at every level. It checks the file's shape; the
value of each parameter is then checked against its kind by :mod:`yibao.policy.values`.
See docs/policy-format.md for the format with examples.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Confidence",
    "Entry",
    "PolicyFileModel",
    "ReformHeader",
    "RegionHeader",
    "Source",
    "Status",
]

Confidence = Literal["high", "medium", "low"]
Status = Literal["enacted", "projected", "national_minimum", "proposal"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Source(_Closed):
    """Where a value comes from: a document title, its number, the address read."""

    title: str = Field(min_length=1)
    doc_no: str | None = None
    href: str | None = None
    confidence: Confidence


class Entry(_Closed):
    """One dated value of one parameter."""

    from_: dt.date = Field(alias="from")
    to: dt.date | None = None
    value: object
    source: str | Source | None = None
    confidence: Confidence | None = None
    status: Status = "enacted"
    derived: bool = False
    note: str | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> Entry:
        if self.to is not None and self.to < self.from_:
            raise ValueError(f"to ({self.to}) is before from ({self.from_})")
        return self

    @model_validator(mode="after")
    def _known_values_have_sources(self) -> Entry:
        unknown = isinstance(self.value, str) and self.value.strip().lower() == "unknown"
        if not unknown and self.source is None:
            raise ValueError("a known value needs a source (a key of `sources` or an inline source)")
        return self


class RegionHeader(_Closed):
    """Identity of a pooling region (统筹地区)."""

    code: str = Field(pattern=r"^\d{6}$", description="GB/T 2260 division code, as insuplc_admdvs")
    pinyin: str = Field(pattern=r"^[a-z][a-z_]*$")
    name_zh: str
    name_en: str
    inherits: str | None = "national"
    pooling_level: Literal["national", "provincial", "municipal", "county", "hypothetical"]
    confidence: Confidence
    note: str | None = None


class ReformHeader(_Closed):
    """A reform overlay: changes some parameters from a date on, for some regions."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    applies_to: list[str] | Literal["all"] = "all"
    note: str | None = None


class PolicyFileModel(_Closed):
    """A whole file: exactly one of ``region`` or ``reform``, its sources and parameters."""

    region: RegionHeader | None = None
    reform: ReformHeader | None = None
    sources: dict[str, Source] = Field(default_factory=dict)
    parameters: dict[str, list[Entry]]

    @model_validator(mode="after")
    def _one_header(self) -> PolicyFileModel:
        if (self.region is None) == (self.reform is None):
            raise ValueError("a policy file has exactly one of `region:` or `reform:`")
        return self

    @field_validator("parameters")
    @classmethod
    def _non_empty(cls, v: dict[str, list[Entry]]) -> dict[str, list[Entry]]:
        for key, entries in v.items():
            if not entries:
                raise ValueError(f"parameter {key} has no entries")
        return v

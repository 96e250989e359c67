"""The worklists' parameters: ``settings.yaml`` (each value with its source) resolved against the policy.

A threshold with a ``policy_key`` comes from the region's policy on the as-of date (the 3-month
back-payable gap of the 2021 national transfer rules, DOMAIN.md §5); the file's ``default`` is used
only where the policy leaves the key unknown; a value given on the command line overrides both. The
resolved figure keeps where it came from, for the workbook's summary sheet and docs/worklists.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Final, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field

from yibao.errors import InputError
from yibao.policy.resolve import Policy

__all__ = ["THRESHOLDS", "Resolved", "Settings", "load_settings", "resolve_thresholds"]

#: The thresholds of the worklists (names of ``settings.yaml`` ``thresholds``).
THRESHOLDS: Final = ("interrupted_months", "flexible_warn_months", "newborn_days")


class _Threshold(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    policy_key: str | None = None
    default: int = Field(ge=0)
    source: str = Field(min_length=1)
    note: str = ""


class _IdentityCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    below_probability: float = Field(ge=0.0, le=1.0)
    source: str = Field(min_length=1)
    note: str = ""


class _Statuses(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    values: list[str] = Field(min_length=1)
    source: str = Field(min_length=1)
    note: str = ""


class _Precedence(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    two_schemes: Literal["employee", "resident"]
    two_regions: Literal["ask_other_region", "home", "other"]
    source: str = Field(min_length=1)
    note: str = ""


class _Priority(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    base_gap_high_fen: int = Field(ge=0)
    base_gap_low_fen: int = Field(ge=0)
    undercount_high_missing: int = Field(ge=1)
    undercount_high_share: float = Field(gt=0.0, le=1.0)
    source: str = Field(min_length=1)
    note: str = ""


class Settings(BaseModel):
    """``settings.yaml`` (closed schema: a misspelt key fails the load)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    version: int
    thresholds: dict[str, _Threshold]
    identity_check: _IdentityCheck
    other_region_active_status: _Statuses
    duplicate_precedence: _Precedence
    priority: _Priority


@lru_cache(maxsize=1)
def load_settings() -> Settings:
    """The shipped ``settings.yaml`` next to this module."""
    text = resources.files("yibao.match.worklists").joinpath("settings.yaml").read_text(encoding="utf-8")
    settings = Settings.model_validate(yaml.safe_load(text))
    missing = sorted(set(THRESHOLDS) - set(settings.thresholds))
    if missing:
        raise ValueError(f"settings.yaml lacks thresholds {missing}")
    return settings


@dataclass(frozen=True)
class Resolved:
    """A threshold's value and where it came from (``policy``, ``default`` or ``option``)."""

    name: str
    value: int
    origin: str
    source: str

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "value": self.value, "origin": self.origin, "source": self.source}


def resolve_thresholds(
    policy: Policy,
    as_of: dt.date,
    overrides: dict[str, int | None] | None = None,
    settings: Settings | None = None,
) -> dict[str, Resolved]:
    """Each threshold from the command line, else the policy on ``as_of``, else the file's default."""
    settings = settings or load_settings()
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(THRESHOLDS))
    if unknown:
        raise InputError(
            "threshold",
            unknown[0],
            "应为 " + "、".join(THRESHOLDS),
            "expected one of " + ", ".join(THRESHOLDS),
        )
    snap = policy.at(as_of)
    out: dict[str, Resolved] = {}
    for name in THRESHOLDS:
        t = settings.thresholds[name]
        given = overrides.get(name)
        if given is not None:
            if given < 0:
                raise InputError(name, given, "应为非负整数", "must be a non-negative integer")
            out[name] = Resolved(name, int(given), "option", "command-line option")
            continue
        if t.policy_key is not None and snap[t.policy_key].known:
            got = snap[t.policy_key]
            cite = got.source.doc_no or got.source.title if got.source is not None else "policy file"
            out[name] = Resolved(
                name,
                int(snap.get(t.policy_key)),
                "policy",
                f"{policy.label}: {t.policy_key} from {got.start} ({got.defined_in}; {cite})",
            )
            continue
        out[name] = Resolved(name, t.default, "default", f"settings.yaml: {t.source}")
    return out

"""Resolving a parameter for a region on a date, through inheritance and reform overlays.

A :class:`Policy` is a stack of layers: reform overlays (last applied on top), the region's file,
the region it inherits (if any) and the national baseline. For a key and a date, the first layer
with an entry covering the date answers; an entry covers from its ``from`` to its ``to``, or,
without ``to``, until the layer's next entry. No layer covering the date is a :class:`NoRuleError`.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from yibao.errors import NoRuleError, UnknownParameterError
from yibao.policy.catalog import CATALOGUE
from yibao.policy.loader import LoadedEntry, LoadedFile
from yibao.policy.schema import RegionHeader, Source
from yibao.policy.values import UNKNOWN, Unknown

__all__ = ["Policy", "Resolved", "Snapshot", "benefit_year_start"]


@dataclass(frozen=True)
class Resolved:
    """A parameter's value on a date, with where it came from."""

    key: str
    value: object
    start: dt.date
    end: dt.date | None
    source: Source | None
    status: str
    derived: bool
    note: str | None
    defined_in: str  # the layer (region pinyin or reform id) that answered

    @property
    def known(self) -> bool:
        return not isinstance(self.value, Unknown)


def _covering(entries: list[LoadedEntry], date: dt.date) -> LoadedEntry | None:
    i = bisect_right([e.start for e in entries], date) - 1
    if i < 0:
        return None
    e = entries[i]
    if e.end is not None and date > e.end:
        return None
    return e


class Policy:
    """A region's rules over time."""

    def __init__(self, region: RegionHeader, layers: list[LoadedFile]) -> None:
        self.region = region
        self.layers = layers  # top first

    @property
    def label(self) -> str:
        return f"{self.region.name_zh} {self.region.code} ({self.region.pinyin})"

    def with_reforms(self, reforms: Iterable[LoadedFile]) -> Policy:
        """This policy with reform overlays on top (later ones win)."""
        tops = [r for r in reforms if _applies(r, self.region)]
        return Policy(self.region, [*reversed(tops), *self.layers])

    def resolve(self, key: str, date: dt.date) -> Resolved:
        """The value of ``key`` on ``date`` (may be UNKNOWN); NoRuleError if none covers it."""
        if key not in CATALOGUE:
            raise KeyError(key)
        for layer in self.layers:
            entries = layer.entries.get(key)
            if not entries:
                continue
            e = _covering(entries, date)
            if e is not None:
                return Resolved(key, e.value, e.start, e.end, e.source, e.status, e.derived, e.note,
                                layer.name)
        first = min((es[0].start for ly in self.layers if (es := ly.entries.get(key))),
                    default="-")
        raise NoRuleError(self.label, key, date, first)

    def at(self, date: dt.date) -> Snapshot:
        """Every parameter on ``date``."""
        return Snapshot(self, date)

    def history(self, key: str) -> list[Resolved]:
        """Every distinct period of ``key`` across layers, in date order (for `policy show`)."""
        starts = sorted({e.start for ly in self.layers for e in ly.entries.get(key, [])}
                        | {e.end + dt.timedelta(days=1) for ly in self.layers
                           for e in ly.entries.get(key, []) if e.end is not None})
        out: list[Resolved] = []
        for s in starts:
            try:
                r = self.resolve(key, s)
            except NoRuleError:
                continue
            if not out or (r.value, r.start, r.defined_in) != (out[-1].value, out[-1].start,
                                                                out[-1].defined_in):
                out.append(r)
        return out


def _applies(reform: LoadedFile, region: RegionHeader) -> bool:
    assert reform.reform is not None
    targets = reform.reform.applies_to
    return targets == "all" or region.code in targets or region.pinyin in targets


class Snapshot:
    """A region's parameters on one date. Resolution is lazy and cached."""

    def __init__(self, policy: Policy, date: dt.date) -> None:
        self.policy = policy
        self.date = date
        self._cache: dict[str, Resolved] = {}

    @property
    def region(self) -> RegionHeader:
        return self.policy.region

    def __getitem__(self, key: str) -> Resolved:
        r = self._cache.get(key)
        if r is None:
            r = self._cache[key] = self.policy.resolve(key, self.date)
        return r

    def get(self, key: str) -> Any:
        """The value, or :class:`UnknownParameterError` if the source is still missing."""
        r = self[key]
        if not r.known:
            raise UnknownParameterError(self.policy.label, key, self.date, r.note or "")
        return r.value

    def cell(self, key: str, *path: str) -> Any:
        """One cell of a table (by class, by class and level), checked to be known."""
        v: Any = self[key].value
        for p in path:
            if isinstance(v, Unknown):
                break
            v = v[p]
        if isinstance(v, Unknown):
            where = "[" + "][".join(path) + "]" if path else ""
            raise UnknownParameterError(self.policy.label, f"{key}{where}", self.date,
                                        self[key].note or "")
        return v

    def maybe(self, key: str) -> Any:
        """The value, or UNKNOWN — for displays that show what is missing."""
        return self[key].value if self[key].known else UNKNOWN


def _add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 Feb
        return d.replace(year=d.year + years, day=28)


def benefit_year_start(policy: Policy, date: dt.date) -> dt.date:
    """The first day of the benefit year (医保年度) containing ``date``.

    The year starts on the ``benefit_year.start`` day (MM-DD) in force. When a region changes
    its start day, the entry's ``from`` opens a transitional year that runs to the first
    occurrence of the new day at least 12 months later: Shanghai's 2019 insurance year ran
    2019-04-01 to 2020-06-30 (PD shanghai, dbsqp.com item 28426).
    """
    r = policy.resolve("benefit_year.start", date)
    month, day = (int(x) for x in str(r.value).split("-"))
    start = r.start
    nxt = _first_on_or_after(_add_years(start, 1), month, day)
    while nxt <= date:
        start = nxt
        nxt = _first_on_or_after(_add_years(start, 1), month, day)
    return start


def _first_on_or_after(d: dt.date, month: int, day: int) -> dt.date:
    cand = dt.date(d.year, month, min(day, 28) if month == 2 and day == 29 else day)
    return cand if cand >= d else dt.date(d.year + 1, cand.month, cand.day)

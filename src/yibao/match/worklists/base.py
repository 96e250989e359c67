"""What a worklist is: a code, titles, the feeds it needs, its own columns and the function that builds it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from yibao.match.worklists.inputs import Inputs
from yibao.match.worklists.settings import Resolved, Settings

__all__ = ["Context", "Worklist", "covers", "open_at"]


@dataclass(frozen=True)
class Context:
    """The inputs and the resolved parameters one computation uses."""

    inputs: Inputs
    thresholds: dict[str, Resolved]
    settings: Settings

    def n(self, name: str) -> int:
        return self.thresholds[name].value


@dataclass(frozen=True)
class Worklist:
    """One worklist of precise enrollment (docs/worklists.md)."""

    code: str
    title_zh: str
    title_en: str
    sheet: str  # short Chinese sheet title (Excel allows 31 characters)
    needs: tuple[str, ...]  # feed kinds without which the worklist cannot be built
    extra: tuple[str, ...]  # its own columns after the common ones
    build: Callable[[Context], pl.DataFrame]
    thresholds: tuple[str, ...] = ()


def covers(month: pl.Expr) -> pl.Expr:
    """An enrollment covers ``month`` (YYYYMM): started by then and not ended before. An enrollment
    marked ended without an end month covers nothing after its start (a register inconsistency
    read the cautious way)."""
    end = pl.col("end_month")
    return (pl.col("start_month") <= month) & (
        (end >= month) | (end.is_null() & (pl.col("status") != "ended"))
    ).fill_null(False)


def open_at(month: int) -> pl.Expr:
    """An enrollment in force in ``month``: covers it and is not marked ended."""
    return covers(pl.lit(month)) & (pl.col("status") != "ended")

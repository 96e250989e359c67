"""The eight worklists of precise enrollment, computing them, and writing them (masked by default).

:func:`compute` builds each worklist from :class:`~yibao.match.worklists.inputs.Inputs`; a worklist
whose feed the run lacks (no tax feed, no births feed) is skipped with the reason, never guessed.
:func:`write_folder` writes one Parquet file per worklist and ``summary.json``; ID numbers and
names are masked (:mod:`yibao.ids.masking`) unless ``full_ids`` is asked for explicitly.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.errors import InputError
from yibao.ids import mask_id, mask_name
from yibao.match.worklists import (
    base_below_wage,
    continuity,
    deceased_enrolled,
    employed_not_insured,
    employer_undercount,
    insured_twice,
    newborn_not_enrolled,
)
from yibao.match.worklists.base import Context, Worklist
from yibao.match.worklists.inputs import Inputs
from yibao.match.worklists.settings import Resolved, Settings, load_settings, resolve_thresholds

__all__ = [
    "BY_CODE",
    "CODES",
    "WORKLISTS",
    "WorklistResult",
    "compute",
    "mask_frame",
    "parse_only",
    "write_folder",
]

#: The worklists in the order of issue 6.
WORKLISTS: Final[tuple[Worklist, ...]] = (
    employed_not_insured.WORKLIST,
    employer_undercount.WORKLIST,
    base_below_wage.WORKLIST,
    deceased_enrolled.WORKLIST,
    insured_twice.WORKLIST,
    newborn_not_enrolled.WORKLIST,
    continuity.INTERRUPTED,
    continuity.FLEXIBLE,
)
BY_CODE: Final = {w.code: w for w in WORKLISTS}
CODES: Final = tuple(BY_CODE)


@dataclass
class WorklistResult:
    """The worklists computed (full IDs in memory), the ones skipped and why, and the provenance."""

    frames: dict[str, pl.DataFrame]
    skipped: dict[str, tuple[str, str]]
    thresholds: dict[str, Resolved]
    provenance: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """One line per worklist: rows, rows by priority, rows to check the identity of, amount."""
        out: list[dict[str, Any]] = []
        for w in WORKLISTS:
            if w.code in self.skipped:
                zh, en = self.skipped[w.code]
                out.append(
                    {
                        "worklist": w.code,
                        "title_zh": w.title_zh,
                        "title_en": w.title_en,
                        "rows": None,
                        "priority_1": None,
                        "priority_2": None,
                        "priority_3": None,
                        "identity_check": None,
                        "amount_fen": None,
                        "note_zh": zh,
                        "note_en": en,
                    }
                )
                continue
            if w.code not in self.frames:
                continue
            f = self.frames[w.code]
            by = dict(f.group_by("priority").len().iter_rows())
            amount = f["amount_fen"].sum() if f["amount_fen"].null_count() < f.height else None
            out.append(
                {
                    "worklist": w.code,
                    "title_zh": w.title_zh,
                    "title_en": w.title_en,
                    "rows": f.height,
                    "priority_1": by.get(1, 0),
                    "priority_2": by.get(2, 0),
                    "priority_3": by.get(3, 0),
                    "identity_check": int(f["identity_check"].sum()),
                    "amount_fen": None if amount is None else int(amount),
                    "note_zh": "",
                    "note_en": "",
                }
            )
        return out


def parse_only(only: str | Sequence[str] | None) -> tuple[str, ...]:
    """Worklist codes from ``--only`` (comma-separated); all when empty."""
    if not only:
        return CODES
    items = [s.strip() for s in (only.split(",") if isinstance(only, str) else only) if s.strip()]
    bad = [s for s in items if s not in BY_CODE]
    if bad:
        raise InputError("only", bad[0], "应为 " + "、".join(CODES), "expected one of " + ", ".join(CODES))
    return tuple(c for c in CODES if c in items)


def compute(
    inputs: Inputs,
    overrides: dict[str, int | None] | None = None,
    only: str | Sequence[str] | None = None,
    settings: Settings | None = None,
    progress: Callable[[str], None] | None = None,
) -> WorklistResult:
    """Build the worklists (``only`` a subset) on ``inputs``; ``progress(code)`` after each."""
    settings = settings or load_settings()
    codes = parse_only(only)
    thresholds = resolve_thresholds(inputs.policy, inputs.as_of, overrides, settings)
    ctx = Context(inputs, thresholds, settings)
    frames: dict[str, pl.DataFrame] = {}
    skipped: dict[str, tuple[str, str]] = {}
    for code in codes:
        w = BY_CODE[code]
        lacking = [k for k in w.needs if inputs.feed(k) is None]
        if lacking:
            skipped[code] = (
                f"未生成：运行目录中没有 {'、'.join(lacking)} 类数据",
                f"not built: the run has no feed of kind {', '.join(lacking)}",
            )
        else:
            frames[code] = w.build(ctx)
        if progress is not None:
            progress(code)
    provenance = dict(inputs.provenance) | {
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "policy": inputs.policy.label,
        "settings_version": settings.version,
        "identity_check_below": settings.identity_check.below_probability,
    }
    return WorklistResult(frames, skipped, thresholds, provenance)


def mask_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """ID numbers and names masked (110105********002X, 张*): the default of every export."""

    def masked(col: str, fn: Callable[[str], str]) -> pl.Expr:
        values = frame[col].drop_nulls().unique().to_list()
        return pl.col(col).replace_strict({v: fn(v) for v in values}, default=None, return_dtype=pl.String)

    return frame.with_columns(masked("id_number", mask_id), masked("name", mask_name))


def write_folder(result: WorklistResult, out: str | Path, full_ids: bool = False) -> dict[str, str]:
    """``<code>.parquet`` per worklist and ``summary.json`` in ``out``; the paths written."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, str] = {}
    for code, frame in result.frames.items():
        path = folder / f"{code}.parquet"
        tmp = path.with_suffix(".parquet.part")
        (frame if full_ids else mask_frame(frame)).write_parquet(tmp, compression="zstd")
        tmp.replace(path)
        paths[code] = str(path)
    summary = {
        "provenance": result.provenance,
        "ids": "full" if full_ids else "masked",
        "thresholds": {k: v.as_dict() for k, v in result.thresholds.items()},
        "worklists": result.summary(),
    }
    path = folder / "summary.json"
    path.write_text(json.dumps(summary, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    paths["summary"] = str(path)
    return paths

"""The corruption model applied to feed rows (docs/match-synthetic.md, rates in ``model.yaml``).

Each function takes a column and a seeded ``rng`` and returns the corrupted column and the mask of
rows it changed, so the truth records exactly which rows carry which error type. ID corruptions
work on a ``(rows, 18)`` byte matrix; the rest on polars columns or on the few rows hit.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.match.synthetic.names import homophone_names, variant_names

__all__ = ["DATE_STYLES", "corrupt_birth_dates", "corrupt_ids", "corrupt_names", "render_dates",
           "render_months"]

Mask = npt.NDArray[np.bool_]
_DIGITS: Final = np.frombuffer(b"0123456789", dtype=np.uint8)
_CN_DIGITS: Final = "〇一二三四五六七八九"
#: Alternative ways a department writes a date (ISO is the default), all read by the normaliser.
DATE_STYLES: Final = ("slash", "compact", "chinese", "chinese_numerals")


def _matrix(ids: list[str]) -> npt.NDArray[np.uint8]:
    return np.frombuffer("".join(ids).encode("ascii"), dtype=np.uint8).reshape(-1, 18).copy()


def corrupt_ids(rng: np.random.Generator, ids: list[str], born_1900s: Mask, rates: dict[str, float]
                ) -> tuple[list[str | None], dict[str, Mask]]:
    """Typos, transpositions, blanks (mutually exclusive) and legacy 15-digit forms of valid IDs."""
    n = len(ids)
    u = rng.random(n)
    edges = np.cumsum([rates["id_typo"], rates["id_transposition"], rates["id_missing"]])
    typo, swap, missing = u < edges[0], (u >= edges[0]) & (u < edges[1]), (u >= edges[1]) & (u < edges[2])
    legacy = ~(typo | swap | missing) & born_1900s & (rng.random(n) < rates["id_legacy15"])
    mat = _matrix(ids) if n else np.zeros((0, 18), dtype=np.uint8)
    rows = np.flatnonzero(typo)
    pos = rng.integers(0, 18, rows.size)
    shift = rng.integers(1, 10, rows.size)  # a different digit (a final X becomes a digit)
    old = mat[rows, pos]
    value = np.where(old == ord("X"), 10, old.astype(np.int64) - 48)
    mat[rows, pos] = _DIGITS[(value + shift) % 10]
    rows = np.flatnonzero(swap)
    pos = rng.integers(0, 17, rows.size)
    for _ in range(17):  # move to the next pair until the two characters differ
        same = mat[rows, pos] == mat[rows, pos + 1]
        pos = np.where(same, (pos + 1) % 17, pos)
    a, b = mat[rows, pos].copy(), mat[rows, pos + 1].copy()
    mat[rows, pos], mat[rows, pos + 1] = b, a
    text = mat.tobytes().decode("ascii")
    out: list[str | None] = [text[i * 18:(i + 1) * 18] for i in range(n)]
    for i in np.flatnonzero(legacy).tolist():
        full = ids[i]
        out[i] = full[:6] + full[8:17]  # GB 11643-1989: no century, no check character
    for i in np.flatnonzero(missing).tolist():
        out[i] = None
    return out, {"id_typo": typo, "id_transposition": swap, "id_missing": missing, "id_legacy15": legacy}


def corrupt_names(rng: np.random.Generator, names: pl.Series, surname_len: npt.NDArray[np.int8],
                  rates: dict[str, float]) -> tuple[pl.Series, dict[str, Mask]]:
    """Traditional/variant characters or one homophone; a row whose name has neither is left clean."""
    n = names.len()
    u = rng.random(n)
    want_variant = u < rates["name_variant"]
    want_homo = (u >= rates["name_variant"]) & (u < rates["name_variant"] + rates["name_homophone"])
    out = names.to_list()
    rows = np.flatnonzero(want_variant)
    variant = np.zeros(n, dtype=np.bool_)
    if rows.size:
        converted = variant_names(names.gather(rows)).to_list()
        for i, new in zip(rows.tolist(), converted, strict=True):
            if new is not None and new != out[i]:
                out[i], variant[i] = new, True
    rows = np.flatnonzero(want_homo)
    homo = np.zeros(n, dtype=np.bool_)
    swapped = homophone_names(rng, [out[i] for i in rows.tolist()], surname_len[rows].tolist())
    for i, new in zip(rows.tolist(), swapped, strict=True):
        if new is not None:
            out[i], homo[i] = new, True
    return pl.Series(names.name, out, dtype=pl.String), {"name_variant": variant, "name_homophone": homo}


def corrupt_birth_dates(rng: np.random.Generator, days: npt.NDArray[np.datetime64], rate: float
                        ) -> tuple[npt.NDArray[np.datetime64], Mask]:
    """One to three days off, or day and month swapped when both are at most 12 (and differ)."""
    hit = (rng.random(days.size) < rate) & ~np.isnat(days)
    out = days.copy()
    rows = np.flatnonzero(hit)
    shift = rng.integers(1, 4, rows.size) * rng.choice([-1, 1], rows.size)
    out[rows] = days[rows] + shift.astype("timedelta64[D]")
    for i in rows[rng.random(rows.size) < 0.5].tolist():
        d = days[i].astype(dt.date)
        if d.day <= 12 and d.day != d.month:
            out[i] = np.datetime64(dt.date(d.year, d.day, d.month))
    return out, hit


def _chinese_year(y: int) -> str:
    return "".join(_CN_DIGITS[int(c)] for c in str(y))


def _chinese_number(k: int) -> str:
    tens, ones = divmod(k, 10)
    return ("" if tens == 0 else ("十" if tens == 1 else _CN_DIGITS[tens] + "十")) + \
        ("" if ones == 0 and tens else _CN_DIGITS[ones])


def _style(d: dt.date, style: str) -> str:
    if style == "slash":
        return f"{d.year}/{d.month}/{d.day}"
    if style == "compact":
        return f"{d:%Y%m%d}"
    if style == "chinese":
        return f"{d.year}年{d.month}月{d.day}日"
    return f"{_chinese_year(d.year)}年{_chinese_number(d.month)}月{_chinese_number(d.day)}日"


def render_dates(rng: np.random.Generator, days: pl.Series, rate: float) -> tuple[pl.Series, Mask]:
    """Date cells as text: ISO, or (at ``rate``) one of :data:`DATE_STYLES`; nulls stay null."""
    n = days.len()
    hit = (rng.random(n) < rate) & days.is_not_null().to_numpy()
    style = rng.integers(0, len(DATE_STYLES), n)
    iso = days.cast(pl.String).to_list()
    rows = np.flatnonzero(hit)
    for i, d in zip(rows.tolist(), days.gather(rows).to_list(), strict=True):
        iso[i] = _style(d, DATE_STYLES[style[i]])
    return pl.Series(days.name, iso, dtype=pl.String), hit


def render_months(rng: np.random.Generator, months: pl.Series, rate: float) -> tuple[pl.Series, Mask]:
    """YYYYMM integers as 2024-12, or (at ``rate``) 202412 or 2024年12月."""
    n = months.len()
    hit = rng.random(n) < rate
    compact = rng.random(n) < 0.5
    m = months.to_numpy()
    iso = np.char.add(np.char.add((m // 100).astype(str), "-"), np.char.zfill((m % 100).astype(str), 2))
    chinese = np.char.add(np.char.add(np.char.add((m // 100).astype(str), "年"), (m % 100).astype(str)), "月")
    text = np.where(hit, np.where(compact, m.astype(str), chinese), iso)
    return pl.Series(months.name, text.tolist(), dtype=pl.String), hit

"""The persons of the synthetic world: ages, IDs, names, deaths, births and hukou moves.

Everything is drawn with numpy from the ``rng`` given (one child stream of the seed per part, so
changing one part does not shift the others) and kept in columns; docs/match-synthetic.md
describes the shares, ``model.yaml`` holds them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, overload

import numpy as np
import numpy.typing as npt
import polars as pl

from yibao.match.synthetic.idgen import id_strings
from yibao.match.synthetic.model import Model
from yibao.match.synthetic.names import SURNAMES, make_names

__all__ = ["CHILD", "ELDERLY", "EMPLOYED", "FLEXIBLE", "NEWBORN", "NONE", "OTHER", "WORKING", "Population",
           "Window", "day_month_index", "last_day", "make_population", "month_index", "yyyymm"]

I64 = npt.NDArray[np.int64]
Days = npt.NDArray[np.datetime64]
Mask = npt.NDArray[np.bool_]

# person groups
CHILD, WORKING, ELDERLY, NEWBORN, OTHER = range(5)
# working status of a working-age home person
NONE, EMPLOYED, FLEXIBLE = range(3)
_YEAR: Final = 365.2425


@dataclass(frozen=True)
class Window:
    """The months of the world: ``first``..``last`` (YYYYMM) and their days."""

    first: int
    last: int

    @property
    def start(self) -> np.datetime64:
        return np.datetime64(f"{self.first // 100:04d}-{self.first % 100:02d}-01", "D")

    @property
    def end(self) -> np.datetime64:
        """The as-of date: the last day of the last month."""
        nxt = month_index(self.last) + 1
        return np.datetime64(f"{nxt // 12:04d}-{nxt % 12 + 1:02d}-01", "D") - np.timedelta64(1, "D")

    @property
    def months(self) -> int:
        return month_index(self.last) - month_index(self.first) + 1


@overload
def month_index(yyyymm: int) -> int: ...
@overload
def month_index(yyyymm: I64) -> I64: ...
def month_index(yyyymm: int | I64) -> int | I64:
    """YYYYMM → year × 12 + month − 1 (the rules' month index)."""
    return (yyyymm // 100) * 12 + yyyymm % 100 - 1


def day_month_index(days: Days) -> I64:
    """datetime64[D] → month index."""
    months = days.astype("datetime64[M]").astype(np.int64)  # months since 1970-01
    return months + 1970 * 12


def yyyymm(index: I64) -> I64:
    return (index // 12) * 100 + index % 12 + 1


def last_day(index: I64) -> Days:
    """Month index → the month's last day (the due date of its contributions, admin.assessment)."""
    nxt = index + 1
    first = (nxt // 12 - 1970) * 12 + nxt % 12
    day = first.astype("datetime64[M]").astype("datetime64[D]") - np.timedelta64(1, "D")
    return np.asarray(day, dtype="datetime64[D]")


@dataclass
class Population:
    """One row per world person (index = ``true_person_key``)."""

    group: npt.NDArray[np.int8]
    status: npt.NDArray[np.int8]  # NONE / EMPLOYED / FLEXIBLE (working-age home persons)
    retiree: Mask
    male: Mask
    birth: Days
    id_number: pl.Series  # canonical 18-digit IDs, distinct
    id_region: list[str]  # the ID's address code
    name: pl.Series
    surname_len: npt.NDArray[np.int8]
    hukou: list[str]  # at the as-of date
    hukou_before: list[str]  # before a move out (what the home register holds)
    death: Days  # NaT when alive at the as-of date
    death_known: Mask
    move_out: Days  # NaT unless the hukou moved to the second region in the window
    move_out_enrolled: Mask  # moved out but the home enrollment was not ended
    move_in: Days  # NaT unless the hukou moved in from the second region in the window
    move_from: list[str | None]
    mother: I64  # -1 unless a newborn
    father: I64
    newborn_enrolled: I64  # month index of the newborn's enrollment, -1 if none by the as-of date

    @property
    def n(self) -> int:
        return int(self.group.shape[0])

    @property
    def home(self) -> Mask:
        return np.asarray(self.group != OTHER)


def _pick(rng: np.random.Generator, candidates: I64, share_of: int, share: float) -> I64:
    """``round(share_of × share)`` distinct candidates (fewer if there are not enough)."""
    k = min(round(share_of * share), candidates.shape[0])
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]


def _ages(rng: np.random.Generator, group: npt.NDArray[np.int8], start: np.datetime64) -> Days:
    n = group.shape[0]
    u = rng.random(n)
    years = np.where(group == CHILD, u * 16, np.where(group == ELDERLY, rng.triangular(60, 60, 96, n),
                                                      16 + u * 44))
    return start - np.ceil(years * _YEAR).astype("timedelta64[D]") - np.timedelta64(1, "D")


def _base(rng: np.random.Generator, model: Model, n: int, window: Window) -> dict[str, object]:
    """Groups, sexes, birth dates and statuses of the persons alive before the window."""
    n_other = round(n * model.share("other_region_only_share"))
    u = rng.random(n)
    child, elderly = model.share("child_share"), model.share("elderly_share")
    age_group = np.where(u < child, CHILD, np.where(u < child + elderly, ELDERLY, WORKING)).astype(np.int8)
    birth = _ages(rng, age_group, window.start)  # the second region's persons have the same ages
    group = age_group.copy()
    group[n - n_other:] = OTHER
    male = rng.random(n) < model.share("male_share")
    v = rng.random(n)
    employed, flexible = model.share("employed_share"), model.share("flexible_share")
    status = np.where(group == WORKING, np.where(v < employed, EMPLOYED,
                                                 np.where(v < employed + flexible, FLEXIBLE, NONE)),
                      NONE).astype(np.int8)
    retiree = (group == ELDERLY) & (rng.random(n) < model.share("retiree_employee_share"))
    return {"group": group, "birth": birth, "male": male, "status": status, "retiree": retiree}


def _regions(rng: np.random.Generator, model: Model, group: npt.NDArray[np.int8]
             ) -> tuple[list[str], list[str]]:
    """ID address codes and current hukou districts."""
    n = group.shape[0]
    home_d, other_d, origins = (np.array(model.codes(k)) for k in
                                ("home_districts", "other_districts", "migrant_origins"))
    hukou = np.where(group == OTHER, other_d[rng.integers(0, other_d.size, n)],
                     home_d[rng.integers(0, home_d.size, n)])
    migrant = rng.random(n) < model.share("migrant_share")
    id_region = np.where(migrant, origins[rng.integers(0, origins.size, n)], hukou)
    return [str(x) for x in id_region.tolist()], [str(x) for x in hukou.tolist()]


def _deaths(rng: np.random.Generator, model: Model, group: npt.NDArray[np.int8], window: Window
            ) -> tuple[Days, Mask]:
    n = group.shape[0]
    home = np.flatnonzero(group != OTHER)
    k = round(home.size * model.share("death_share"))
    weight = np.where(group[home] == ELDERLY, 8.0, 1.0)  # the elderly die more often (model.yaml note)
    keys = np.log(rng.random(home.size)) / weight  # Efraimidis-Spirakis weighted sample without replacement
    dead = home[np.argpartition(-keys, k)[:k]] if k else home[:0]
    death = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    death[dead] = window.start + rng.integers(0, window.months * 30, dead.size).astype("timedelta64[D]")
    death = np.where(death > window.end, window.end, death)
    known = rng.random(n) >= model.share("death_unknown_share")
    return death, known & ~np.isnat(death)


def _moves(rng: np.random.Generator, model: Model, group: npt.NDArray[np.int8], death: Days,
           window: Window) -> tuple[Days, Mask, Days, list[str | None]]:
    n = group.shape[0]
    nat = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    movable = np.flatnonzero((group != OTHER) & np.isnat(death))
    out_idx = _pick(rng, movable, movable.size, model.share("move_out_share"))
    taken = np.zeros(n, dtype=np.bool_)
    taken[out_idx] = True
    rest = movable[~taken[movable]]
    in_idx = _pick(rng, rest, movable.size, model.share("move_in_share"))
    span = window.months * 30
    move_out, move_in = nat.copy(), nat.copy()
    move_out[out_idx] = window.start + rng.integers(0, span, out_idx.size).astype("timedelta64[D]")
    move_in[in_idx] = window.start + rng.integers(0, span, in_idx.size).astype("timedelta64[D]")
    still = np.zeros(n, dtype=np.bool_)
    still[out_idx] = rng.random(out_idx.size) < model.share("move_out_still_enrolled_share")
    other_d = model.codes("other_districts")
    move_from: list[str | None] = [None] * n
    for i, code in zip(in_idx.tolist(), rng.integers(0, len(other_d), in_idx.size).tolist(), strict=True):
        move_from[i] = other_d[code]
    return (np.minimum(move_out, window.end), still, np.minimum(move_in, window.end), move_from)


def _births(rng: np.random.Generator, model: Model, base: dict[str, object], death: Days,
            window: Window) -> dict[str, npt.NDArray[np.generic]]:
    """Mothers, fathers, birth dates and enrollment months of the newborns (twins share a birth)."""
    group = np.asarray(base["group"])
    male, birth = np.asarray(base["male"]), np.asarray(base["birth"])
    age = (window.start - birth).astype(np.int64) / _YEAR
    home_alive = (group != OTHER) & np.isnat(death)
    mothers = np.flatnonzero(home_alive & ~male & (age >= 20) & (age < 42))
    fathers = np.flatnonzero(home_alive & male & (age >= 22) & (age < 50))
    n_children = round(int((group != OTHER).sum()) * model.share("birth_share"))
    n_twins = round(n_children * model.share("twin_share") / 2)
    events = min(max(n_children - n_twins, 0), mothers.size)
    mother = np.sort(rng.choice(mothers, size=events, replace=False)) if events else mothers[:0]
    father = np.where(rng.random(events) < 0.9, rng.choice(fathers, size=events) if fathers.size else -1, -1)
    day = window.start + rng.integers(0, window.months * 30, events).astype("timedelta64[D]")
    day = np.minimum(day, window.end)
    twin = np.zeros(events, dtype=np.bool_)
    twin[rng.choice(events, size=min(n_twins, events), replace=False)] = True
    twice = np.flatnonzero(twin)
    mother, father, day = (np.concatenate([a, a[twice]]) for a in (mother, father, day))
    last = int(month_index(window.last))
    enrolled = np.where(rng.random(mother.size) < model.share("newborn_enrolled_share"),
                        day_month_index(day) + rng.integers(0, model.number("newborn_delay_max_months") + 1,
                                                            mother.size), -1)
    enrolled = np.where(enrolled > last, -1, enrolled)
    return {"mother": mother.astype(np.int64), "father": father.astype(np.int64), "birth": day,
            "enrolled": enrolled.astype(np.int64),
            "male": rng.random(mother.size) < model.share("male_share")}


def _ids(id_region: list[str], birth: Days, male: Mask) -> pl.Series:
    codes = sorted(set(id_region))
    index = pl.Series(id_region).replace_strict({c: i for i, c in enumerate(codes)}, return_dtype=pl.Int64)
    return id_strings(codes, index.to_numpy(), birth, male)


def _surname_lengths(names: pl.Series) -> npt.NDArray[np.int8]:
    compound = [s for s, _ in SURNAMES if len(s) > 1]
    two = names.str.starts_with(compound[0])
    for s in compound[1:]:
        two = two | names.str.starts_with(s)
    return np.where(two.to_numpy(), 2, 1).astype(np.int8)


def make_population(rng: np.random.Generator, model: Model, n: int, window: Window) -> Population:
    """``n`` persons alive before the window, plus the babies born in it."""
    base = _base(rng, model, n, window)
    group = np.asarray(base["group"], dtype=np.int8)
    death, known = _deaths(rng, model, group, window)
    move_out, still, move_in, move_from = _moves(rng, model, group, death, window)
    babies = _births(rng, model, base, death, window)
    k = babies["mother"].size
    names = make_names(rng, n)
    surname_len = _surname_lengths(names)
    father = np.asarray(babies["father"], dtype=np.int64)
    parent = np.where(father >= 0, father, np.asarray(babies["mother"], dtype=np.int64))
    parent_surname = pl.DataFrame({"name": names.gather(parent), "k": surname_len[parent]}).select(
        pl.col("name").str.slice(0, pl.col("k"))).to_series()
    baby_names = make_names(rng, k, parent_surname)
    id_region, hukou = _regions(rng, model, group)
    mother = babies["mother"].astype(np.int64)
    id_region += [hukou[m] for m in mother.tolist()]
    hukou += [hukou[m] for m in mother.tolist()]
    all_birth = np.concatenate([np.asarray(base["birth"]), np.asarray(babies["birth"])])
    male = np.concatenate([np.asarray(base["male"]), np.asarray(babies["male"])])
    nat = np.full(k, np.datetime64("NaT"), dtype="datetime64[D]")
    minus = np.full(n, -1, dtype=np.int64)
    before = list(hukou)
    moved_to = model.codes("other_districts")
    for i, j in zip(np.flatnonzero(~np.isnat(move_out)).tolist(),
                    rng.integers(0, len(moved_to), int((~np.isnat(move_out)).sum())).tolist(), strict=True):
        hukou[i] = moved_to[j]
    return Population(
        group=np.concatenate([group, np.full(k, NEWBORN, dtype=np.int8)]),
        status=np.concatenate([np.asarray(base["status"], dtype=np.int8), np.zeros(k, dtype=np.int8)]),
        retiree=np.concatenate([np.asarray(base["retiree"]), np.zeros(k, dtype=np.bool_)]),
        male=male, birth=all_birth,
        id_number=_ids(id_region, all_birth, male), id_region=id_region,
        name=pl.concat([names, baby_names]), surname_len=np.concatenate([surname_len, surname_len[parent]]),
        hukou=hukou, hukou_before=before, death=np.concatenate([death, nat]),
        death_known=np.concatenate([known, np.zeros(k, dtype=np.bool_)]),
        move_out=np.concatenate([move_out, nat]),
        move_out_enrolled=np.concatenate([still, np.zeros(k, np.bool_)]),
        move_in=np.concatenate([move_in, nat]), move_from=move_from + [None] * k,
        mother=np.concatenate([minus, mother]),
        father=np.concatenate([minus, babies["father"].astype(np.int64)]),
        newborn_enrolled=np.concatenate([minus, babies["enrolled"].astype(np.int64)]))

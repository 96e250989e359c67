"""The true worklists of a synthetic world, and each worklist's precision and recall for a run.

**Truth.** :func:`true_inputs` builds the worklists' inputs from the generator's uncorrupted world
(``DIR/truth/world/*.parquet``, docs/match-synthetic.md) with true identities instead of links:
every world record is a "feed row" already linked to its person (``person_id`` from the world, or
none when the person is not in the register), and its ``source_row`` is the world's
``true_person_key``. The register is the same one the run read (``DIR/register``): the worklists
describe what the bureau's register gets wrong, so the truth applies the SAME definitions
(:func:`yibao.match.worklists.compute`) to the true facts — taxed jobs of the tax feed's months,
deaths and births in the window, the second region's insured, hukou moves.

**Scores.** A worklist is a set of subjects: persons (by ``true_person_key``) or, for
``employer_undercount``, employers (by credit code). A run's row is mapped to its true person by its
``person_id`` (the world knows every register person's key) or, when unlinked, by the feed row's
truth (``truth/feed_rows.parquet``). TP = subjects in both, FP = listed but not true, FN = true but
not listed; precision, recall and F1 as in :func:`yibao.match.evaluate.scores`. ``insured_twice`` is
also scored per subtype. ``planted`` counts the generator's own planted cases
(``situations.parquet``) and ``truth_finds_planted`` the share of them the true worklist contains,
a check that the definitions and the generator agree.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.errors import InputError
from yibao.match.worklists.inputs import (
    FEED_COLUMNS,
    LINK_COLUMNS,
    Inputs,
    load_inputs,
    month_of,
    read_register,
)
from yibao.match.worklists.registry import CODES, WorklistResult, compute
from yibao.match.worklists.settings import load_settings
from yibao.policy.registry import default_registry

__all__ = ["PLANTED", "evaluate_worklists", "section", "true_inputs", "true_worklists"]

#: The generator's situations (docs/match-synthetic.md) each worklist should find.
PLANTED: Final = {
    "employed_not_insured": ("employed_not_insured",),
    "employer_undercount": ("employer_undercount",),
    "base_below_wage": ("base_below_wage",),
    "deceased_enrolled": ("deceased_enrolled",),
    "insured_twice": ("insured_twice_regions", "insured_twice_schemes"),
    "newborn_not_enrolled": ("newborn_not_enrolled",),
    "interrupted": ("interrupted",),
    "flexible_at_risk": ("flexible_at_risk",),
}
_SUBTYPE_PLANTED: Final = {"two_regions": "insured_twice_regions", "two_schemes": "insured_twice_schemes"}
_WORLD: Final = ("truth", "world")


def _world(world: Path, table: str) -> pl.DataFrame:
    path = world.joinpath(*_WORLD, f"{table}.parquet")
    if not path.is_file():
        raise InputError(
            "world",
            str(path),
            "找不到合成世界的真值表（yibao match generate 的输出）",
            "no truth table of a synthetic world (the output of yibao match generate)",
        )
    return pl.read_parquet(path)


def _linked(frame: pl.DataFrame, persons: pl.DataFrame, kind: str) -> pl.DataFrame:
    """World records as feed rows linked by the truth (module docstring)."""
    who = persons.select("true_person_key", "person_id", "id_number", "name")
    got = frame.join(who, on="true_person_key", how="left").with_columns(
        pl.lit(f"truth:{kind}").alias("feed"),
        pl.col("true_person_key").alias("source_row"),
        pl.lit("truth").alias("link_method"),
        pl.lit(1.0).alias("match_probability"),
        pl.lit(None, pl.Int64).alias("cluster_id"),
    )
    got = got.with_columns(
        pl.when(pl.col("person_id").is_not_null())
        .then(pl.format("p:{}", pl.col("person_id")))
        .otherwise(pl.format("t:{}", pl.col("true_person_key")))
        .alias("subject")
    )
    cols = LINK_COLUMNS | FEED_COLUMNS[kind]
    return got.select(
        [(pl.col(c) if c in got.columns else pl.lit(None)).cast(t).alias(c) for c, t in cols.items()]
    )


def _tax_months(world: Path, manifest: dict[str, Any]) -> list[int]:
    """The months the tax feed covers: the manifest's, else the generator model's ``tax_months``."""
    got = manifest.get("tax_months")
    if isinstance(got, list) and got:
        return [int(m) for m in got]
    from yibao.match.synthetic.model import load_model

    return [int(m) for m in load_model().codes("tax_months")]


def true_inputs(world: str | Path) -> Inputs:
    """The worklists' inputs built from the world's truth (module docstring)."""
    world = Path(world)
    manifest_path = world / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    register = world / "register"
    reg_manifest = json.loads((register / "manifest.json").read_text(encoding="utf-8"))
    policy = default_registry().policy(str(reg_manifest["region"]))
    as_of = dt.date.fromisoformat(str(reg_manifest["as_of"]))
    persons_w = _world(world, "persons")
    employers_w = _world(world, "employers").select(
        pl.col("uscc").alias("employer_uscc"), pl.col("name").alias("employer_name")
    )
    months = _tax_months(world, manifest)
    jobs = (
        _world(world, "jobs")
        .filter(pl.col("month").is_in(months) & (pl.col("month") <= month_of(as_of)))
        .rename({"uscc": "employer_uscc"})
        .join(employers_w, on="employer_uscc", how="left")
    )
    dead = persons_w.filter(pl.col("death_date").is_not_null() & (pl.col("death_date") <= as_of)).select(
        "true_person_key", "death_date"
    )
    births = _world(world, "births").join(
        persons_w.select("true_person_key", pl.col("hukou_region").alias("region_code")),
        on="true_person_key",
        how="left",
    )
    active = load_settings().other_region_active_status.values[0]
    other = _world(world, "other_enrollments").with_columns(
        pl.when(pl.col("scheme") == "employee")
        .then(pl.lit("职工基本医疗保险"))
        .otherwise(pl.lit("城乡居民基本医疗保险"))
        .alias("insurance_type"),
        pl.lit(active).alias("status"),
    )
    moves = _world(world, "moves").rename({"from_region": "from_region_code", "to_region": "to_region_code"})
    feeds = {
        "tax_wages": _linked(jobs, persons_w, "tax_wages"),
        "deaths": _linked(dead, persons_w, "deaths"),
        "births": _linked(births, persons_w, "births"),
        "register": _linked(other, persons_w, "register"),
        "hukou_moves": _linked(moves, persons_w, "hukou_moves"),
    }
    reg = read_register(register, policy.region.code)
    provenance = {
        "world": str(world),
        "register": str(register),
        "region": policy.region.code,
        "region_label": policy.label,
        "as_of": as_of.isoformat(),
        "truth": True,
        "tax_months": months,
        "model_version": manifest.get("model_version"),
    }
    return Inputs(
        policy.region.code,
        as_of,
        policy,
        reg["persons"],
        reg["employers"],
        reg["enrollments"],
        reg["contribution_months"],
        feeds,
        provenance,
    )


def true_worklists(world: str | Path, overrides: dict[str, int | None] | None = None) -> WorklistResult:
    """The eight worklists of the world's truth."""
    return compute(true_inputs(world), overrides)


def _keys(
    frame: pl.DataFrame, code: str, persons: pl.DataFrame, feed_truth: pl.DataFrame | None
) -> pl.DataFrame:
    """``(subtype, key)`` of each row: the employer's credit code, or the true person."""
    if code == "employer_undercount":
        return frame.select("subtype", pl.col("employer_uscc").alias("key")).unique()
    keyed = frame.select("subtype", "person_id", "feed", "source_row", "subject").join(
        persons.select("person_id", pl.col("true_person_key").alias("_by_pid")), on="person_id", how="left"
    )
    if feed_truth is not None:
        keyed = keyed.join(
            feed_truth.select("feed", "source_row", pl.col("true_person_key").alias("_by_row")),
            on=["feed", "source_row"],
            how="left",
        )
    else:  # the truth's own rows: source_row is the true person key
        keyed = keyed.with_columns(pl.col("source_row").alias("_by_row"))
    key = pl.coalesce(
        pl.col("_by_pid").cast(pl.String),
        pl.col("_by_row").cast(pl.String),
        pl.format("unmapped:{}", pl.col("subject")),
    )
    return keyed.select("subtype", key.alias("key")).unique()


def _score(pred: set[str], true: set[str]) -> dict[str, Any]:
    from yibao.match.evaluate import scores

    tp = len(pred & true)
    return {"predicted": len(pred), "true": len(true)} | scores(tp, len(pred) - tp, len(true) - tp)


def evaluate_worklists(
    world: str | Path, run: str | Path, overrides: dict[str, int | None] | None = None
) -> dict[str, Any]:
    """Precision and recall of each worklist of ``run`` against the world's true worklists."""
    world, run = Path(world), Path(run)
    truth = true_worklists(world, overrides)
    predicted = compute(load_inputs(run, world / "register"), overrides)
    persons = _world(world, "persons").select("person_id", "true_person_key").drop_nulls("person_id")
    feed_truth = pl.read_parquet(world / "truth" / "feed_rows.parquet")
    planted_path = world.joinpath(*_WORLD, "situations.parquet")
    planted = pl.read_parquet(planted_path) if planted_path.is_file() else None
    by: dict[str, Any] = {}
    table = []
    for code in CODES:
        if code not in predicted.frames or code not in truth.frames:
            by[code] = {"skipped": predicted.skipped.get(code, truth.skipped.get(code, ("", "")))[1]}
            continue
        p = _keys(predicted.frames[code], code, persons, feed_truth)
        t = _keys(truth.frames[code], code, persons, None)
        entry = _score(set(p["key"].to_list()), set(t["key"].to_list()))
        if code == "insured_twice":
            entry["by_subtype"] = {
                s: _score(
                    set(p.filter(pl.col("subtype") == s)["key"].to_list()),
                    set(t.filter(pl.col("subtype") == s)["key"].to_list()),
                )
                for s in _SUBTYPE_PLANTED
            }
        if planted is not None:
            entry |= _planted(planted, code, set(t["key"].to_list()), world)
        by[code] = entry
        table.append(
            {
                "worklist": code,
                "true 真值": entry["true"],
                "listed 列出": entry["predicted"],
                "TP": entry["tp"],
                "FP": entry["fp"],
                "FN": entry["fn"],
                "precision": _fmt(entry["precision"]),
                "recall": _fmt(entry["recall"]),
                "F1": _fmt(entry["f1"]),
                "planted 植入": entry.get("planted"),
            }
        )
    return {
        "thresholds": {k: v.as_dict() for k, v in truth.thresholds.items()},
        "by_worklist": by,
        "table": table,
    }


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.4f}"


def _planted(planted: pl.DataFrame, code: str, true_keys: set[str], world: Path) -> dict[str, Any]:
    rows = planted.filter(pl.col("situation").is_in(list(PLANTED[code])))
    if code == "employer_undercount":  # the generator names the unit by its employer_id: its credit code
        units = _world(world, "employers").select("employer_id", "uscc")
        keys = set(rows.join(units, on="employer_id", how="inner")["uscc"].to_list())
    else:
        keys = set(rows["true_person_key"].drop_nulls().cast(pl.String).to_list())
    found = len(keys & true_keys)
    return {"planted": len(keys), "truth_finds_planted": round(found / len(keys), 6) if keys else None}


def section(world: Path, run: Path) -> dict[str, Any]:
    """The ``worklists`` section of ``yibao match evaluate`` (yibao.match.evaluate.SECTIONS)."""
    return evaluate_worklists(world, run)

"""``generate``: a synthetic region with known truth for precise enrollment (docs/match-synthetic.md).

Deterministic for a seed: one :class:`numpy.random.SeedSequence` child stream per part (persons,
jobs, enrollments, register ids, feed records, and one per feed's corruption), so the same
``(persons, seed)`` gives the same tables on every run and machine. Each file is written under a
temporary name and renamed, so an interrupted run leaves whole files only; running again rewrites
the folder (it is fast: see docs/performance.md).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import numpy as np
import polars as pl

from yibao.errors import InputError
from yibao.match.synthetic.employment import make_employment
from yibao.match.synthetic.enrollment import make_enrollments
from yibao.match.synthetic.feeds import clean_feeds, render_feed
from yibao.match.synthetic.model import CORRUPTION_TYPES, FEEDS, ID_UNUSABLE, Model, load_model
from yibao.match.synthetic.population import Window, make_population
from yibao.match.synthetic.register import build_register, write_register
from yibao.match.synthetic.truth import situations, world_tables
from yibao.match.synthetic.writers import write_feed
from yibao.policy.registry import default_registry

__all__ = ["MAX_PERSONS", "MIN_PERSONS", "STAGES", "generate"]

MIN_PERSONS: Final = 100
MAX_PERSONS: Final = 4_000_000  # about 4 GB of memory per million persons (docs/performance.md)
#: The stages reported to ``progress`` in order.
STAGES: Final = ("persons", "jobs", "enrollments", "register", "feeds", "truth")


def _check(persons: int, seed: int) -> None:
    if not MIN_PERSONS <= persons <= MAX_PERSONS:
        raise InputError("persons", persons, f"应为 {MIN_PERSONS}..{MAX_PERSONS} 之间的整数",
                         f"expected an integer from {MIN_PERSONS} to {MAX_PERSONS}")
    if seed < 0:
        raise InputError("seed", seed, "应为非负整数", "expected a non-negative integer")


def _write(frame: pl.DataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".parquet.part")
    frame.write_parquet(tmp, compression="zstd")
    tmp.replace(path)


def _max_gap(model: Model, window: Window) -> int:
    """The back-payable gap (``eligibility.backpay_max_gap_months``) in force at the as-of date."""
    snap = default_registry().policy(model.text("home_policy")).at(window.end.astype(dt.date))
    return int(snap.get("eligibility.backpay_max_gap_months"))


def _shares(truth: pl.DataFrame) -> dict[str, float]:
    n = max(truth.height, 1)
    counts = truth.select(pl.col("errors").explode()).drop_nulls().group_by("errors").len()
    got = {k: v / n for k, v in counts.iter_rows()}
    unusable = truth["errors"].list.eval(pl.element().is_in(list(ID_UNUSABLE))).list.any().sum()
    legacy = got.get("id_legacy15", 0.0)
    return {k: round(got.get(k, 0.0), 5) for k in (*CORRUPTION_TYPES, "moved_region")} | {
        "id_unusable": round(unusable / n, 5), "id_corrupted": round(unusable / n + legacy, 5)}


def _world_stats(tables: dict[str, pl.DataFrame]) -> dict[str, float]:
    e = tables["enrollments"].filter(pl.col("status") != "ended")
    by = dict(e.filter(pl.col("scheme") == "employee").group_by("category").len().iter_rows())
    employee = sum(by.values()) or 1
    jobs = tables["_jobs_tax"]
    births = tables["_births"]
    return {"flexible_share_of_employee_enrollees": round(by.get("flexible", 0) / employee, 4),
            "in_service_per_retiree": round((by.get("in_service", 0) + by.get("flexible", 0))
                                            / max(by.get("retiree", 0), 1), 3),
            "uninsured_share_of_taxed_employees": round(1 - int(jobs["insured"].sum())
                                                        / max(jobs.height, 1), 4),
            "newborn_enrolled_share": round(int(births["enrolled_month"].is_not_null().sum())
                                            / max(births.height, 1), 4)}


def generate(persons: int, seed: int, out: str | Path,
             progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write the world of ``persons`` persons (plus its newborns) to ``out``; the manifest."""
    _check(persons, seed)
    out = Path(out)
    model = load_model()
    window = Window(model.number("first_month"), model.number("last_month"))
    max_gap = _max_gap(model, window)
    streams = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(6 + len(FEEDS))]
    step = progress or (lambda _stage: None)
    pop = make_population(streams[0], model, persons, window)
    step("persons")
    emp = make_employment(streams[1], model, pop, window)
    step("jobs")
    enr = make_enrollments(streams[2], model, pop, emp, window, max_gap)
    step("enrollments")
    reg = build_register(streams[3], model, pop, emp, enr)
    register_manifest = write_register(reg, out / "register", model.text("home_region"),
                                       window.end.astype(dt.date))
    enrollments = reg.tables["enrollments"]
    person_id = reg.person_id
    del reg  # the register is on disk; its tables are large (memory: docs/performance.md)
    step("register")
    clean = clean_feeds(streams[4], model, pop, emp, enr, window)
    truths, files = [], {}
    pid = pl.Series(person_id).replace(-1, None)
    for j, name in enumerate(FEEDS):
        raw, truth = render_feed(streams[6 + j], model, name, clean[name], pop)
        files[name] = str(write_feed(raw, out / "feeds", name, model.feeds[name]).relative_to(out))
        truths.append(truth.select(pl.lit(name).alias("feed"), "source_row",
                                   pl.col("key").alias("true_person_key"),
                                   pid.gather(truth["key"]).alias("person_id"), "errors"))
    feed_rows = pl.concat(truths)
    _write(feed_rows, out / "truth" / "feed_rows.parquet")
    step("feeds")
    del clean, truths
    world = world_tables(pop, emp, enr, person_id, window)
    world["situations"] = situations(model, pop, emp, enr, window, max_gap)
    for name, frame in world.items():
        _write(frame, out / "truth" / "world" / f"{name}.parquet")
    step("truth")
    tax_month = int(model.codes("tax_months")[-1])
    stats_in = {"enrollments": enrollments, "_births": world["births"],
                "_jobs_tax": world["jobs"].filter(pl.col("month") == tax_month)}
    manifest = {
        "generator": "yibao match generate", "model_version": model.version,
        "model_fixed_on": str(model.fixed_on),
        "seed": seed, "persons": persons, "world_persons": pop.n, "as_of": str(window.end),
        "home_region": model.text("home_region"), "other_region": model.text("other_region"),
        "backpay_max_gap_months": max_gap,
        "register_rows": register_manifest["rows"], "feeds": files,
        "feed_rows": dict(feed_rows.group_by("feed").len().sort("feed").iter_rows()),
        "feed_rows_total": feed_rows.height,
        "rates": {k: r.rate for k, r in model.corruption.items()},
        "rate_overrides": {k: f.overrides for k, f in model.feeds.items() if f.overrides},
        "error_shares": _shares(feed_rows),
        "error_shares_by_feed": {n: _shares(feed_rows.filter(pl.col("feed") == n)) for n in FEEDS},
        "world": _world_stats(stats_in),
        "situations": dict(world["situations"].group_by("situation").len().sort("situation").iter_rows()),
    }
    text = json.dumps(manifest, ensure_ascii=False, indent=2) + "\n"
    (out / "manifest.json").write_text(text, encoding="utf-8")
    return manifest

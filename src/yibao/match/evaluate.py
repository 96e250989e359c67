"""Evaluation of a matching run against a synthetic world's truth (issue 6, ``yibao match evaluate``).

**Person matching.** Each feed row is a decision: the run links it to a register ``person_id`` or to
nobody; the truth (``DIR/truth/feed_rows.parquet``) says which person it is, or that the person is
not in the register. Counting per row:

- true positive (TP): linked to the true person;
- false positive (FP): linked, but to someone else or although the person is not in the register;
- false negative (FN): the person is in the register but the row is not linked to them (unlinked,
  or linked to someone else — a wrong link is an FP and an FN, as in record-to-entity linkage).

``precision = TP / (TP + FP)``, ``recall = TP / (TP + FN)``, ``F1 = 2PR / (P + R)``; a ratio with
a zero denominator is reported as null. The figures are given overall, per feed, per error type of
the corruption model (a row counts under every type it carries, and under ``clean`` when it carries
none: docs/match-synthetic.md) and per link method. A feed row missing from ``links.parquet`` counts
as unlinked and is reported (``rows_missing_from_run``).

**More sections.** :data:`SECTIONS` lists further evaluations run after person matching; each is a
function ``(world_dir, run_dir) -> dict`` whose result goes into ``evaluation.json`` under its name.
The worklists' precision and recall (M3) are added there; a section may return a ``"table"`` (a
list of row dicts) that the CLI prints.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.errors import InputError

__all__ = ["SECTIONS", "Section", "evaluate_run", "person_matching", "scores"]

Section = tuple[str, Callable[[Path, Path], dict[str, Any]]]



def _worklists(world: Path, run: Path) -> dict[str, Any]:
    """Each worklist's precision and recall (yibao.match.worklists.truth, docs/worklists.md)."""
    from yibao.match.worklists.truth import section  # late: the worklists' truth uses scores() of this module

    return section(world, run)


#: Thresholds the sweep tries on the run's linkage candidates.
SWEEP: Final = (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)


def _threshold_sweep(world: Path, run: Path) -> dict[str, Any]:
    """Person matching had linkage used another threshold: the evidence for choosing one.

    Reads ``RUN/linkage/candidates.parquet`` (each row's best candidate, its probability and the
    second-best weight) and recomputes the overall scores per threshold in :data:`SWEEP`, keeping
    the run's margin rule; empty when the run has no linkage."""
    from yibao.match.linkage import linkage_settings, linked_expr

    cand_path = run / "linkage" / "candidates.parquet"
    if not cand_path.is_file():
        return {}
    truth = _read(world.joinpath(*_TRUTH), "world", ("feed", "source_row", "person_id", "errors"))
    links = _read(run / _LINKS, "run", ("feed", "source_row", "person_id", "method"))
    state_path = run / "run.json"
    state = json.loads(state_path.read_text(encoding="utf-8")) if state_path.is_file() else {}
    linkage = state.get("stages", {}).get("linkage", {})
    shipped = linkage_settings()
    margin = float(linkage.get("margin", shipped.margin))
    used = float(linkage.get("threshold", shipped.threshold))
    base = links.with_columns(pl.when(pl.col("method") == "probabilistic").then(None)
                              .otherwise(pl.col("person_id")).alias("person_id"))
    cand = pl.read_parquet(cand_path).filter(pl.col("person_id").is_not_null())
    table = []
    for t in sorted({*SWEEP, used}):
        pick = cand.filter(linked_expr(t, margin)).select(
            "feed", "source_row", pl.col("person_id").alias("picked"))
        trial = (base.join(pick, on=["feed", "source_row"], how="left")
                 .with_columns(pl.coalesce("person_id", "picked").alias("person_id")).drop("picked"))
        out = _outcomes(truth, trial).select(pl.col("tp").sum(), pl.col("fp").sum(),
                                             pl.col("fn").sum()).row(0)
        table.append({"threshold": t, "linked_by_linkage": pick.height, "used": t == used}
                     | scores(int(out[0]), int(out[1]), int(out[2])))
    best = max(table, key=lambda r: (r["f1"] or 0.0, r["threshold"]))
    # among thresholds as good as the best (F1 within 0.0001), the highest: the most precise
    chosen = max(r["threshold"] for r in table if (r["f1"] or 0.0) >= (best["f1"] or 0.0) - 1e-4)
    return {"margin": margin, "threshold_used": used, "best_threshold": best["threshold"],
            "best_f1": best["f1"], "chosen_threshold": chosen, "table": table}


#: Further sections of the evaluation, run in order after person matching.
SECTIONS: list[Section] = [("threshold_sweep", _threshold_sweep), ("worklists", _worklists)]

_TRUTH: Final = ("truth", "feed_rows.parquet")
_LINKS: Final = "links.parquet"


def scores(tp: int, fp: int, fn: int) -> dict[str, Any]:
    """Counts and precision, recall, F1 (null where a denominator is zero), rounded to 6 places."""
    precision = tp / (tp + fp) if tp + fp else None
    recall = tp / (tp + fn) if tp + fn else None
    f1 = (2 * precision * recall / (precision + recall)
          if precision is not None and recall is not None and precision + recall > 0 else None)
    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 6)

    return {"tp": tp, "fp": fp, "fn": fn, "precision": r(precision), "recall": r(recall), "f1": r(f1)}


def _read(path: Path, what: str, needs: tuple[str, ...]) -> pl.DataFrame:
    if not path.is_file():
        raise InputError(what, str(path), "找不到该文件", "file not found")
    frame = pl.read_parquet(path)
    missing = [c for c in needs if c not in frame.columns]
    if missing:
        raise InputError(what, str(path), f"缺少列 {', '.join(missing)}",
                         f"missing columns {', '.join(missing)}")
    return frame


def _outcomes(truth: pl.DataFrame, links: pl.DataFrame) -> pl.DataFrame:
    """One row per truth row: tp/fp/fn flags (0/1), its feed, method and error types."""
    dup = links.group_by("feed", "source_row").len().filter(pl.col("len") > 1)
    if dup.height:
        feed, row, n = dup.row(0)
        raise InputError("links", f"{feed}:{row}", f"每个数据行只应有一个链接（此行有 {n} 个）",
                         f"each feed row must have exactly one link (this one has {n})")
    got = truth.join(links.select("feed", "source_row", pl.col("person_id").alias("linked"),
                                  pl.col("method"), pl.lit(True).alias("in_run")),
                     on=["feed", "source_row"], how="left")
    linked, true = pl.col("linked"), pl.col("person_id")
    same = (linked == true).fill_null(False)  # null on either side is never "the same person"
    return got.select(
        "feed", "errors", pl.col("method").fill_null("missing"), pl.col("in_run").fill_null(False),
        same.cast(pl.Int64).alias("tp"),
        (linked.is_not_null() & ~same).cast(pl.Int64).alias("fp"),
        (true.is_not_null() & ~same).cast(pl.Int64).alias("fn"))


def _grouped(frame: pl.DataFrame, by: str) -> dict[str, dict[str, Any]]:
    sums = frame.group_by(by).agg(pl.len().alias("rows"), pl.col("tp").sum(), pl.col("fp").sum(),
                                  pl.col("fn").sum()).sort(by)
    return {str(k): {"rows": int(n)} | scores(int(tp), int(fp), int(fn))
            for k, n, tp, fp, fn in sums.iter_rows()}


def person_matching(truth: pl.DataFrame, links: pl.DataFrame) -> dict[str, Any]:
    """Precision, recall and F1 of the links, overall, by feed, by error type and by method."""
    out = _outcomes(truth, links)
    total = out.select(pl.len(), pl.col("tp").sum(), pl.col("fp").sum(), pl.col("fn").sum()).row(0)
    errors = out.with_columns(pl.when(pl.col("errors").list.len() == 0).then(pl.lit(["clean"]))
                              .otherwise(pl.col("errors")).alias("error")).explode("error")
    return {
        "rows": int(total[0]), "rows_missing_from_run": int((~out["in_run"]).sum()),
        "in_register": int(truth["person_id"].is_not_null().sum()),
        "overall": scores(int(total[1]), int(total[2]), int(total[3])),
        "by_feed": _grouped(out, "feed"),
        "by_error_type": _grouped(errors, "error"),
        "by_method": _grouped(out, "method"),
    }


def evaluate_run(world: str | Path, run: str | Path, write: bool = True) -> dict[str, Any]:
    """Evaluate ``RUN/links.parquet`` against ``WORLD/truth``; also written to ``RUN/evaluation.json``."""
    world, run = Path(world), Path(run)
    truth = _read(world.joinpath(*_TRUTH), "world", ("feed", "source_row", "person_id", "errors"))
    links = _read(run / _LINKS, "run", ("feed", "source_row", "person_id", "method"))
    manifest_path = world / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    result: dict[str, Any] = {"world": str(world), "run": str(run), "seed": manifest.get("seed"),
                              "persons": manifest.get("persons"),
                              "model_version": manifest.get("model_version"),
                              "person_matching": person_matching(truth, links)}
    for name, section in SECTIONS:
        result[name] = section(world, run)
    if write:
        text = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
        (run / "evaluation.json").write_text(text, encoding="utf-8")
    return result

"""Regional disparity (issue 7; seeds 000 and 004 on regional differences): the same people and the
same claims settled under each shipped region's rules.

The lab's 2024 sample draws its claims once (:func:`yibao.sim.year.claims_year`, the composite's
benefit classes and levels); every region with complete settlement rules settles them with its
own deductibles, bands, ceilings and large-amount segment. The **effective reimbursement rate**
is what the funds paid over the total cost, inpatient and outpatient, for all members and for the
in-service and the retired apart (each status's claims drawn once for every region), so a region
whose rules are sourced for one status only still counts for it. A region whose rule for the date
is missing a needed value is listed with the key that is unknown, not guessed.

**Reforms between regions** (seed 000 §三(一): unify the regions' benefit rules step by step). A
reform overlay that applies to every region (``applies_to: all``, or a list of regions) is laid on
each region's own rules, and the same claims are settled again: :func:`disparity` then measures how
far apart the regions are before and after (the spread and the coefficient of variation of the
effective rates). The adjustment fund between regions (调剂金) works on funds, not on rules: it is
:mod:`yibao.sim.pools`, over pools a scenario defines.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import polars as pl

from yibao.errors import YibaoError
from yibao.policy.catalog import LEVELS
from yibao.policy.registry import Registry, default_registry
from yibao.rules.settlement_params import NO_LIMIT
from yibao.sim.claims import Utilisation
from yibao.sim.year import YearRules, claims_year

__all__ = ["disparity", "regional_comparison"]


_LEVEL_3 = LEVELS.index("level_3")
KINDS = ("inpatient", "outpatient")
STATUS_GROUPS = ("in_service", "retired")


def _yuan(fen: int) -> float | None:
    """A compiled cell in yuan; None for an open limit or an unknown value."""
    return None if fen < 0 or fen >= NO_LIMIT else fen / 100


def _kind_rate(
    m: dict[str, np.ndarray], rules: YearRules, u: Utilisation, seed: int, kind: str
) -> tuple[float | None, str]:
    """(fund paid / cost, "") for one kind of care, or (None, the unknown key)."""
    only = replace(u, outpatient_use=(0.0, 0.0)) if kind == "inpatient" else replace(u, rate=(0.0, 0.0))
    try:
        c = claims_year(m, rules, only, seed, 0)
    except YibaoError as e:
        return None, str(getattr(e, "key", "")) or type(e).__name__
    w = m["weight"]
    return float(w @ c[f"{kind}_fund"]) / float(w @ c[f"{kind}_cost"]), ""


def regional_comparison(
    m: dict[str, np.ndarray],
    year: int,
    u: Utilisation,
    seed: int,
    registry: Registry | None = None,
    reforms: tuple[str, ...] = (),
) -> pl.DataFrame:
    """One row per region: effective rates (inpatient, outpatient), the first inpatient deductible
    and pooled ceiling (in-service, level 3, yuan), and ``missing`` (the unknown keys, if any);
    with ``reforms`` (ids or paths of overlays) laid on each region's rules where they apply."""
    registry = registry or default_registry()
    retired = m["status"] >= 2
    masks = {"in_service": ~retired, "retired": retired}
    groups = {name: {k: v[mask] for k, v in m.items()} for name, mask in masks.items()}
    rows = []
    for header in registry.regions():
        row: dict[str, Any] = {"code": header.code, "region": f"{header.name_zh} / {header.name_en}"}
        rules = YearRules.build(registry.policy(header.code, reforms), year)
        inpatient, miss_in = _kind_rate(m, rules, u, seed, "inpatient")
        outpatient, miss_out = _kind_rate(m, rules, u, seed, "outpatient")
        # by status too: a region whose rules are sourced for one status only (Tianjin's inpatient
        # rule for retirees) still enters the comparison for that status
        for kind in KINDS:
            for status, part in groups.items():
                row[f"{kind}_rate_{status}"] = _kind_rate(part, rules, u, seed, kind)[0]
        t = rules.settlement
        row |= {
            "inpatient_rate": inpatient,
            "outpatient_rate": outpatient,
            "deductible_first": _yuan(int(t.deductible[0, 0, 0, 0, _LEVEL_3])),
            "pooled_ceiling": _yuan(int(t.ceiling[0, 0, 0])),
            "missing": "; ".join(k for k in (miss_in, miss_out) if k),
        }
        rows.append(row)
    schema = {
        "code": pl.String,
        "region": pl.String,
        "inpatient_rate": pl.Float64,
        "outpatient_rate": pl.Float64,
        **{f"{k}_rate_{g}": pl.Float64 for k in KINDS for g in STATUS_GROUPS},
        "deductible_first": pl.Float64,
        "pooled_ceiling": pl.Float64,
        "missing": pl.String,
    }
    return pl.DataFrame(rows, schema=schema)


def disparity(regional: pl.DataFrame) -> pl.DataFrame:
    """Per variant and kind of care (all members, then in service and retired apart), how far apart
    the regions' effective rates are: the number of regions with a known rate, the lowest, the
    highest, the spread (highest − lowest) and the coefficient of variation (population standard
    deviation / mean)."""
    rows = []
    # (kind as reported, its column): all members, then each status apart
    kinds = [(k, f"{k}_rate") for k in KINDS]
    kinds += [(f"{k}_{g}", f"{k}_rate_{g}") for k in KINDS for g in STATUS_GROUPS]
    for vid in regional["variant"].unique(maintain_order=True).to_list():
        v = regional.filter(pl.col("variant") == vid)
        for kind, col in kinds:
            rates = np.array([x for x in v[col].to_list() if x is not None], dtype=float)
            known = rates.size > 0
            rows.append({
                "variant": vid,
                "kind": kind,
                "regions": int(rates.size),
                "lowest": float(rates.min()) if known else None,
                "highest": float(rates.max()) if known else None,
                "spread": float(rates.max() - rates.min()) if known else None,
                "cv": float(rates.std() / rates.mean()) if known and rates.mean() > 0 else None,
            })
    schema = {"variant": pl.String, "kind": pl.String, "regions": pl.Int64, "lowest": pl.Float64,
              "highest": pl.Float64, "spread": pl.Float64, "cv": pl.Float64}
    return pl.DataFrame(rows, schema=schema)

"""A lab scenario: reforms compared with the baseline over drawn assumptions (``yibao lab run``).

A scenario file (YAML; examples in ``scenarios/``)::

    name_zh: 淡化个人账户
    name_en: Phase out individual accounts
    seed: 1
    agents: 20000        # sample records
    draws: 20            # assumption draws (draw 0 = central values)
    end_year: 2050
    compare_year: 2025   # the year of the distributional comparison
    assumptions: {excess_cost_growth: 0.02}   # overrides of assumptions.yaml
    variants:
      - {id: account_phase_out, reforms: [account_phase_out]}
      - {id: my_reform, reforms: [path/to/my_reform.yaml]}

The baseline, and ``no_retirement_rise`` (the statutory ages before the 2024 decision, which the
published projections assumed), are always run. Each (variant, draw) path is written to
``OUT/parts/`` as it finishes, so an interrupted run resumes where it stopped; ``run.json`` holds
the scenario's fingerprint and a changed scenario starts afresh.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from yibao.errors import InputError
from yibao.policy.registry import default_registry
from yibao.sim.assumptions import Assumptions, lab_assumptions
from yibao.sim.calibrate import calibration as calibrate
from yibao.sim.extract import load_extract
from yibao.sim.funds import lab_policy, sample_columns
from yibao.sim.metrics import distribution, fair_rates, group_table, person_frame, winners_losers
from yibao.sim.pools import AdjustmentSpec, Pool, apply_fund, opening_balance, pool_start, pool_summary
from yibao.sim.population import build_population
from yibao.sim.projection import START_YEAR, Draw, ProjectionStart, assumption_draws, exhaustion_year, project
from yibao.sim.regional import disparity, regional_comparison

__all__ = [
    "BASELINE",
    "NO_RETIREMENT_RISE",
    "Scenario",
    "ScenarioResult",
    "Variant",
    "load_scenario",
    "run_scenario",
]

BASELINE = "baseline"
NO_RETIREMENT_RISE = "no_retirement_rise"


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    reforms: list[str] = []
    retirement_reform: bool = True


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name_zh: str = "基线"
    name_en: str = "Baseline"
    seed: int = 1
    agents: int = Field(default=20_000, ge=1_000, le=5_000_000)
    draws: int = Field(default=20, ge=1, le=500)
    end_year: int = Field(default=2050, ge=START_YEAR + 1, le=2100)
    compare_year: int = Field(default=2025, ge=START_YEAR, le=2100)
    assumptions: dict[str, Any] = {}
    variants: list[Variant] = []
    pools: list[Pool] = []
    adjustment_fund: AdjustmentSpec = AdjustmentSpec()

    @field_validator("variants")
    @classmethod
    def _unique(cls, v: list[Variant]) -> list[Variant]:
        ids = [x.id for x in v]
        if len(set(ids)) != len(ids) or {BASELINE, NO_RETIREMENT_RISE} & set(ids):
            raise ValueError(f"variant ids must be unique and not {BASELINE} or {NO_RETIREMENT_RISE}")
        return v

    @field_validator("pools")
    @classmethod
    def _unique_pools(cls, v: list[Pool]) -> list[Pool]:
        ids = [x.id for x in v]
        if len(set(ids)) != len(ids):
            raise ValueError("pool ids must be unique")
        if len(v) == 1:
            raise ValueError("an adjustment fund needs at least two pools")
        return v

    def all_variants(self) -> list[Variant]:
        return [Variant(id=BASELINE), Variant(id=NO_RETIREMENT_RISE, retirement_reform=False), *self.variants]

    def fingerprint(self) -> str:
        """The scenario and the content of its extracts: a change to either starts the run afresh."""
        h = hashlib.sha256(self.model_dump_json().encode())
        for pool in self.pools:
            if pool.extract is not None and Path(pool.extract).is_file():
                h.update(Path(pool.extract).read_bytes())
        return h.hexdigest()[:16]


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; every problem is a bilingual error naming the field."""
    p = Path(path)
    if not p.is_file():
        raise InputError("SCENARIO", str(p), "场景文件不存在", "no such scenario file")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise InputError("SCENARIO", str(p), "不是有效的 YAML", f"not valid YAML: {e}") from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as e:
        err = e.errors()[0]
        field = ".".join(str(x) for x in err["loc"]) or "scenario"
        raise InputError(field, err.get("input"), "场景字段无效", err["msg"]) from None
    if scenario.adjustment_fund.draws > scenario.draws:
        raise InputError(
            "adjustment_fund.draws",
            scenario.adjustment_fund.draws,
            f"不能多于 draws（{scenario.draws}）",
            f"must not exceed draws ({scenario.draws})",
        )
    scenario = _with_extracts(scenario, p.parent)
    if scenario.compare_year > scenario.end_year:
        raise InputError(
            "compare_year",
            scenario.compare_year,
            f"不能晚于 end_year（{scenario.end_year}）",
            f"must not be after end_year ({scenario.end_year})",
        )
    lab_assumptions().with_overrides(scenario.assumptions)  # unknown names and bad values fail here
    known = [f.reform.id for f in default_registry().reforms() if f.reform is not None]
    for i, v in enumerate(scenario.variants):
        for name in v.reforms:
            if name not in known and not Path(name).is_file():
                raise InputError(
                    f"variants[{i}].reforms",
                    name,
                    f"未知改革；可用：{', '.join(known)} 或改革文件路径",
                    f"unknown reform; known: {', '.join(known)}, or the path of a reform file",
                )
        lab_policy(tuple(v.reforms))  # a broken reform file fails here, naming the file
    return scenario


def _with_extracts(scenario: Scenario, folder: Path) -> Scenario:
    """Extract paths resolved against the scenario's folder, each file checked row by row now
    (a bad extract fails before any work)."""
    pools = []
    for i, pool in enumerate(scenario.pools):
        if pool.extract is not None:
            f = Path(pool.extract) if Path(pool.extract).is_absolute() else folder / pool.extract
            if not f.is_file():
                raise InputError(f"pools[{i}].extract", pool.extract, "文件不存在", "no such file")
            load_extract(f, START_YEAR)
            pool = pool.model_copy(update={"extract": str(f)})
        pools.append(pool)
    return scenario.model_copy(update={"pools": pools})


@dataclass(frozen=True)
class ScenarioResult:
    """Everything the report shows, as frames (also written as Parquet)."""

    scenario: Scenario
    paths: pl.DataFrame  # every (variant, draw, year)
    exhaustion: pl.DataFrame  # per variant and draw: exhaustion and first deficit year
    calibration: pl.DataFrame
    groups: pl.DataFrame  # per variant, grouping and group: means a person
    distribution: pl.DataFrame  # per variant: Gini, CIs, Kakwani
    winners: pl.DataFrame  # per reform variant, grouping and group: gain / lose shares
    first_year: pl.DataFrame  # per variant: the compare year's totals and their change from the baseline
    regional: pl.DataFrame  # per variant and region: effective rates of the same claims
    disparity: pl.DataFrame  # per variant and kind of care: how far apart the regions are
    assumptions: pl.DataFrame
    draws: pl.DataFrame
    fair_rates: pl.DataFrame  # per variant and in-service status: rate paid and actuarially fair rate
    pools: pl.DataFrame  # per variant, draw, pool and year: alone and with the adjustment fund
    pool_summary: pl.DataFrame  # per variant, draw and pool: run-out years and money moved
    adjustment_fund: pl.DataFrame  # per variant, draw and year: the fund's levies, grants and balance


def _first_deficit(path: pl.DataFrame) -> int | None:
    d = path.filter(pl.col("pooled_spending") > pl.col("pooled_income"))
    return None if d.is_empty() else int(d["year"].min())  # type: ignore[arg-type]


def run_scenario(
    scenario: Scenario, out: Path, fresh: bool = False, progress: Callable[[int, int], None] | None = None
) -> ScenarioResult:
    """Run (or resume) every variant over every draw; write Parquet results to ``out``."""
    a: Assumptions = lab_assumptions().with_overrides(scenario.assumptions)
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    state = out / "run.json"
    fp = scenario.fingerprint()
    if fresh or not state.exists() or json.loads(state.read_text()).get("fingerprint") != fp:
        for f in parts.glob("*.parquet"):
            f.unlink()
        state.write_text(json.dumps({"fingerprint": fp}))
    calibration, _, cal = calibrate(agents=scenario.agents, seed=scenario.seed, assumptions=a)
    start = ProjectionStart(
        sample_columns(build_population(START_YEAR, scenario.agents, scenario.seed)),
        cal[START_YEAR],
        cal[START_YEAR - 1].account_balance,
        float(a["pooled_balance_2023"]),
    )
    draws = assumption_draws(a, scenario.draws, scenario.seed)
    variants = scenario.all_variants()
    pool_draws = draws[: scenario.adjustment_fund.draws] if scenario.pools else []
    total, done = len(variants) * (len(draws) + len(pool_draws) * len(scenario.pools)), 0
    kept: dict[str, Any] = {}
    paths = []
    for v in variants:
        policy = lab_policy(tuple(v.reforms))
        for d in draws:
            f = parts / f"{v.id}__{d.index:04d}.parquet"
            if f.exists() and d.index != 0:
                paths.append(pl.read_parquet(f))
            else:
                path, k = project(
                    start,
                    d,
                    a,
                    policy,
                    scenario.end_year,
                    v.retirement_reform,
                    scenario.seed,
                    keep_year=scenario.compare_year if d.index == 0 else None,
                )
                path = path.with_columns(pl.lit(v.id).alias("variant"))
                path.write_parquet(f)
                paths.append(path)
                if k is not None:
                    kept[v.id] = k
            done += 1
            if progress:
                progress(done, total)
    all_paths = pl.concat(paths)
    central = all_paths.filter(pl.col("draw") == 0)
    pools, fund, done = _run_pools(scenario, a, start, central, pool_draws, parts, done, total, progress)
    people = {
        vid: person_frame(
            k,
            float(
                central.filter((pl.col("variant") == vid) & (pl.col("year") == scenario.compare_year))[
                    "wage_index"
                ][0]
            ),
        )
        for vid, k in kept.items()
    }
    result = _summarise(scenario, a, all_paths, calibration, people, start, cal, draws, pools, fund)
    _write(result, out)
    return result


def _run_pools(
    scenario: Scenario,
    a: Assumptions,
    start: ProjectionStart,
    central: pl.DataFrame,
    draws: list[Draw],
    parts: Path,
    done: int,
    total: int,
    progress: Callable[[int, int], None] | None,
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Every variant's pools over the first ``adjustment_fund.draws`` draws (resumable like the
    national paths), then the adjustment fund between them (sim/pools.py)."""
    if not scenario.pools:
        return pl.DataFrame(), pl.DataFrame(), done
    spent = central.filter((pl.col("variant") == BASELINE) & (pl.col("year") == START_YEAR))
    national_months = float(a["pooled_balance_2023"]) / float(spent["pooled_spending"][0]) * 12
    starts = {pool.id: pool_start(pool, start) for pool in scenario.pools}
    paths = []
    for v in scenario.all_variants():
        policy = lab_policy(tuple(v.reforms))
        for d in draws:
            for pool in scenario.pools:
                f = parts / f"pool__{v.id}__{pool.id}__{d.index:04d}.parquet"
                if f.exists():
                    paths.append(pl.read_parquet(f))
                else:
                    path, _ = project(
                        starts[pool.id], d, a, policy, scenario.end_year, v.retirement_reform, scenario.seed
                    )
                    path = path.with_columns(
                        pl.lit(v.id).alias("variant"),
                        pl.lit(pool.id).alias("pool"),
                        pl.lit(pool.label).alias("label"),
                    )
                    path.write_parquet(f)
                    paths.append(path)
                done += 1
                if progress:
                    progress(done, total)
    pools, fund = _adjust(scenario, pl.concat(paths), national_months)
    return pools, fund, done


def _adjust(
    scenario: Scenario, pool_paths: pl.DataFrame, national_months: float
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The adjustment fund over every (variant, draw) of the pools' paths."""
    rule = scenario.adjustment_fund.rule()
    pools, funds = [], []
    for (vid, draw), paths in pool_paths.group_by(["variant", "draw"], maintain_order=True):
        openings = {}
        for pool in scenario.pools:
            first = paths.filter((pl.col("pool") == pool.id) & (pl.col("year") == START_YEAR))
            openings[pool.id] = opening_balance(pool, float(first["pooled_spending"][0]), national_months)
        rows, fund = apply_fund(paths, openings, rule)
        pools.append(rows)
        funds.append(fund.with_columns(pl.lit(vid).alias("variant"), pl.lit(draw).alias("draw")))
    return pl.concat(pools), pl.concat(funds)


def _summarise(
    scenario: Scenario,
    a: Assumptions,
    paths: pl.DataFrame,
    calibration: pl.DataFrame,
    people: dict[str, pl.DataFrame],
    start: ProjectionStart,
    cal: Any,
    draws: list[Draw],
    pools: pl.DataFrame,
    fund: pl.DataFrame,
) -> ScenarioResult:
    rows = []
    for (vid, draw), path in paths.group_by(["variant", "draw"], maintain_order=True):
        rows.append(
            {
                "variant": vid,
                "draw": draw,
                "exhaustion_year": exhaustion_year(path),
                "first_deficit_year": _first_deficit(path),
            }
        )
    exhaustion = pl.DataFrame(
        rows,
        schema={
            "variant": pl.String,
            "draw": pl.Int64,
            "exhaustion_year": pl.Int64,
            "first_deficit_year": pl.Int64,
        },
    )
    groups, dist, winners, fair = [], [], [], []
    same_people = {v.id: v.retirement_reform for v in scenario.all_variants()}
    base = people[BASELINE]
    for vid, p in people.items():
        for by in ("age_band", "decile", "status_name"):
            g = group_table(p, by).rename({by: "group"}).with_columns(pl.col("group").cast(pl.String))
            groups.append(g.with_columns(pl.lit(vid).alias("variant"), pl.lit(by).alias("grouping")))
            # winners and losers need the same people with the same claims: a variant that changes
            # who retires changes the population and its draws, so it is compared by its paths only
            if vid != BASELINE and same_people[vid]:
                wl = (
                    winners_losers(base, p, by)
                    .rename({by: "group"})
                    .with_columns(pl.col("group").cast(pl.String))
                )
                winners.append(wl.with_columns(pl.lit(vid).alias("variant"), pl.lit(by).alias("grouping")))
        dist.append({"variant": vid} | distribution(p))
        fair.append(fair_rates(p).with_columns(pl.lit(vid).alias("variant")))
    y = scenario.compare_year
    first = paths.filter((pl.col("draw") == 0) & (pl.col("year") == y)).select(
        "variant", "contributions", "account_credits", "pooled_income", "pooled_spending", "account_spending"
    )
    b = first.filter(pl.col("variant") == BASELINE).row(0, named=True)
    first = first.with_columns(
        *(
            (pl.col(c) - b[c]).alias(f"change_{c}")
            for c in ("contributions", "account_credits", "pooled_income", "pooled_spending")
        )
    ).with_columns(
        # seed 000: flexible workers' rates set actuarially "or subsidised" — a cut in contributions
        # the budget paid instead would keep the fund whole at this cost
        (-pl.col("change_contributions")).clip(lower_bound=0).alias("subsidy_to_keep_fund_whole")
    )
    # the same people and claims under each region's rules in the compare year, and under each
    # variant's reforms laid on every region they apply to (seed 000: unify the regions' rules)
    regional = pl.concat(
        [
            regional_comparison(
                start.sample, scenario.compare_year, cal[START_YEAR].utilisation, scenario.seed,
                reforms=tuple(v.reforms),
            ).with_columns(pl.lit(v.id).alias("variant"))
            for v in scenario.all_variants()
            if v.id == BASELINE or v.reforms
        ]
    )
    drawn = pl.DataFrame([d.as_dict() for d in draws])
    return ScenarioResult(
        scenario,
        paths,
        exhaustion,
        calibration,
        pl.concat(groups, how="diagonal"),
        pl.DataFrame(dist),
        pl.concat(winners, how="diagonal") if winners else pl.DataFrame(),
        first,
        regional,
        disparity(regional),
        a.table(),
        drawn,
        pl.concat(fair),
        pools,
        pool_summary(pools) if pools.height else pl.DataFrame(),
        fund,
    )


def _write(r: ScenarioResult, out: Path) -> None:
    for name in (
        "paths",
        "exhaustion",
        "calibration",
        "groups",
        "distribution",
        "winners",
        "first_year",
        "regional",
        "disparity",
        "assumptions",
        "draws",
        "fair_rates",
        "pools",
        "pool_summary",
        "adjustment_fund",
    ):
        frame: pl.DataFrame = getattr(r, name)
        frame.write_parquet(out / f"{name}.parquet")

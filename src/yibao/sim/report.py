"""The lab's HTML report: one self-contained file (Plotly's script inlined, no CDN), bilingual.

Sections: calibration; the pooled fund's balance paths with their range over the draws and the
year it runs out; published projections next to the lab's; the reform's first year (including the
conservation of money when accounts stop); distribution by income decile, age and status, with
concentration and Kakwani indices; winners and losers; regional disparity; the scenario's pools and
the adjustment fund between them; every assumption with its source.
"""

from __future__ import annotations

import datetime as dt
import html
from functools import lru_cache
from importlib import resources
from typing import Any

import plotly.graph_objects as go
import plotly.offline
import polars as pl
import yaml

from yibao.sim.projection import START_YEAR as START
from yibao.sim.scenario import BASELINE, ScenarioResult

__all__ = ["published_projections", "render_report"]

_CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",system-ui,sans-serif;margin:0 auto;max-width:1100px;
padding:1rem;color:#1f2933;line-height:1.5}
h1{font-size:1.6rem}h2{font-size:1.25rem;border-bottom:1px solid #cbd2d9;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0;display:block;overflow-x:auto}
th,td{border:1px solid #e4e7eb;padding:.25rem .5rem;text-align:right;vertical-align:top}
th{background:#f5f7fa}td.t,th.t{text-align:left}.note{color:#52606d;font-size:.9rem}
.warn{background:#fffbea;border-left:4px solid #f0b429;padding:.5rem 1rem}
"""


@lru_cache(maxsize=1)
def published_projections() -> list[dict[str, Any]]:
    """The published projections (``published.yaml``) with their explanations."""
    text = resources.files("yibao.sim").joinpath("published.yaml").read_text(encoding="utf-8")
    studies: list[dict[str, Any]] = yaml.safe_load(text)["studies"]
    return studies


def _fmt(v: Any, f: str) -> str:
    if v is None:
        return "—"
    if f == "pct":
        return f"{v:.1%}"
    if f == "pct2":
        return f"{v:+.2%}"
    if f == "int":
        return f"{v:,.0f}"
    if f == "num":
        return f"{v:,.2f}"
    if f == "idx":
        return f"{v:+.4f}"
    return html.escape(str(v))


def _table(df: pl.DataFrame, cols: list[tuple[str, str, str]]) -> str:
    """cols: (column, header, format); format "t" = text, left-aligned."""
    head = "".join(f'<th class="{"t" if f == "t" else ""}">{html.escape(h)}</th>' for _, h, f in cols)
    body = []
    for r in df.iter_rows(named=True):
        body.append(
            "<tr>"
            + "".join(f'<td class="{"t" if f == "t" else ""}">{_fmt(r.get(c), f)}</td>' for c, _, f in cols)
            + "</tr>"
        )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _fig(fig: go.Figure) -> str:
    fig.update_layout(margin={"l": 50, "r": 20, "t": 40, "b": 40}, height=420, template="plotly_white")
    return str(fig.to_html(full_html=False, include_plotlyjs=False))


_PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf", "#7f7f7f")


def _fan(r: ScenarioResult) -> str:
    q = (
        r.paths.group_by(["variant", "year"])
        .agg(
            pl.col("pooled_balance").quantile(0.1).alias("p10"),
            pl.col("pooled_balance").quantile(0.5).alias("p50"),
            pl.col("pooled_balance").quantile(0.9).alias("p90"),
        )
        .sort("variant", "year")
    )
    fig = go.Figure()
    order = r.paths["variant"].unique(maintain_order=True).to_list()
    for i, vid in enumerate(order):
        v = q.filter(pl.col("variant") == vid)
        x = v["year"].to_list()
        color = _PALETTE[i % len(_PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=v["p90"].to_list() + v["p10"].to_list()[::-1],
                fill="toself",
                fillcolor=color,
                opacity=0.15,
                line={"width": 0, "color": color},
                name=f"{vid} p10–p90",
                showlegend=False,
                legendgroup=vid,
            )
        )
        fig.add_trace(
            go.Scatter(x=x, y=v["p50"].to_list(), name=f"{vid} (p50)", legendgroup=vid, line={"color": color})
        )
    fig.add_hline(y=0, line={"color": "#9b2c2c", "dash": "dot"})
    fig.update_layout(
        title="统筹基金累计结余（亿元，名义）/ Pooled fund balance (100 M yuan, nominal)",
        xaxis_title="year",
        yaxis_title="亿元",
    )
    return _fig(fig)


def _exhaustion_table(r: ScenarioResult) -> pl.DataFrame:
    def pct(col: str, q: float) -> pl.Expr:
        # a draw that never runs out by the end year counts as after it
        return (
            pl.col(col)
            .fill_null(r.scenario.end_year + 1)
            .quantile(q, "nearest")
            .cast(pl.Int64)
            .alias(f"{col}_p{int(q * 100)}")
        )

    t = r.exhaustion.group_by("variant", maintain_order=True).agg(
        pct("exhaustion_year", 0.1),
        pct("exhaustion_year", 0.5),
        pct("exhaustion_year", 0.9),
        pct("first_deficit_year", 0.5),
        (pl.col("exhaustion_year").is_null().mean()).alias("share_never"),
    )
    central = r.exhaustion.filter(pl.col("draw") == 0).select(
        "variant", pl.col("exhaustion_year").fill_null(r.scenario.end_year + 1).alias("central")
    )
    return t.join(central, on="variant", how="left")


def _year_text(v: Any, end: int) -> str:
    return f"after {end}" if v is None or v > end else str(v)


def _range_text(years: list[int | None], end: int) -> str:
    """p10–p90 of run-out years over the draws, a draw that never runs out counting as after the end."""
    ys = sorted(end + 1 if y is None else y for y in years)
    lo, hi = (ys[round(q * (len(ys) - 1))] for q in (0.1, 0.9))
    return _year_text(lo, end) if lo == hi else f"{_year_text(lo, end)}–{_year_text(hi, end)}"


def _published(r: ScenarioResult, ex: pl.DataFrame) -> str:
    end = r.scenario.end_year
    rows = []
    base = r.groups.filter((pl.col("variant") == BASELINE) & (pl.col("grouping") == "age_band")).sort("group")
    crossover = next((g["group"] for g in base.iter_rows(named=True) if g["net"] > 0), None)
    for s in published_projections():
        variant = s["lab_variant"]
        e = ex.filter(pl.col("variant") == variant)
        if s["lab_measure"] == "net_age":
            lab = f"net receivers from age band {crossover}" if crossover else "—"
        elif e.is_empty():
            lab = "—"
        else:
            row = e.row(0, named=True)
            measure = "first_deficit_year_p50" if s["lab_measure"] == "deficit" else None
            if measure:
                lab = _year_text(row[measure], end)
            else:
                lab = (
                    f"{_year_text(row['central'], end)} "
                    f"(p10–p90: {_year_text(row['exhaustion_year_p10'], end)}"
                    f"–{_year_text(row['exhaustion_year_p90'], end)})"
                )
        rows.append(
            {
                "study": s["study"],
                "scope": s["scope"],
                "claim": s["claim"],
                "lab": f"{variant}: {lab}",
                "explanation": s["explanation"],
            }
        )
    return _table(
        pl.DataFrame(rows),
        [
            ("study", "研究 / study", "t"),
            ("scope", "范围 / scope", "t"),
            ("claim", "结论 / published result", "t"),
            ("lab", "本实验室 / lab (same measure)", "t"),
            ("explanation", "差异说明 / why they differ", "t"),
        ],
    )


def _groups_chart(r: ScenarioResult, grouping: str, title: str) -> str:
    g = r.groups.filter(pl.col("grouping") == grouping)
    fig = go.Figure()
    for vid in g["variant"].unique(maintain_order=True).to_list():
        v = g.filter(pl.col("variant") == vid).sort("group")
        fig.add_trace(go.Bar(x=v["group"].to_list(), y=v["net"].to_list(), name=vid))
    fig.update_layout(title=title, barmode="group", yaxis_title="元/人/年 yuan per person a year")
    return _fig(fig)


def _regional_chart(r: ScenarioResult) -> str:
    g = r.regional.filter(pl.col("variant") == BASELINE)
    g = g.filter(pl.col("inpatient_rate").is_not_null() | pl.col("outpatient_rate").is_not_null())
    fig = go.Figure(
        [
            go.Bar(x=g["region"].to_list(), y=g["inpatient_rate"].to_list(), name="住院 / inpatient"),
            go.Bar(x=g["region"].to_list(), y=g["outpatient_rate"].to_list(), name="门诊 / outpatient"),
        ]
    )
    fig.update_layout(
        title=f"同一批费用的实际报销比例 / Effective reimbursement of the same claims, "
        f"{r.scenario.compare_year}",
        barmode="group",
        yaxis_tickformat=".0%",
    )
    return _fig(fig)


def _regional_reform_chart(r: ScenarioResult) -> str:
    """Each region's inpatient rate under its own rules and under each reform laid on it."""
    g = r.regional.filter(pl.col("inpatient_rate").is_not_null())
    fig = go.Figure(
        [
            go.Bar(x=v["region"].to_list(), y=v["inpatient_rate"].to_list(), name=str(vid))
            for (vid,), v in g.group_by(["variant"], maintain_order=True)
        ]
    )
    fig.update_layout(
        title="改革后各地住院实际报销比例 / Inpatient effective rate by region, baseline and reforms",
        barmode="group",
        yaxis_tickformat=".0%",
    )
    return _fig(fig)


def _pools_chart(r: ScenarioResult) -> str:
    """Each pool's pooled balance alone (dotted) and with the adjustment fund (solid), baseline,
    central draw."""
    g = r.pools.filter((pl.col("variant") == BASELINE) & (pl.col("draw") == 0))
    fig = go.Figure()
    for i, ((pool,), v) in enumerate(g.group_by(["pool"], maintain_order=True)):
        color, label, years = _PALETTE[i % len(_PALETTE)], str(v["label"][0]), v["year"].to_list()
        fig.add_trace(
            go.Scatter(
                x=years,
                y=v["balance_alone"].to_list(),
                name=f"{label} 单独 / alone",
                line={"color": color, "dash": "dot"},
                legendgroup=str(pool),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=years,
                y=v["pooled_balance"].to_list(),
                name=f"{label} 调剂后 / with the fund",
                line={"color": color},
                legendgroup=str(pool),
            )
        )
    fig.add_hline(y=0, line={"color": "#9b2c2c", "dash": "dot"})
    fig.update_layout(
        title="各统筹地区累计结余（亿元，名义；基线、中心假设）/ "
        "Pooled balance by pool (baseline, central draw)",
        xaxis_title="year",
        yaxis_title="亿元",
    )
    return _fig(fig)


def _pools_section(r: ScenarioResult, end: int) -> list[str]:
    """Section 8: the scenario's pools and the adjustment fund (sim/pools.py)."""
    head = "<h2>8. 统筹地区与调剂金 / Pooling regions and the adjustment fund</h2>"
    if not r.pools.height:
        return [
            head,
            '<p class="note">本场景未定义统筹地区。在场景文件中加入 <code>pools:</code> 与 '
            "<code>adjustment_fund:</code>（见 docs/lab.md）即可比较各地区基金单独运行与调剂后的路径 / "
            "This scenario defines no pools. Add <code>pools:</code> and <code>adjustment_fund:</code> to "
            "the scenario (docs/lab.md) to compare each region's fund alone and with an adjustment fund."
            "</p>",
        ]
    f = r.scenario.adjustment_fund
    rule = (
        f"上解比例 levy {f.levy_rate:.2%} of pooled income · 分配 allocation: {f.allocation} · "
        f"储备 reserve {f.reserve_months:g} months · 中央财政补助 central subsidy: "
        f"{'yes' if f.central_subsidy else 'no'}"
    )
    rows = []
    for _, g in r.pool_summary.group_by(["variant", "pool"], maintain_order=True):
        row = g.filter(pl.col("draw") == 0).row(0, named=True)
        for col in ("exhaustion_alone", "exhaustion_with_fund"):
            row[f"{col}_range"] = _range_text(g[col].to_list(), end)
            row[col] = _year_text(row[col], end)
        rows.append(row)
    summary = pl.DataFrame(rows)
    fund = r.adjustment_fund.filter((pl.col("variant") == BASELINE) & (pl.col("draw") == 0))
    return [
        head,
        '<p class="note">调剂金规则（场景参数，非政策事实；种子文献 000 §三(二)）/ '
        f"The fund's rule (scenario values, not policy facts; seed 000 §三(二)): {html.escape(rule)}. "
        "各地区由场景给出（全国样本按规模、退休占比与工资水平重新加权，或经办机构的抽取文件），"
        "按合成地区规则运行 / Each pool is given by the "
        "scenario (the national sample reweighted to its size, retired share and wage level, or a bureau's "
        "extract) and runs under the composite's rules.</p>",
        _pools_chart(r),
        _table(
            summary,
            [
                ("variant", "方案 / variant", "t"),
                ("label", "地区 / pool", "t"),
                ("retired_share_2024", "退休占比 / retired 2024", "pct"),
                ("exhaustion_alone", "单独耗尽 / runs out alone", "t"),
                ("exhaustion_alone_range", "p10–p90", "t"),
                ("exhaustion_with_fund", "调剂后耗尽 / with the fund", "t"),
                ("exhaustion_with_fund_range", "p10–p90", "t"),
                ("levies", "上解合计 / levies (亿元)", "num"),
                ("grants", "下拨合计 / grants (亿元)", "num"),
                ("net_transfer", "净转移 / net (亿元)", "num"),
                ("central", "中央补助 / central (亿元)", "num"),
            ],
        ),
        _table(
            fund,
            [
                ("year", "年 / year", "t"),
                ("fund_opening", "年初 / opening", "num"),
                ("levies", "上解 / levies", "num"),
                ("grants", "下拨 / grants", "num"),
                ("central", "中央补助 / central", "num"),
                ("fund_closing", "年末 / closing", "num"),
            ],
        ),
    ]


def render_report(r: ScenarioResult) -> str:
    """The report as one HTML document."""
    s = r.scenario
    ex = _exhaustion_table(r)
    end = s.end_year
    parts = [
        f"<h1>政策实验室报告 / Policy lab report — {html.escape(s.name_zh)} / {html.escape(s.name_en)}</h1>",
        f'<p class="note">生成 / generated {dt.date.today().isoformat()} · seed {s.seed} · '
        f"{s.agents:,} sample records · {s.draws} draws · {START}–{end} · variants: "
        f"{', '.join(v.id for v in s.all_variants())}</p>",
        '<p class="warn">全国（政策实验室）是由国家规则与借用参数组成的合成地区，不是真实统筹地区 / '
        "The national "
        "composite is built from national rules and borrowed values; it is not a real pooling region. Every "
        "assumption and its source is listed at the end.</p>",
    ]
    parts.append("<h2>1. 校准 / Calibration to the national statistics</h2>")
    parts.append(
        '<p class="note">fit: used to calibrate; held out: hidden from calibration and interpolated; '
        "check: never fitted.</p>"
    )
    parts.append(
        _table(
            r.calibration,
            [
                ("figure", "指标 / figure", "t"),
                ("year", "year", "t"),
                ("target", "公布 / published", "num"),
                ("model", "模型 / model", "num"),
                ("error", "误差 / error", "pct2"),
                ("role", "role", "t"),
                ("how", "how", "t"),
            ],
        )
    )
    parts.append("<h2>2. 统筹基金结余与耗尽年份 / Pooled fund balance and the year it runs out</h2>")
    parts.append(_fan(r))
    parts.append(
        _table(
            ex.with_columns(
                *(
                    pl.col(c).map_elements(lambda v: _year_text(v, end), return_dtype=pl.String)
                    for c in (
                        "central",
                        "exhaustion_year_p10",
                        "exhaustion_year_p50",
                        "exhaustion_year_p90",
                        "first_deficit_year_p50",
                    )
                )
            ),
            [
                ("variant", "方案 / variant", "t"),
                ("central", "中心假设 / central", "t"),
                ("exhaustion_year_p10", "p10", "t"),
                ("exhaustion_year_p50", "p50", "t"),
                ("exhaustion_year_p90", "p90", "t"),
                ("first_deficit_year_p50", "当期赤字 / first deficit (p50)", "t"),
                ("share_never", f"至{end}年未耗尽 / not out by {end}", "pct"),
            ],
        )
    )
    parts.append("<h2>3. 已发表的预测 / Published projections side by side</h2>")
    parts.append(_published(r, ex))
    parts.append(f"<h2>4. {s.compare_year} 年：改革首年 / The reform's first year ({s.compare_year})</h2>")
    parts.append(
        _table(
            r.first_year,
            [
                ("variant", "方案 / variant", "t"),
                ("contributions", "缴费 / contributions", "int"),
                ("account_credits", "划入个人账户 / account credits", "int"),
                ("pooled_income", "统筹收入 / pooled income", "int"),
                ("pooled_spending", "统筹支出 / pooled spending", "int"),
                ("change_account_credits", "Δ 划账 / Δ credits", "int"),
                ("change_pooled_income", "Δ 统筹收入 / Δ pooled income", "int"),
                ("subsidy_to_keep_fund_whole", "财政补贴以保基金 / subsidy to keep the fund whole", "int"),
            ],
        )
    )
    parts.append(
        '<p class="note">亿元, central draw. When crediting stops, what no longer enters the accounts '
        "enters the "
        "pooled fund: Δ pooled income = −Δ account credits (tested to the fen on the records). "
        "A reform that lowers contributions (the flexible workers' rate cut) could instead be paid by "
        "the budget (seed 000: flexible workers' rates set actuarially, or subsidised): the last column "
        "is what that subsidy would cost in the year, the fund then unchanged.</p>"
    )
    parts.append("<h2>5. 分配 / Who pays and who benefits</h2>")
    parts.append(
        _table(
            r.distribution,
            [
                ("variant", "方案 / variant", "t"),
                ("gini_income", "收入基尼 / Gini of income", "idx"),
                ("ci_contributions", "CI 缴费 / contributions", "idx"),
                ("ci_fund_paid", "CI 基金支付 / fund payments", "idx"),
                ("ci_benefits", "CI 待遇 / benefits", "idx"),
                ("kakwani_contributions", "Kakwani 缴费 / contributions", "idx"),
            ],
        )
    )
    parts.append(
        '<p class="note">费率 / rates: what each in-service group paid (contributions over declared bases) '
        "and the rate at which its contributions would have equalled what it received this year "
        "(fund payments and account credits over declared bases).</p>"
    )
    parts.append(
        _table(
            r.fair_rates,
            [
                ("variant", "方案 / variant", "t"),
                ("status_name", "身份 / status", "t"),
                ("persons", "人数 / persons", "int"),
                ("rate_paid", "实缴费率 / rate paid", "pct"),
                ("fair_rate", "精算公平费率 / actuarially fair rate", "pct"),
            ],
        )
    )
    parts.append(_groups_chart(r, "decile", "按收入十分位的净受益 / Net benefit by income decile"))
    parts.append(_groups_chart(r, "age_band", "按年龄的净受益 / Net benefit by age"))
    parts.append(_groups_chart(r, "status_name", "按身份的净受益 / Net benefit by status"))
    if not r.winners.is_empty():
        parts.append("<h2>6. 赢家与输家 / Winners and losers (same people, same claims)</h2>")
        parts.append(
            _table(
                r.winners,
                [
                    ("variant", "方案 / variant", "t"),
                    ("grouping", "分组 / by", "t"),
                    ("group", "组 / group", "t"),
                    ("persons", "人数 / persons", "int"),
                    ("gain", "受益 / gain", "pct"),
                    ("lose", "受损 / lose", "pct"),
                    ("mean_change", "人均变化 / mean change (yuan)", "int"),
                ],
            )
        )
    parts.append("<h2>7. 地区差异 / Regional disparity</h2>")
    parts.append(_regional_chart(r))
    parts.append(
        _table(
            r.regional.filter(pl.col("variant") == BASELINE),
            [
                ("region", "地区 / region", "t"),
                ("inpatient_rate", "住院 / inpatient", "pct"),
                ("inpatient_rate_in_service", "住院·在职 / in service", "pct"),
                ("inpatient_rate_retired", "住院·退休 / retired", "pct"),
                ("outpatient_rate", "门诊 / outpatient", "pct"),
                ("outpatient_rate_in_service", "门诊·在职 / in service", "pct"),
                ("outpatient_rate_retired", "门诊·退休 / retired", "pct"),
                ("deductible_first", "起付线 / deductible", "int"),
                ("pooled_ceiling", "封顶线 / ceiling", "int"),
                ("missing", "缺少参数 / unknown parameter", "t"),
            ],
        )
    )
    parts.append(
        '<p class="note">各改革叠加在每个适用地区自己的规则上，结算同一批费用；'
        "差距为最高与最低地区之差，变异系数为标准差/均值。"
        "调剂金见第 8 节 / Each reform is laid on "
        "every region it applies to and the same claims are settled again; spread is the highest region "
        "less the lowest, CV the standard deviation over the mean. The adjustment fund is section 8.</p>"
    )
    parts.append(_regional_reform_chart(r))
    parts.append(
        _table(
            r.disparity,
            [
                ("variant", "方案 / variant", "t"),
                ("kind", "类别 / kind", "t"),
                ("regions", "地区数 / regions", "int"),
                ("lowest", "最低 / lowest", "pct"),
                ("highest", "最高 / highest", "pct"),
                ("spread", "差距 / spread", "pct"),
                ("cv", "变异系数 / CV", "pct"),
            ],
        )
    )
    parts.extend(_pools_section(r, end))
    parts.append("<h2>9. 假设与来源 / Assumptions and sources</h2>")
    parts.append(
        _table(
            r.assumptions,
            [
                ("name", "名称 / name", "t"),
                ("value", "值 / value", "t"),
                ("range", "范围 / range", "t"),
                ("source", "来源 / source", "t"),
                ("href", "link", "t"),
                ("confidence", "可信度", "t"),
                ("note", "说明 / note", "t"),
            ],
        )
    )
    parts.append(_table(r.draws, [(c, c, "num" if c == "index" else "idx") for c in r.draws.columns]))
    script = plotly.offline.get_plotlyjs()
    return (
        f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        "<title>政策实验室 / Policy lab</title>"
        f"<style>{_CSS}</style><script>{script}</script></head><body>{''.join(parts)}</body></html>"
    )

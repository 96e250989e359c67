"""Pages for what the batch tools leave on disk: precise-enrollment worklists and policy-lab runs.

The service reads them from its data folder (``YIBAO_DATA_DIR``, default ``./yibao-data``):

- ``worklists/<run>/`` — what ``yibao match worklist --out DIR`` writes (one Parquet file per
  worklist, ``summary.json``; IDs masked unless written with ``--full-ids``). ``/worklists`` lists
  the runs with their summaries; ``/worklists/<run>/<code>`` pages through one list with its
  filter by priority. Staff see only the runs of their regions (the summary names its region).
- ``lab/<run>/`` — what ``yibao lab run SCENARIO --out DIR`` writes. ``/lab`` lists the runs;
  ``/lab/<run>`` shows when the pooled fund runs out under each variant (central, 10th and 90th
  percentile of the draws), the balance paths as a chart, winners and losers by income decile, and
  the scenario's pools alone and with the adjustment fund (调剂金) if it has any; the
  self-contained ``report.html`` is offered as a download (it inlines Plotly, which this site's
  content security policy does not run inline).

Run names are single folder names (letters, digits, ``._-``): nothing outside the data folder is
ever read.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from yibao.admin import audit
from yibao.api.deps import Offset, call
from yibao.api.security import Principal
from yibao.errors import Forbidden, InputError
from yibao.money import fen_to_yuan_str
from yibao.web.i18n import lang_of
from yibao.web.pages import render
from yibao.web.session_pages import view

__all__ = ["data_dir", "router"]

router = APIRouter(include_in_schema=False)
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
PAGE = 100
_SHOWN = (
    "priority",
    "subtype",
    "name",
    "id_number",
    "employer_name",
    "month",
    "amount_fen",
    "reason",
    "suggested_action",
    "link_method",
    "identity_check",
)


def data_dir(request: Request) -> Path:
    configured = getattr(request.app.state, "data_dir", None)
    return Path(configured or os.environ.get("YIBAO_DATA_DIR") or "yibao-data")


def _folder(request: Request, kind: str, name: str) -> Path:
    if not _NAME.match(name):
        raise InputError(
            "run",
            name,
            "应为一个文件夹名（字母、数字、._-）",
            "expected one folder name (letters, digits, ._-)",
        )
    path = data_dir(request) / kind / name
    if not path.is_dir():
        raise InputError(
            "run", name, f"数据目录 {kind}/ 下没有此运行", f"no such run under {kind}/ in the data folder"
        )
    return path


def _runs(request: Request, kind: str, marker: str) -> list[Path]:
    base = data_dir(request) / kind
    if not base.is_dir():
        return []
    return sorted(
        (p for p in base.iterdir() if p.is_dir() and _NAME.match(p.name) and (p / marker).exists()),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )


def _lang(request: Request) -> str:
    return lang_of(request.query_params.get("lang"))


# -- worklists ------------------------------------------------------------------------------------
def _summary(path: Path, p: Principal) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((path / "summary.json").read_text(encoding="utf-8"))
    region = str(doc.get("provenance", {}).get("region", ""))
    if p.actor.regions is not None and region not in p.actor.regions:
        raise Forbidden(
            f"该工作清单属于统筹地区 {region}，不在你的权限内",
            f"that worklist run belongs to region {region}, which is not yours",
        )
    for w in doc.get("worklists", []):
        w["amount"] = None if w.get("amount_fen") is None else fen_to_yuan_str(int(w["amount_fen"]))
    return doc


@router.get("/worklists", response_class=HTMLResponse)
@view("worklist.read")
def worklist_runs(request: Request, p: Principal) -> Response:
    runs = []
    for path in _runs(request, "worklists", "summary.json"):
        try:
            runs.append({"name": path.name, **_summary(path, p)})
        except Forbidden:
            continue  # another region's run: not listed
    return render(request, "worklists.html", _lang(request), runs=runs)


@router.get("/worklists/{run}/{code}", response_class=HTMLResponse)
@view("worklist.read")
def worklist_rows(
    request: Request,
    p: Principal,
    run: str,
    code: str,
    offset: Offset = 0,
    priority: Annotated[int | None, Query(ge=1, le=3)] = None,
) -> Response:
    from yibao.match.worklists import BY_CODE

    folder = _folder(request, "worklists", run)
    summary = _summary(folder, p)
    if code not in BY_CODE or not (folder / f"{code}.parquet").exists():
        raise InputError("code", code, "此运行中没有该清单", "no such worklist in this run")
    lang = _lang(request)
    lazy = pl.scan_parquet(folder / f"{code}.parquet")
    if priority is not None:
        lazy = lazy.filter(pl.col("priority") == priority)
    total = int(lazy.select(pl.len()).collect().item())
    frame = lazy.slice(offset, PAGE).collect()
    suffix = "en" if lang == "en" else "zh"
    rows = []
    for r in frame.iter_rows(named=True):
        rows.append(
            {
                k: (
                    fen_to_yuan_str(r["amount_fen"])
                    if k == "amount_fen" and r.get(k) is not None
                    else r.get(f"{k}_{suffix}")
                    if k in ("reason", "suggested_action")
                    else r.get(k)
                )
                for k in _SHOWN
            }
        )
    w = BY_CODE[code]
    shown = "id_number,name" if summary.get("ids") == "full" else "id_number_masked,name_masked"
    call(
        request,
        lambda s: audit.record(
            s,
            p.actor,
            "worklist.read",
            "worklist",
            f"{run}/{code}"[:64],
            shown.split(","),
            str(summary.get("provenance", {}).get("region", "")) or None,
        ),
    )
    return render(
        request,
        "worklist.html",
        lang,
        run=run,
        code=code,
        rows=rows,
        total=total,
        offset=offset,
        page=PAGE,
        priority=priority,
        title=w.title_en if lang == "en" else w.title_zh,
        ids=summary.get("ids", "masked"),
        provenance=summary.get("provenance", {}),
    )


# -- policy lab -----------------------------------------------------------------------------------
def _lab_run(folder: Path, lang: str) -> dict[str, Any]:
    ex = pl.read_parquet(folder / "exhaustion.parquet")
    paths = pl.read_parquet(folder / "paths.parquet")
    variants = []
    for (vid,), g in ex.group_by(["variant"], maintain_order=True):
        years = g["exhaustion_year"]
        central = g.filter(pl.col("draw") == 0)["exhaustion_year"]
        end = int(paths["year"].max())  # type: ignore[arg-type]
        # a draw whose fund lasts past the horizon counts as later than any year: after the horizon
        filled = years.fill_null(end + 1)
        variants.append(
            {
                "id": vid,
                "central": None if central.is_empty() or central[0] is None else int(central[0]),
                "p10": int(filled.quantile(0.1, "nearest")),  # type: ignore[arg-type]
                "p90": int(filled.quantile(0.9, "nearest")),  # type: ignore[arg-type]
                "end": end,
            }
        )
    central_paths = paths.filter(pl.col("draw") == 0).sort("variant", "year")
    series = [
        {
            "name": vid,
            "x": g["year"].to_list(),
            "y": [round(v / 1e8, 1) for v in g["pooled_balance"].to_list()],
        }
        for (vid,), g in central_paths.group_by(["variant"], maintain_order=True)
    ]
    winners = []
    wpath = folder / "winners.parquet"
    if wpath.exists() and wpath.stat().st_size:
        w = pl.read_parquet(wpath)
        if not w.is_empty():
            w = w.filter(pl.col("grouping") == "decile").sort("variant", "group")
            winners = [
                {
                    "variant": r["variant"],
                    "group": r["group"],
                    "gain": f"{r['gain'] * 100:.1f}%",
                    "lose": f"{r['lose'] * 100:.1f}%",
                    "mean_change": f"{r['mean_change']:,.0f}",
                }
                for r in w.iter_rows(named=True)
            ]
    pools = []
    ppath = folder / "pool_summary.parquet"
    if ppath.exists() and ppath.stat().st_size:
        ps = pl.read_parquet(ppath)
        if not ps.is_empty():
            end = int(paths["year"].max())  # type: ignore[arg-type]
            pools = [
                {
                    "variant": r["variant"],
                    "pool": r["pool"],
                    "label": r["label"],
                    "alone": r["exhaustion_alone"],
                    "with_fund": r["exhaustion_with_fund"],
                    "net": f"{r['net_transfer']:,.1f}",
                    "central": f"{r['central']:,.1f}",
                    "end": end,
                }
                for r in ps.filter(pl.col("draw") == 0).iter_rows(named=True)
            ]
    chart = json.dumps(
        {"series": series, "y_title": "亿元" if lang == "zh" else "100 M yuan"}, ensure_ascii=False
    ).replace("</", "<\\/")
    return {
        "variants": variants,
        "chart": chart,
        "winners": winners,
        "pools": pools,
        "report": (folder / "report.html").exists(),
    }


@router.get("/lab", response_class=HTMLResponse)
@view("lab.read")
def lab_runs(request: Request, p: Principal) -> Response:
    runs = [
        {"name": f.name, "variants": sorted(pl.read_parquet(f / "exhaustion.parquet")["variant"].unique())}
        for f in _runs(request, "lab", "exhaustion.parquet")
    ]
    return render(request, "lab.html", _lang(request), runs=runs)


@router.get("/lab/{run}", response_class=HTMLResponse)
@view("lab.read")
def lab_run(request: Request, p: Principal, run: str) -> Response:
    folder = _folder(request, "lab", run)
    if not (folder / "exhaustion.parquet").exists():
        raise InputError("run", run, "不是政策实验室的运行目录", "not a policy-lab run folder")
    lang = _lang(request)
    return render(request, "lab_run.html", lang, run=run, **_lab_run(folder, lang))


@router.get("/lab/{run}/report.html")
@view("lab.read")
def lab_report(request: Request, p: Principal, run: str) -> Response:
    path = _folder(request, "lab", run) / "report.html"
    if not path.exists():
        raise InputError("run", run, "此运行没有 report.html", "this run has no report.html")
    return FileResponse(
        path, media_type="text/html", filename=f"yibao-lab-{run}.html", content_disposition_type="attachment"
    )

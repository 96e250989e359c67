"""Pages for what the batch tools leave on disk: precise-enrollment worklists and policy-lab runs.

The service reads them from its data folder (``YIBAO_DATA_DIR``, default ``./yibao-data``):

- ``worklists/<run>/`` — what ``yibao match worklist --out DIR`` writes (one Parquet file per
  worklist, ``summary.json``; IDs masked unless written with ``--full-ids``). ``/worklists`` lists
  the runs with their summaries; ``/worklists/<run>/<code>`` pages through one list with its
  filter by priority. Staff see only the runs of their regions (the summary names its region).
- ``lab/<run>/`` — what ``yibao lab run SCENARIO --out DIR`` writes. An analyst can start one from
  ``/lab`` (:func:`lab_start`): the scenario is checked as the CLI checks it, limited to the shipped
  reforms and to no server file, and run by the same CLI in a background process at low priority,
  one at a time; its ``progress.json`` is what the page shows until the results are there. ``/lab``
  lists the runs;
  ``/lab/<run>`` shows when the pooled fund runs out under each variant (central, 10th and 90th
  percentile of the draws), the balance paths as a chart, winners and losers by income decile, and
  the scenario's pools alone and with the adjustment fund (调剂金) if it has any; the
  self-contained ``report.html`` is offered as a download (it inlines Plotly, which this site's
  content security policy does not run inline).

Run names are single folder names (letters, digits, ``._-``): nothing outside the data folder is
ever read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

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
    import polars as pl  # here, not at the top: the service starts without it (0.35 s)

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
    import polars as pl

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


#: What the start form offers: the seeds' first proposal against the baseline, a minute's run.
LAB_EXAMPLE = (
    "name_zh: 淡化个人账户\nname_en: Phase out individual accounts\nagents: 20000\ndraws: 20\n"
    "end_year: 2050\nvariants:\n  - {id: account_phase_out, reforms: [account_phase_out]}\n"
)
#: Limits of a run started from the pages: the service's two cores are shared with the counter.
WEB_MAX_AGENTS, WEB_MAX_DRAWS = 200_000, 50
#: A run whose progress has not moved for this long is taken as stopped (the process died).
STALE = dt.timedelta(minutes=15)
Name = Annotated[str, Form(max_length=100)]
ScenarioText = Annotated[str, Form(max_length=20_000)]
CSRF = Annotated[str, Form(max_length=128)]


def _progress(folder: Path) -> dict[str, Any] | None:
    f = folder / "progress.json"
    if not f.exists():
        return None
    try:
        state: dict[str, Any] = json.loads(f.read_text())
    except ValueError:  # being replaced: read again next time
        return None
    updated = dt.datetime.fromisoformat(state.get("updated", "1970-01-01T00:00:00+00:00"))
    state["stale"] = state.get("state") == "running" and dt.datetime.now(dt.UTC) - updated > STALE
    return state


def _in_progress(request: Request) -> list[dict[str, Any]]:
    """Runs with a progress file and no results yet: going, stopped or failed."""
    out = []
    for f in _runs(request, "lab", "progress.json"):
        state = _progress(f)
        if state is not None and not (f / "exhaustion.parquet").exists():
            out.append({"name": f.name} | state)
    return out


def _web_scenario(text: str) -> Any:
    """The scenario as ``yibao lab run`` checks it, plus the pages' limits: shipped reforms only, no
    server file (an extract or a reform path: refused before any file is looked at, so the answer
    says nothing of what the server holds), and a size the shared service can carry."""
    import yaml

    from yibao.policy.registry import default_registry
    from yibao.sim.scenario import load_scenario

    shipped = {f.reform.id for f in default_registry().reforms() if f.reform is not None}
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError:
        raw = None  # load_scenario names the problem
    if isinstance(raw, dict):
        for i, v in enumerate(raw.get("variants") or []):
            for r in (v.get("reforms") or []) if isinstance(v, dict) else []:
                if r not in shipped:
                    raise InputError(
                        f"variants[{i}].reforms",
                        r,
                        "网页提交的场景只能使用内置改革",
                        "a scenario from the pages may use the shipped reforms only",
                    )
        for i, pool in enumerate(raw.get("pools") or []):
            if isinstance(pool, dict) and "extract" in pool:
                raise InputError(
                    f"pools[{i}].extract",
                    "…",
                    "网页提交的场景不能读取服务器上的文件",
                    "a scenario from the pages may not read files on the server",
                )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(text, encoding="utf-8")
        spec = load_scenario(path)
    if spec.agents > WEB_MAX_AGENTS or spec.draws > WEB_MAX_DRAWS:
        raise InputError(
            "agents/draws",
            f"{spec.agents}/{spec.draws}",
            f"网页运行最多 {WEB_MAX_AGENTS} 条记录、{WEB_MAX_DRAWS} 次抽样；更大的请用命令行",
            f"a run from the pages takes at most {WEB_MAX_AGENTS} records and {WEB_MAX_DRAWS} "
            "draws; use the command line for more",
        )
    return spec


@router.get("/lab", response_class=HTMLResponse)
@view("lab.read")
def lab_runs(request: Request, p: Principal) -> Response:
    import polars as pl

    runs = [
        {"name": f.name, "variants": sorted(pl.read_parquet(f / "exhaustion.parquet")["variant"].unique())}
        for f in _runs(request, "lab", "exhaustion.parquet")
    ]
    return render(
        request, "lab.html", _lang(request), runs=runs, going=_in_progress(request), example=LAB_EXAMPLE
    )


@router.post("/lab", response_class=HTMLResponse)
@view("lab.run")
def lab_start(
    request: Request, p: Principal, name: Name = "", scenario: ScenarioText = "", csrf_token: CSRF = ""
) -> Response:
    """Start a scenario (module docstring); nothing is written or started if any check fails."""
    if not _NAME.match(name):
        raise InputError(
            "name",
            name,
            "应为一个文件夹名（字母、数字、._-）",
            "expected one folder name (letters, digits, ._-)",
        )
    folder = data_dir(request) / "lab" / name
    if folder.exists():
        raise InputError("name", name, "已有同名的运行", "a run of that name exists")
    busy = [r["name"] for r in _in_progress(request) if r.get("state") == "running" and not r["stale"]]
    if busy:
        raise InputError(
            "run", busy[0], "另一个运行尚未结束（一次一个）", "another run is still going (one at a time)"
        )
    _web_scenario(scenario)
    call(request, lambda s: audit.record(s, p.actor, "lab.run", "lab_run", name))
    folder.mkdir(parents=True)
    (folder / "scenario.yaml").write_text(scenario, encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "yibao",
        "lab",
        "run",
        str(folder / "scenario.yaml"),
        "--out",
        str(folder),
    ]
    nice = shutil.which("nice")
    with (folder / "run.log").open("w", encoding="utf-8") as log:
        subprocess.Popen(  # a fixed command: the scenario is a checked file, not arguments
            [nice, "-n", "10", *command] if nice else command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # a service restart does not stop the run
            env=os.environ | {"COLUMNS": "120"},
        )
    return RedirectResponse(f"/lab/{name}?lang={_lang(request)}", status_code=303)


@router.get("/lab/{run}", response_class=HTMLResponse)
@view("lab.read")
def lab_run(request: Request, p: Principal, run: str) -> Response:
    folder = _folder(request, "lab", run)
    lang = _lang(request)
    if not (folder / "exhaustion.parquet").exists():
        state = _progress(folder)
        if state is None:
            raise InputError("run", run, "不是政策实验室的运行目录", "not a policy-lab run folder")
        return render(request, "lab_progress.html", lang, run=run, progress=state)
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

"""The public pages: calculator, scheme chooser, regional comparison (no login).

Forms are plain GET forms: the pages compute and change nothing, so a result page can be
bookmarked and shared, and no CSRF token is needed. Every error is shown in Chinese and English
with the field and the value; the page never shows a traceback.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from yibao.admin.roles import PERMISSIONS
from yibao.api.deps import get_registry
from yibao.api.routers.calc import COLUMN_NAMES
from yibao.api.security import SESSION_COOKIE, principal
from yibao.cli.common import parse_date
from yibao.errors import YibaoError
from yibao.money import fen_to_yuan_str, parse_yuan
from yibao.platform.models import ClaimIn
from yibao.platform.settle import SETLINFO_LABELS, settle_inputs
from yibao.policy.catalog import CATALOGUE
from yibao.policy.view import show_value
from yibao.rules.contribution import PERSON_TYPES
from yibao.rules.contribution_explain import COLUMN_LABELS, assess_one
from yibao.rules.scheme_choice import compare_schemes
from yibao.web.i18n import label, lang_of, t

__all__ = ["COMPARED", "render", "router", "static_dir"]

router = APIRouter(include_in_schema=False)
_TEMPLATES = Jinja2Templates(directory=str(resources.files("yibao.web").joinpath("templates")))
#: Parameters on the regional comparison page, in this order.
COMPARED = (
    "contribution.employer_rate.basic",
    "contribution.individual_rate.basic",
    "contribution.base_floor",
    "contribution.base_cap",
    "contribution.flexible.rate",
    "settlement.inpatient.deductible.first",
    "settlement.inpatient.pooled_ceiling",
    "settlement.inpatient.large_amount.ceiling",
    "settlement.outpatient.deductible.first",
    "settlement.outpatient.pooled_ceiling",
    "eligibility.waiting.unit_months",
    "eligibility.waiting.flexible_months",
    "retirement.min_years.male",
    "retirement.min_years.female",
)


def static_dir() -> Path:
    return Path(str(resources.files("yibao.web").joinpath("static")))


def render(request: Request, name: str, lang: str, status: int | None = None, **ctx: Any) -> HTMLResponse:
    """A page from its template. A form whose input was refused answers 422 (unless ``status``
    says otherwise), so a script or a test sees it as a refusal. The header shows who is signed in."""
    regions = get_registry().regions()
    try:
        who = principal(request) if request.cookies.get(SESSION_COOKIE) else None
    except YibaoError:
        who = None
    return _TEMPLATES.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": lambda k: t(k, lang),
            "regions": regions,
            "query": dict(request.query_params),
            "who": who,
            # the navigation shows what the signed-in role may open (yibao.admin.roles)
            "may": lambda perm: who is not None and who.actor.role in PERMISSIONS[perm],
            **ctx,
        },
        status_code=status or (422 if ctx.get("error") else 200),
    )




def claim_rows(result: dict[str, Any], lang: str) -> list[tuple[str, str, str]]:
    """The settlement's breakdown as the CLI prints it: field, name, yuan."""
    info = result["setlinfo"]
    return [(k, label(SETLINFO_LABELS, k, lang), str(info[k])) for k in SETLINFO_LABELS]


def _error(exc: YibaoError) -> dict[str, str]:
    return {"zh": exc.zh, "en": exc.en}


def _date(text: str | None, field: str) -> dt.date:
    return parse_date(text or dt.date.today().isoformat(), field)


@router.get("/", response_class=HTMLResponse)
def home(request: Request, lang: str | None = None) -> HTMLResponse:
    return render(request, "home.html", lang_of(lang))


@router.get("/calculator", response_class=HTMLResponse)
def calculator(
    request: Request,
    lang: str | None = None,
    region: str = "beijing",
    date: str | None = None,
    wage: str | None = None,
    person_type: str = "in_service",
    med_type: str = "21",
    hosp_lv: str = "level_3",
    age: str = "45",
    total: str | None = None,
    self_pay: str = "0",
) -> HTMLResponse:
    lg = lang_of(lang)
    ctx: dict[str, Any] = {"contribution": None, "claim": None, "error": None}
    try:
        day = _date(date, "date")
        if wage:
            snap = get_registry().policy(region).at(day)
            fen, ex = assess_one(snap, parse_yuan(wage, "wage"), person_type)
            ctx["contribution"] = {
                "rows": [(n, label(COLUMN_LABELS, n, lg), fen_to_yuan_str(fen[n]))
                         for n in COLUMN_NAMES if fen[n]],
                "steps": ex.as_json(lg),
            }
        if total:
            claim_type = (
                "retired"
                if person_type == "retiree"
                else (person_type if person_type in ("in_service", "flexible") else "in_service")
            )
            if not age.isdecimal():
                from yibao.errors import InputError

                raise InputError("age", age, "应为整数", "must be a whole number")
            claim = ClaimIn(
                psn_no="web",
                med_type=med_type,
                hosp_lv=hosp_lv,
                psn_type=claim_type,
                age=int(age),
                setl_date=day,
                insuplc_admdvs=region,
                medfee_sumamt=total,
                fulamt_ownpay_amt=self_pay,
            )
            outs, results, _ = settle_inputs([claim], get_registry(), None)
            info = outs[0].setlinfo.model_dump(mode="json")
            ctx["claim"] = {
                "rows": claim_rows({"setlinfo": info}, lg),
                "steps": results[0].explanation.as_json(lg),
            }
    except YibaoError as e:
        ctx["error"] = _error(e)
    except ValueError as e:  # pydantic validation of the claim fields
        ctx["error"] = {"zh": f"输入无效：{e}".splitlines()[0], "en": f"invalid input: {e}".splitlines()[0]}
    return render(request, "calculator.html", lg, person_types=PERSON_TYPES, **ctx)


@router.get("/chooser", response_class=HTMLResponse)
def chooser(
    request: Request,
    lang: str | None = None,
    work: str = "beijing",
    hukou: str = "wuhan",
    income: str | None = None,
    date: str | None = None,
) -> HTMLResponse:
    lg = lang_of(lang)
    ctx: dict[str, Any] = {"options": None, "error": None}
    if income:
        try:
            reg = get_registry()
            options = compare_schemes(
                reg.policy(work), reg.policy(hukou), _date(date, "date"), parse_yuan(income, "income")
            )
            ctx["options"] = [
                {
                    "scheme": o.scheme,
                    "region": o.region,
                    "cost": None if o.cost_year_fen is None else fen_to_yuan_str(o.cost_year_fen),
                    "account": None
                    if o.account_credit_year_fen is None
                    else fen_to_yuan_str(o.account_credit_year_fen),
                    "reimbursement": None
                    if o.reimbursement_fen is None
                    else fen_to_yuan_str(o.reimbursement_fen),
                    "waiting": o.waiting_months,
                    "hukou": o.hukou_allowed,
                    "unknown": o.unknown,
                }
                for o in options
            ]
        except YibaoError as e:
            ctx["error"] = _error(e)
    return render(request, "chooser.html", lg, **ctx)


def _numeric(value: object) -> float | None:
    """A value as one number for the chart: rates in %, money in yuan (in-service, level 3)."""
    while isinstance(value, Mapping):
        value = value.get("in_service", value.get("level_3", next(iter(value.values()), None)))
    return None if not isinstance(value, int) or isinstance(value, bool) else float(value)


@router.get("/compare", response_class=HTMLResponse)
def compare(
    request: Request,
    lang: str | None = None,
    date: str | None = None,
    regions: Annotated[list[str] | None, Query()] = None,
) -> HTMLResponse:
    lg = lang_of(lang)
    chosen = regions or ["beijing", "shanghai"]
    ctx: dict[str, Any] = {"table": None, "chart": None, "error": None, "chosen": chosen}
    try:
        day = _date(date, "date")
        reg = get_registry()
        policies = [reg.policy(r) for r in chosen]
        table, chart = [], []
        for key in COMPARED:
            cells, nums = [], []
            for p in policies:
                r = p.resolve(key, day)
                cells.append(
                    {
                        "shown": show_value(key, r.value, lg),
                        "known": r.known,
                        "source": r.source.title if r.source else "",
                    }
                )
                nums.append(_numeric(r.value) if r.known else None)
            spec = CATALOGUE[key]
            table.append({"key": key, "label": spec.en if lg == "en" else spec.zh, "cells": cells})
            kind = spec.kind.value
            scale = 100.0 if kind.endswith("rate") else 100.0 if "money" in kind else 1.0
            unit = "%" if kind.endswith("rate") else ("yuan" if "money" in kind else spec.unit)
            chart.append(
                {
                    "label": spec.en if lg == "en" else spec.zh,
                    "unit": unit,
                    "values": [None if v is None else v / scale for v in nums],
                }
            )
        ctx["table"] = table
        ctx["names"] = [p.region.name_en if lg == "en" else p.region.name_zh for p in policies]
        # inside a <script> element: "</" would end it, so it is escaped
        ctx["chart"] = json.dumps({"names": ctx["names"], "series": chart}, ensure_ascii=False).replace(
            "</", "<\\/"
        )
    except YibaoError as e:
        ctx["error"] = _error(e)
    return render(request, "compare.html", lg, **ctx)


@router.get("/static/plotly.min.js")
def plotly_js() -> Response:
    """Plotly's script, from the installed package (no CDN)."""
    path = Path(str(resources.files("plotly").joinpath("package_data", "plotly.min.js")))
    return FileResponse(path, media_type="application/javascript")


@router.get("/favicon.ico")
def favicon() -> Response:
    return RedirectResponse("/static/favicon.svg")

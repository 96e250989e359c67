"""``/api/v1/calc``: the rule calculators behind the public calculator, one person at a time.

- ``POST /api/v1/calc/settle`` — a claim in the national platform's 2207/2304 input fields
  (:class:`yibao.platform.models.ClaimIn`), settled by the insured region's rules; the platform's
  ``setlinfo`` and ``setldetail`` and the explanation step by step, in Chinese and English.
- ``POST /api/v1/calc/contribution`` — a month's contributions for a wage and a person type, with
  the explanation.

Amounts are yuan strings (``"1234.56"``), as the platform writes them; the calculators work in fen.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from yibao.api.deps import get_registry
from yibao.money import fen_to_yuan_str, parse_yuan
from yibao.platform.models import ClaimIn, IsoDate
from yibao.platform.settle import settle_inputs
from yibao.policy.registry import Registry
from yibao.rules.contribution import COLUMNS
from yibao.rules.contribution_explain import assess_one

__all__ = ["router"]

#: The assessment's columns, as the API names them (yuan strings).
COLUMN_NAMES = tuple(c.removesuffix("_fen") for c in COLUMNS)
router = APIRouter(prefix="/api/v1/calc", tags=["calculators / 计算器"])


class SettleIn(ClaimIn):
    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        json_schema_extra={
            "examples": [
                {
                    "psn_no": "demo",
                    "insuplc_admdvs": "110000",
                    "setl_date": "2024-03-15",
                    "med_type": "21",
                    "hosp_lv": "level_3",
                    "psn_type": "in_service",
                    "age": 45,
                    "medfee_sumamt": "20000.00",
                    "fulamt_ownpay_amt": "1000.00",
                }
            ]
        },
    )


class ExplainStep(BaseModel):
    step: str
    arithmetic: str | None = None
    amount: str | None = None
    params: list[dict[str, Any]] = []


class SettleOut(BaseModel):
    setlinfo: dict[str, Any]
    setldetail: list[dict[str, Any]]
    explanation_zh: list[ExplainStep]
    explanation_en: list[ExplainStep]


@router.post("/settle", response_model=SettleOut, summary="结算一笔费用并说明 / settle one claim, explained")
def settle(claim: SettleIn, registry: Annotated[Registry, Depends(get_registry)]) -> SettleOut:
    outs, results, _ = settle_inputs([claim], registry, None)
    out = outs[0].model_dump(mode="json")
    ex = results[0].explanation
    return SettleOut(
        setlinfo=out["setlinfo"],
        setldetail=out["setldetail"],
        explanation_zh=[ExplainStep(**s) for s in ex.as_json("zh")],
        explanation_en=[ExplainStep(**s) for s in ex.as_json("en")],
    )


class ContributionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str = Field(
        min_length=1, max_length=40, description="行政区划代码或拼音 / division code or pinyin"
    )
    date: IsoDate
    wage: StrictStr | StrictInt | StrictFloat = Field(description="月工资（元）/ monthly wage, yuan")
    person_type: Literal["in_service", "flexible", "new_form", "retiree"] = "in_service"
    option: StrictInt = Field(
        default=0, ge=0, le=20, description="灵活就业缴费档次 / flexible worker's base option"
    )


class ContributionOut(BaseModel):
    amounts: dict[str, str]
    explanation_zh: list[ExplainStep]
    explanation_en: list[ExplainStep]


@router.post("/contribution", response_model=ContributionOut, summary="月缴费核定 / a month's contributions")
def contribution(
    body: ContributionIn, registry: Annotated[Registry, Depends(get_registry)]
) -> ContributionOut:
    snap = registry.policy(body.region).at(body.date)
    option = body.option if body.person_type == "flexible" else 0
    fen, ex = assess_one(snap, parse_yuan(body.wage, "wage"), body.person_type, option)
    amounts = {name: fen_to_yuan_str(fen[name]) for name in COLUMN_NAMES}
    return ContributionOut(
        amounts=amounts,
        explanation_zh=[ExplainStep(**s) for s in ex.as_json("zh")],
        explanation_en=[ExplainStep(**s) for s in ex.as_json("en")],
    )

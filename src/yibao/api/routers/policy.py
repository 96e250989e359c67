"""``/api/v1/regions``: the pooling regions and their rules on a date, every value with its source."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from yibao.api.deps import get_registry
from yibao.errors import NoRuleError
from yibao.policy.catalog import CATALOGUE
from yibao.policy.registry import Registry
from yibao.policy.view import show_value

__all__ = ["router"]

router = APIRouter(prefix="/api/v1/regions", tags=["policy / 政策"])


class RegionOut(BaseModel):
    code: str
    pinyin: str
    name_zh: str
    name_en: str
    confidence: str


class ParameterOut(BaseModel):
    key: str
    label_zh: str
    label_en: str
    known: bool
    shown_zh: str
    shown_en: str
    effective_from: dt.date | None
    effective_to: dt.date | None
    source: str | None
    source_href: str | None
    confidence: str | None
    defined_in: str | None
    note: str | None


class RegionRulesOut(BaseModel):
    region: RegionOut
    date: dt.date
    known: int
    total: int
    parameters: list[ParameterOut]


def _region(h: Any) -> RegionOut:
    return RegionOut(
        code=h.code, pinyin=h.pinyin, name_zh=h.name_zh, name_en=h.name_en, confidence=h.confidence
    )


@router.get("", response_model=list[RegionOut], summary="统筹地区列表 / pooling regions")
def regions(registry: Annotated[Registry, Depends(get_registry)]) -> list[RegionOut]:
    return [_region(h) for h in registry.regions()]


@router.get("/{region}", response_model=RegionRulesOut, summary="某日的全部参数 / every parameter on a date")
def region_rules(
    region: str,
    registry: Annotated[Registry, Depends(get_registry)],
    date: Annotated[dt.date, Query(description="YYYY-MM-DD")],
    prefix: Annotated[str, Query(max_length=80, description="只看以此开头的参数 / keys starting with")] = "",
) -> RegionRulesOut:
    policy = registry.policy(region)
    params = []
    for key, spec in CATALOGUE.items():
        if not key.startswith(prefix):
            continue
        try:
            r = policy.resolve(key, date)
        except NoRuleError:
            continue
        src = r.source
        params.append(
            ParameterOut(
                key=key,
                label_zh=spec.zh,
                label_en=spec.en,
                known=r.known,
                shown_zh=show_value(key, r.value, "zh"),
                shown_en=show_value(key, r.value, "en"),
                effective_from=r.start,
                effective_to=r.end,
                source=src.title if src else None,
                source_href=src.href if src else None,
                confidence=src.confidence if src else None,
                defined_in=r.defined_in,
                note=r.note,
            )
        )
    return RegionRulesOut(
        region=_region(policy.region),
        date=date,
        known=sum(p.known for p in params),
        total=len(params),
        parameters=params,
    )

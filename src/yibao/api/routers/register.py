"""``/api/v1/persons``, ``/employers``, ``/enrollments``, ``/employments``: the register over HTTP.

Every route calls the same service as the CLI (:mod:`yibao.admin.register`,
:mod:`yibao.admin.enrollment`) with the caller's :class:`~yibao.admin.uow.Actor`, so role, region
scoping, masking and the audit of reads are the services' own. Writes take an ``Idempotency-Key``
header; lists take ``limit`` and ``offset``. A person or unit is named by register number or by ID
number / unified social credit code.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr
from sqlalchemy.orm import Session

from yibao.admin import enrollment, register
from yibao.admin.uow import Actor
from yibao.api.deps import IdemKey, Limit, Offset, PathId, Ref, call, page, row
from yibao.api.security import require
from yibao.money import parse_yuan
from yibao.platform.models import Amount, IsoDate

__all__ = ["enrollment_view", "router"]

router = APIRouter(prefix="/api/v1", tags=["register / 参保登记"])
Month = Annotated[StrictStr | StrictInt, Field(description="YYYYMM 或 YYYY-MM / a month, e.g. 2024-03")]


def enrollment_view(e: Any) -> dict[str, Any]:
    return row(
        {
            "id": e.id,
            "person_id": e.person_id,
            "region": e.region_code,
            "scheme": e.scheme,
            "category": e.category,
            "employer_id": e.employer_id,
            "start_month": e.start_month,
            "end_month": e.end_month,
            "status": e.status,
            "end_reason": e.end_reason,
            "flexible_option": e.flexible_option,
            "retired_on": e.retired_on,
        }
    )


# -- persons ------------------------------------------------------------------------------------
@router.get("/persons", summary="查找人员（脱敏）/ find persons (masked)")
def find_persons(
    request: Request,
    actor: Annotated[Actor, Depends(require("person.read"))],
    q: Annotated[str, Query(min_length=1, max_length=64, description="证件号码或姓名 / ID number or name")],
    limit: Limit = 20,
    offset: Offset = 0,
    region: Annotated[str | None, Query(max_length=32)] = None,
) -> dict[str, Any]:
    rows = call(request, lambda s: register.find_persons(s, actor, q, region, limit, offset))
    return page(rows, limit, offset)


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id_number: StrictStr = Field(max_length=32)
    name: StrictStr = Field(max_length=64)
    sex: StrictStr | None = Field(None, max_length=8)
    birth_date: IsoDate | None = None
    hukou_region: StrictStr | None = Field(None, max_length=6)
    residence_region: StrictStr | None = Field(None, max_length=6)
    phone: StrictStr | None = Field(None, max_length=32)


@router.post("/persons", status_code=201, summary="登记人员 / register a person")
def register_person(
    body: PersonIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        p = register.register_person(s, actor, key=key, today=dt.date.today(), **body.model_dump())
        return register.person_view(p).as_dict()

    return call(request, step)


@router.get("/persons/{person}", summary="人员详情 / one person")
def get_person(
    person: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.read"))],
    unmasked: bool = False,
    purpose: Annotated[str | None, Query(max_length=256, description="查看未脱敏信息的用途（审计）")] = None,
) -> dict[str, Any]:
    view = call(request, lambda s: register.get_person(s, actor, person, unmasked=unmasked, purpose=purpose))
    return view.as_dict()


@router.get("/persons/{person}/enrollments", summary="参保登记 / a person's enrollments")
def person_enrollments(
    person: str, request: Request, actor: Annotated[Actor, Depends(require("person.read"))]
) -> list[dict[str, Any]]:
    def step(s: Session) -> list[dict[str, Any]]:
        pid = register.get_person(s, actor, person).id  # checks scope, audits the read
        return [enrollment_view(e) for e in enrollment.enrollments_of(s, pid)]

    return call(request, step)


# -- enrollments --------------------------------------------------------------------------------
class EnrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    region: StrictStr = Field(max_length=32)
    category: StrictStr = Field(max_length=16, description="in_service flexible new_form retiree resident")
    start_month: Month
    employer: Ref | None = None
    flexible_option: StrictInt = Field(0, ge=0, le=20, description="灵活就业缴费档次 / flexible base option")
    retired_on: IsoDate | None = None
    pension: Amount | None = Field(None, description="退休人员月养老金（元）/ monthly pension")
    was_flexible: StrictBool = False


@router.post("/enrollments", status_code=201, summary="参保登记 / enroll")
def enroll(
    body: EnrollIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        region = register.resolve_region(s, body.region).code
        emp = register.lookup_employer(s, body.employer).id if body.employer is not None else None
        e = enrollment.enroll(
            s,
            actor,
            pid,
            region,
            body.category,
            body.start_month,
            emp,
            flexible_option=body.flexible_option,
            retired_on=body.retired_on,
            pension_fen=parse_yuan(body.pension, "pension") if body.pension is not None else 0,
            was_flexible=body.was_flexible,
            key=key,
        )
        return {**enrollment_view(e), "description_zh": enrollment.describe(s, e, "zh")}

    return call(request, step)


class EndIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    end_month: Month
    reason: StrictStr = Field(max_length=32, description=" ".join(enrollment.END_REASONS))


@router.post("/enrollments/{enrollment_id}/end", summary="终止参保 / end an enrollment")
def end_enrollment(
    enrollment_id: PathId,
    body: EndIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        e = enrollment.end_enrollment(s, actor, enrollment_id, body.end_month, body.reason, key=key)
        return enrollment_view(e)

    return call(request, step)


# -- employers and employment ------------------------------------------------------------------
@router.get("/employers", summary="用人单位 / employer units")
def list_employers(
    request: Request,
    actor: Annotated[Actor, Depends(require("employer.read"))],
    limit: Limit = 50,
    offset: Offset = 0,
    region: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=128, description="名称或统一社会信用代码")] = None,
) -> dict[str, Any]:
    rows = call(request, lambda s: register.employers_in(s, actor, region, q, limit, offset))
    return page(rows, limit, offset)


class EmployerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uscc: StrictStr = Field(max_length=18)
    name: StrictStr = Field(max_length=128)
    region: StrictStr = Field(max_length=32)
    base_method: StrictStr = Field("sum_of_individual_bases", max_length=32)
    hardship: StrictBool = False


@router.post("/employers", status_code=201, summary="登记用人单位 / register an employer")
def register_employer(
    body: EmployerIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("employer.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        region = register.resolve_region(s, body.region).code
        e = register.register_employer(
            s, actor, body.uscc, body.name, region, body.base_method, body.hardship, key=key
        )
        return register.employer_view(e)

    return call(request, step)


@router.get("/employers/{employer}", summary="单位详情 / one employer")
def get_employer(
    employer: str, request: Request, actor: Annotated[Actor, Depends(require("employer.read"))]
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        e = register.lookup_employer(s, employer)
        register.check_employer_visible(actor, e)
        return register.employer_view(e)

    return call(request, step)


@router.get("/employers/{employer}/employees", summary="在职职工（脱敏）/ employees on a date (masked)")
def employees(
    employer: str,
    request: Request,
    actor: Annotated[Actor, Depends(require("employer.read"))],
    on_date: Annotated[dt.date | None, Query(description="日期（默认今天）/ date, default today")] = None,
) -> list[dict[str, Any]]:
    day = on_date or dt.date.today()
    return call(request, lambda s: register.employees_of(s, actor, employer, day))


class HireIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    person: Ref
    employer: Ref
    start_date: IsoDate


@router.post("/employments", status_code=201, summary="建立劳动关系 / open an employment spell")
def hire(
    body: HireIn,
    request: Request,
    actor: Annotated[Actor, Depends(require("person.write"))],
    key: IdemKey = None,
) -> dict[str, Any]:
    def step(s: Session) -> dict[str, Any]:
        pid = register.lookup_person(s, body.person).id
        emp = register.lookup_employer(s, body.employer)
        register.check_employer_visible(actor, emp)
        sp = register.hire(s, actor, pid, emp.id, body.start_date, key=key)
        return row(
            {
                "id": sp.id,
                "person_id": sp.person_id,
                "employer_id": sp.employer_id,
                "start_date": sp.start_date,
            }
        )

    return call(request, step)

"""Pages for bureau staff (经办, 稽核), employer clerks and insured people — server-rendered forms
over the same services as the CLI and the API (:mod:`yibao.admin`).

Staff: find a person; register; enroll; declare a wage; run a month's assessment; record a
payment; settle a claim and read its breakdown and explanation; reverse it; arrears; retirement
check; transfer out; employer view; audit trail. Insured person: ``/me`` (enrollment, months,
account balance and statement, claims with explanations). Every page passes :func:`view`.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from yibao.admin import (
    accounts,
    assessment,
    claims,
    declarations,
    enrollment,
    payments,
    register,
    retirement,
    users,
)
from yibao.admin import transfer as transfers
from yibao.admin import wage_file as wage_files
from yibao.admin.roles import ROLES
from yibao.admin.trail import trail_for
from yibao.admin.uow import Actor
from yibao.api.deps import Offset, PathId, call
from yibao.api.security import Principal, forget, get_engine
from yibao.api.uploads import MAX_UPLOAD, save_upload
from yibao.cli.common import parse_date
from yibao.errors import InputError
from yibao.money import fen_to_yuan_str, parse_amount
from yibao.web.i18n import lang_of
from yibao.web.pages import claim_rows, render
from yibao.web.session_pages import view

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=128)]
CSRF = Annotated[str, Form(max_length=128)]


def _lang(request: Request) -> str:
    return lang_of(request.query_params.get("lang"))


def _yuan(fen: int | None) -> str:
    return "" if fen is None else fen_to_yuan_str(int(fen))


def _back(path: str, request: Request) -> RedirectResponse:
    return RedirectResponse(f"{path}{'&' if '?' in path else '?'}lang={_lang(request)}", status_code=303)


# -- the desk -------------------------------------------------------------------------------------
@router.get("/staff", response_class=HTMLResponse)
@view("person.read")
def desk(request: Request, p: Principal, q: str = "", notice: str = "") -> Response:
    lang = _lang(request)

    def step(s: Session) -> dict[str, Any]:
        found = register.find_persons(s, p.actor, q, limit=50) if q.strip() else None
        return {
            "found": [v.as_dict() for v in found] if found is not None else None,
            "my_regions": register.regions_of(s, p.actor),
        }

    return render(request, "staff_desk.html", lang, **call(request, step), q=q, notice=notice)


@router.get("/staff/persons/new", response_class=HTMLResponse)
@view("person.write")
def person_form(request: Request, p: Principal) -> Response:
    return render(request, "staff_person_new.html", _lang(request))


@router.post("/staff/persons/new", response_class=HTMLResponse)
@view("person.write")
def person_create(
    request: Request,
    p: Principal,
    id_number: Text = "",
    name: Text = "",
    phone: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    def step(s: Session) -> int:
        return register.register_person(
            s, p.actor, id_number, name, phone=phone or None, today=dt.date.today()
        ).id

    return _back(f"/staff/persons/{call(request, step)}", request)


# -- one person -----------------------------------------------------------------------------------
def _person_page(
    s: Session, actor: Actor, person_id: int, as_of: dt.date, own: bool = False
) -> dict[str, Any]:
    # an insured person reads their own record in full; staff see it masked
    view_ = register.get_person(
        s, actor, person_id, unmasked=own, purpose="本人查询 / own record" if own else None
    )
    stmt = accounts.person_statement(s, actor, person_id)
    open_fen = sum(m.total_fen - m.paid_fen for m in stmt.months if m.status in ("due", "partial"))
    return {
        "person": view_.as_dict(),
        "enrollments": [
            {
                **_enrollment(e),
                "text": enrollment.describe(s, e, "zh"),
                "text_en": enrollment.describe(s, e, "en"),
            }
            for e in enrollment.enrollments_of(s, person_id)
        ],
        "months": [
            {**m.__dict__, "total": _yuan(m.total_fen), "paid": _yuan(m.paid_fen)} for m in stmt.months
        ],
        "balance": _yuan(stmt.closing_fen),
        "lines": [
            {**ln.__dict__, "amount": _yuan(ln.amount_fen), "balance": _yuan(ln.balance_fen)}
            for ln in stmt.lines
        ],
        "open": _yuan(open_fen),
        "claims": [
            {**c, "total": c["setlinfo"]["medfee_sumamt"], "fund": c["setlinfo"]["fund_pay_sumamt"]}
            for c in claims.claims_of(s, actor, person_id, 100)
        ],
        "my_regions": register.regions_of(s, actor),
        "today": as_of.isoformat(),
    }


def _enrollment(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "region": e.region_code,
        "category": e.category,
        "status": e.status,
        "start_month": e.start_month,
        "end_month": e.end_month,
        "employer_id": e.employer_id,
    }


@router.get("/staff/persons/{person_id}", response_class=HTMLResponse)
@view("person.read")
def person_page(request: Request, p: Principal, person_id: PathId, notice: str = "") -> Response:
    ctx = call(request, lambda s: _person_page(s, p.actor, person_id, dt.date.today()))
    return render(request, "staff_person.html", _lang(request), **ctx, notice=notice)


@router.post("/staff/persons/{person_id}/enroll", response_class=HTMLResponse)
@view("person.write")
def person_enroll(
    request: Request,
    p: Principal,
    person_id: PathId,
    region: Text = "",
    category: Text = "",
    start_month: Text = "",
    employer: Text = "",
    flexible_option: Text = "0",
    csrf_token: CSRF = "",
) -> Response:
    def step(s: Session) -> None:
        emp = register.lookup_employer(s, employer).id if employer.strip() else None
        if not flexible_option.isdecimal():
            raise InputError(
                "flexible_option",
                flexible_option,
                "应为档次序号（0、1、2…）",
                "expected an option number (0, 1, 2…)",
            )
        enrollment.enroll(
            s,
            p.actor,
            person_id,
            register.resolve_region(s, region).code,
            category,
            start_month,
            emp,
            flexible_option=int(flexible_option),
        )

    call(request, step)
    return _back(f"/staff/persons/{person_id}?notice=enrolled", request)


@router.post("/staff/persons/{person_id}/hire", response_class=HTMLResponse)
@view("person.write")
def person_hire(
    request: Request,
    p: Principal,
    person_id: PathId,
    employer: Text = "",
    start_date: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    def step(s: Session) -> None:
        emp = register.lookup_employer(s, employer)
        register.check_employer_visible(p.actor, emp)
        register.hire(s, p.actor, person_id, emp.id, parse_date(start_date, "start_date"))

    call(request, step)
    return _back(f"/staff/persons/{person_id}?notice=hired", request)


@router.post("/staff/persons/{person_id}/declare", response_class=HTMLResponse)
@view("contribution.write")
def person_declare(
    request: Request,
    p: Principal,
    person_id: PathId,
    region: Text = "",
    payer_kind: Text = "employer",
    payer: Text = "",
    wage: Text = "",
    month_from: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    def step(s: Session) -> None:
        code = register.resolve_region(s, region).code
        payer_id = register.lookup_payer(
            s, p.actor, payer_kind, payer if payer_kind == "employer" else person_id
        )
        declarations.declare_wage(
            s, p.actor, code, person_id, payer_kind, payer_id, month_from, declarations.parse_wage(wage)
        )

    call(request, step)
    return _back(f"/staff/persons/{person_id}?notice=declared", request)


@router.post("/staff/persons/{person_id}/claims", response_class=HTMLResponse)
@view("claim.write")
def person_settle(
    request: Request,
    p: Principal,
    person_id: PathId,
    region: Text = "",
    service_date: Text = "",
    kind: Text = "inpatient",
    level: Text = "level_3",
    total: Text = "",
    full_self_pay: Text = "0",
    dry_run: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    ci = claims.ClaimInput(
        service_date=parse_date(service_date, "service_date"),
        kind=kind,
        level=level,
        total_fen=parse_amount(total, "total"),
        full_self_pay_fen=parse_amount(full_self_pay or "0", "full_self_pay"),
    )

    def step(s: Session) -> dict[str, Any]:
        code = register.resolve_region(s, region).code
        if dry_run:
            return claims.presettle(s, p.actor, code, person_id, ci)
        return claims.settle(s, p.actor, code, person_id, ci)

    result = call(request, step)
    if dry_run:
        return _claim_page(request, result)
    return _back(f"/staff/claims/{result['claim_id']}", request)


def _claim_page(request: Request, result: dict[str, Any]) -> Response:
    lang = _lang(request)
    e = result["explanation"]
    return render(
        request,
        "staff_claim.html",
        lang,
        claim=result,
        rows=claim_rows(result, lang),
        eligibility=e["eligibility"],
        settlement=e["settlement"],
    )


@router.get("/staff/claims/{claim_id}", response_class=HTMLResponse)
@view("claim.read")
def claim_page(request: Request, p: Principal, claim_id: PathId) -> Response:
    return _claim_page(request, call(request, lambda s: claims.get_claim(s, p.actor, claim_id)))


@router.post("/staff/claims/{claim_id}/reverse", response_class=HTMLResponse)
@view("claim.write")
def claim_reverse(request: Request, p: Principal, claim_id: PathId, csrf_token: CSRF = "") -> Response:
    call(request, lambda s: claims.reverse(s, p.actor, claim_id, None, dt.date.today()))
    return _back(f"/staff/claims/{claim_id}", request)


# -- money ----------------------------------------------------------------------------------------
@router.post("/staff/assess", response_class=HTMLResponse)
@view("contribution.write")
def assess(
    request: Request, p: Principal, region: Text = "", month: Text = "", csrf_token: CSRF = ""
) -> Response:
    code = call(request, lambda s: register.resolve_region(s, region).code)
    summary = assessment.run_assessment(get_engine(request), code, month, actor=p.actor, reopen=True)
    zh, en = summary.message
    lang = _lang(request)
    return render(request, "staff_notice.html", lang, notice=en if lang == "en" else zh, back="/staff")


@router.post("/staff/payments", response_class=HTMLResponse)
@view("contribution.write")
def pay(
    request: Request,
    p: Principal,
    region: Text = "",
    payer_kind: Text = "employer",
    payer: Text = "",
    amount: Text = "",
    received_on: Text = "",
    reference: Text = "",
    back: Text = "/staff",
    csrf_token: CSRF = "",
) -> Response:
    def step(s: Session) -> dict[str, Any]:
        code = register.resolve_region(s, region).code
        payer_id = register.lookup_payer(s, p.actor, payer_kind, payer)
        pm = payments.record_payment(
            s,
            p.actor,
            code,
            payer_kind,
            payer_id,
            parse_amount(amount, "amount"),
            parse_date(received_on, "received_on"),
            reference,
        )
        return {
            "id": pm.id,
            "amount": _yuan(pm.amount_fen),
            "unallocated": _yuan(pm.unallocated_fen),
            "allocations": [
                (cm.month, cm.person_id, _yuan(a.amount_fen), cm.status)
                for a, cm in payments.allocations(s, pm.id)
            ],
        }

    result = call(request, step)
    lang = _lang(request)
    target = back if back.startswith("/staff") else "/staff"
    return render(request, "staff_payment.html", lang, payment=result, back=target)


@router.get("/staff/arrears", response_class=HTMLResponse)
@view("arrears.read")
def arrears_page(request: Request, p: Principal, region: str = "", offset: Offset = 0) -> Response:
    def step(s: Session) -> dict[str, Any]:
        mine = register.regions_of(s, p.actor)
        code = register.resolve_region(s, region).code if region else (mine[0]["code"] if mine else "")
        kind, pid = ("employer", p.actor.employer_id) if p.actor.role == "employer" else (None, None)
        rows = (
            assessment.arrears(s, code, kind, pid, None, p.actor, limit=200, offset=max(offset, 0))
            if code
            else []
        )
        return {
            "rows": [{**r.as_dict(), "outstanding": _yuan(r.outstanding_fen)} for r in rows],
            "region": code,
            "my_regions": mine,
            "offset": offset,
            "total": _yuan(sum(r.outstanding_fen for r in rows)),
        }

    return render(request, "staff_arrears.html", _lang(request), **call(request, step))


@router.get("/staff/employer", response_class=HTMLResponse)
@view("employer.read")
def employer_page(request: Request, p: Principal, employer: str = "", notice: str = "") -> Response:
    def step(s: Session) -> dict[str, Any]:
        ref: object = p.actor.employer_id if p.actor.role == "employer" else employer
        if ref in (None, ""):
            return {"employer": None, "units": register.employers_in(s, p.actor, limit=100)}
        emp = register.lookup_employer(s, ref)
        register.check_employer_visible(p.actor, emp)
        owed = assessment.arrears(s, emp.region_code, "employer", emp.id, None, p.actor, limit=500)
        return {
            "employer": register.employer_view(emp),
            "employees": register.employees_of(s, p.actor, emp.id, dt.date.today()),
            "owed": _yuan(sum(r.outstanding_fen for r in owed)),
            "owed_months": len(owed),
            "units": None,
        }

    return render(request, "staff_employer.html", _lang(request), **call(request, step), notice=notice)


@router.post("/staff/employer/{employer_id}/declare", response_class=HTMLResponse)
@view("payroll.declare")
def employer_declare(
    request: Request,
    p: Principal,
    employer_id: PathId,
    person: Text = "",
    wage: Text = "",
    month_from: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    """An employer clerk (or the counter) declares an employee's wage for the unit."""

    def step(s: Session) -> None:
        emp = register.lookup_employer(s, employer_id)
        register.check_employer_visible(p.actor, emp)
        pid = register.lookup_person(s, person, "person").id
        declarations.declare_wage(
            s, p.actor, emp.region_code, pid, "employer", emp.id, month_from, declarations.parse_wage(wage)
        )

    call(request, step)
    return _back(f"/staff/employer?employer={employer_id}&notice=declared", request)


@router.post("/staff/employer/{employer_id}/wage-file", response_class=HTMLResponse)
@view("payroll.declare")
def employer_wage_file(
    request: Request,
    p: Principal,
    employer_id: PathId,
    file: Annotated[UploadFile | None, File()] = None,
    mode: Text = "all_or_nothing",
    csrf_token: CSRF = "",
) -> Response:
    """The unit's wage file (the template of ``yibao declare template``): imported all or nothing,
    or its good rows; the report names every bad row and field."""
    if file is None:  # checked here, after the role: a clerk of no rights learns nothing from a 422
        raise InputError("file", None, "请选择要上传的文件", "choose a file to upload")
    data = file.file.read(MAX_UPLOAD + 1)
    with tempfile.TemporaryDirectory(prefix="yibao-wages-") as tmp:
        name, path = save_upload(file.filename, data, Path(tmp))

        def step(s: Session) -> dict[str, Any]:
            emp = register.lookup_employer(s, employer_id)
            register.check_employer_visible(p.actor, emp)
            return wage_files.import_wage_file(s, p.actor, path, emp.region_code, emp.uscc, mode).as_dict()

        report = call(request, step)
    return render(
        request,
        "staff_wage_report.html",
        _lang(request),
        report=report,
        file=name,
        back=f"/staff/employer?employer={employer_id}",
    )


# -- cases ----------------------------------------------------------------------------------------
@router.get("/staff/persons/{person_id}/retirement", response_class=HTMLResponse)
@view("case.read")
def retirement_page(
    request: Request, p: Principal, person_id: PathId, region: str = "", on_date: str = ""
) -> Response:
    def step(s: Session) -> dict[str, Any]:
        register.check_person_visible(s, p.actor, person_id)
        code = register.resolve_region(s, region).code
        day = parse_date(on_date or dt.date.today().isoformat(), "on_date")
        return retirement.retirement_check(s, code, person_id, day, actor=p.actor)

    return render(
        request, "staff_retirement.html", _lang(request), check=call(request, step), person_id=person_id
    )


@router.post("/staff/persons/{person_id}/transfer", response_class=HTMLResponse)
@view("case.write")
def transfer_out(
    request: Request,
    p: Principal,
    person_id: PathId,
    region: Text = "",
    end_month: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    def step(s: Session) -> dict[str, Any]:
        return transfers.transfer_out(
            s, p.actor, person_id, register.resolve_region(s, region).code, end_month
        )

    return _case_page(request, call(request, step))


@router.post("/staff/transfers/receive", response_class=HTMLResponse)
@view("case.write")
def transfer_receive(
    request: Request,
    p: Principal,
    case_id: Text = "",
    region: Text = "",
    start_month: Text = "",
    category: Text = "in_service",
    employer: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    """The new region receives the certificate (参保凭证) the person brings: the case number."""
    if not case_id.strip().isdecimal():
        raise InputError("case_id", case_id, "应为转移接续案件编号", "expected a transfer case number")

    def step(s: Session) -> dict[str, Any]:
        emp = register.lookup_employer(s, employer).id if employer.strip() else None
        return transfers.transfer_in(
            s, p.actor, int(case_id), register.resolve_region(s, region).code, start_month, category, emp
        )

    return _case_page(request, call(request, step))


@router.post("/staff/transfers/{case_id}/complete", response_class=HTMLResponse)
@view("case.write")
def transfer_complete(
    request: Request,
    p: Principal,
    case_id: PathId,
    on_date: Text = "",
    declined: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    day = parse_date(on_date or dt.date.today().isoformat(), "on_date")
    return _case_page(
        request,
        call(request, lambda s: transfers.complete_transfer(s, p.actor, case_id, day, bool(declined))),
    )


@router.get("/staff/transfers/{case_id}", response_class=HTMLResponse)
@view("case.read")
def transfer_page(request: Request, p: Principal, case_id: PathId) -> Response:
    return _case_page(request, call(request, lambda s: transfers.show_transfer(s, p.actor, case_id)))


def _case_page(request: Request, case: dict[str, Any]) -> Response:
    return render(
        request, "staff_transfer.html", _lang(request), case=case, today=dt.date.today().isoformat()
    )


@router.get("/staff/audit", response_class=HTMLResponse)
@view("audit.read")
def audit_page(
    request: Request,
    p: Principal,
    subject_type: str = "",
    subject_id: str = "",
    user: str = "",
    offset: Offset = 0,
) -> Response:
    def step(s: Session) -> list[dict[str, Any]]:
        return trail_for(
            s,
            p.actor,
            subject_type=subject_type or None,
            subject_id=subject_id or None,
            user=user or None,
            limit=100,
            offset=max(offset, 0),
        )

    return render(request, "staff_audit.html", _lang(request), rows=call(request, step), offset=offset)


# -- the insured person ---------------------------------------------------------------------------
@router.get("/me", response_class=HTMLResponse)
@view("self.read")
def me_page(request: Request, p: Principal) -> Response:
    pid = p.actor.person_id
    if pid is None:
        raise InputError(
            "person", None, "此账号未关联参保人", "this account is not linked to an insured person"
        )
    ctx = call(request, lambda s: _person_page(s, p.actor, pid, dt.date.today(), own=True))
    return render(request, "me.html", _lang(request), **ctx)


@router.get("/me/claims/{claim_id}", response_class=HTMLResponse)
@view("self.read")
def my_claim(request: Request, p: Principal, claim_id: PathId) -> Response:
    return _claim_page(request, call(request, lambda s: claims.get_claim(s, p.actor, claim_id)))


# -- accounts (admin) -----------------------------------------------------------------------------
def _forget_user(s: Session, username: str) -> None:
    """Drop a disabled user's cached tokens and sessions on this worker (others: within 30 s)."""
    for digest in users.credential_digests(s, username):
        forget(digest)


@router.get("/staff/users", response_class=HTMLResponse)
@view("account.manage")
def users_page(request: Request, p: Principal, notice: str = "") -> Response:
    def step(s: Session) -> dict[str, Any]:
        return {"accounts": users.list_users(s, p.actor), "my_regions": register.regions_of(s, p.actor)}

    return render(
        request,
        "staff_users.html",
        _lang(request),
        **call(request, step),
        roles=ROLES,
        notice=notice,
        token=None,
    )


@router.post("/staff/users", response_class=HTMLResponse)
@view("account.manage")
def user_create(
    request: Request,
    p: Principal,
    username: Text = "",
    password: Text = "",
    role: Text = "",
    regions: Text = "",
    person: Text = "",
    employer: Text = "",
    display_name: Text = "",
    csrf_token: CSRF = "",
) -> Response:
    call(
        request,
        lambda s: users.create_user(
            s,
            p.actor,
            username,
            password,
            role,
            regions=regions or None,
            person=person or None,
            employer=employer or None,
            display_name=display_name or None,
        ),
    )
    return _back("/staff/users?notice=created", request)


@router.post("/staff/users/{username}/token", response_class=HTMLResponse)
@view("account.manage")
def user_token(
    request: Request, p: Principal, username: str, name: Text = "", days: Text = "365", csrf_token: CSRF = ""
) -> Response:
    if not days.isdecimal():
        raise InputError("days", days, "应为天数", "expected a number of days")
    row, secret = call(request, lambda s: users.issue_token(s, p.actor, username, name, int(days)))
    lang = _lang(request)
    return render(
        request,
        "staff_notice.html",
        lang,
        back="/staff/users",
        token=secret,
        notice=(
            f"Token {row.id} for {username}: copy it now, it is shown once"
            if lang == "en"
            else f"{username} 的令牌 {row.id}：请立即复制，只显示这一次"
        ),
    )


@router.post("/staff/tokens/{token_id}/revoke", response_class=HTMLResponse)
@view("account.manage")
def token_revoke(request: Request, p: Principal, token_id: PathId, csrf_token: CSRF = "") -> Response:
    forget(call(request, lambda s: users.revoke_token(s, p.actor, token_id)))
    return _back("/staff/users?notice=revoked", request)


@router.post("/staff/users/{username}/active", response_class=HTMLResponse)
@view("account.manage")
def user_active(
    request: Request, p: Principal, username: str, active: Text = "0", csrf_token: CSRF = ""
) -> Response:
    def step(s: Session) -> None:
        users.set_active(s, p.actor, username, active == "1")
        _forget_user(s, username)

    call(request, step)
    return _back("/staff/users?notice=" + ("enabled" if active == "1" else "disabled"), request)

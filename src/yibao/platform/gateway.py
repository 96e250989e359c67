"""The national medical-insurance platform's messages, answered by the administration core.

A hospital information system (HIS) sends yibao the envelope it sends the national platform
(``infno``, ``msgid``, ``mdtrtarea_admvs``, ``insuplc_admdvs``, ``opter``, ``inf_time``,
``fixmedins_code``, ``input``) and gets the platform's answer (``infcode`` 0 or -1, ``inf_refmsgid``,
``refmsg_time``, ``respond_time``, ``err_msg``, ``output``), so it can be tested against yibao as
against the platform. Field names follow the platform's interface specification as HIS clients
implement it (e.g. the open-source openhis client's models of 1101, 2001, 2204, 2207, 2601).

Transactions (what each reads and answers: docs/gateway.md):

- 1101 人员信息获取: the person by ``certno`` / ``mdtrt_cert_no`` → ``baseinfo``, ``insuinfo``.
- 2001 人员待遇享受检查: eligibility on ``begntime`` → ``trtinfo``.
- 2201 门诊挂号 / 2401 入院办理: an encounter → ``mdtrt_id``.
- 2203 门诊就诊信息上传: the visit's ``med_type``.
- 2204 门诊费用明细上传 / 2301 住院费用明细上传: fee lines → per-line ``result``.
- 2206 / 2303 预结算, 2207 / 2304 结算: the uploaded lines settled by :mod:`yibao.admin.claims`
  (the same service the counter uses) → ``setlinfo``, ``setldetail``.
- 2208 / 2305 结算撤销: the settlement reversed; the lines may be settled again.
- 2601 冲正交易: undo the message ``omsgid`` (a settlement, an upload, a registration).
- 5206 人员累计信息查询: the benefit-year accumulators → ``cuminfo``.

yibao keeps no medical-list catalogue (医保目录), so each fee line carries its class ``chrgitm_lv``
(01 甲类, 02 乙类, 03 丙类 / self-paid) and, where a price ceiling applies, ``pric_uplmt_amt``;
the platform would look both up. ``psn_no`` is yibao's register number. Every message is kept by
its sender and ``msgid``: the same message again gets the first answer; a failed message changes
nothing and may be resent.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.admin import accounts, audit, claims, enrollment, register
from yibao.admin.continuity import eligibility_on
from yibao.admin.policies import region_policy
from yibao.admin.uow import Actor, request_hash
from yibao.db.models.claims import Claim
from yibao.db.models.gateway import Encounter, FeeLine, GatewayMessage, MedicalInstitution
from yibao.db.models.register import Employer, Person
from yibao.errors import InputError
from yibao.money import fen_to_yuan_str, parse_amount
from yibao.platform.settle import SETLINFO_LABELS
from yibao.policy.catalog import LEVELS
from yibao.rules.settlement import year_key

__all__ = ["INFNOS", "Envelope", "add_institution", "handle", "parse_envelope"]

#: Transaction number → (Chinese name, English name).
INFNOS: Final[dict[str, tuple[str, str]]] = {
    "1101": ("人员信息获取", "person information"),
    "2001": ("人员待遇享受检查", "treatment entitlement check"),
    "2201": ("门诊挂号", "outpatient registration"),
    "2203": ("门诊就诊信息上传", "outpatient visit information"),
    "2204": ("门诊费用明细信息上传", "outpatient fee lines"),
    "2206": ("门诊预结算", "outpatient pre-settlement"),
    "2207": ("门诊结算", "outpatient settlement"),
    "2208": ("门诊结算撤销", "outpatient settlement reversal"),
    "2301": ("住院费用明细上传", "inpatient fee lines"),
    "2303": ("住院预结算", "inpatient pre-settlement"),
    "2304": ("住院结算", "inpatient settlement"),
    "2305": ("住院结算撤销", "inpatient settlement reversal"),
    "2401": ("入院办理", "admission"),
    "2601": ("冲正交易", "reversal of a message"),
    "5206": ("人员累计信息查询", "person accumulators"),
}
_KIND_ZH: Final = {"inpatient": "住院", "outpatient": "门诊"}
CLASSES: Final[dict[str, str]] = {"01": "甲类", "02": "乙类", "03": "丙类（自费）"}
INSUTYPE_EMPLOYEE: Final = "310"  # 职工基本医疗保险
_GEND: Final = {"male": "1", "female": "2"}
_INSU_STAS: Final = {"active": "1", "suspended": "2", "ended": "4"}


@dataclass(frozen=True)
class Envelope:
    """The platform's request envelope (the fields yibao reads)."""

    infno: str
    msgid: str
    mdtrtarea_admvs: str | None
    insuplc_admdvs: str | None
    opter: str | None
    inf_time: dt.datetime
    fixmedins_code: str
    input: dict[str, Any]


def _text(doc: dict[str, Any], name: str, max_len: int = 64, required: bool = True) -> str | None:
    v = doc.get(name)
    if v is None or str(v).strip() == "":
        if required:
            raise InputError(name, v, "必填", "required")
        return None
    if isinstance(v, (dict, list, bool)):
        raise InputError(name, "…", "应为字符串", "expected a string")
    text = str(v).strip()
    if len(text) > max_len:
        raise InputError(name, text[:20] + "…", f"最长 {max_len} 个字符", f"at most {max_len} characters")
    return text


def _time(value: object, name: str) -> dt.datetime:
    text = str(value or "").strip()
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d", "%Y%m%d%H%M%S"):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise InputError(name, value, "应为 yyyy-MM-dd HH:mm:ss", "expected yyyy-MM-dd HH:mm:ss")


def parse_envelope(doc: object) -> Envelope:
    """The envelope, each field checked and named when wrong."""
    if not isinstance(doc, dict):
        raise InputError(
            "body", type(doc).__name__, "应为报文 JSON 对象", "expected the message as a JSON object"
        )
    infno = _text(doc, "infno", 6)
    assert infno is not None
    if infno not in INFNOS:
        raise InputError(
            "infno",
            infno,
            f"yibao 支持的交易：{', '.join(INFNOS)}",
            f"transactions yibao answers: {', '.join(INFNOS)}",
        )
    inp = doc.get("input", {})
    if isinstance(inp, str):  # some clients send input as JSON text
        try:
            inp = json.loads(inp)
        except ValueError:
            raise InputError("input", inp[:20], "应为 JSON 对象", "expected a JSON object") from None
    if not isinstance(inp, dict):
        raise InputError("input", type(inp).__name__, "应为 JSON 对象", "expected a JSON object")
    return Envelope(
        infno=infno,
        msgid=str(_text(doc, "msgid", 30)),
        mdtrtarea_admvs=_text(doc, "mdtrtarea_admvs", 6, required=False),
        insuplc_admdvs=_text(doc, "insuplc_admdvs", 6, required=False),
        opter=_text(doc, "opter", 30, required=False),
        inf_time=_time(doc.get("inf_time"), "inf_time"),
        fixmedins_code=str(_text(doc, "fixmedins_code", 30)),
        input=inp,
    )


def _section(env: Envelope, name: str) -> dict[str, Any]:
    sec = env.input.get(name)
    if not isinstance(sec, dict):
        raise InputError(
            f"input.{name}",
            None if sec is None else type(sec).__name__,
            "缺少或不是 JSON 对象",
            "missing, or not a JSON object",
        )
    return sec


def _yuan(fen: int) -> str:
    return fen_to_yuan_str(fen)


def _money(value: object, name: str) -> int:
    return parse_amount(value, name)


# -- who and where --------------------------------------------------------------------------------
def add_institution(session: Session, code: str, name: str, level: str, region: str) -> MedicalInstitution:
    """Register a designated provider (定点医药机构) with its level and region."""
    if level not in LEVELS:
        raise InputError("level", level, f"可选：{', '.join(LEVELS)}", f"accepted: {', '.join(LEVELS)}")
    clean = str(code).strip()
    if not clean or len(clean) > 30:
        raise InputError(
            "code", code, "应为 1–30 个字符的定点医药机构编号", "expected a 1-30 character provider code"
        )
    if session.get(MedicalInstitution, clean) is not None:
        raise InputError("code", clean, "该定点医药机构已登记", "this provider is already registered")
    row = MedicalInstitution(
        code=clean, name=str(name).strip()[:200], level=level, region_code=str(region).strip()
    )
    session.add(row)
    session.flush()
    return row


def _institution(session: Session, env: Envelope) -> MedicalInstitution:
    inst = session.get(MedicalInstitution, env.fixmedins_code)
    if inst is None:
        raise InputError(
            "fixmedins_code",
            env.fixmedins_code,
            "不是本系统登记的定点医药机构（yibao provider add）",
            "not a designated provider of this installation (yibao provider add)",
        )
    return inst


def _person(session: Session, actor: Actor, psn_no: object) -> Person:
    text = str(psn_no or "").strip()
    if not text.isdecimal() or len(text) > 15:
        raise InputError(
            "psn_no", psn_no, "应为人员编号（1101 返回的 psn_no）", "expected the psn_no 1101 returned"
        )
    person = register.lookup_person(session, int(text), "psn_no")
    register.check_person_visible(session, actor, person.id)
    return person


def _insured_region(session: Session, actor: Actor, env: Envelope, person: Person, day: dt.date) -> str:
    """The insured region: ``insuplc_admdvs`` if given (it must be where the person is enrolled),
    else the region of the person's employee enrollment on ``day``."""
    e = enrollment.active_enrollment(session, person.id, env.insuplc_admdvs, day)
    if e is None:
        where = env.insuplc_admdvs or "-"
        raise InputError(
            "insuplc_admdvs",
            where,
            f"该人员 {day} 在此统筹地区无有效参保",
            f"the person has no enrollment in force there on {day}",
        )
    actor.check_region(e.region_code)
    return e.region_code


def _encounter(session: Session, actor: Actor, mdtrt_id: object, person: Person | None = None) -> Encounter:
    enc = session.scalar(select(Encounter).where(Encounter.mdtrt_id == str(mdtrt_id or "").strip()))
    if enc is None:
        raise InputError(
            "mdtrt_id",
            mdtrt_id,
            "无此就诊（先 2201 挂号或 2401 入院）",
            "no such encounter (register it with 2201 or 2401 first)",
        )
    register.check_person_visible(session, actor, enc.person_id)
    if person is not None and enc.person_id != person.id:
        raise InputError("psn_no", person.id, "与就诊登记的人员不符", "does not match the encounter's person")
    return enc


# -- 1101 5206 2001 -------------------------------------------------------------------------------
def _age(birth: dt.date, day: dt.date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def person_info(session: Session, actor: Actor, env: Envelope) -> dict[str, Any]:
    data = _section(env, "data")
    cert = data.get("certno") or (
        data.get("mdtrt_cert_no") if str(data.get("mdtrt_cert_type")) == "02" else None
    )
    if not cert:
        raise InputError(
            "certno",
            None,
            "需要证件号码（certno，或 mdtrt_cert_type=02 时的 mdtrt_cert_no）",
            "give the ID number (certno, or mdtrt_cert_no with mdtrt_cert_type 02)",
        )
    person = register.lookup_person(session, str(cert), "certno")
    view = register.get_person(session, actor, person.id, unmasked=True, purpose=f"1101 {env.msgid}")
    day = env.inf_time.date()
    insuinfo = []
    for e in enrollment.enrollments_of(session, person.id):
        if actor.regions is not None and e.region_code not in actor.regions:
            continue
        emp = session.get(Employer, e.employer_id) if e.employer_id else None
        insuinfo.append(
            {
                "balc": _yuan(accounts.account_balance(session, e.region_code, person.id, day)),
                "insutype": INSUTYPE_EMPLOYEE if e.scheme == "employee" else "390",
                "psn_type": e.category,
                "psn_insu_stas": _INSU_STAS.get(e.status, e.status),
                "psn_insu_date": f"{e.start_month // 100}-{e.start_month % 100:02d}-01",
                "paus_insu_date": None
                if e.end_month is None
                else f"{e.end_month // 100}-{e.end_month % 100:02d}",
                "cvlserv_flag": "0",
                "insuplc_admdvs": e.region_code,
                "emp_name": emp.name if emp else None,
            }
        )
    return {
        "baseinfo": {
            "psn_no": str(person.id),
            "psn_cert_type": "01" if view.id_kind == "resident" else "99",
            "certno": view.id_number,
            "psn_name": view.name,
            "gend": _GEND.get(view.sex, "9"),
            "naty": None,
            "brdy": person.birth_date.isoformat(),
            "age": _age(person.birth_date, day),
        },
        "insuinfo": insuinfo,
        "idetinfo": [],
    }


def treatment_check(session: Session, actor: Actor, env: Envelope) -> dict[str, Any]:
    data = _section(env, "data")
    person = _person(session, actor, data.get("psn_no"))
    day = _time(data.get("begntime"), "begntime").date()
    region = _insured_region(session, actor, env, person, day)
    elig = eligibility_on(session, region_policy(session, region), region, person.id, day)
    audit.record(session, actor, "gateway.2001", "person", person.id, ("eligibility",), region)
    text = elig.explanation.render("zh")
    return {
        "trtinfo": [
            {
                "psn_no": str(person.id),
                "trt_chk_type": "1",
                "fund_pay_type": "310100",
                "trt_enjymnt_flag": "1" if elig.eligible and elig.share_bp > 0 else "0",
                "begndate": day.isoformat(),
                "enddate": None,
                "trt_chk_rslt": f"{elig.reason.name}; 待遇比例 {elig.share_bp / 100:g}%\n{text}"[:4000],
            }
        ]
    }


def accumulator_info(session: Session, actor: Actor, env: Envelope) -> dict[str, Any]:
    data = _section(env, "data")
    person = _person(session, actor, data.get("psn_no"))
    ym = str(data.get("cum_ym") or env.inf_time.strftime("%Y%m"))
    if not (len(ym) == 6 and ym.isdecimal() and 1 <= int(ym[4:]) <= 12):
        raise InputError("cum_ym", ym, "应为 yyyyMM", "expected yyyyMM")
    day = dt.date(int(ym[:4]), int(ym[4:]), 1)
    region = _insured_region(session, actor, env, person, day)
    yk = year_key(region_policy(session, region), day)
    acc = claims.accumulators(session, person.id, region, yk)
    audit.record(session, actor, "gateway.5206", "person", person.id, ("benefit_accumulator",), region)
    out = []
    for name, value in acc.items():
        counts = name.endswith(("admissions", "visits"))
        out.append(
            {
                "insutype": INSUTYPE_EMPLOYEE,
                "year": str(yk // 10000),
                "cum_ym": ym,
                "cum_type_code": name,
                "cum": str(value) if counts else _yuan(int(value)),
            }
        )
    return {"cuminfo": out}


# -- encounters and fee lines ---------------------------------------------------------------------
def _open_encounter(
    session: Session, actor: Actor, env: Envelope, data: dict[str, Any], kind: str
) -> dict[str, Any]:
    inst = _institution(session, env)
    person = _person(session, actor, data.get("psn_no"))
    day = _time(data.get("begntime"), "begntime").date()
    region = _insured_region(session, actor, env, person, day)
    default_type = "21" if kind == "inpatient" else "11"
    med_type = str(data.get("med_type") or default_type)
    if med_type not in ("11", "21"):
        raise InputError(
            "med_type",
            med_type,
            "yibao 结算 11 普通门诊、21 普通住院",
            "yibao settles 11 (general outpatient) and 21 (general inpatient)",
        )
    enc = Encounter(
        mdtrt_id=f"tmp-{env.msgid}"[:30],
        person_id=person.id,
        region_code=region,
        institution_code=inst.code,
        kind=kind,
        med_type=med_type,
        begin_date=day,
        ipt_otp_no=_text(data, "ipt_otp_no" if kind == "outpatient" else "ipt_no", 30, required=False),
    )
    session.add(enc)
    session.flush()
    enc.mdtrt_id = f"{region}{day:%Y%m%d}{enc.id:08d}"
    return {"data": {"mdtrt_id": enc.mdtrt_id, "psn_no": str(person.id), "ipt_otp_no": enc.ipt_otp_no}}


def register_outpatient(session: Session, actor: Actor, env: Envelope) -> dict[str, Any]:
    return _open_encounter(session, actor, env, _section(env, "data"), "outpatient")


def admit(session: Session, actor: Actor, env: Envelope) -> dict[str, Any]:
    return _open_encounter(session, actor, env, _section(env, "mdtrtinfo"), "inpatient")


def upload_visit(session: Session, actor: Actor, env: Envelope) -> dict[str, Any]:
    info = _section(env, "mdtrtinfo")
    enc = _encounter(session, actor, info.get("mdtrt_id"), _person(session, actor, info.get("psn_no")))
    med_type = str(info.get("med_type") or enc.med_type)
    if med_type != "11":
        raise InputError(
            "med_type",
            med_type,
            "门诊就诊 yibao 结算 11 普通门诊",
            "for an outpatient visit yibao settles 11 (general outpatient)",
        )
    enc.med_type = med_type
    return {}


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, bool):
        raise InputError(name, value, "应为数值", "expected a number")
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise InputError(name, value, "应为数值", "expected a number") from None
    if not d.is_finite() or d < 0:
        raise InputError(name, value, "应为非负数值", "expected a non-negative number")
    return d


def _item_share(session: Session, enc: Encounter, raw: dict[str, Any], where: str) -> Decimal:
    """A B-class item's first self-pay share: the line's ``selfpay_prop`` (from the catalogue the
    HIS downloaded, transaction 1319), else the region's single share where one is sourced."""
    if raw.get("selfpay_prop") not in (None, ""):
        share = _decimal(raw.get("selfpay_prop"), f"{where}.selfpay_prop")
        if share > 1:
            raise InputError(f"{where}.selfpay_prop", raw.get("selfpay_prop"), "应在 0–1 之间", "must be 0-1")
        return share
    snap = region_policy(session, enc.region_code).at(enc.begin_date)
    if not snap["settlement.category_b_first_self_pay"].known:
        raise InputError(
            f"{where}.selfpay_prop",
            None,
            "乙类项目须给出先行自付比例（目录 1319 的 selfpay_prop）：本地区没有统一比例的来源",
            "a B-class item needs its first self-pay share (selfpay_prop, catalogue 1319): "
            "the region has no sourced single share",
        )
    return Decimal(int(snap.get("settlement.category_b_first_self_pay"))) / 10000


def _fees(
    session: Session, actor: Actor, env: Envelope, kind: str, message: GatewayMessage
) -> dict[str, Any]:
    lines = env.input.get("feedetail")
    if not isinstance(lines, list) or not lines:
        raise InputError("input.feedetail", None, "应为费用明细列表", "expected a list of fee lines")
    if len(lines) > 5000:
        raise InputError("input.feedetail", len(lines), "一次最多 5000 条", "at most 5000 lines a message")
    out = []
    for i, raw in enumerate(lines):
        where = f"feedetail[{i}]"
        if not isinstance(raw, dict):
            raise InputError(where, type(raw).__name__, "应为 JSON 对象", "expected a JSON object")
        enc = _encounter(session, actor, raw.get("mdtrt_id"), _person(session, actor, raw.get("psn_no")))
        if enc.kind != kind:
            raise InputError(
                f"{where}.mdtrt_id", enc.mdtrt_id, f"不是{_KIND_ZH[kind]}就诊", f"not an {kind} encounter"
            )
        sn = str(_text(raw, "feedetl_sn", 30))
        amount = _money(raw.get("det_item_fee_sumamt"), f"{where}.det_item_fee_sumamt")
        cnt, pric = _decimal(raw.get("cnt"), f"{where}.cnt"), _decimal(raw.get("pric"), f"{where}.pric")
        expected = int((cnt * pric * 100).quantize(Decimal(1), ROUND_HALF_UP))
        if abs(expected - amount) > 1:
            raise InputError(
                f"{where}.det_item_fee_sumamt",
                _yuan(amount),
                f"应等于数量×单价（{_yuan(expected)}）",
                f"must equal cnt × pric ({_yuan(expected)})",
            )
        lv = str(raw.get("chrgitm_lv") or "")
        if lv not in CLASSES:
            raise InputError(
                f"{where}.chrgitm_lv",
                lv or None,
                "yibao 无医保目录，须给出收费项目等级：01 甲类、02 乙类、03 丙类",
                "yibao keeps no medical list: give the class, 01 (A), 02 (B) or 03 (self-paid)",
            )
        over = 0
        if lv != "03" and raw.get("pric_uplmt_amt") not in (None, ""):
            ceiling = _decimal(raw.get("pric_uplmt_amt"), f"{where}.pric_uplmt_amt")
            over = min(
                amount, int((max(pric - ceiling, Decimal(0)) * cnt * 100).quantize(Decimal(1), ROUND_HALF_UP))
            )
        full = amount if lv == "03" else 0
        share = _item_share(session, enc, raw, where) if lv == "02" else Decimal(0)
        pre = int(((amount - over) * share).quantize(Decimal(1), ROUND_HALF_UP))
        dup = session.scalar(
            select(FeeLine.id).where(
                FeeLine.encounter_id == enc.id, FeeLine.feedetl_sn == sn, FeeLine.status != "cancelled"
            )
        )
        if dup is not None:
            raise InputError(
                f"{where}.feedetl_sn", sn, "本次就诊已上传过该流水号", "already uploaded for this encounter"
            )
        session.add(
            FeeLine(
                encounter_id=enc.id,
                feedetl_sn=sn,
                chrg_bchno=_text(raw, "chrg_bchno", 30, False),
                med_list_codg=str(_text(raw, "med_list_codg", 50)),
                fee_date=_time(raw.get("fee_ocur_time"), f"{where}.fee_ocur_time").date(),
                amount_fen=amount,
                chrgitm_lv=lv,
                over_limit_fen=over,
                preselfpay_fen=pre,
                message_id=message.id,
            )
        )
        out.append(
            {
                "feedetl_sn": sn,
                "det_item_fee_sumamt": _yuan(amount),
                "cnt": str(cnt),
                "pric": str(pric),
                "pric_uplmt_amt": raw.get("pric_uplmt_amt"),
                "selfpay_prop": "1.0000" if lv == "03" else f"{share:.4f}",
                "fulamt_ownpay_amt": _yuan(full),
                "overlmt_amt": _yuan(over),
                "preselfpay_amt": _yuan(pre),
                "inscp_scp_amt": _yuan(amount - full - over - pre),
                "chrgitm_lv": lv,
            }
        )
    session.flush()
    return {"result": out}


# -- settlement -----------------------------------------------------------------------------------
def _settle(
    session: Session, actor: Actor, env: Envelope, kind: str, commit: bool, message: GatewayMessage | None
) -> dict[str, Any]:
    data = _section(env, "data")
    person = _person(session, actor, data.get("psn_no"))
    enc = _encounter(session, actor, data.get("mdtrt_id"), person)
    if enc.kind != kind:
        raise InputError(
            "mdtrt_id",
            enc.mdtrt_id,
            f"不是{'住院' if kind == 'inpatient' else '门诊'}就诊",
            f"not an {kind} encounter",
        )
    q = select(FeeLine).where(FeeLine.encounter_id == enc.id, FeeLine.status == "uploaded")
    batch = _text(data, "chrg_bchno", 30, required=False)
    if batch is not None and kind == "outpatient":
        q = q.where(FeeLine.chrg_bchno == batch)
    lines = list(session.scalars(q.order_by(FeeLine.id)))
    if not lines:
        raise InputError(
            "mdtrt_id",
            enc.mdtrt_id,
            "没有待结算的费用明细（先上传 2204/2301）",
            "no fee lines to settle (upload them with 2204/2301 first)",
        )
    total = sum(ln.amount_fen for ln in lines)
    given = _money(data.get("medfee_sumamt"), "medfee_sumamt")
    if given != total:
        raise InputError(
            "medfee_sumamt",
            _yuan(given),
            f"应等于已上传明细合计 {_yuan(total)}",
            f"must equal the uploaded lines' total {_yuan(total)}",
        )
    inst = _institution(session, env)
    where = env.mdtrtarea_admvs or inst.region_code
    remote = (
        "local"
        if where == enc.region_code
        else ("unregistered" if str(data.get("remote_registered", "1")) == "0" else "registered")
    )
    used = str(data.get("acct_used_flag", "1"))
    if used not in ("0", "1"):
        raise InputError("acct_used_flag", used, "应为 0 或 1", "expected 0 or 1")
    ci = claims.ClaimInput(
        service_date=enc.begin_date,
        settle_date=env.inf_time.date(),
        kind=kind,
        level=inst.level,
        total_fen=total,
        full_self_pay_fen=sum(ln.amount_fen for ln in lines if ln.chrgitm_lv == "03"),
        over_limit_fen=sum(ln.over_limit_fen for ln in lines if ln.chrgitm_lv != "03"),
        preselfpay_fen=sum(ln.preselfpay_fen for ln in lines),
        remote=remote,
        use_account=used == "1",
        medins_code=inst.code,
        mdtrt_id=enc.mdtrt_id,
        medins_setl_id=_text(data, "medins_setl_id", 30, required=False) or env.msgid,
    )
    if not commit:
        result = claims.presettle(session, actor, enc.region_code, person.id, ci)
    else:
        assert message is not None
        result = claims.settle(
            session, actor, enc.region_code, person.id, ci, key=f"gw:{message.sender}:{env.msgid}"
        )
        for ln in lines:
            ln.status, ln.claim_id = "settled", result["claim_id"]
        message.claim_id = result["claim_id"]
        if kind == "inpatient":
            enc.status = "settled"
    return _setl_out(result, enc, person, sign=1)


def _setl_out(result: dict[str, Any], enc: Encounter, person: Person, sign: int) -> dict[str, Any]:
    info = dict(result["setlinfo"])
    if sign < 0:  # a reversal answers the amounts undone, negative (the ratio and the balance stay)
        info = {
            k: (_negative(v) if k in SETLINFO_LABELS and k not in ("pool_prop_selfpay", "balc") else v)
            for k, v in info.items()
        }
    info.update(
        {
            "mdtrt_id": enc.mdtrt_id,
            "setl_id": None if result["claim_id"] is None else str(result["claim_id"]),
            "psn_no": str(person.id),
            "psn_name": person.name,
            "certno": person.id_number,
            "gend": _GEND.get(person.sex, "9"),
            "brdy": person.birth_date.isoformat(),
            "insutype": INSUTYPE_EMPLOYEE,
            "med_type": enc.med_type,
            "setl_time": result["settle_date"],
            "medins_setl_id": result.get("medins_setl_id"),
            # funds outside the employee basic scheme yibao administers
            "cvlserv_pay": "0.00",
            "hifes_pay": "0.00",
            "hifmi_pay": "0.00",
            "maf_pay": "0.00",
            "oth_pay": "0.00",
            "hosp_part_amt": "0.00",
        }
    )
    detail = result["setldetail"]
    if sign < 0:
        detail = [{**d, "fund_payamt": _negative(d["fund_payamt"])} for d in detail]
    return {"setlinfo": info, "setldetail": detail}


def _negative(yuan: str) -> str:
    return yuan if Decimal(yuan) == 0 else fen_to_yuan_str(-parse_amount(yuan, "amount"))


def _reverse_claim(session: Session, actor: Actor, claim_id: int, key: str, day: dt.date) -> dict[str, Any]:
    result = claims.reverse(session, actor, claim_id, key, day)
    for ln in session.scalars(select(FeeLine).where(FeeLine.claim_id == claim_id)):
        ln.status, ln.claim_id = "uploaded", None  # the lines may be settled again (or cancelled by 2601)
    enc = session.scalar(
        select(Encounter).join(Claim, Claim.mdtrt_id == Encounter.mdtrt_id).where(Claim.id == claim_id)
    )
    if enc is not None and enc.status == "settled":
        enc.status = "open"
    return result


def reverse_settlement(
    session: Session, actor: Actor, env: Envelope, kind: str, message: GatewayMessage
) -> dict[str, Any]:
    data = _section(env, "data")
    person = _person(session, actor, data.get("psn_no"))
    enc = _encounter(session, actor, data.get("mdtrt_id"), person)
    setl = str(data.get("setl_id") or "").strip()
    if not setl.isdecimal() or len(setl) > 15:
        raise InputError(
            "setl_id",
            setl or None,
            "应为结算 ID（结算时返回的 setl_id）",
            "expected the setl_id the settlement returned",
        )
    c = session.get(Claim, int(setl))
    if c is None or c.mdtrt_id != enc.mdtrt_id or c.kind != kind:
        raise InputError("setl_id", setl, "不是该就诊的结算", "not a settlement of this encounter")
    result = _reverse_claim(session, actor, c.id, f"gw:{message.sender}:{env.msgid}", env.inf_time.date())
    return _setl_out(result, enc, person, sign=-1)


def reverse_message(session: Session, actor: Actor, env: Envelope, message: GatewayMessage) -> dict[str, Any]:
    data = _section(env, "data")
    omsgid, oinfno = _text(data, "omsgid", 30), _text(data, "oinfno", 6)
    orig = session.scalar(
        select(GatewayMessage).where(GatewayMessage.sender == message.sender, GatewayMessage.msgid == omsgid)
    )
    if orig is None or orig.infno != oinfno:
        raise InputError(
            "omsgid",
            omsgid,
            "本机构没有发送过此报文（或交易编号不符）",
            "this sender sent no such message (or its infno differs)",
        )
    if orig.reversed_by is not None:
        raise InputError("omsgid", omsgid, "该报文已冲正", "that message was already reversed")
    if orig.infno in ("2207", "2304"):
        assert orig.claim_id is not None
        c = session.get(Claim, orig.claim_id)
        if c is not None and c.status == "settled":
            _reverse_claim(session, actor, c.id, f"gw:{message.sender}:{env.msgid}", env.inf_time.date())
    elif orig.infno in ("2204", "2301"):
        for ln in session.scalars(select(FeeLine).where(FeeLine.message_id == orig.id)):
            if ln.status == "settled":
                raise InputError(
                    "omsgid",
                    omsgid,
                    "明细已结算，请先撤销结算",
                    "the lines are settled: reverse the settlement first",
                )
            ln.status = "cancelled"
    elif orig.infno in ("2201", "2401"):
        out = json.loads(orig.response).get("output", {})
        enc = session.scalar(
            select(Encounter).where(Encounter.mdtrt_id == out.get("data", {}).get("mdtrt_id"))
        )
        if enc is not None:
            if (
                session.scalar(
                    select(FeeLine.id).where(FeeLine.encounter_id == enc.id, FeeLine.status == "settled")
                )
                is not None
            ):
                raise InputError(
                    "omsgid",
                    omsgid,
                    "就诊已有结算，请先撤销结算",
                    "the encounter has settlements: reverse them first",
                )
            enc.status = "cancelled"
    orig.reversed_by = message.id
    return {}


# -- the message ----------------------------------------------------------------------------------
Handler = Callable[[Session, Actor, Envelope, GatewayMessage], dict[str, Any]]
_HANDLERS: Final[dict[str, Handler]] = {
    "1101": lambda s, a, e, m: person_info(s, a, e),
    "2001": lambda s, a, e, m: treatment_check(s, a, e),
    "2201": lambda s, a, e, m: register_outpatient(s, a, e),
    "2203": lambda s, a, e, m: upload_visit(s, a, e),
    "2204": lambda s, a, e, m: _fees(s, a, e, "outpatient", m),
    "2206": lambda s, a, e, m: _settle(s, a, e, "outpatient", False, None),
    "2207": lambda s, a, e, m: _settle(s, a, e, "outpatient", True, m),
    "2208": lambda s, a, e, m: reverse_settlement(s, a, e, "outpatient", m),
    "2301": lambda s, a, e, m: _fees(s, a, e, "inpatient", m),
    "2303": lambda s, a, e, m: _settle(s, a, e, "inpatient", False, None),
    "2304": lambda s, a, e, m: _settle(s, a, e, "inpatient", True, m),
    "2305": lambda s, a, e, m: reverse_settlement(s, a, e, "inpatient", m),
    "2401": lambda s, a, e, m: admit(s, a, e),
    "2601": reverse_message,
    "5206": lambda s, a, e, m: accumulator_info(s, a, e),
}


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y%m%d%H%M%S") + f"{t.microsecond // 1000:03d}"


def handle(session: Session, actor: Actor, doc: object, now: dt.datetime) -> dict[str, Any]:
    """Answer one message (see the module docstring). A problem raises a
    :class:`~yibao.errors.YibaoError` and the caller answers ``infcode`` -1 with nothing changed."""
    env = parse_envelope(doc)
    sender = actor.user[:64]
    digest = request_hash(doc)
    done = session.scalar(
        select(GatewayMessage).where(GatewayMessage.sender == sender, GatewayMessage.msgid == env.msgid)
    )
    if done is not None:
        if done.request_hash != digest:
            raise InputError(
                "msgid", env.msgid, "该报文 ID 已用于另一笔报文", "this msgid was used for another message"
            )
        stored: dict[str, Any] = json.loads(done.response)
        return stored
    message = GatewayMessage(
        sender=sender,
        msgid=env.msgid,
        infno=env.infno,
        request_hash=digest,
        response="{}",
        received_on=env.inf_time.date(),
    )
    session.add(message)
    session.flush()  # a concurrent duplicate waits on the unique index, then finds this answer
    output = _HANDLERS[env.infno](session, actor, env, message)
    response = {
        "infcode": 0,
        "inf_refmsgid": f"{(env.insuplc_admdvs or '000000')[:6]}{now:%Y%m%d%H%M%S}{message.id % 10**10:010d}",
        "refmsg_time": _stamp(now),
        "respond_time": _stamp(now),
        "err_msg": None,
        "output": output,
    }
    message.response = json.dumps(response, ensure_ascii=False, default=str)
    return response

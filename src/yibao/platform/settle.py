"""Settling platform-shaped claims: JSON in, :mod:`yibao.rules.settlement` inside, JSON out.

``settle_document`` takes what ``yibao calc settle --json`` reads — one claim object, a list of
claims, or ``{"claims": [...], "accumulators": [...]}`` — and returns the platform JSON. Claims
of one person are settled in the order given, against that person's accumulators (starting ones
may be supplied). Each claim is settled with the rules of its insured region
(``insuplc_admdvs``, else the default region) on its ``setl_date``; treatment elsewhere
(``mdtrtarea_admvs`` differs) is remote care with that region's reductions.

``med_type`` codes follow the national platform's list as HIS clients use it (11 普通门诊,
14 门诊慢特病, 21 普通住院; e.g. the enum of an open-source HIS client in the code corpus).
Chronic and special outpatient care (14) needs its own registry and accumulators (DOMAIN §4.7)
and is refused with a clear error for now.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Final

import numpy as np
from pydantic import BaseModel, ValidationError

from yibao.errors import InputError
from yibao.money import BP, fen_to_yuan_str, parse_amount, parse_rate_bp
from yibao.platform.models import (
    AccumulatorsJson,
    BatchIn,
    BatchOut,
    ClaimIn,
    ClaimOut,
    SetlDetail,
    SetlInfo,
    SingleOut,
)
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.registry import Registry
from yibao.policy.resolve import Policy
from yibao.rules.classes import benefit_class, class_settings, parse_status
from yibao.rules.settlement import ACC_COLUMNS, Accumulators, Claim, ClaimResult, settle_claims

__all__ = [
    "MED_TYPES",
    "SETLINFO_LABELS",
    "input_error",
    "json_schema",
    "settle_document",
    "settle_inputs",
]

MED_TYPES: Final[dict[str, str]] = {"11": "outpatient", "21": "inpatient"}
_UNSUPPORTED: Final[dict[str, str]] = {"14": "门诊慢特病 / chronic and special outpatient care"}
FUND_POOLED: Final = "310100"  # 统筹基金 (DOMAIN §4.8)
FUND_LARGE: Final = "330100"  # 职工大额医疗费用补助 (insutype 330); code by analogy, unverified


#: The setlinfo fields a person reads, in order, with their names in Chinese and English.
SETLINFO_LABELS = {
    "medfee_sumamt": ("医疗费总额", "total cost"),
    "fulamt_ownpay_amt": ("全自费金额", "full self-pay"),
    "overlmt_selfpay": ("超限价自付", "over-limit self-pay"),
    "preselfpay_amt": ("先行自付金额", "category-B first self-pay"),
    "inscp_scp_amt": ("符合政策范围金额", "in-scope amount"),
    "act_pay_dedc": ("实际支付起付线", "deductible paid"),
    "hifp_pay": ("统筹基金支出", "pooled fund"),
    "pool_prop_selfpay": ("统筹基金支付比例", "pooled ratio"),
    "hifob_pay": ("职工大额医疗费用补助基金支出", "large-amount fund"),
    "fund_pay_sumamt": ("基金支付总额", "fund payment total"),
    "psn_part_amt": ("个人负担总金额", "personal share"),
    "acct_pay": ("个人账户支出", "account pays"),
    "acct_mulaid_pay": ("个人账户共济支付", "family mutual-aid account pays"),
    "psn_cash_pay": ("个人现金支出", "cash"),
    "balc": ("本次结算后个人账户余额", "account balance after"),
}

def input_error(exc: ValidationError, where: str = "") -> InputError:
    """The first problem of a pydantic ValidationError as a bilingual InputError."""
    err = exc.errors()[0]
    field = where + ".".join(str(x) for x in err["loc"])
    return InputError(field or "-", err.get("input"), f"格式不符（{err['msg']}）", err["msg"])



def _class(policy: Policy, c: ClaimIn) -> str:
    snap = policy.at(c.setl_date)
    ro = np.array([np.datetime64(c.retired_on, "D") if c.retired_on else np.datetime64("NaT")])
    idx = benefit_class(np.array([parse_status(c.psn_type)]), np.array([c.age]), ro, *class_settings(snap))
    return BENEFIT_CLASSES[int(idx[0])]


def _kind(med_type: str) -> str:
    if med_type in _UNSUPPORTED:
        raise InputError("med_type", med_type,
                         f"暂不支持 {_UNSUPPORTED[med_type]}；可用 11 普通门诊、21 普通住院",
                         "not supported yet; accepted: 11 general outpatient, 21 general inpatient")
    if med_type not in MED_TYPES:
        raise InputError("med_type", med_type, "应为 11 普通门诊 或 21 普通住院",
                         "expected 11 (general outpatient) or 21 (general inpatient)")
    return MED_TYPES[med_type]


def _claim(policy: Policy, c: ClaimIn, person: int, carried: tuple[int, int] = (0, 0)) -> Claim:
    if c.hosp_lv not in LEVELS:
        raise InputError("hosp_lv", c.hosp_lv, f"应为之一：{', '.join(LEVELS)}",
                         f"expected one of {', '.join(LEVELS)}")
    if c.age < 0 or c.age > 150:
        raise InputError("age", c.age, "年龄应在 0..150", "age must be 0..150")
    share = parse_rate_bp(c.benefit_share, "benefit_share")
    if not 0 <= share <= BP:
        raise InputError("benefit_share", c.benefit_share, "应在 0%..100%", "must be 0%..100%")
    remote = "local"
    if c.mdtrtarea_admvs and c.mdtrtarea_admvs != policy.region.code:
        remote = "registered" if c.remote_registered else "unregistered"
    claim = Claim(
        date=c.setl_date, kind=_kind(c.med_type), benefit_class=_class(policy, c), level=c.hosp_lv,
        total_fen=parse_amount(c.medfee_sumamt, "medfee_sumamt"),
        full_self_pay_fen=parse_amount(c.fulamt_ownpay_amt, "fulamt_ownpay_amt"),
        over_limit_fen=parse_amount(c.overlmt_selfpay, "overlmt_selfpay"),
        preselfpay_fen=None if c.preselfpay_amt is None else parse_amount(c.preselfpay_amt, "preselfpay_amt"),
        category_b_fen=None if c.catb_amt is None else parse_amount(c.catb_amt, "catb_amt"),
        remote=remote, benefit_share_bp=share,
        account_balance_fen=carried[0] if c.acct_balc is None else parse_amount(c.acct_balc, "acct_balc"),
        mulaid_balance_fen=carried[1] if c.mulaid_balc is None else parse_amount(c.mulaid_balc,
                                                                          "mulaid_balc"),
        person=person)
    _check_components(claim)
    return claim


def _check_components(claim: Claim) -> None:
    """Full self-pay, over-limit and first self-pay are parts of the total (DOMAIN §4.1).

    A category-B amount is not itself a part: only its first self-pay share is, and that depends
    on the region's ratio, so the kernel checks it; this names the fields a user wrote.
    """
    fen = {"fulamt_ownpay_amt": claim.full_self_pay_fen, "overlmt_selfpay": claim.over_limit_fen}
    if claim.preselfpay_fen is not None:
        fen["preselfpay_amt"] = claim.preselfpay_fen
    parts, total = sum(fen.values()), claim.total_fen
    if parts > total:
        shown = " + ".join(f"{k} {fen_to_yuan_str(v)}" for k, v in fen.items())
        raise InputError(
            "+".join(fen), shown,
            f"费用分项之和 {fen_to_yuan_str(parts)} 超过医疗费总额 medfee_sumamt "
            f"{fen_to_yuan_str(total)}；分项应是总额的一部分",
            f"the fee components add up to {fen_to_yuan_str(parts)}, more than "
            f"medfee_sumamt {fen_to_yuan_str(total)}; they are parts of the total")


def _ratio(bp: int) -> str:
    d = (Decimal(bp) / BP).normalize()
    return f"{d:f}"


def _out(c: ClaimIn, policy: Policy, r: ClaimResult) -> ClaimOut:
    a, cl, y = r.amounts, r.claim, fen_to_yuan_str
    fund = a["hifp_pay"] + a["hifob_pay"]
    info = SetlInfo(
        psn_no=c.psn_no, med_type=c.med_type, insuplc_admdvs=policy.region.code,
        mdtrtarea_admvs=c.mdtrtarea_admvs or policy.region.code, setl_date=c.setl_date,
        medfee_sumamt=y(cl.total_fen), fulamt_ownpay_amt=y(cl.full_self_pay_fen),
        overlmt_selfpay=y(cl.over_limit_fen), preselfpay_amt=y(r.preselfpay_fen),
        inscp_scp_amt=y(a["inscp_scp_amt"]), act_pay_dedc=y(a["act_pay_dedc"]),
        hifp_pay=y(a["hifp_pay"]), pool_prop_selfpay=_ratio(a["pool_ratio_bp"]),
        hifob_pay=y(a["hifob_pay"]), fund_pay_sumamt=y(fund), psn_part_amt=y(cl.total_fen - fund),
        acct_pay=y(a["acct_pay"]), acct_mulaid_pay=y(a["acct_mulaid_pay"]),
        psn_cash_pay=y(a["psn_cash_pay"]), balc=y(cl.account_balance_fen - a["acct_pay"]))
    info_zh = (f"{r.snapshot.policy.label} {r.snapshot.date}；{cl.benefit_class}/{cl.level}；"
               f"起付线 {y(a['act_pay_dedc'])}；统筹比例 {_ratio(a['pool_ratio_bp'])}")
    if a["oop_cap_pay"]:
        info_zh += f"；个人负担封顶后由统筹基金另付 {y(a['oop_cap_pay'])}"
    if cl.remote != "local":
        info_zh += f"；异地就医（{cl.remote}）"
    detail = [SetlDetail(fund_pay_type=FUND_POOLED, fund_payamt=y(a["hifp_pay"]),
                         setl_proc_info=info_zh)]
    if a["hifob_pay"]:
        detail.append(SetlDetail(fund_pay_type=FUND_LARGE, fund_payamt=y(a["hifob_pay"]),
                                 setl_proc_info=f"封顶线以上大额支付 {y(a['hifob_pay'])}"))
    return ClaimOut(setlinfo=info, setldetail=detail)


def _acc_in(rows: Sequence[BaseModel], persons: dict[str, int], acc: Accumulators) -> None:
    for row in rows:
        d = row.model_dump()
        i = persons.setdefault(str(d["psn_no"]), len(persons))
        if i >= len(acc):
            acc.data = np.vstack([acc.data, np.zeros((i + 1 - len(acc), acc.data.shape[1]),
                                                     dtype=np.int64)])
        for j, name in enumerate(ACC_COLUMNS):
            v = d[name]
            acc.data[i, j] = v if isinstance(v, int) and not isinstance(v, bool) and (
                name == "year_key" or name.endswith(("admissions", "visits"))) else parse_amount(v, name)


def _acc_out(persons: dict[str, int], acc: Accumulators) -> list[Any]:
    out = []
    for psn, i in persons.items():
        row: dict[str, Any] = {"psn_no": psn}
        for j, name in enumerate(ACC_COLUMNS):
            v = int(acc.data[i, j])
            row[name] = v if name == "year_key" or name.endswith(("admissions", "visits")) \
                else fen_to_yuan_str(v)
        out.append(AccumulatorsJson.model_validate(row))
    return out


def settle_inputs(claims: Sequence[ClaimIn], registry: Registry, region: str | None,
                  reforms: Sequence[str] = (), start: Sequence[BaseModel] = (),
                  ) -> tuple[list[ClaimOut], list[ClaimResult], list[Any]]:
    """Settle claims (each with its insured region's rules); outputs, results, accumulators."""
    persons: dict[str, int] = {}
    acc = Accumulators.zeros(0)
    _acc_in(start, persons, acc)
    for c in claims:
        persons.setdefault(c.psn_no, len(persons))
    acc.data = np.vstack([acc.data, np.zeros((len(persons) - len(acc), acc.data.shape[1]),
                                             dtype=np.int64)])
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(claims):
        name = c.insuplc_admdvs or region
        if not name:
            raise InputError("insuplc_admdvs", None, "需要参保地区划代码或 --region",
                             "give insuplc_admdvs or --region")
        groups.setdefault(name, []).append(i)
    outs: list[ClaimOut | None] = [None] * len(claims)
    results: list[ClaimResult | None] = [None] * len(claims)
    # A member's account (and a relative's mutual-aid balance) carries from one claim to the next
    # in the document unless the claim states it, so claims settle one at a time, in order.
    carried: dict[str, tuple[int, int]] = {}
    for name, idx in groups.items():
        policy = registry.policy(name, list(reforms))
        for i in idx:
            c = claims[i]
            built = _claim(policy, c, persons[c.psn_no], carried.get(c.psn_no, (0, 0)))
            (r,) = settle_claims(policy, [built], acc)
            outs[i], results[i] = _out(c, policy, r), r
            carried[c.psn_no] = (built.account_balance_fen - r.amounts["acct_pay"],
                                 built.mulaid_balance_fen - r.amounts["acct_mulaid_pay"])
    return ([o for o in outs if o is not None], [r for r in results if r is not None],
            _acc_out(persons, acc))


def settle_document(doc: Any, registry: Registry, region: str | None,
                    reforms: Sequence[str] = ()) -> tuple[dict[str, Any], list[ClaimResult]]:
    """Settle a JSON document (one claim, a list, or a batch); the platform JSON and results."""
    try:
        if isinstance(doc, dict) and "claims" in doc:
            batch = BatchIn.model_validate(doc)
            claims, start = batch.claims, batch.accumulators
        elif isinstance(doc, list):
            claims, start = [ClaimIn.model_validate(x) for x in doc], []
        else:
            claims, start = [ClaimIn.model_validate(doc)], []
    except ValidationError as exc:
        raise input_error(exc) from None
    outs, results, accs = settle_inputs(claims, registry, region, reforms, start)
    if isinstance(doc, dict) and "claims" not in doc:
        single = SingleOut(setlinfo=outs[0].setlinfo, setldetail=outs[0].setldetail,
                           accumulators=accs)
        return single.model_dump(mode="json"), results
    return BatchOut(results=outs, accumulators=accs).model_dump(mode="json"), results


def json_schema() -> dict[str, Any]:
    """JSON Schema of the input (one claim, a list, or a batch) and of the output."""
    return {
        "input": {"oneOf": [ClaimIn.model_json_schema(), {"type": "array", "items": {
            "$ref": "#/input/oneOf/0"}}, BatchIn.model_json_schema()]},
        "output": {"oneOf": [SingleOut.model_json_schema(), BatchOut.model_json_schema()]},
    }

"""The national-platform gateway (issue 5) on SQLite and PostgreSQL: a hospital system's realistic
2207 (outpatient) and 2304 (inpatient) message sequences, their ``setlinfo`` checked against the
calculator (:func:`yibao.platform.settle.settle_document`, what ``yibao calc settle`` runs) fed
the same figures; reversals (2208, 2305, 2601), accumulators (5206), replays by ``msgid``, and
errors that answer ``infcode`` -1 naming the field and change nothing."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from test_api_service import enrolled_member, make_user, token_for

from yibao.admin import accounts
from yibao.admin.demo import DEMO_REGION, demo_region_text
from yibao.admin.policies import add_region, registry_of
from yibao.admin.uow import run
from yibao.api.app import create_app
from yibao.db.models.claims import Claim
from yibao.platform.gateway import add_institution
from yibao.platform.settle import SETLINFO_LABELS, settle_document

HOSPITAL = "H99010000001"
_seq = itertools.count(1)


@pytest.fixture()
def his(engine: Engine) -> Iterator[dict[str, Any]]:
    """Demo City with a level-3 hospital, its system's token, an operator, one enrolled member
    (employee since 2024-01, January and February paid)."""
    run(engine, lambda s: add_region(s, demo_region_text()))
    run(engine, lambda s: add_institution(s, HOSPITAL, "示范市第一人民医院", "level_3", DEMO_REGION))
    make_user(engine, "op.bj", "operator", regions=[DEMO_REGION])
    make_user(engine, "his.h1", "provider", regions=[DEMO_REGION])
    make_user(engine, "his.sh", "provider", regions=["310000"])
    client = TestClient(create_app(engine))
    w = {"client": client, "engine": engine, "op.bj": token_for(engine, "op.bj")}
    member = enrolled_member(w)
    yield {**w, "his": token_for(engine, "his.h1"), "his.sh": token_for(engine, "his.sh"), "member": member}


def send(
    h: dict[str, Any],
    infno: str,
    inp: dict[str, Any],
    msgid: str | None = None,
    when: str = "2024-03-15 10:00:00",
    token: str = "his",
) -> dict[str, Any]:
    msg = {
        "infno": infno,
        "msgid": msgid or f"{HOSPITAL}{next(_seq):018d}",
        "mdtrtarea_admvs": DEMO_REGION,
        "insuplc_admdvs": DEMO_REGION,
        "recer_sys_code": "YBXT",
        "infver": "V1.0",
        "opter_type": "1",
        "opter": "001",
        "opter_name": "收费员",
        "inf_time": when,
        "fixmedins_code": HOSPITAL,
        "fixmedins_name": "示范市第一人民医院",
        "sign_no": "",
        "input": inp,
    }
    r = h["client"].post("/api/v1/gateway", json=msg, headers=h[token])
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def ok(body: dict[str, Any]) -> Any:
    assert body["infcode"] == 0, body["err_msg"]
    return body["output"]


def line(
    sn: str, mdtrt_id: str, psn_no: str, amount: str, lv: str, cnt: str = "1", **kw: Any
) -> dict[str, Any]:
    return {
        "feedetl_sn": sn,
        "mdtrt_id": mdtrt_id,
        "psn_no": psn_no,
        "chrg_bchno": "B1",
        "rx_circ_flag": "0",
        "fee_ocur_time": "2024-03-15 09:30:00",
        "med_list_codg": f"XA01{sn}",
        "medins_list_codg": sn,
        "det_item_fee_sumamt": amount,
        "cnt": cnt,
        "pric": str(float(amount) / float(cnt)),
        "bilg_dept_codg": "A03",
        "bilg_dept_name": "内科",
        "bilg_dr_codg": "D001",
        "bilg_dr_name": "李医生",
        "hosp_appr_flag": "1",
        "chrgitm_lv": lv,
        **kw,
    }


def calculator(
    h: dict[str, Any],
    psn_no: str,
    med_type: str,
    total: str,
    full: str,
    over: str,
    pre: str,
    balance_fen: int,
) -> dict[str, Any]:
    """The same claim through the calculator, with what the register holds put in by hand."""
    with Session(h["engine"]) as s:
        reg = registry_of(s)
    doc, _ = settle_document(
        {
            "psn_no": psn_no,
            "med_type": med_type,
            "hosp_lv": "level_3",
            "psn_type": "in_service",
            "age": 38,
            "setl_date": "2024-03-15",
            "insuplc_admdvs": DEMO_REGION,
            "medfee_sumamt": total,
            "fulamt_ownpay_amt": full,
            "overlmt_selfpay": over,
            "preselfpay_amt": pre,
            "acct_balc": f"{balance_fen / 100:.2f}",
        },
        reg,
        None,
    )
    info: dict[str, Any] = doc["setlinfo"]
    return info


def balance(h: dict[str, Any], pid: int) -> int:
    return run(h["engine"], lambda s: accounts.account_balance(s, DEMO_REGION, pid, dt.date(2024, 3, 15)))


def test_1101_2001_2201_2204_2206_2207_2208(his: dict[str, Any]) -> None:
    m = his["member"]
    base = ok(
        send(
            his,
            "1101",
            {
                "data": {
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": m["id_number"],
                    "card_sn": "",
                    "begntime": "2024-03-15 09:00:00",
                    "psn_cert_type": "01",
                    "certno": m["id_number"],
                    "psn_name": "张三",
                }
            },
        )
    )
    psn = base["baseinfo"]["psn_no"]
    assert psn == str(m["person"]["id"]) and base["baseinfo"]["certno"] == m["id_number"]
    assert base["baseinfo"]["age"] == 38 and base["baseinfo"]["gend"] == "1"
    assert [(i["insuplc_admdvs"], i["insutype"], i["psn_insu_stas"]) for i in base["insuinfo"]] == [
        (DEMO_REGION, "310", "1")
    ]
    trt = ok(
        send(
            his,
            "2001",
            {
                "data": {
                    "psn_no": psn,
                    "insutype": "310",
                    "fixmedins_code": HOSPITAL,
                    "med_type": "11",
                    "begntime": "2024-03-15 09:00:00",
                }
            },
        )
    )["trtinfo"][0]
    assert trt["trt_enjymnt_flag"] == "1"
    reg = ok(
        send(
            his,
            "2201",
            {
                "data": {
                    "psn_no": psn,
                    "insutype": "310",
                    "begntime": "2024-03-15 09:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": m["id_number"],
                    "ipt_otp_no": "MZ0001",
                    "atddr_no": "D001",
                    "dr_name": "李医生",
                    "dept_code": "A03",
                    "dept_name": "内科",
                    "caty": "A03",
                }
            },
        )
    )["data"]
    mdtrt = reg["mdtrt_id"]
    ok(
        send(
            his,
            "2203",
            {
                "mdtrtinfo": {
                    "mdtrt_id": mdtrt,
                    "psn_no": psn,
                    "med_type": "11",
                    "begntime": "2024-03-15 09:00:00",
                    "main_cond_dscr": "",
                    "dise_codg": "J06.900",
                    "dise_name": "急性上呼吸道感染",
                },
                "diseinfo": [
                    {
                        "diag_type": "1",
                        "diag_srt_no": "1",
                        "diag_code": "J06.900",
                        "diag_name": "急性上呼吸道感染",
                        "diag_dept": "内科",
                        "dise_dor_no": "D001",
                        "dise_dor_name": "李医生",
                        "diag_time": "2024-03-15 09:20:00",
                        "vali_flag": "1",
                    }
                ],
            },
        )
    )
    fees = ok(
        send(
            his,
            "2204",
            {
                "feedetail": [
                    line("1", mdtrt, psn, "300.00", "01", cnt="2"),
                    line(
                        "2", mdtrt, psn, "200.00", "02", selfpay_prop="0.10"
                    ),  # the item's share (catalogue 1319)
                    line("3", mdtrt, psn, "100.00", "03"),
                ]
            },
        )
    )["result"]
    assert [f["fulamt_ownpay_amt"] for f in fees] == ["0.00", "0.00", "100.00"]
    assert [f["preselfpay_amt"] for f in fees] == ["0.00", "20.00", "0.00"]
    data = {
        "psn_no": psn,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": m["id_number"],
        "med_type": "11",
        "medfee_sumamt": "600.00",
        "psn_setlway": "01",
        "mdtrt_id": mdtrt,
        "chrg_bchno": "B1",
        "insutype": "310",
        "acct_used_flag": "1",
    }
    before = balance(his, m["person"]["id"])
    pre = ok(send(his, "2206", {"data": data}))
    setl = ok(send(his, "2207", {"data": data}, msgid="M2207-0001"))
    expected = calculator(his, psn, "11", "600.00", "100.00", "0.00", "20.00", before)
    for k in SETLINFO_LABELS:
        assert setl["setlinfo"][k] == pre["setlinfo"][k] == expected[k], k
    assert setl["setlinfo"]["setl_id"] and setl["setlinfo"]["mdtrt_id"] == mdtrt
    assert sum(float(d["fund_payamt"]) for d in setl["setldetail"]) == float(
        setl["setlinfo"]["fund_pay_sumamt"]
    )
    # the same message again: the first answer, nothing settled twice
    again = ok(send(his, "2207", {"data": data}, msgid="M2207-0001"))
    assert again["setlinfo"]["setl_id"] == setl["setlinfo"]["setl_id"]
    with Session(his["engine"]) as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 1
    rev = ok(
        send(
            his, "2208", {"data": {"setl_id": setl["setlinfo"]["setl_id"], "mdtrt_id": mdtrt, "psn_no": psn}}
        )
    )
    paid = setl["setlinfo"]["fund_pay_sumamt"]
    assert rev["setlinfo"]["fund_pay_sumamt"] == (f"-{paid}" if paid != "0.00" else paid)
    assert balance(his, m["person"]["id"]) == before  # the account money came back


def test_2401_2301_2303_2304_5206_2305_2601(his: dict[str, Any]) -> None:
    m = his["member"]
    psn = str(m["person"]["id"])
    adm = ok(
        send(
            his,
            "2401",
            {
                "mdtrtinfo": {
                    "psn_no": psn,
                    "insutype": "310",
                    "coner_name": "",
                    "tel": "",
                    "begntime": "2024-03-15 08:00:00",
                    "mdtrt_cert_type": "02",
                    "mdtrt_cert_no": m["id_number"],
                    "med_type": "21",
                    "ipt_no": "ZY0001",
                    "atddr_no": "D002",
                    "chfpdr_name": "王医生",
                    "adm_diag_dscr": "肺炎",
                    "adm_dept_codg": "A03",
                    "adm_dept_name": "内科",
                    "adm_bed": "12",
                    "dscg_maindiag_code": "J18.900",
                    "dscg_maindiag_name": "肺炎",
                },
                "diseinfo": [],
            },
        )
    )["data"]
    mdtrt = adm["mdtrt_id"]
    ok(
        send(
            his,
            "2301",
            {
                "feedetail": [
                    line("1", mdtrt, psn, "15000.00", "01", cnt="10"),
                    # a B-class item priced above its ceiling: 2 × (2200 − 2000) = 400 over the limit
                    line(
                        "2",
                        mdtrt,
                        psn,
                        "4400.00",
                        "02",
                        cnt="2",
                        pric_uplmt_amt="2000.00",
                        selfpay_prop="0.10",
                    ),
                    line("3", mdtrt, psn, "1000.00", "03"),
                ]
            },
        )
    )
    data = {
        "psn_no": psn,
        "mdtrt_cert_type": "02",
        "mdtrt_cert_no": m["id_number"],
        "medfee_sumamt": "20400.00",
        "psn_setlway": "01",
        "mdtrt_id": mdtrt,
        "insutype": "310",
        "acct_used_flag": "1",
        "mid_setl_flag": "0",
        "invono": "",
    }
    before = balance(his, m["person"]["id"])
    pre = ok(send(his, "2303", {"data": data}))
    first = ok(send(his, "2304", {"data": data}))
    expected = calculator(his, psn, "21", "20400.00", "1000.00", "400.00", "400.00", before)
    for k in SETLINFO_LABELS:
        assert first["setlinfo"][k] == pre["setlinfo"][k] == expected[k], k
    assert first["setlinfo"]["overlmt_selfpay"] == "400.00" and first["setlinfo"]["act_pay_dedc"] == "1300.00"
    cum = {
        c["cum_type_code"]: c["cum"]
        for c in ok(send(his, "5206", {"data": {"psn_no": psn, "cum_ym": "202403"}}))["cuminfo"]
    }
    assert cum["inpatient_admissions"] == "1" and cum["inpatient_deductible_used"] == "1300.00"
    ok(
        send(
            his, "2305", {"data": {"mdtrt_id": mdtrt, "setl_id": first["setlinfo"]["setl_id"], "psn_no": psn}}
        )
    )
    cum = {
        c["cum_type_code"]: c["cum"]
        for c in ok(send(his, "5206", {"data": {"psn_no": psn, "cum_ym": "202403"}}))["cuminfo"]
    }
    assert cum["inpatient_admissions"] == "0"  # the reversal restored the counters
    second = ok(send(his, "2304", {"data": data}, msgid="M2304-0002"))  # the lines may be settled again
    assert second["setlinfo"]["hifp_pay"] == first["setlinfo"]["hifp_pay"]
    assert second["setlinfo"]["setl_id"] != first["setlinfo"]["setl_id"]
    ok(send(his, "2601", {"data": {"psn_no": psn, "omsgid": "M2304-0002", "oinfno": "2304"}}))
    with Session(his["engine"]) as s:
        statuses = sorted(s.scalars(select(Claim.status)))
    assert statuses == ["reversed", "reversed"]
    assert balance(his, m["person"]["id"]) == before
    again = send(his, "2601", {"data": {"psn_no": psn, "omsgid": "M2304-0002", "oinfno": "2304"}})
    assert again["infcode"] == -1 and "already reversed" in again["err_msg"]


def test_bad_messages_answer_infcode_minus_one_and_change_nothing(his: dict[str, Any]) -> None:
    m = his["member"]
    psn = str(m["person"]["id"])
    bad = send(his, "9999", {})
    assert bad["infcode"] == -1 and bad["err_field"] == "infno" and "1101" in bad["err_msg"]
    reg = ok(send(his, "2201", {"data": {"psn_no": psn, "begntime": "2024-03-15 09:00:00"}}))["data"]
    no_class = send(
        his, "2204", {"feedetail": [{**line("1", reg["mdtrt_id"], psn, "50.00", "01"), "chrgitm_lv": None}]}
    )
    assert no_class["infcode"] == -1 and no_class["err_field"] == "feedetail[0].chrgitm_lv"
    wrong_price = send(
        his, "2204", {"feedetail": [{**line("1", reg["mdtrt_id"], psn, "50.00", "01"), "pric": "40"}]}
    )
    assert wrong_price["err_field"] == "feedetail[0].det_item_fee_sumamt"
    ok(send(his, "2204", {"feedetail": [line("1", reg["mdtrt_id"], psn, "50.00", "01")]}))
    data = {"psn_no": psn, "medfee_sumamt": "60.00", "mdtrt_id": reg["mdtrt_id"], "acct_used_flag": "1"}
    mismatch = send(his, "2207", {"data": data})
    assert mismatch["err_field"] == "medfee_sumamt" and "50.00" in mismatch["err_msg"]
    # a msgid reused for another message is refused; the failed one above may be resent corrected
    ok(send(his, "2207", {"data": {**data, "medfee_sumamt": "50.00"}}, msgid="M-X"))
    reused = send(his, "2207", {"data": {**data, "medfee_sumamt": "51.00"}}, msgid="M-X")
    assert reused["err_field"] == "msgid"
    # a provider of another region sees no one here; a staff token is not a provider's
    other = send(his, "1101", {"data": {"certno": m["id_number"]}}, token="his.sh")
    assert other["infcode"] == -1
    r = his["client"].post("/api/v1/gateway", json={"infno": "1101"}, headers=his["op.bj"])
    assert r.status_code == 403
    with Session(his["engine"]) as s:
        assert s.scalar(select(func.count()).select_from(Claim)) == 1

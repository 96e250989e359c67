"""A claim dated before later account credits cannot spend them (no balance negative at any date)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from test_claims_support import contribution, enroll, fund_account, fund_pools, months, person

from yibao.admin import claims
from yibao.admin.accounts import verify_ledger
from yibao.admin.claims import ClaimInput
from yibao.admin.uow import SYSTEM, run


def test_back_dated_claim_pays_only_what_every_later_balance_can_spare(engine: Engine) -> None:
    def setup(s: Session) -> int:
        p = person(s)
        e = enroll(s, p)
        contribution(s, e, months(202301, 202406))
        fund_pools(s)
        fund_account(s, p, 10_000, on=dt.date(2024, 3, 1))  # 100 yuan on 1 March
        fund_account(s, p, 50_000, on=dt.date(2024, 6, 1))  # 500 yuan more on 1 June
        return p.id

    pid = run(engine, setup)
    # an inpatient stay on 10 April, settled late: the deductible alone (1300, Beijing level 3)
    # exceeds the 100 yuan the account held then, and the June credit did not exist yet
    ci = ClaimInput(service_date=dt.date(2024, 4, 10), kind="inpatient", level="level_3", total_fen=500_000)
    res = run(engine, lambda s: claims.settle(s, SYSTEM, "110000", pid, ci, key="dated-1"))
    assert res["amounts_fen"]["acct_pay"] == 10_000
    with Session(engine) as s:
        assert verify_ledger(s).ok
    # a claim dated after the June credit may use it
    ci2 = ClaimInput(service_date=dt.date(2024, 6, 10), kind="inpatient", level="level_3", total_fen=500_000)
    res2 = run(engine, lambda s: claims.settle(s, SYSTEM, "110000", pid, ci2, key="dated-2"))
    assert res2["amounts_fen"]["acct_pay"] == 50_000

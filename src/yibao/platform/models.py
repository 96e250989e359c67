"""Settlement input and output in the national platform's field names (2206/2207, 2303/2304).

Amounts are yuan, written as strings like ``"123.45"`` on output; input accepts strings or JSON
numbers (``"1,234.56元"`` and ``"1.2万"`` too). Field names follow the platform's ``setlinfo`` and
``setldetail`` (DOMAIN.md §4.8, LS §2.4): ``medfee_sumamt``, ``fulamt_ownpay_amt``,
``overlmt_selfpay``, ``preselfpay_amt``, ``inscp_scp_amt``, ``act_pay_dedc``, ``hifp_pay``,
``pool_prop_selfpay`` (基本医疗保险统筹基金支付比例, a ratio such as ``"0.85"``), ``hifob_pay``,
``fund_pay_sumamt``, ``psn_part_amt``, ``acct_pay``, ``acct_mulaid_pay``, ``psn_cash_pay``,
``balc``. Inputs the platform does not carry in the same message are named in our glossary's
terms: ``psn_type`` (in_service | flexible | retired), ``retired_on``, ``setl_date``,
``acct_balc`` (account balance before settlement), ``mulaid_balc`` (a relative's account
available for family mutual aid, 家庭共济), ``catb_amt`` (乙类 amount, when ``preselfpay_amt`` is
not given), ``remote_registered`` and ``benefit_share``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    create_model,
)

from yibao.rules.settlement_kernel import ACC_COLUMNS

__all__ = [
    "AccumulatorsJson",
    "Amount",
    "BatchIn",
    "BatchOut",
    "ClaimIn",
    "ClaimOut",
    "SetlDetail",
    "SetlInfo",
    "SingleOut",
]

# strict members: a JSON true/false is not an amount (lax validation would read it as 1/0)
Amount = Annotated[StrictStr | StrictInt | StrictFloat, Field(description="元 / yuan, e.g. \"123.45\"")]


def _date_text(v: object) -> object:
    # a date is written YYYY-MM-DD; lax validation would also read a number as a Unix time
    if isinstance(v, (str, dt.date)):
        return v
    raise ValueError("a date is written YYYY-MM-DD")


IsoDate = Annotated[dt.date, BeforeValidator(_date_text)]
Yuan = Annotated[str, Field(description="元 / yuan, two decimals, e.g. \"123.45\"",
                            pattern=r"^-?\d+\.\d{2}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ClaimIn(_In):
    """One claim to settle (the platform's 2206/2207 or 2303/2304 input, flattened)."""

    psn_no: str = Field("1", description="人员编号 / person number")
    med_type: str = Field(description="医疗类别: 11 普通门诊, 21 普通住院 (14 门诊慢特病 not supported yet)")
    hosp_lv: str = Field(description="医疗机构等级: pharmacy, community, level_1, level_2, level_3, "
                                     "level_3a")
    psn_type: str = Field(description="人员类别: in_service, flexible, retired")
    age: StrictInt = Field(description="年龄 on the settlement date")
    retired_on: IsoDate | None = Field(None, description="退休日期 (for retired_early classes)")
    setl_date: IsoDate = Field(description="结算日期 / date of service, YYYY-MM-DD")
    insuplc_admdvs: str | None = Field(None, description="参保地 (region code); default --region")
    mdtrtarea_admvs: str | None = Field(None, description="就医地; differs from insuplc_admdvs → "
                                                          "remote care")
    remote_registered: StrictBool = Field(False, description="异地就医已备案 (registered or referred)")
    medfee_sumamt: Amount
    fulamt_ownpay_amt: Amount = "0"
    overlmt_selfpay: Amount = "0"
    preselfpay_amt: Amount | None = None
    catb_amt: Amount | None = Field(None, description="乙类 amount; preselfpay = round(catb × "
                                                      "category_b_first_self_pay)")
    acct_balc: Amount | None = Field(None, description="个人账户余额 before settlement; omitted: "
                                     "the balance left by this psn_no's previous claim in the "
                                     "same document, else 0")
    mulaid_balc: Amount | None = Field(None, description="家庭共济 balance available; omitted: "
                                       "what this psn_no's previous claim left, else 0")
    benefit_share: StrictStr | StrictInt | StrictFloat = Field(
        "100%", description="待遇比例, e.g. \"50%\" in a reduced-benefit wait; 0 = none")


def _acc_model() -> type[BaseModel]:
    fields: dict[str, Any] = {"psn_no": (str, ...), "year_key": (int, Field(
        0, description="benefit-year start as yyyymmdd; another year resets the counters"))}
    for name in ACC_COLUMNS[1:]:
        if name.endswith(("admissions", "visits")):
            fields[name] = (int, 0)
        else:
            fields[name] = (str | int | float, "0.00")
    return create_model("AccumulatorsJson", __config__=ConfigDict(extra="forbid"), **fields)


AccumulatorsJson = _acc_model()
"""A person's benefit-year accumulators (counts, and amounts in yuan)."""


class BatchIn(_In):
    """Several claims (in service order per person) with optional starting accumulators."""

    claims: list[ClaimIn]
    accumulators: list[AccumulatorsJson] = Field(default_factory=list)  # type: ignore[valid-type]


class SetlInfo(BaseModel):
    """结算信息 (setlinfo of 2207/2304)."""

    psn_no: str
    med_type: str
    insuplc_admdvs: str
    mdtrtarea_admvs: str
    setl_date: dt.date
    medfee_sumamt: Yuan
    fulamt_ownpay_amt: Yuan
    overlmt_selfpay: Yuan
    preselfpay_amt: Yuan
    inscp_scp_amt: Yuan
    act_pay_dedc: Yuan
    hifp_pay: Yuan
    pool_prop_selfpay: str = Field(description="统筹基金支付比例 of the last pooled chunk, e.g. 0.85")
    hifob_pay: Yuan
    fund_pay_sumamt: Yuan
    psn_part_amt: Yuan
    acct_pay: Yuan
    acct_mulaid_pay: Yuan
    psn_cash_pay: Yuan
    balc: Yuan


class SetlDetail(BaseModel):
    """结算基金分项 (setldetail): 310100 统筹基金, 330100 职工大额医疗费用补助基金."""

    fund_pay_type: str
    fund_payamt: Yuan
    setl_proc_info: str


class ClaimOut(BaseModel):
    setlinfo: SetlInfo
    setldetail: list[SetlDetail]


class SingleOut(ClaimOut):
    accumulators: list[AccumulatorsJson]  # type: ignore[valid-type]


class BatchOut(BaseModel):
    results: list[ClaimOut]
    accumulators: list[AccumulatorsJson]  # type: ignore[valid-type]

"""rules/settlement.py around the kernel: columns, input checks, error texts, derived columns.

Each check is something a policy reader or an integrator can verify: the benefit-year key, which
field and row an error names (in Chinese and English, exact text), the unknown parameter a status
code stands for, the derived columns of the settlement issue (inscp, coinsurance, cash), and that
a failed call leaves the accumulators as they were. Amounts are computed by us from the rules
named in each test (Beijing: PD beijing, http://banzhengshi.com/shebao/695593.html).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from yibao.errors import InputError, UnknownParameterError
from yibao.policy.catalog import BENEFIT_CLASSES, LEVELS
from yibao.policy.registry import Registry
from yibao.rules.settlement import (
    MAX_AMOUNT_FEN,
    Accumulators,
    Claim,
    ClaimColumns,
    SettlementColumns,
    compile_settlement_table,
    settle_batch,
    settle_claims,
    status_error,
    year_key,
)
from yibao.rules.settlement_kernel import (
    ACC_COLUMNS,
    OUT_DTYPE,
    PKEYS,
    STATUS_BAD_INDEX,
    STATUS_INCONSISTENT,
    TRACE_FIELDS,
    TRACE_STEPS,
    _unknown_py,
)

FIX = Path(__file__).parent / "fixtures" / "settlement"
REG = Registry(policy_files=[FIX / "remote_user.yaml", FIX / "oop_cap.yaml"])
BJ = REG.policy("beijing")
DAY = dt.date(2024, 3, 1)
SNAP = BJ.at(DAY)
TABLE = compile_settlement_table([SNAP])
L3 = LEVELS.index("level_3")
MONEY = ("total", "full_self_pay", "over_limit", "preselfpay", "account_balance",
         "mulaid_balance")


def cols(n: int, **over: object) -> ClaimColumns:
    """n Beijing in-service level-3 inpatient claims of 50000 yuan, persons 0, 1, 0, 1 …"""
    base: dict[str, object] = dict(
        psn=np.arange(n) % 2, param=np.zeros(n), year=np.full(n, year_key(BJ, DAY)),
        kind=np.zeros(n), benefit_class=np.zeros(n), level=np.full(n, L3), remote=np.zeros(n),
        share_bp=np.full(n, 10_000), total=np.full(n, 5_000_000), full_self_pay=np.zeros(n),
        over_limit=np.zeros(n), preselfpay=np.zeros(n), account_balance=np.zeros(n),
        mulaid_balance=np.zeros(n))
    base.update(over)
    return ClaimColumns(**base)  # type: ignore[arg-type]


# -- benefit-year key ---------------------------------------------------------------------------

def test_year_key_is_the_benefit_years_first_day() -> None:
    """Beijing: calendar year; Shanghai: 1 July – 30 June (PD shanghai, benefit_year.start)."""
    sh = REG.policy("shanghai")
    assert year_key(BJ, dt.date(2024, 12, 31)) == 20240101
    assert year_key(sh, dt.date(2023, 6, 30)) == 20220701
    assert year_key(sh, dt.date(2023, 7, 1)) == 20230701


# -- columns -----------------------------------------------------------------------------------

def test_index_columns_are_narrow_and_money_is_int64() -> None:
    c = cols(3)
    assert [getattr(c, n).dtype for n in ("psn", "param", "year", "kind", "benefit_class",
                                           "level", "remote", "share_bp")] == [
        np.int32, np.int16, np.int32, np.int8, np.int8, np.int8, np.int8, np.int16]
    assert all(getattr(c, n).dtype == np.int64 for n in MONEY)
    assert all(getattr(c, n).flags.c_contiguous for n in MONEY)
    assert len(c) == 3
    assert c.nbytes == 3 * (4 + 2 + 4 + 1 + 1 + 1 + 1 + 2 + 6 * 8)


@pytest.mark.parametrize(("name", "values", "dtype"), [
    ("psn", [2**31 - 1], np.int32), ("psn", [-(2**31)], np.int32),
    ("psn", [2**31], np.int64), ("psn", [-(2**31) - 1], np.int64),
    ("param", [32_767], np.int16), ("param", [32_768], np.int64), ("param", [-32_769], np.int64),
])
def test_person_and_snapshot_indexes_widen_only_when_they_do_not_fit(
        name: str, values: list[int], dtype: type) -> None:
    c = cols(1, **{name: np.array(values, dtype=np.int64)})
    col = getattr(c, name)
    assert col.dtype == dtype and int(col[0]) == values[0]


def test_empty_columns_stay_narrow() -> None:
    c = cols(0)
    assert c.psn.dtype == np.int32 and c.param.dtype == np.int16 and len(c) == 0


def test_columns_of_different_lengths_are_refused() -> None:
    with pytest.raises(ValueError, match=r"^column total has 2 rows, psn has 3$"):
        cols(3, total=np.zeros(2))


# -- validate: the field, the row and the rule, in both languages ----------------------------------

@pytest.mark.parametrize("name", MONEY)
def test_validate_names_a_negative_amount(name: str) -> None:
    c = cols(3)
    getattr(c, name)[2] = -1
    getattr(c, name)[1] = 0
    with pytest.raises(InputError) as err:
        c.validate(TABLE, 2)
    assert err.value.zh == f"字段 {name}[2] 的值 -1 无效：金额不能为负"
    assert err.value.en == f"field {name}[2]: invalid value -1: amounts must not be negative"


@pytest.mark.parametrize("name", MONEY)
def test_validate_amounts_up_to_100_million_yuan(name: str) -> None:
    c = cols(2, total=np.full(2, MAX_AMOUNT_FEN))
    getattr(c, name)[0] = MAX_AMOUNT_FEN if name in ("total", "account_balance",
                                                     "mulaid_balance") else 0
    c.validate(TABLE, 2)  # at the limit: accepted
    getattr(c, name)[1] = MAX_AMOUNT_FEN + 1
    with pytest.raises(InputError) as err:
        c.validate(TABLE, 2)
    assert err.value.zh == f"字段 {name}[1] 的值 {MAX_AMOUNT_FEN + 1} 无效：单笔金额不超过 1 亿元"
    assert err.value.en == (f"field {name}[1]: invalid value {MAX_AMOUNT_FEN + 1}: "
                            "a claim's amounts are at most 100,000,000 yuan")


def test_validate_fee_components_may_equal_but_not_exceed_the_total() -> None:
    c = cols(2, full_self_pay=np.array([2_000_000, 2_000_000]),
             over_limit=np.array([2_000_000, 2_000_000]), preselfpay=np.array([1_000_000, 0]))
    c.validate(TABLE, 2)  # row 0: exactly the total
    c.preselfpay[1] = 1_000_001
    with pytest.raises(InputError) as err:
        c.validate(TABLE, 2)
    field = "fulamt_ownpay_amt+overlmt_selfpay+preselfpay_amt"
    assert err.value.zh == (f"字段 {field}[1] 的值 5000001 无效："
                            "全自费、超限价与先行自付之和不能超过医疗费总额")
    assert err.value.en == (f"field {field}[1]: invalid value 5000001: "
                            "full self-pay + over-limit + pre-self-pay must not exceed "
                            "medfee_sumamt")


@pytest.mark.parametrize(("name", "good", "bad", "zh", "en"), [
    ("psn", 1, 2, "人员下标应在 0..1", "person index must be in 0..1"),
    ("psn", 0, -1, "人员下标应在 0..1", "person index must be in 0..1"),
    ("param", 0, 1, "参数下标应在 0..0", "parameter index must be in 0..0"),
    ("param", 0, -1, "参数下标应在 0..0", "parameter index must be in 0..0"),
    ("kind", 1, 2, "应在 0..1", "must be in 0..1"),
    ("kind", 0, -1, "应在 0..1", "must be in 0..1"),
    ("benefit_class", 4, 5, "应在 0..4", "must be in 0..4"),
    ("benefit_class", 0, -1, "应在 0..4", "must be in 0..4"),
    ("level", 5, 6, "应在 0..5", "must be in 0..5"),
    ("level", 0, -1, "应在 0..5", "must be in 0..5"),
    ("remote", 2, 3, "应在 0..2", "must be in 0..2"),
    ("remote", 0, -1, "应在 0..2", "must be in 0..2"),
])
def test_validate_indexes_at_and_beyond_their_range(name: str, good: int, bad: int, zh: str,
                                                    en: str) -> None:
    c = cols(2)
    getattr(c, name)[0] = good
    c.validate(TABLE, 2)
    getattr(c, name)[1] = bad
    with pytest.raises(InputError) as err:
        c.validate(TABLE, 2)
    assert err.value.zh == f"字段 {name}[1] 的值 {bad} 无效：{zh}"
    assert err.value.en == f"field {name}[1]: invalid value {bad}: {en}"


@pytest.mark.parametrize(("good", "bad"), [(0, -1), (10_000, 10_001)])
def test_validate_benefit_share_is_0_to_10000_bp(good: int, bad: int) -> None:
    """Benefit share: 10000 full, 5000 in a Fujian-style wait, 0 not eligible."""
    c = cols(2)
    c.share_bp[0] = good
    c.validate(TABLE, 2)
    c.share_bp[1] = bad
    with pytest.raises(InputError) as err:
        c.validate(TABLE, 2)
    assert err.value.zh == f"字段 benefit_share_bp[1] 的值 {bad} 无效：待遇比例应在 0..10000 基点"
    assert err.value.en == (f"field benefit_share_bp[1]: invalid value {bad}: "
                            "benefit share must be 0..10000 bp")


# -- accumulators --------------------------------------------------------------------------------

def test_accumulators_zeros_copy_and_person() -> None:
    acc = Accumulators.zeros(3)
    assert acc.data.shape == (3, len(ACC_COLUMNS)) and acc.data.dtype == np.int64
    assert len(acc) == 3
    twin = acc.copy()
    twin.data[1, 0] = 20240101
    assert acc.data[1, 0] == 0
    assert twin.person(1) == {**dict.fromkeys(ACC_COLUMNS, 0), "year_key": 20240101}


# -- the kernel's row errors, named by the wrapper ----------------------------------------------

def settle_one_bad(**over: object) -> tuple[SettlementColumns, ClaimColumns, Accumulators]:
    c = cols(3, **over)
    acc = Accumulators.zeros(2)
    return settle_batch(c, TABLE, acc), c, acc


def test_a_negative_row_names_the_first_negative_amount_in_column_order() -> None:
    res, c, _ = settle_one_bad(over_limit=np.array([0, -3, 0]), mulaid_balance=np.array([0, -9, 0]))
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    assert err.value.zh == "字段 over_limit[1] 的值 -3 无效：金额不能为负"
    assert err.value.en == "field over_limit[1]: invalid value -3: amounts must not be negative"


def test_a_too_large_row_names_the_first_amount_above_the_limit() -> None:
    big = MAX_AMOUNT_FEN + 1
    res, c, _ = settle_one_bad(account_balance=np.array([0, 0, big]),
                               mulaid_balance=np.array([0, 0, big + 1]))
    assert list(res.status[:2]) == [0, 0]
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    assert err.value.zh == f"字段 account_balance[2] 的值 {big} 无效：单笔金额不超过 1 亿元"
    assert err.value.en == (f"field account_balance[2]: invalid value {big}: "
                            "a claim's amounts are at most 100,000,000 yuan")


def test_an_amount_of_exactly_100_million_yuan_settles() -> None:
    res, _, _ = settle_one_bad(account_balance=np.full(3, MAX_AMOUNT_FEN))
    assert list(res.status) == [0, 0, 0]


def test_a_bad_share_row_is_named() -> None:
    res, c, _ = settle_one_bad(share_bp=np.array([10_000, 10_001, 10_000]))
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    assert err.value.zh == "字段 benefit_share_bp[1] 的值 10001 无效：待遇比例应在 0..10000 基点"
    assert err.value.en == ("field benefit_share_bp[1]: invalid value 10001: "
                            "benefit share must be 0..10000 bp")


def test_a_bad_index_row_shows_every_index() -> None:
    res, c, acc = settle_one_bad(remote=np.array([0, 0, 3]))
    assert int(res.status[2]) == STATUS_BAD_INDEX
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    shown = {"psn": 0, "param": 0, "kind": 0, "benefit_class": 0, "level": L3, "remote": 3}
    assert err.value.zh == f"字段 row 2 的值 {shown!r} 无效：下标超出范围（人员、参数表、类别、等级或异地）"
    assert err.value.en == (f"field row 2: invalid value {shown!r}: an index is out of range "
                            "(person, snapshot, kind, class, level or remote)")
    # the two good rows settled (50000 each, persons 0 and 1), the bad one touched nothing
    assert list(acc.data[:, ACC_COLUMNS.index("inpatient_admissions")]) == [1, 1]


def test_inconsistent_components_are_named_with_the_row() -> None:
    res, c, _ = settle_one_bad(full_self_pay=np.array([0, 4_000_000, 0]),
                               over_limit=np.array([0, 2_000_000, 0]))
    assert int(res.status[1]) == STATUS_INCONSISTENT
    with pytest.raises(InputError) as err:
        res.raise_first_error(TABLE, c)
    assert err.value.zh == "字段 inscp_scp_amt[1] 的值 1 无效：费用分项之和超过医疗费总额"
    assert err.value.en == "field inscp_scp_amt[1]: invalid value 1: fee components exceed medfee_sumamt"


def test_first_error_found_by_scanning_equals_the_kernels_answer() -> None:
    res, c, _ = settle_one_bad(total=np.array([5_000_000, -1, -2]))
    assert res.first_error == 1
    assert list(res.error_rows()) == [1, 2]
    scan = SettlementColumns(res.out, res.trace, c)  # first_error None: scan status
    with pytest.raises(InputError) as err:
        scan.raise_first_error(TABLE, c)
    assert err.value.field == "total[1]"
    good, c2, _ = settle_one_bad()
    SettlementColumns(good.out, good.trace, c2).raise_first_error(TABLE, c2)  # no error: no raise
    good.raise_first_error(TABLE, c2)
    assert len(good.error_rows()) == 0 and good.first_error == -1


# -- status code → unknown parameter, with the cell -------------------------------------------------

@pytest.mark.parametrize(("pkey", "kind", "band", "c", "lv", "key"), [
    ("deductible.scope", 0, 0, 0, 0, "settlement.inpatient.deductible.scope"),
    ("deductible.first", 1, 0, 2, 4, "settlement.outpatient.deductible.first[retired][level_3]"),
    ("deductible.second", 0, 0, 4, 5,
     "settlement.inpatient.deductible.second[retired_early][level_3a]"),
    ("deductible.third_plus", 0, 0, 1, 2,
     "settlement.inpatient.deductible.third_plus[flexible][level_1]"),
    ("bands", 1, 0, 0, 0, "settlement.outpatient.bands"),
    ("bands.ratio", 0, 2, 3, 4, "settlement.inpatient.bands[2].ratio[retired_senior][level_3]"),
    ("bands.ratio", 1, 7, 4, 5,
     "settlement.outpatient.bands[7].ratio[retired_early][level_3a]"),
    ("band_basis", 1, 0, 0, 0, "settlement.outpatient.band_basis"),
    ("pooled_ceiling", 0, 0, 2, 0, "settlement.inpatient.pooled_ceiling[retired]"),
    ("ceiling_basis", 1, 0, 0, 0, "settlement.outpatient.ceiling_basis"),
    ("ceiling_shared_with_inpatient", 1, 0, 0, 0,
     "settlement.outpatient.ceiling_shared_with_inpatient"),
    ("large_amount.ratio", 0, 0, 1, 0, "settlement.inpatient.large_amount.ratio[flexible]"),
    ("large_amount.ceiling", 1, 0, 3, 0,
     "settlement.outpatient.large_amount.ceiling[retired_senior]"),
    ("large_amount.ceiling_basis", 0, 0, 0, 0, "settlement.inpatient.large_amount.ceiling_basis"),
    ("settlement.personal_oop_cap", 0, 0, 0, 0, "settlement.personal_oop_cap"),
    ("remote.registered_ratio_reduction", 0, 0, 0, 0, "remote.registered_ratio_reduction"),
    ("remote.unregistered_ratio_reduction", 0, 0, 0, 0, "remote.unregistered_ratio_reduction"),
    ("settlement.rounding", 0, 0, 0, 0, "settlement.rounding"),
    ("settlement.account_pays", 0, 0, 0, 0, "settlement.account_pays"),
])
def test_a_status_code_names_the_unknown_parameter_and_cell(
        pkey: str, kind: int, band: int, c: int, lv: int, key: str) -> None:
    code = _unknown_py(PKEYS.index(pkey), kind, band, c, lv)
    err = status_error(code, SNAP, 7)
    assert isinstance(err, UnknownParameterError)
    assert err.key == key and err.region == BJ.label
    assert f"参数 {key} 未知" in err.zh and f"parameter {key} on 2024-03-01 is unknown" in err.en


def test_the_unknown_parameters_note_is_shown() -> None:
    """Guangzhou's pooled ceiling is unknown with a note (PD guangzhou); the error carries it."""
    gz = REG.policy("guangzhou").at(dt.date(2023, 3, 1))
    err = status_error(_unknown_py(PKEYS.index("pooled_ceiling"), 0, 0, 0, 0), gz, 0)
    note = gz["settlement.inpatient.pooled_ceiling"].note
    assert note and err.en.startswith(
        "region 广州市 440100 (guangzhou): parameter settlement.inpatient.pooled_ceiling"
        f"[in_service] on 2023-03-01 is unknown, source needed ({note}); ")


# -- derived columns -----------------------------------------------------------------------------

def test_derived_columns_of_a_settled_and_a_bad_row() -> None:
    """Beijing 50000 first admission (PD beijing): inscp 50000 − 300 − 200 − 500 = 49000,
    deductible 1300, pooled 28700 × 85% + 10000 × 90% + 9000 × 95% = 41945 (computed by us);
    coinsurance 49000 − 1300 − 41945 = 5755, cash 50000 − 41945 − 1000 (account) = 7055."""
    c = cols(2, full_self_pay=np.array([30_000, 0]), over_limit=np.array([20_000, 0]),
             preselfpay=np.array([50_000, 0]), account_balance=np.array([100_000, 0]),
             total=np.array([5_000_000, -5]))
    res = settle_batch(c, TABLE, Accumulators.zeros(2))
    assert list(res.inscp_scp_amt) == [4_900_000, 0]
    assert list(res.act_pay_dedc) == [130_000, 0]
    assert list(res.hifp_pay) == [4_194_500, 0]
    assert list(res.coinsurance) == [575_500, 0]
    assert list(res.acct_pay) == [100_000, 0]
    assert list(res.psn_cash_pay) == [705_500, 0]
    assert list(res.fund_pay_sumamt()) == [4_194_500, 0]
    assert res.row(0)["psn_cash_pay"] == 705_500 and res.row(1)["status"] != 0
    assert res.column("coinsurance")[0] == 575_500
    with pytest.raises(AttributeError):
        res.column("trace")
    with pytest.raises(AttributeError):
        res.no_such_column  # noqa: B018


def test_coinsurance_is_before_the_out_of_pocket_cap_refund() -> None:
    """oop_cap fixture (Beijing + a 5000 cap): the fund refunds 7105 − 5000 = 2105 of the member's
    burden; coinsurance stays 50000 − 1300 − 42895 = 5805 and the fund pays 42895 + 2105."""
    table = compile_settlement_table([REG.policy("oop_cap_user").at(DAY)])
    res = settle_batch(cols(1), table, Accumulators.zeros(2))
    assert (int(res.hifp_pay[0]), int(res.oop_cap_pay[0]), int(res.coinsurance[0])) == (
        4_500_000, 210_500, 580_500)
    assert int(res.psn_cash_pay[0]) == 500_000


# -- settle_batch buffers and trace ----------------------------------------------------------------

def test_trace_has_a_row_of_steps_per_claim_only_when_asked() -> None:
    assert settle_batch(cols(2), TABLE, Accumulators.zeros(2)).trace.shape == (
        0, TRACE_STEPS, len(TRACE_FIELDS))
    tr = settle_batch(cols(2), TABLE, Accumulators.zeros(2), trace=True).trace
    assert tr.shape == (2, TRACE_STEPS, len(TRACE_FIELDS)) and tr[:, 0, 0].all()


@pytest.mark.parametrize("buf", [np.empty(8, OUT_DTYPE)[::2], np.empty(3, OUT_DTYPE),
                                 np.empty(4, np.int64)])
def test_a_reused_buffer_must_match(buf: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"^out must be a C-contiguous array of 4 OUT_DTYPE records$"):
        settle_batch(cols(4), TABLE, Accumulators.zeros(2), out=buf)


# -- settle_claims -------------------------------------------------------------------------------

def claim(date: str, total_fen: int, **kw: object) -> Claim:
    return Claim(dt.date.fromisoformat(date), kw.pop("kind", "inpatient"),  # type: ignore[arg-type]
                 kw.pop("cls", "in_service"), kw.pop("level", "level_3"),  # type: ignore[arg-type]
                 total_fen, **kw)  # type: ignore[arg-type]


def test_claims_on_several_dates_use_each_dates_snapshot_and_commit_the_accumulators() -> None:
    """Beijing: 2024-06-01 is the second admission of person 0 (deductible 650), person 1's
    first claim of 2023 pays 1300 (PD beijing)."""
    acc = Accumulators.zeros(2)
    a, b, c = settle_claims(BJ, [claim("2024-03-01", 5_000_000),
                                 claim("2024-06-01", 1_000_000),
                                 claim("2023-05-01", 1_000_000, person=1)], acc)
    assert [r.snapshot.date for r in (a, b, c)] == [DAY, dt.date(2024, 6, 1), dt.date(2023, 5, 1)]
    assert [r.amounts["act_pay_dedc"] for r in (a, b, c)] == [130_000, 65_000, 130_000]
    assert acc.person(0)["inpatient_admissions"] == 2 and acc.person(0)["year_key"] == 20240101
    assert acc.person(1)["year_key"] == 20230101


def test_category_b_first_self_pay_is_rounded_by_the_settlement_rounding() -> None:
    """remote_user fixture: category_b_first_self_pay 10%, rounding fen_half_up: 123.45 yuan of
    category-B items → 12.345 → 12.35 self-pay first; an explicit preselfpay wins."""
    pol = REG.policy("remote_user")
    r1, r2, r3 = settle_claims(pol, [claim("2024-03-01", 500_000, category_b_fen=12_345),
                                     claim("2024-03-01", 500_000, category_b_fen=12_345,
                                           preselfpay_fen=7, person=1),
                                     claim("2024-03-01", 500_000, person=2)],
                               Accumulators.zeros(3))
    assert (r1.preselfpay_fen, r2.preselfpay_fen, r3.preselfpay_fen) == (1_235, 7, 0)
    assert r1.amounts["inscp_scp_amt"] == 500_000 - 1_235


def test_a_failed_call_leaves_the_accumulators_as_they_were() -> None:
    acc = Accumulators.zeros(1)
    acc.data[0, 0] = 20240101
    before = acc.data.copy()
    with pytest.raises(InputError):
        settle_claims(BJ, [claim("2024-03-01", 5_000_000), claim("2024-04-01", -1)], acc)
    assert np.array_equal(acc.data, before)


@pytest.mark.parametrize(("field", "over", "names"), [
    ("kind", {"kind": "emergency"}, ("inpatient", "outpatient")),
    ("benefit_class", {"cls": "student"}, BENEFIT_CLASSES),
    ("hosp_lv", {"level": "level_9"}, LEVELS),
    ("remote", {"remote": "abroad"}, ("local", "registered", "unregistered")),
])
def test_unknown_names_in_a_claim_are_input_errors(field: str, over: dict[str, str],
                                                   names: tuple[str, ...]) -> None:
    bad = next(iter(over.values()))
    with pytest.raises(InputError) as err:
        settle_claims(BJ, [claim("2024-03-01", 100, **over)], Accumulators.zeros(1))
    assert err.value.zh == f"字段 {field} 的值 {bad!r} 无效：应为之一：{', '.join(names)}"
    assert err.value.en == f"field {field}: invalid value {bad!r}: expected one of {', '.join(names)}"

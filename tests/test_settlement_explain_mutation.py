"""The explanation of a settled claim, step by step and word for word (rules/settlement_explain.py).

Each case settles claims through :func:`settle_claims` and compares every step of the explanation:
the Chinese and English wording, the arithmetic shown, the amount (fen) and each parameter cited
with the value shown. One step is written ``zh | en | arithmetic = amount | key=shown; …``.
The amounts are the engine's, checked against the rules in tests/test_settlement_examples.py
(computed by us from the sources named there); here the point is that every step a policy reader
needs is present, in order, names the right parameter cell and shows the right numbers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from yibao.policy.registry import Registry
from yibao.rules.explain import Step
from yibao.rules.settlement import Accumulators, Claim, ClaimResult, settle_claims

FIX = Path(__file__).parent / "fixtures" / "settlement"
REG = Registry(policy_files=[FIX / "remote_user.yaml", FIX / "oop_cap.yaml",
                             FIX / "fund_basis.yaml"])
D = dt.date.fromisoformat


def line(s: Step) -> str:
    ps = "; ".join(f"{p.key}={p.shown}" for p in s.params)
    return f"{s.zh} | {s.en} | {s.arithmetic} = {s.amount_fen} | {ps}"


def lines(r: ClaimResult) -> list[str]:
    e = r.explanation
    return [f"{e.title_zh} | {e.title_en}", *(line(s) for s in e.steps)]


def settle(region: str, *claims: Claim) -> list[list[str]]:
    return [lines(r) for r in settle_claims(REG.policy(region), list(claims), Accumulators.zeros(4))]


# Beijing (PD beijing; 京医保发〔2019〕14号): 150000 first admission with 3000 in the account and 2000
# in a relative's account, then a 10000 second admission (deductible 650) above the ceiling.
BEIJING_LARGE: list[list[str]] = [
 ['北京市 110000 (beijing) 2024-03-01 住院结算（in_service，level_3） | 北京市 110000 (beijing) '
  '2024-03-01 inpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 150000.00 − 0.00 − 0.00 − 0.00 = '
  '15000000 | ',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(150000.00, 1300.00) = 130000 '
  '| settlement.inpatient.deductible.first=1300.00 元/yuan [in_service][level_3]; '
  'settlement.inpatient.deductible.scope=per_admission',
  '统筹基金第 1 段（累计政策范围内费用自 1300.00 起，至 30000.00） | pooled fund, band 1 (cumulative '
  'in-scope cost from 1300.00 up to 30000.00) | 28700.00 × 85%（至本段上限）/ (to the end of the band) = 2439500 | settlement.inpatient.bands=[0] ≤ 30000.00: 85% '
  '[in_service][level_3]; settlement.inpatient.band_basis=cost',
  '统筹基金第 2 段（累计政策范围内费用自 30000.00 起，至 40000.00） | pooled fund, band 2 (cumulative '
  'in-scope cost from 30000.00 up to 40000.00) | 10000.00 × 90%（至本段上限）/ (to the end of the band) = 900000 | settlement.inpatient.bands=[1] ≤ 40000.00: 90% '
  '[in_service][level_3]; settlement.inpatient.band_basis=cost',
  '统筹基金第 3 段（累计政策范围内费用自 40000.00 起，至 100000.00） | pooled fund, band 3 (cumulative '
  'in-scope cost from 40000.00 up to 100000.00) | 60000.00 × 95%（至本段上限）/ (to the end of the band) = 5700000 | settlement.inpatient.bands=[2] ≤ 100000.00: 95% '
  '[in_service][level_3]; settlement.inpatient.band_basis=cost',
  '已达统筹基金年度封顶线（累计政策范围内费用 100000.00） | pooled ceiling reached (cumulative in-scope '
  'cost 100000.00) | - = None | settlement.inpatient.pooled_ceiling=100000.00 '
  '元/yuan [in_service]; settlement.inpatient.ceiling_basis=cost',
  '大额（封顶线以上） | large-amount segment (above the pooled ceiling) | 50000.00 × 85% = '
  '4250000 | settlement.inpatient.large_amount.ratio=85% [in_service]; '
  'settlement.inpatient.large_amount.ceiling=400000.00 元/yuan [in_service]',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 90395.00 + 42500.00 = '
  '13289500 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 150000.00 − '
  '132895.00 = 1710500 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(17105.00, '
  "3000.00) = 300000 | settlement.account_pays=deductible, coinsurance, "
  "preselfpay",
  '家庭共济账户支付 = min(账户未付部分, 共济余额) | family mutual-aid account pays min(the part the '
  'account did not pay, its balance) | min(14105.00, 2000.00) = 200000 | ',
  '个人现金支付 | cash paid by the member | 17105.00 − 3000.00 − 2000.00 = 1210500 | '],
 ['北京市 110000 (beijing) 2024-06-01 住院结算（in_service，level_3） | 北京市 110000 (beijing) '
  '2024-06-01 inpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 10000.00 − 0.00 − 0.00 − 0.00 = '
  '1000000 | ',
  '本医保年度第 2 次住院；此前已付起付线 1300.00 | inpatient claim no. 2 of the benefit year; '
  'deductible used before 1300.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(10000.00, 650.00) = 65000 | '
  'settlement.inpatient.deductible.second=650.00 元/yuan [in_service][level_3]; '
  'settlement.inpatient.deductible.scope=per_admission',
  '已达统筹基金年度封顶线（累计政策范围内费用 150650.00） | pooled ceiling reached (cumulative in-scope '
  'cost 150650.00) | - = None | settlement.inpatient.pooled_ceiling=100000.00 '
  '元/yuan [in_service]; settlement.inpatient.ceiling_basis=cost',
  '大额（封顶线以上） | large-amount segment (above the pooled ceiling) | 9350.00 × 85% = '
  '794750 | settlement.inpatient.large_amount.ratio=85% [in_service]; '
  'settlement.inpatient.large_amount.ceiling=400000.00 元/yuan [in_service]',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 0.00 + 7947.50 = '
  '794750 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 10000.00 − 7947.50 = '
  '205250 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(2052.50, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 2052.50 − 0.00 − 0.00 = 205250 | ']]

# Beijing outpatient to 2022 (PD beijing): per-year 1800 deductible, 70%, 20000 cap on fund payment.
BEIJING_OUTPATIENT_CAP: list[list[str]] = [
 ['北京市 110000 (beijing) 2022-03-01 门诊结算（in_service，level_3） | 北京市 110000 (beijing) '
  '2022-03-01 outpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 10000.00 − 0.00 − 0.00 − 0.00 = '
  '1000000 | ',
  '本医保年度第 1 次门诊；此前已付起付线 0.00 | outpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(10000.00, 1800.00 − 0.00) = '
  '180000 | settlement.outpatient.deductible.first=1800.00 元/yuan '
  '[in_service][level_3]; settlement.outpatient.deductible.scope=per_year',
  '统筹基金第 1 段（累计政策范围内费用自 1800.00 起，至 ∞） | pooled fund, band 1 (cumulative in-scope '
  'cost from 1800.00 up to ∞) | 8200.00 × 70% = 574000 | '
  'settlement.outpatient.bands=[0] ≤ ∞: 70% [in_service][level_3]; '
  'settlement.outpatient.band_basis=cost',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 5740.00 + 0.00 = '
  '574000 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 10000.00 − 5740.00 = '
  '426000 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(4260.00, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 4260.00 − 0.00 − 0.00 = 426000 | '],
 ['北京市 110000 (beijing) 2022-05-01 门诊结算（in_service，level_3） | 北京市 110000 (beijing) '
  '2022-05-01 outpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 30000.00 − 0.00 − 0.00 − 0.00 = '
  '3000000 | ',
  '本医保年度第 2 次门诊；此前已付起付线 1800.00 | outpatient claim no. 2 of the benefit year; '
  'deductible used before 1800.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(30000.00, 1800.00 − 1800.00) '
  '= 0 | settlement.outpatient.deductible.first=1800.00 元/yuan '
  '[in_service][level_3]; settlement.outpatient.deductible.scope=per_year',
  '统筹基金第 1 段（累计政策范围内费用自 10000.00 起，至 ∞） | pooled fund, band 1 (cumulative in-scope '
  'cost from 10000.00 up to ∞) | 20371.43 × 70%（统筹基金封顶线所限）/ (the pooled ceiling binds) = 1426000 | '
  'settlement.outpatient.bands=[0] ≤ ∞: 70% [in_service][level_3]; '
  'settlement.outpatient.band_basis=cost',
  '已达统筹基金年度封顶线（累计统筹基金支付 20000.00） | pooled ceiling reached (cumulative pooled '
  'payment 20000.00) | - = None | settlement.outpatient.pooled_ceiling=20000.00 '
  '元/yuan [in_service]; settlement.outpatient.ceiling_basis=fund_payment',
  '封顶线以上个人自付 | self-pay above the ceilings | 9628.57 = 962857 | ',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 14260.00 + 0.00 = '
  '1426000 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 30000.00 − 14260.00 '
  '= 1574000 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(6111.43, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 15740.00 − 0.00 − 0.00 = 1574000 | ']]

# Shanghai (沪医保规〔2023〕6号): one 610000 fund-payment ceiling for inpatient and outpatient care,
# 80% above it, no limit; per-year deductible (1500 in service) used in two admissions.
SHANGHAI_SHARED: list[list[str]] = [
 ['上海市 310000 (shanghai) 2023-08-01 住院结算（retired，level_3） | 上海市 310000 (shanghai) '
  '2023-08-01 inpatient settlement (retired, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 800000.00 − 0.00 − 0.00 − 0.00 = '
  '80000000 | ',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=07-01',
  '起付线（个人自付） | deductible (paid by the member) | min(800000.00, 1200.00 − 0.00) = '
  '120000 | settlement.inpatient.deductible.first=1200.00 元/yuan '
  '[retired][level_3]; settlement.inpatient.deductible.scope=per_year',
  '统筹基金第 1 段（累计政策范围内费用自 1200.00 起，至 ∞） | pooled fund, band 1 (cumulative in-scope '
  'cost from 1200.00 up to ∞) | 663043.48 × 92%（统筹基金封顶线所限）/ (the pooled ceiling binds) = 61000000 | '
  'settlement.inpatient.bands=[0] ≤ ∞: 92% [retired][level_3]; '
  'settlement.inpatient.band_basis=cost',
  '已达统筹基金年度封顶线（累计统筹基金支付 610000.00） | pooled ceiling reached (cumulative pooled '
  'payment 610000.00) | - = None | settlement.inpatient.pooled_ceiling=610000.00 '
  '元/yuan [retired]; settlement.inpatient.ceiling_basis=fund_payment',
  '大额（封顶线以上） | large-amount segment (above the pooled ceiling) | 135756.52 × 80% = '
  '10860522 | settlement.inpatient.large_amount.ratio=80% [retired]; '
  'settlement.inpatient.large_amount.ceiling=none',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 610000.00 + 108605.22 '
  '= 71860522 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 800000.00 − '
  '718605.22 = 8139478 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(1200.00, '
  "0.00) = 0 | settlement.account_pays=deductible",
  '个人现金支付 | cash paid by the member | 81394.78 − 0.00 − 0.00 = 8139478 | '],
 ['上海市 310000 (shanghai) 2023-09-01 门诊结算（retired，level_1） | 上海市 310000 (shanghai) '
  '2023-09-01 outpatient settlement (retired, level_1)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 2000.00 − 0.00 − 0.00 − 0.00 = '
  '200000 | ',
  '本医保年度第 1 次门诊；此前已付起付线 0.00 | outpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=07-01',
  '起付线（个人自付） | deductible (paid by the member) | min(2000.00, 300.00 − 0.00) = '
  '30000 | settlement.outpatient.deductible.first=300.00 元/yuan '
  '[retired][level_1]; settlement.outpatient.deductible.scope=per_year',
  '已达统筹基金年度封顶线（累计统筹基金支付 610000.00） | pooled ceiling reached (cumulative pooled '
  'payment 610000.00) | - = None | settlement.inpatient.pooled_ceiling=610000.00 '
  '元/yuan [retired]; settlement.inpatient.ceiling_basis=fund_payment',
  '大额（封顶线以上） | large-amount segment (above the pooled ceiling) | 1700.00 × 80% = '
  '136000 | settlement.outpatient.large_amount.ratio=80% [retired]; '
  'settlement.outpatient.large_amount.ceiling=none',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 0.00 + 1360.00 = '
  '136000 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 2000.00 − 1360.00 = '
  '64000 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(300.00, '
  "0.00) = 0 | settlement.account_pays=deductible",
  '个人现金支付 | cash paid by the member | 640.00 − 0.00 − 0.00 = 64000 | '],
 ['上海市 310000 (shanghai) 2023-09-02 住院结算（in_service，level_3） | 上海市 310000 '
  '(shanghai) 2023-09-02 inpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 1000.00 − 0.00 − 0.00 − 0.00 = '
  '100000 | ',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=07-01',
  '起付线（个人自付） | deductible (paid by the member) | min(1000.00, 1500.00 − 0.00) = '
  '100000 | settlement.inpatient.deductible.first=1500.00 元/yuan '
  '[in_service][level_3]; settlement.inpatient.deductible.scope=per_year',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 0.00 + 0.00 = 0 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 1000.00 − 0.00 = '
  '100000 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(1000.00, '
  "0.00) = 0 | settlement.account_pays=deductible",
  '个人现金支付 | cash paid by the member | 1000.00 − 0.00 − 0.00 = 100000 | '],
 ['上海市 310000 (shanghai) 2023-09-03 住院结算（in_service，level_3） | 上海市 310000 '
  '(shanghai) 2023-09-03 inpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 2000.00 − 0.00 − 0.00 − 0.00 = '
  '200000 | ',
  '本医保年度第 2 次住院；此前已付起付线 1000.00 | inpatient claim no. 2 of the benefit year; '
  'deductible used before 1000.00 | - = None | benefit_year.start=07-01',
  '起付线（个人自付） | deductible (paid by the member) | min(2000.00, 1500.00 − 1000.00) = '
  '50000 | settlement.inpatient.deductible.first=1500.00 元/yuan '
  '[in_service][level_3]; settlement.inpatient.deductible.scope=per_year',
  '统筹基金第 1 段（累计政策范围内费用自 1500.00 起，至 ∞） | pooled fund, band 1 (cumulative in-scope '
  'cost from 1500.00 up to ∞) | 1500.00 × 85% = 127500 | '
  'settlement.inpatient.bands=[0] ≤ ∞: 85% [in_service][level_3]; '
  'settlement.inpatient.band_basis=cost',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 1275.00 + 0.00 = '
  '127500 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 2000.00 − 1275.00 = '
  '72500 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(500.00, '
  "0.00) = 0 | settlement.account_pays=deductible",
  '个人现金支付 | cash paid by the member | 725.00 − 0.00 − 0.00 = 72500 | ']]

# fund_basis fixture (hypothetical): bands and ceilings on fund payment, yuan rounding, 20% less
# for unregistered remote care, half benefits (5000 bp) in a wait; large-amount limit 20000.
FUND_BASIS: list[list[str]] = [
 ['基金口径试算地区 990003 (fund_basis) 2024-03-01 住院结算（in_service，level_3） | 基金口径试算地区 '
  '990003 (fund_basis) 2024-03-01 inpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 50000.00 − 0.00 − 0.00 − 0.00 = '
  '5000000 | ',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(50000.00, 1000.00 − 0.00) = '
  '100000 | settlement.inpatient.deductible.first=1000.00 元/yuan '
  '[in_service][level_3]; settlement.inpatient.deductible.scope=per_year',
  '统筹基金第 1 段（累计统筹基金支付自 0.00 起，至 10000.00） | pooled fund, band 1 (cumulative pooled '
  'payment from 0.00 up to 10000.00) | 33333.34 × (80% − 20% = 60%) × 50%（至本段上限）/ (to the end of the band) = 1000000 | settlement.inpatient.bands=[0] ≤ 10000.00: 80% '
  '[in_service][level_3]; settlement.inpatient.band_basis=fund_payment; '
  'remote.unregistered_ratio_reduction=20%',
  '统筹基金第 2 段（累计统筹基金支付自 10000.00 起，至 ∞） | pooled fund, band 2 (cumulative pooled '
  'payment from 10000.00 up to ∞) | 15666.66 × (66.67% − 20% = 46.67%) × 50% = '
  '365600 | settlement.inpatient.bands=[1] ≤ ∞: 66.67% [in_service][level_3]; '
  'settlement.inpatient.band_basis=fund_payment; '
  'remote.unregistered_ratio_reduction=20%',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 13656.00 + 0.00 = '
  '1365600 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 50000.00 − 13656.00 '
  '= 3634400 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(36344.00, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 36344.00 − 0.00 − 0.00 = 3634400 | '],
 ['基金口径试算地区 990003 (fund_basis) 2024-03-02 住院结算（in_service，level_3） | 基金口径试算地区 '
  '990003 (fund_basis) 2024-03-02 inpatient settlement (in_service, level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 100000.00 − 0.00 − 0.00 − 0.00 = '
  '10000000 | ',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(100000.00, 1000.00 − 0.00) = '
  '100000 | settlement.inpatient.deductible.first=1000.00 元/yuan '
  '[in_service][level_3]; settlement.inpatient.deductible.scope=per_year',
  '统筹基金第 1 段（累计统筹基金支付自 0.00 起，至 10000.00） | pooled fund, band 1 (cumulative pooled '
  'payment from 0.00 up to 10000.00) | 12500.00 × 80%（至本段上限）/ (to the end of the band) = '
  '1000000 | settlement.inpatient.bands=[0] ≤ 10000.00: 80% [in_service][level_3]; '
  'settlement.inpatient.band_basis=fund_payment',
  '统筹基金第 2 段（累计统筹基金支付自 10000.00 起，至 ∞） | pooled fund, band 2 (cumulative pooled '
  'payment from 10000.00 up to ∞) | 29998.51 × 66.67%（统筹基金封顶线所限）/ (the pooled ceiling binds) = '
  '2000000 | settlement.inpatient.bands=[1] ≤ ∞: 66.67% [in_service][level_3]; '
  'settlement.inpatient.band_basis=fund_payment',
  '已达统筹基金年度封顶线（累计统筹基金支付 30000.00） | pooled ceiling reached (cumulative pooled '
  'payment 30000.00) | - = None | settlement.inpatient.pooled_ceiling=30000.00 '
  '元/yuan [in_service]; settlement.inpatient.ceiling_basis=fund_payment',
  '大额（封顶线以上） | large-amount segment (above the pooled ceiling) | 28571.43 × '
  '70%（大额限额所限）/ (the large-amount limit binds) = 2000000 | '
  'settlement.inpatient.large_amount.ratio=70% [in_service]; '
  'settlement.inpatient.large_amount.ceiling=20000.00 元/yuan [in_service]',
  '封顶线以上个人自付 | self-pay above the ceilings | 27930.06 = 2793006 | ',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 30000.00 + 20000.00 = '
  '5000000 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 100000.00 − 50000.00 '
  '= 5000000 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(22069.94, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 50000.00 − 0.00 − 0.00 = 5000000 | ']]

# oop_cap fixture (Beijing + a hypothetical 5000 personal out-of-pocket cap, DOMAIN §4.9).
OOP_CAP: list[list[str]] = [
 ['北京（个人负担封顶试算） 990002 (oop_cap_user) 2024-03-01 住院结算（in_service，level_3） | '
  '北京（个人负担封顶试算） 990002 (oop_cap_user) 2024-03-01 inpatient settlement (in_service, '
  'level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 50000.00 − 0.00 − 0.00 − 0.00 = '
  '5000000 | ',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(50000.00, 1300.00) = 130000 | '
  'settlement.inpatient.deductible.first=1300.00 元/yuan [in_service][level_3]; '
  'settlement.inpatient.deductible.scope=per_admission',
  '统筹基金第 1 段（累计政策范围内费用自 1300.00 起，至 30000.00） | pooled fund, band 1 (cumulative '
  'in-scope cost from 1300.00 up to 30000.00) | 28700.00 × 85%（至本段上限）/ (to the end of the band) = 2439500 | settlement.inpatient.bands=[0] ≤ 30000.00: 85% '
  '[in_service][level_3]; settlement.inpatient.band_basis=cost',
  '统筹基金第 2 段（累计政策范围内费用自 30000.00 起，至 40000.00） | pooled fund, band 2 (cumulative '
  'in-scope cost from 30000.00 up to 40000.00) | 10000.00 × 90%（至本段上限）/ (to the end of the band) = 900000 | settlement.inpatient.bands=[1] ≤ 40000.00: 90% '
  '[in_service][level_3]; settlement.inpatient.band_basis=cost',
  '统筹基金第 3 段（累计政策范围内费用自 40000.00 起，至 100000.00） | pooled fund, band 3 (cumulative '
  'in-scope cost from 40000.00 up to 100000.00) | 10000.00 × 95% = 950000 | '
  'settlement.inpatient.bands=[2] ≤ 100000.00: 95% [in_service][level_3]; '
  'settlement.inpatient.band_basis=cost',
  '个人负担封顶：本年已负担 0.00 + 本次 7105.00 超过 5000.00，超出部分由统筹基金支付 '
  '| personal out-of-pocket '
  'cap: 0.00 this year + 7105.00 now exceeds 5000.00; the pooled fund pays the '
  'excess | 0.00 + 7105.00 − 5000.00 = 210500 | '
  'settlement.personal_oop_cap=5000.00 元/yuan',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 45000.00 + 0.00 = '
  '4500000 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 50000.00 − 45000.00 '
  '= 500000 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(5000.00, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 5000.00 − 0.00 − 0.00 = 500000 | ']]

# remote_user fixture: category-B first self-pay 10% (12.345 → 12.35), registered remote −5 points.
CATEGORY_B_REMOTE: list[list[str]] = [
 ['北京（用户异地参数） 990001 (remote_user) 2024-03-01 住院结算（in_service，level_3） | '
  '北京（用户异地参数） 990001 (remote_user) 2024-03-01 inpatient settlement (in_service, '
  'level_3)',
  '政策范围内费用 = 医疗费总额 − 全自费 − 超限价自付 − 先行自付 | in-scope amount = total − full self-pay '
  '− over-limit − category-B first self-pay | 5000.00 − 0.00 − 0.00 − 12.35 = '
  '498765 | settlement.category_b_first_self_pay=10%',
  '本医保年度第 1 次住院；此前已付起付线 0.00 | inpatient claim no. 1 of the benefit year; '
  'deductible used before 0.00 | - = None | benefit_year.start=01-01',
  '起付线（个人自付） | deductible (paid by the member) | min(4987.65, 1300.00) = 130000 | '
  'settlement.inpatient.deductible.first=1300.00 元/yuan [in_service][level_3]; '
  'settlement.inpatient.deductible.scope=per_admission',
  '统筹基金第 1 段（累计政策范围内费用自 1300.00 起，至 30000.00） | pooled fund, band 1 (cumulative '
  'in-scope cost from 1300.00 up to 30000.00) | 3687.65 × (85% − 5% = 80%) = '
  '295012 | settlement.inpatient.bands=[0] ≤ 30000.00: 85% [in_service][level_3]; '
  'settlement.inpatient.band_basis=cost; remote.registered_ratio_reduction=5%',
  '基金支付合计 = 统筹 + 大额 | fund payment = pooled + large-amount | 2950.12 + 0.00 = '
  '295012 | ',
  '个人负担 = 总额 − 基金支付 | personal share = total − fund payment | 5000.00 − 2950.12 = '
  '204988 | ',
  '个人账户支付 = min(账户可付部分, 余额) | account pays min(payable parts, balance) | min(2049.88, '
  "0.00) = 0 | settlement.account_pays=deductible, coinsurance, preselfpay",
  '个人现金支付 | cash paid by the member | 2049.88 − 0.00 − 0.00 = 204988 | ']]


def test_beijing_bands_ceiling_large_amount_and_both_accounts() -> None:
    """Computed by us from PD beijing: 24395 + 9000 + 57000 pooled, 42500 large-amount; 17105 personal
    = 3000 account + 2000 mutual aid + 12105 cash; the second admission is all above the ceiling."""
    assert settle("beijing", Claim(D("2024-03-01"), "inpatient", "in_service", "level_3", 15_000_000,
                                   account_balance_fen=300_000, mulaid_balance_fen=200_000),
                  Claim(D("2024-06-01"), "inpatient", "in_service", "level_3", 1_000_000)
                  ) == BEIJING_LARGE


def test_beijing_outpatient_cap_on_fund_payment_is_its_own_pool() -> None:
    """PD beijing (to 2022): 5740, then the room left 14260; ceil(14260 / 70%) = 20371.43 consumed,
    9628.57 self-pay above the ceiling (computed by us)."""
    assert settle("beijing", Claim(D("2022-03-01"), "outpatient", "in_service", "level_3", 1_000_000),
                  Claim(D("2022-05-01"), "outpatient", "in_service", "level_3", 3_000_000)
                  ) == BEIJING_OUTPATIENT_CAP


def test_shanghai_shared_ceiling_cites_the_inpatient_pool() -> None:
    """沪医保规〔2023〕6号: the outpatient claim after the ceiling is reached cites the inpatient
    pooled ceiling (shared); the per-year deductible shows 1500 − 1000 used (computed by us)."""
    assert settle("shanghai", Claim(D("2023-08-01"), "inpatient", "retired", "level_3", 80_000_000),
                  Claim(D("2023-09-01"), "outpatient", "retired", "level_1", 200_000),
                  Claim(D("2023-09-02"), "inpatient", "in_service", "level_3", 100_000, person=1),
                  Claim(D("2023-09-03"), "inpatient", "in_service", "level_3", 200_000, person=1)
                  ) == SHANGHAI_SHARED


def test_fund_basis_remote_reduction_share_and_large_amount_limit() -> None:
    """fund_basis fixture: (80% − 20%) × 50% = 30% up to 10000 of fund payment: ceil(10000 / 30%)
    = 33333.34 of cost; 15666.66 × 46.67% × 50% = 3655.81 → 3656 (yuan half up); the second
    person reaches 30000 pooled and the 20000 large-amount limit (computed by us)."""
    assert settle("fund_basis", Claim(D("2024-03-01"), "inpatient", "in_service", "level_3",
                                      5_000_000, remote="unregistered", benefit_share_bp=5000),
                  Claim(D("2024-03-02"), "inpatient", "in_service", "level_3", 10_000_000, person=1)
                  ) == FUND_BASIS


def test_out_of_pocket_cap_step() -> None:
    """oop_cap fixture: 1300 + 5805 = 7105 personal burden, 2105 above the 5000 cap paid by the
    pooled fund (computed by us from DOMAIN §4.9)."""
    assert settle("oop_cap_user", Claim(D("2024-03-01"), "inpatient", "in_service", "level_3",
                                        5_000_000)) == OOP_CAP


def test_category_b_first_self_pay_and_registered_remote_reduction() -> None:
    """remote_user fixture: 10% of 123.45 = 12.35 first self-pay (cited); 3687.65 × (85% − 5%)
    = 2950.12 (computed by us)."""
    assert settle("remote_user", Claim(D("2024-03-01"), "inpatient", "in_service", "level_3",
                                       500_000, category_b_fen=12_345, remote="registered")
                  ) == CATEGORY_B_REMOTE


def test_an_explicit_preselfpay_cites_no_category_b_share() -> None:
    """Given preselfpay_fen, the category-B share is not used, so it is not cited."""
    (r,) = settle_claims(REG.policy("remote_user"), [Claim(
        D("2024-03-01"), "inpatient", "in_service", "level_3", 500_000, preselfpay_fen=1_000,
        category_b_fen=12_345)], Accumulators.zeros(1))
    first = r.explanation.steps[0]
    assert first.params == () and first.arithmetic == "5000.00 − 0.00 − 0.00 − 10.00"


@pytest.mark.parametrize("bal", [0, 1])
def test_mutual_aid_step_only_when_it_pays(bal: int) -> None:
    (r,) = settle_claims(REG.policy("beijing"), [Claim(
        D("2024-03-01"), "inpatient", "in_service", "level_3", 500_000, mulaid_balance_fen=bal)],
        Accumulators.zeros(1))
    zh = [s.zh for s in r.explanation.steps]
    assert any(z.startswith("家庭共济账户支付") for z in zh) is bool(bal)

"""Peer 3: an idiomatic OpenFisca (openfisca-core 46) encoding of the same rules.

Built the way an OpenFisca country package would be: a ``TaxBenefitSystem`` with a person
entity, ``Variable`` classes with vectorized formulas (``min_``, ``max_``, ``where``, ``select``,
vectorial parameter lookup by ``Enum``), and a parameter tree. OpenFisca's ``float`` variables are
float32 and money is in yuan, so amounts above 2**17 = 131,072 yuan cannot hold every fen (the
float32 step there is 1/64 yuan), and rounding of products can go astray earlier; the benchmark
counts the rows that differ from yibao and reports the smallest amount that differs.

The parameter tree is filled from the same Snapshot yibao uses (:mod:`yibao.bench.rules_view`),
so all three implementations compute the same rules. One claim per person (the issue's
setting): first admission, no earlier cost in the year. The parameter values are dated at the
first of the Snapshot's month and the simulation runs for that month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from openfisca_core.entities import build_entity
from openfisca_core.model_api import MONTH, Enum, Variable, max_, min_, select
from openfisca_core.parameters import ParameterNode
from openfisca_core.simulations import SimulationBuilder
from openfisca_core.taxbenefitsystems import TaxBenefitSystem

from yibao.bench.data import Claims, Wages
from yibao.bench.rules_view import BENCH_CLASSES, BENCH_LEVELS, EMPLOYER_COMPONENTS, BenchRules
from yibao.money import Rounding

__all__ = ["CONTRIBUTION_OUTPUTS", "SETTLEMENT_OUTPUTS", "OpenFiscaPeer", "to_fen"]

F32 = npt.NDArray[np.float32]
I64 = npt.NDArray[np.int64]

Person = build_entity("person", "persons", "参保人 / insured person", is_person=True)


class BenefitClass(Enum):  # type: ignore[misc]  # openfisca is untyped
    in_service = "在职 / in service"
    retired = "退休 / retired"


class HospitalLevel(Enum):  # type: ignore[misc]
    level_1 = "一级 / level 1"
    level_2 = "二级 / level 2"
    level_3 = "三级 / level 3"


_CLASS_MEMBERS: tuple[Any, ...] = tuple(BenefitClass.__members__.values())
_LEVEL_MEMBERS: tuple[Any, ...] = tuple(HospitalLevel.__members__.values())
assert tuple(m.name for m in _CLASS_MEMBERS) == BENCH_CLASSES
assert tuple(m.name for m in _LEVEL_MEMBERS) == BENCH_LEVELS


def _round(x: Any, rounding: Any) -> Any:
    """Round yuan amounts to the policy's unit: ``units`` per yuan (1, 10, 100), mode 0/1/2."""
    units = np.float32(rounding.units_per_yuan)
    scaled = x * units
    mode = int(rounding.mode)  # a scalar parameter: choose the operation once, not per row
    if mode == 0:
        return np.floor(scaled + 0.5) / units
    return (np.ceil(scaled) if mode == 1 else np.floor(scaled)) / units


def _var(label: str, **attrs: Any) -> type[Variable]:
    base: dict[str, Any] = {"value_type": float, "entity": Person, "definition_period": MONTH,
                            "label": label}
    base.update(attrs)
    return type(label.split(" ")[0], (Variable,), base)


# -- contribution (DOMAIN.md §2.1–§2.2) ---------------------------------------------------------
def _base(person: Any, period: Any, parameters: Any) -> Any:
    p = parameters(period).contribution
    wage = person("declared_wage", period)
    return min_(max_(_round(wage, p.base_rounding), p.base_floor), p.base_cap)


def _employer(component: str) -> Any:
    def formula(person: Any, period: Any, parameters: Any) -> Any:
        p = parameters(period).contribution
        return _round(person("contribution_base", period) * p.employer_rate[component], p.amount_rounding)
    return formula


def _individual(person: Any, period: Any, parameters: Any) -> Any:
    p = parameters(period).contribution
    return _round(person("contribution_base", period) * p.individual_rate, p.amount_rounding)


def _premium(person: Any, period: Any, parameters: Any) -> Any:
    return person.empty_array() + parameters(period).contribution.individual_fixed_premium


# -- inpatient settlement, one admission per person (DOMAIN.md §4.1–§4.4) -----------------------
def _inscp(person: Any, period: Any, parameters: Any) -> Any:
    return (person("medfee_sumamt", period) - person("fulamt_ownpay_amt", period)
            - person("overlmt_selfpay_amt", period) - person("preselfpay_amt", period))


def _by_class(cls: Any, node: Any) -> Any:
    """A by-class parameter as a column: ``select`` over the classes (scalars stay float32)."""
    return select([cls == m for m in _CLASS_MEMBERS],
                  [np.float32(node[m.name]) for m in _CLASS_MEMBERS], np.float32(0))


def _by_class_level(cls: Any, lv: Any, node: Any) -> Any:
    """A class × level table as a column, by ``select`` over every (class, level) pair."""
    pairs = [(c, v) for c in _CLASS_MEMBERS for v in _LEVEL_MEMBERS]
    conds = [(cls == c) & (lv == v) for c, v in pairs]
    values = [np.float32(node[c.name][v.name]) for c, v in pairs]
    return select(conds, values, np.float32(0))


def _deductible(person: Any, period: Any, parameters: Any) -> Any:
    p = parameters(period).inpatient
    cls = person("benefit_class", period)
    lv = person("hosp_lv", period)
    return min_(person("inscp_scp_amt", period), _by_class_level(cls, lv, p.deductible.first))


def _pooled(person: Any, period: Any, parameters: Any) -> Any:
    p = parameters(period).inpatient
    cls = person("benefit_class", period)
    lv = person("hosp_lv", period)
    inscp = person("inscp_scp_amt", period)
    ded = person("act_pay_dedc", period)
    ceiling = _by_class(cls, p.pooled_ceiling)
    pay = person.empty_array()
    lo = np.float32(0)
    for k in range(int(p.band_count)):
        band = p.bands[f"band_{k}"]
        upto = np.float32(band.upto)
        chunk = max_(min_(inscp, min_(upto, ceiling)) - max_(ded, lo), 0)
        pay = pay + _round(chunk * _by_class_level(cls, lv, band.ratio), p.rounding)
        lo = upto
    return pay


def _large(person: Any, period: Any, parameters: Any) -> Any:
    p = parameters(period).inpatient
    cls = person("benefit_class", period)
    inscp = person("inscp_scp_amt", period)
    above = max_(inscp - max_(person("act_pay_dedc", period), _by_class(cls, p.pooled_ceiling)), 0)
    limit = _by_class(cls, p.large_amount.limit)
    return _round(min_(above, limit) * _by_class(cls, p.large_amount.ratio), p.rounding)


def _psn_part(person: Any, period: Any, parameters: Any) -> Any:
    return person("medfee_sumamt", period) - person("hifp_pay", period) - person("hifob_pay", period)


_VARIABLES: list[type[Variable]] = [
    _var("declared_wage 申报工资（元/月）"),
    _var("contribution_base 缴费基数", formula=_base),
    *[_var(f"employer_{c} 单位缴费（{c}）", formula=_employer(c)) for c in EMPLOYER_COMPONENTS],
    _var("individual_contribution 个人缴费", formula=_individual),
    _var("individual_fixed_premium 个人大额定额", formula=_premium),
    _var("medfee_sumamt 医疗费总额"),
    _var("fulamt_ownpay_amt 全自费金额"),
    _var("overlmt_selfpay_amt 超限价自费"),
    _var("preselfpay_amt 先行自付"),
    _var("benefit_class 待遇类别", value_type=Enum, possible_values=BenefitClass,
         default_value=BenefitClass.in_service),
    _var("hosp_lv 医院等级", value_type=Enum, possible_values=HospitalLevel,
         default_value=HospitalLevel.level_3),
    _var("inscp_scp_amt 政策范围内费用", formula=_inscp),
    _var("act_pay_dedc 起付线", formula=_deductible),
    _var("hifp_pay 统筹基金支付", formula=_pooled),
    _var("hifob_pay 大额支付", formula=_large),
    _var("psn_part_amt 个人负担", formula=_psn_part),
]

CONTRIBUTION_OUTPUTS: tuple[str, ...] = ("contribution_base", *[f"employer_{c}" for c in EMPLOYER_COMPONENTS],
                                         "individual_contribution", "individual_fixed_premium")
SETTLEMENT_OUTPUTS: tuple[str, ...] = ("act_pay_dedc", "hifp_pay", "hifob_pay", "psn_part_amt")


def _yuan(fen: int) -> float:
    return fen / 100


def _rate(bp: int) -> float:
    return bp / 10_000


def _rounding(r: Rounding) -> dict[str, Any]:
    unit, mode = r.code
    return {"units_per_yuan": 100 // unit, "mode": mode}


def _parameters(rules: BenchRules, date: dt.date) -> dict[str, Any]:
    """The parameter tree, each leaf dated at the first of ``date``'s month (the simulation's instant)."""
    day = date.replace(day=1).isoformat()

    def leaf(v: float | int) -> dict[str, Any]:
        return {"values": {day: v}}

    def tree(v: Any) -> Any:
        return {k: tree(x) for k, x in v.items()} if isinstance(v, dict) else leaf(v)

    c, ip = rules.contribution, rules.inpatient

    def by_class(values: tuple[int, ...], conv: Any) -> dict[str, Any]:
        return {cls: conv(values[i]) for i, cls in enumerate(BENCH_CLASSES)}

    def by_class_level(table: Any, conv: Any) -> dict[str, Any]:
        return {cls: {lv: conv(table[i][j]) for j, lv in enumerate(BENCH_LEVELS)}
                for i, cls in enumerate(BENCH_CLASSES)}

    out: dict[str, Any] = tree({
        "contribution": {
            "base_floor": _yuan(c.base_floor_fen), "base_cap": _yuan(c.base_cap_fen),
            "base_rounding": _rounding(c.base_rounding), "amount_rounding": _rounding(c.amount_rounding),
            "employer_rate": {k: _rate(v) for k, v in c.employer_rates_bp.items()},
            "individual_rate": _rate(c.individual_rate_bp),
            "individual_fixed_premium": _yuan(c.individual_fixed_premium_fen),
        },
        "inpatient": {
            "deductible": {"first": by_class_level(ip.deductible_fen, lambda t: _yuan(t[0]))},
            "band_count": len(ip.band_upto_fen),
            "bands": {f"band_{k}": {"upto": _yuan(u),
                                    "ratio": by_class_level(ip.band_ratio_bp, lambda t, k=k: _rate(t[k]))}
                      for k, u in enumerate(ip.band_upto_fen)},
            "pooled_ceiling": by_class(ip.pooled_ceiling_fen, _yuan),
            "large_amount": {"ratio": by_class(ip.large_ratio_bp, _rate),
                             "limit": by_class(ip.large_limit_fen, _yuan)},
            "rounding": _rounding(ip.rounding),
        },
    })
    return out


def to_fen(yuan: F32) -> I64:
    """OpenFisca's float32 yuan → int64 fen, to the nearest fen (for comparison with yibao)."""
    return np.rint(yuan.astype(np.float64) * 100).astype(np.int64)


@dataclass
class OpenFiscaPeer:
    """A TaxBenefitSystem for one date's rules; ``contributions``/``settle`` run a simulation."""

    rules: BenchRules
    date: dt.date

    def __post_init__(self) -> None:
        self.system = TaxBenefitSystem([Person])
        self.system.add_variables(*_VARIABLES)
        self.system.parameters = ParameterNode("", data=_parameters(self.rules, self.date))
        self.period = f"{self.date.year}-{self.date.month:02d}"  # a monthly period, as contributions are

    def _simulation(self, inputs: dict[str, Any], rows: int) -> Any:
        sim = SimulationBuilder().build_default_simulation(self.system, rows)
        for name, values in inputs.items():
            sim.set_input(name, self.period, values)
        return sim

    def contributions(self, wages: Wages) -> dict[str, F32]:
        sim = self._simulation({"declared_wage": (wages.wage_fen / 100).astype(np.float32)}, wages.rows)
        return {v: sim.calculate(v, self.period) for v in CONTRIBUTION_OUTPUTS}

    def settle(self, claims: Claims) -> dict[str, F32]:
        """Settle one admission per person (the first of the year)."""
        inputs = {
            "medfee_sumamt": claims.medfee_fen, "fulamt_ownpay_amt": claims.fulamt_ownpay_fen,
            "overlmt_selfpay_amt": claims.overlmt_selfpay_fen, "preselfpay_amt": claims.preselfpay_fen,
        }
        data: dict[str, Any] = {k: (v / 100).astype(np.float32) for k, v in inputs.items()}
        data["benefit_class"] = claims.benefit_class.astype(np.int16)
        data["hosp_lv"] = claims.level.astype(np.int16)
        sim = self._simulation(data, claims.rows)
        return {v: sim.calculate(v, self.period) for v in SETTLEMENT_OUTPUTS}

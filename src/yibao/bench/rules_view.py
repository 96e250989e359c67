"""The slice of a region's rules the benchmark peers implement, read from a policy Snapshot.

The per-row loop and the OpenFisca encoding must compute exactly what yibao computes, so they
take every number from the same :class:`~yibao.policy.resolve.Snapshot` yibao uses; nothing
here is a literal. The slice is what both peers can express (DOMAIN.md §2.1–§2.2, §4.1–§4.4):

- contribution of in-service unit employees: base = declared wage clamped to
  [``contribution.base_floor``, ``contribution.base_cap``] and rounded by
  ``contribution.base_rounding``; employer amounts per component (basic, maternity,
  large-amount, local supplement) and the individual amount, each rounded by
  ``contribution.amount_rounding``; the fixed monthly premium ``individual_fixed_premium``;
- inpatient settlement: deductible per admission (``deductible.first/second/third_plus``) or per
  year, bands measured on cumulative in-scope cost, the pooled ceiling and the large-amount
  segment, both measured on cost (Beijing's shape, 京医保发〔2019〕14号).

Classes are the two the peers model (``in_service``, ``retired``); levels ``level_1..level_3``.
"""

from __future__ import annotations

from dataclasses import dataclass

from yibao.errors import InputError
from yibao.money import Rounding
from yibao.policy.resolve import Snapshot
from yibao.policy.values import Band
from yibao.rules.contribution import ContributionParams

__all__ = [
    "BENCH_CLASSES",
    "BENCH_LEVELS",
    "EMPLOYER_COMPONENTS",
    "BenchRules",
    "ContributionRules",
    "InpatientRules",
    "bench_rules",
]

BENCH_CLASSES: tuple[str, ...] = ("in_service", "retired")
BENCH_LEVELS: tuple[str, ...] = ("level_1", "level_2", "level_3")


@dataclass(frozen=True)
class ContributionRules:
    """Contribution parameters of one date, in fen and basis points."""

    base_floor_fen: int
    base_cap_fen: int
    base_rounding: Rounding
    amount_rounding: Rounding
    employer_rates_bp: dict[str, int]  # component -> rate
    individual_rate_bp: int
    individual_fixed_premium_fen: int


@dataclass(frozen=True)
class InpatientRules:
    """Inpatient settlement parameters of one date; tables indexed [class][level]."""

    per_admission: bool
    deductible_fen: tuple[tuple[tuple[int, int, int], ...], ...]  # [class][level][nth: 1st, 2nd, 3rd+]
    band_upto_fen: tuple[int, ...]  # last band may be open: encoded as the pooled ceiling
    band_ratio_bp: tuple[tuple[tuple[int, ...], ...], ...]  # [class][level][band]
    pooled_ceiling_fen: tuple[int, ...]  # [class]; where the pooled segment ends on the cost measure
    large_ratio_bp: tuple[int, ...]  # [class]
    large_limit_fen: tuple[int, ...]  # [class]; segment length on cost above the pooled ceiling
    rounding: Rounding


@dataclass(frozen=True)
class BenchRules:
    contribution: ContributionRules
    inpatient: InpatientRules


EMPLOYER_COMPONENTS: tuple[str, ...] = ("basic", "maternity", "large_amount", "local_supplement")


def _contribution(s: Snapshot) -> ContributionRules:
    # the base limits as yibao resolves them: given, or derived from the average wage (60%/300%)
    limits = ContributionParams.from_snapshot(s).limits
    return ContributionRules(
        base_floor_fen=limits["floor"].fen,
        base_cap_fen=limits["cap"].fen,
        base_rounding=s.get("contribution.base_rounding"),
        amount_rounding=s.get("contribution.amount_rounding"),
        employer_rates_bp={c: int(s.get(f"contribution.employer_rate.{c}")) for c in EMPLOYER_COMPONENTS},
        individual_rate_bp=int(s.get("contribution.individual_rate.basic")),
        individual_fixed_premium_fen=int(s.get("contribution.individual_fixed_premium")),
    )


def _unsupported(key: str, value: object, accepted: str) -> InputError:
    return InputError(key, value, f"基准测试的对照实现只支持 {accepted}",
                      f"the benchmark peers support only {accepted}")


def _inpatient(s: Snapshot) -> InpatientRules:
    k = "settlement.inpatient"
    for basis_key in (f"{k}.band_basis", f"{k}.ceiling_basis", f"{k}.large_amount.ceiling_basis"):
        if s.get(basis_key) != "cost":
            raise _unsupported(basis_key, s.get(basis_key), "cost")
    bands: tuple[Band, ...] = s.get(f"{k}.bands")
    ceilings = tuple(s.cell(f"{k}.pooled_ceiling", c) for c in BENCH_CLASSES)
    if any(c is None for c in ceilings):
        raise _unsupported(f"{k}.pooled_ceiling", None, "a finite pooled ceiling")
    large = tuple(s.cell(f"{k}.large_amount.ceiling", c) for c in BENCH_CLASSES)
    if any(c is None for c in large):
        raise _unsupported(f"{k}.large_amount.ceiling", None, "a finite large-amount limit")
    top = max(int(c) for c in ceilings)
    upto = tuple(top if b.upto_fen is None else b.upto_fen for b in bands)
    return InpatientRules(
        per_admission=s.get(f"{k}.deductible.scope") == "per_admission",
        deductible_fen=tuple(tuple(_nths(s, k, c, lv) for lv in BENCH_LEVELS) for c in BENCH_CLASSES),
        band_upto_fen=upto,
        band_ratio_bp=tuple(
            tuple(tuple(_band_cell(b, c, lv) for b in bands) for lv in BENCH_LEVELS) for c in BENCH_CLASSES),
        # The pooled segment ends at the ceiling or past the last closed band, whichever is first.
        pooled_ceiling_fen=tuple(min(int(c), upto[-1]) for c in ceilings),
        large_ratio_bp=tuple(int(s.cell(f"{k}.large_amount.ratio", c)) for c in BENCH_CLASSES),
        large_limit_fen=tuple(int(c) for c in large),
        rounding=s.get("settlement.rounding"),
    )


def _nths(s: Snapshot, k: str, cls: str, level: str) -> tuple[int, int, int]:
    first, second, third = (int(s.cell(f"{k}.deductible.{n}", cls, level))
                            for n in ("first", "second", "third_plus"))
    return first, second, third


def _band_cell(band: Band, cls: str, level: str) -> int:
    v = band.ratio[cls][level]
    if not isinstance(v, int):
        raise _unsupported("settlement.inpatient.bands", v, "known band ratios")
    return v


def bench_rules(snapshot: Snapshot) -> BenchRules:
    """Read the benchmark's rule slice from ``snapshot`` (UnknownParameterError if a value is unknown)."""
    return BenchRules(_contribution(snapshot), _inpatient(snapshot))

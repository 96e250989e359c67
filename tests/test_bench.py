"""`yibao bench`: the benchmark runs, its peers compute the same rules, float32 loss is found.

No timing assertions: speed figures live in docs/performance.md. These tests check that the
benchmark keeps working and that its three implementations agree where they should.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yibao.bench.data import Claims, make_claims, make_wages
from yibao.bench.loop import loop_contributions, loop_settle
from yibao.bench.openfisca_peer import OpenFiscaPeer, to_fen
from yibao.bench.rules_view import BenchRules, bench_rules
from yibao.bench.runner import float32_finding
from yibao.bench.yibao_side import YibaoContribution, YibaoSettlement, prepare_claims
from yibao.policy.registry import Registry
from yibao.policy.resolve import Snapshot

DATE = dt.date(2024, 3, 1)
IN_SERVICE, RETIRED = 0, 1
LEVEL_3 = 2


@pytest.fixture(scope="module")
def snap() -> Snapshot:
    return Registry().policy("beijing").at(DATE)


@pytest.fixture(scope="module")
def rules(snap: Snapshot) -> BenchRules:
    return bench_rules(snap)


def _yibao(snap: Snapshot, claims: Claims) -> dict[str, np.ndarray]:
    ys = YibaoSettlement(snap)
    res, _ = ys.settle(prepare_claims(claims, ys.year), int(claims.person[-1]) + 1)
    return {"act_pay_dedc": res.act_pay_dedc, "hifp_pay": res.hifp_pay, "hifob_pay": res.hifob_pay,
            "psn_part_amt": claims.medfee_fen - res.hifp_pay - res.hifob_pay}


def _claims(medfee_fen: list[int] | np.ndarray, cls: int = IN_SERVICE, level: int = LEVEL_3) -> Claims:
    """One claim per person, no self-pay parts: in-scope = medfee."""
    med = np.asarray(medfee_fen, dtype=np.int64)
    n = med.shape[0]
    zero = np.zeros(n, dtype=np.int64)
    return Claims(np.arange(n, dtype=np.int64), zero, med, zero, zero, zero,
                  np.full(n, cls, dtype=np.int8), np.full(n, level, dtype=np.int8), 0)


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from yibao.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=300, check=False)


def test_bench_quick_prints_all_three_implementations() -> None:
    """`yibao bench --quick` prints yibao, the per-row loop and OpenFisca for every suite."""
    proc = _run_cli("bench", "--quick")
    assert proc.returncode == 0, proc.stderr
    for name in ("yibao", "per-row loop", "OpenFisca (float32)", "settle_1pp", "contribution",
                 "float32:"):
        assert name in proc.stdout


def test_bench_quick_json_loop_agrees_with_yibao_exactly() -> None:
    """Both are integer fen: zero mismatches on every row checked, in every suite."""
    proc = _run_cli("bench", "--quick", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    impls = {(r["suite"], r["implementation"].split(" ")[0]) for r in report["rows"]}
    assert {("settle_1pp", "yibao"), ("settle_1pp", "per-row"), ("settle_1pp", "OpenFisca"),
            ("contribution", "OpenFisca"), ("settle", "per-row")} <= impls
    loops = [r for r in report["rows"] if r["implementation"].startswith("per-row")]
    assert len(loops) == 3 and all(r["mismatches"] == 0 and r["rows"] > 0 for r in loops)
    ours = [r for r in report["rows"] if r["implementation"] == "yibao"]
    assert len(ours) == 3 and all(r["mismatches"] == 0 for r in ours)  # conservation / routing
    assert report["config"]["seed"] == 20240301
    assert report["targets"] == []  # --quick checks no thresholds


def test_bench_rules_bad_rows_is_bilingual_error_exit_2() -> None:
    proc = _run_cli("bench", "rules", "--rows", "lots")
    assert proc.returncode == 2
    assert "--rows" in proc.stderr and "expected a positive whole number" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_beijing_50000_in_service_level_3_all_three_agree(snap: Snapshot, rules: BenchRules) -> None:
    """Computed by us from the Beijing bands (PD beijing, http://banzhengshi.com/shebao/695593.html):
    first admission, in-scope 50000 at a level-3 hospital: deductible 1300; (30000 − 1300) × 85%
    + 10000 × 90% + 10000 × 95% = 24395 + 9000 + 9500 = 42895 yuan from the pooled fund."""
    claims = _claims([5_000_000])
    ours = _yibao(snap, claims)
    loop = loop_settle(claims, rules.inpatient)
    of = OpenFiscaPeer(rules, DATE).settle(claims)
    assert int(ours["act_pay_dedc"][0]) == int(loop.deductible_fen[0]) == 130_000
    assert int(ours["hifp_pay"][0]) == int(loop.hifp_pay_fen[0]) == 4_289_500
    assert int(to_fen(of["hifp_pay"])[0]) == 4_289_500


def test_openfisca_agrees_with_yibao_on_small_whole_yuan_amounts(snap: Snapshot, rules: BenchRules) -> None:
    """Whole-yuan claims up to 9,900 yuan of in-service members (whole-percent ratios, so no
    payment needs rounding): the idiomatic OpenFisca encoding and yibao agree to the fen
    (computed by us from the Beijing rules, PD beijing). Retirees' 95.5%/96.1% ratios create
    half-fen ties that float32 resolves either way; the benchmark counts those rows."""
    med = np.arange(1, 9_900, 3, dtype=np.int64) * 100
    for cls in (IN_SERVICE,):
        for level in range(3):
            claims = _claims(med, cls, level)
            of = {k: to_fen(v) for k, v in OpenFiscaPeer(rules, DATE).settle(claims).items()}
            f = float32_finding("small", med, _yibao(snap, claims), of)
            assert f.rows_differ == 0, (cls, level, f)


def test_float32_loss_is_detected_above_131072_yuan(snap: Snapshot, rules: BenchRules) -> None:
    """200,000.01 yuan cannot be held by float32 (its step there is 1/64 yuan): the personal
    share differs from yibao's exact fen, and the finding names the amount."""
    claims = _claims([20_000_001, 1_000_000])
    of = {k: to_fen(v) for k, v in OpenFiscaPeer(rules, DATE).settle(claims).items()}
    f = float32_finding("large", claims.medfee_fen, _yibao(snap, claims), of)
    assert f.rows_differ == 1
    assert f.smallest_amount_differ_fen == 20_000_001
    assert f.rows_differ_at_or_below_limit == 0
    assert f.by_column["psn_part_amt"] == 1


def test_contribution_peers_match_yibao(snap: Snapshot, rules: BenchRules) -> None:
    """Contribution: clamp to 6326–33891 (京人社发〔2023〕8号), 8% + 0.8% + 1% employer, 2% + 3 yuan
    individual (PD beijing): loop and OpenFisca equal yibao on every row."""
    wages = make_wages(5_000, seed=7)
    yc = YibaoContribution(snap)
    cc = yc.assess(wages, yc.person_types(wages))
    lc = loop_contributions(wages, rules.contribution)
    of = OpenFiscaPeer(rules, DATE).contributions(wages)
    assert np.array_equal(cc.base_fen, lc.base_fen)
    assert np.array_equal(cc.base_fen, to_fen(of["contribution_base"]))
    assert int(cc.base_fen.min()) == 632_600 and int(cc.base_fen.max()) == 3_389_100
    for c in ("basic", "maternity", "large_amount", "local_supplement"):
        assert np.array_equal(getattr(cc, f"employer_{c}_fen"), lc.employer_fen[c])
        assert np.array_equal(getattr(cc, f"employer_{c}_fen"), to_fen(of[f"employer_{c}"]))
    assert np.array_equal(cc.individual_basic_fen, lc.individual_fen)
    assert np.array_equal(cc.fixed_premium_fen, lc.fixed_premium_fen)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), rows=st.integers(1, 400))
def test_loop_equals_yibao_on_any_seeded_claim_sequence(snap: Snapshot, rules: BenchRules,
                                                        seed: int, rows: int) -> None:
    """Several claims per person in service order, amounts up to 3,000,000 yuan: the per-row loop
    and yibao's kernel agree to the fen (same rules, both exact integer arithmetic)."""
    claims = make_claims(rows, seed)
    ours = _yibao(snap, claims)
    loop = loop_settle(claims, rules.inpatient)
    assert np.array_equal(ours["act_pay_dedc"], loop.deductible_fen)
    assert np.array_equal(ours["hifp_pay"], loop.hifp_pay_fen)
    assert np.array_equal(ours["hifob_pay"], loop.hifob_pay_fen)


def test_synthetic_data_is_reproducible_from_its_seed() -> None:
    a, b = make_claims(1_000, 42), make_claims(1_000, 42)
    assert np.array_equal(a.medfee_fen, b.medfee_fen) and np.array_equal(a.person, b.person)
    assert not np.array_equal(a.medfee_fen, make_claims(1_000, 43).medfee_fen)
    big = make_claims(200_000, 1)
    assert (big.medfee_fen > 13_107_200).any()  # some claims above 131,072 yuan
    assert (np.diff(big.person) >= 0).all() and (np.bincount(big.person) > 1).any()

"""`yibao policy` through the command line: what a user sees, in Chinese first, and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from yibao.cli.policy import app
from yibao.policy.catalog import CATALOGUE

FIX = Path(__file__).parent / "fixtures" / "policy"
runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    res = runner.invoke(app, list(args), env={"COLUMNS": "600"})  # wide: no wrapped cells
    return res.exit_code, res.output


def test_regions_lists_all_with_completeness_on_a_date() -> None:
    code, out = run("regions", "--date", "2023-06-01")
    assert code == 0
    for name in ("420100", "wuhan", "武汉市", "Wuhan", "530100", "昆明市"):
        assert name in out
    assert "缴费 / contribution" in out and "居民医保 / resident" in out
    assert f"/{len([k for k in CATALOGUE if k.startswith('resident.')])}" in out


def test_regions_without_date_asks_for_one_instead_of_assuming_today() -> None:
    code, out = run("regions", "--lang", "en")
    assert code == 0 and "add --date" in out and "contribution" not in out


def test_show_prints_values_sources_and_unknowns() -> None:
    """Wuhan retiree credit 83 yuan/month (武汉 实施细则, from 2023-02-01)."""
    code, out = run("show", "wuhan", "--date", "2023-06-01")
    assert code == 0
    assert "83 元" in out and "武汉市职工基本医疗保险门诊共济保障实施细则" in out
    assert "未知，需来源 / unknown, source needed" in out
    code, out = run("show", "420100", "--date", "2023-06-01", "--lang", "en")
    assert "83 yuan" in out and "未知" not in out.split("—", 1)[1].replace("武汉市", "")


def test_show_json_carries_fen_bp_provenance_and_unknown() -> None:
    code, out = run("show", "武汉", "--date", "2023-06-01", "--json")
    assert code == 0
    doc = json.loads(out)
    rows = {r["key"]: r for r in doc["parameters"]}
    assert doc["region"]["code"] == "420100" and len(rows) == len(CATALOGUE)
    credit = rows["account.retiree.fixed_tiers"]
    assert credit["value"] == [{"age_from": 0, "value": 8300}] and credit["from"] == "2023-02-01"
    assert credit["defined_in"] == "wuhan" and credit["confidence"] == "medium"
    assert rows["contribution.individual_rate.basic"]["value"] == 200
    assert rows["contribution.individual_rate.basic"]["defined_in_kind"] == "national"
    assert rows["contribution.base_cap"]["value"] == "unknown"
    assert rows["account.credit_rounding"]["derived"] is True


def test_show_with_user_file_and_reform_changes_the_answer() -> None:
    code, out = run("show", "kunming", "--date", "2025-06-01", "--json",
                    "--policy-file", str(FIX / "user_kunming.yaml"), "--reform", "personal_oop_cap")
    assert code == 0
    rows = {r["key"]: r for r in json.loads(out)["parameters"]}
    assert rows["contribution.employer_rate.basic"]["value"] == 800
    assert rows["settlement.personal_oop_cap"]["value"] == 2_000_000
    assert rows["settlement.personal_oop_cap"]["defined_in_kind"] == "reform"
    assert rows["settlement.personal_oop_cap"]["status"] == "proposal"


def test_diff_shows_the_seed_000_differences() -> None:
    """Pooled ceilings: Yinchuan 50000 (PD yinchuan 2023) vs Hefei 300000 (PD hefei 2023)."""
    code, out = run("diff", "yinchuan", "hefei", "--date", "2023-06-01", "--lang", "en")
    assert code == 0
    assert "settlement.inpatient.pooled_ceiling" in out
    assert "50,000 yuan" in out and "300,000 yuan" in out
    assert "settlement.inpatient.bands" not in out  # only with --all
    code, out = run("diff", "yinchuan", "hefei", "--date", "2023-06-01", "--all", "--lang", "en")
    assert "settlement.inpatient.bands" in out


def test_a_level_without_a_source_is_named_not_hidden() -> None:
    """Guangzhou's inpatient deductible by level (low-confidence reprint, from 2023-04-01): levels
    1-3 are sourced, the pharmacy level is not; the cell names it with "?" instead of an ellipsis."""
    code, out = run("diff", "beijing", "guangzhou", "--date", "2024-03-01")
    assert code == 0
    assert "一级 250 元, 二级 500 元, 三级 1,000 元, 药店 ?" in out
    code, out = run("diff", "beijing", "guangzhou", "--date", "2024-03-01", "--lang", "en")
    assert "L1 250 yuan, L2 500 yuan, L3 1,000 yuan, pharmacy ?" in out


def test_diff_of_a_region_with_itself_is_empty() -> None:
    code, out = run("diff", "wuhan", "420100", "--date", "2024-01-01", "--all", "--lang", "en")
    assert code == 0 and f"0 differing of {len(CATALOGUE)}" in out


def test_history_lists_each_period_with_effective_dates() -> None:
    """PD lanzhou: 40000 until 2013-12-31, 60000 from 2014-01-01."""
    code, out = run("history", "lanzhou", "settlement.inpatient.pooled_ceiling", "--lang", "en")
    assert code == 0
    assert "2013-09-12" in out and "2013-12-31" in out and "40,000 yuan" in out
    assert "2014-01-01" in out and "60,000 yuan" in out


def test_history_of_a_mistyped_key_suggests_the_right_one() -> None:
    code, out = run("history", "wuhan", "account.regim")
    assert code == 2 and "did you mean account.regime" in out and "是否想写 account.regime" in out


def test_catalogue_lists_every_key() -> None:
    code, out = run("catalogue", "--lang", "en")
    assert code == 0
    assert all(k in out for k in CATALOGUE)


def test_unknown_region_exits_2_with_a_bilingual_message() -> None:
    code, out = run("show", "atlantis", "--date", "2023-01-01")
    assert code == 2
    assert "不是已知统筹地区" in out and "not a known pooling region" in out
    assert "Traceback" not in out


def test_bad_date_and_bad_lang_exit_2() -> None:
    assert run("show", "wuhan", "--date", "2023-02-30")[0] == 2
    code, out = run("regions", "--lang", "fr")
    assert code == 2 and "expected zh or en" in out


def test_the_installed_entry_point_exits_2_on_a_bad_file() -> None:
    """Through `yibao` main(), as a user runs it."""
    cmd = [sys.executable, "-c", "from yibao.cli import main; main()", "policy", "check",
           str(FIX / "overlap.yaml")]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 2
    assert "overlap.yaml:" in res.stderr and "Traceback" not in res.stderr
    ok = subprocess.run([*cmd[:-1], str(FIX / "good_region.yaml")], capture_output=True, text=True,
                        check=False)
    assert ok.returncode == 0

"""`yibao calc contribution|account|eligibility|retirement|transfer` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def yibao(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    p = subprocess.run([sys.executable, "-c", "from yibao.cli import main; main()", "calc", *args],
                       input=stdin, capture_output=True, text=True, timeout=120)
    return p.returncode, p.stdout, p.stderr


def test_json_list_prints_yuan_strings_for_beijing_flexible_520_80() -> None:
    """京人社保发〔2022〕30号: 520.80 a month for a flexible worker from 2022-07."""
    code, out, _ = yibao("contribution", "-r", "beijing", "-d", "2022-07-01", "--json", "-",
                         stdin='[{"person_type": "flexible"}, {"wage": 3000}]')
    assert code == 0
    data = json.loads(out)
    assert data[0]["total"] == "520.80" and data[1]["base"] == "5869.00"
    assert data[0]["explanation"][0]["params"][0]["key"] == "contribution.average_wage_monthly"


def test_human_output_has_table_and_explanation_in_english() -> None:
    code, out, _ = yibao("contribution", "-r", "110000", "-d", "2023-07-01", "--wage", "12000",
                         "--lang", "en")
    assert code == 0 and "1419.00" in out and "京人社发〔2023〕8号" in out and "base" in out


def test_human_table_names_each_amount_in_the_chosen_language() -> None:
    """Beijing 2023-07, wage 12000: the large-amount fund gets 1% of the base (120) plus the 3-yuan
    fixed premium (京人社发〔2023〕8号); the row is named, not just coded."""
    p = subprocess.run([sys.executable, "-c", "from yibao.cli import main; main()", "calc",
                        "contribution", "-r", "beijing", "-d", "2023-07-01", "--wage", "12000"],
                       capture_output=True, text=True, timeout=120,
                       env={**os.environ, "COLUMNS": "200"})  # wide: one line per row
    row = next(line for line in p.stdout.splitlines() if "to_large_amount_fund" in line)
    assert "划入大额医疗费用补助基金" in row and "123.00" in row
    code, out, _ = yibao("account", "-r", "beijing", "-d", "2024-03-01", "--age", "50", "--wage",
                         "12000", "--lang", "en")
    assert code == 0 and "credited to the account this month" in out


@pytest.mark.parametrize(("args", "needle"), [
    (("contribution", "-r", "beijing", "-d", "2023-07-01", "--wage", "-5"), "wage"),
    (("contribution", "-r", "beijing", "-d", "2023-07-01", "--wage", "abc"), "wage"),
    (("contribution", "-r", "beijing", "-d", "2023-07-01", "--person-type", "student"), "person_type"),
    (("contribution", "-r", "beijing", "-d", "1990-07-01"), "1998-01-01"),
    (("contribution", "-r", "beijing", "-d", "2023-07-01", "--person-type", "new_form"),
     "contribution.new_form.base_share"),
    (("transfer", "-r", "beijing", "-d", "2024-01-01", "--transferred-months", "12"),
     "transfer.years_conversion_ratio"),
])
def test_bad_input_is_bilingual_exit_2_without_traceback(args: tuple[str, ...], needle: str) -> None:
    code, _out, err = yibao(*args)
    assert code == 2 and "Traceback" not in err and needle in err
    assert "错误" in err and "error" in err


def test_account_eligibility_and_retirement_commands_answer_in_json() -> None:
    """Wuhan 66 (PD wuhan); 3-month gap back-paid (2021 transfer rules); Changsha 30 years (PD)."""
    _, out, _ = yibao("account", "-r", "wuhan", "-d", "2023-03-01", "--json", "-",
                      stdin='{"person_type": "retiree", "age": 66, "was_flexible": true}')
    assert json.loads(out)["credit"] == "66.00"
    _, out, _ = yibao("eligibility", "-r", "national", "-d", "2022-06-01", "--json", "-",
                      stdin='{"service_month": "2022-04", "cover_start": "2022-06", "gap_months": 2,'
                            ' "gap_backpaid": true}')
    assert json.loads(out)["reason"] == "retroactive_backpaid"
    _, out, _ = yibao("retirement", "-r", "changsha", "-d", "2024-01-01", "--json", "-",
                      stdin='{"sex": "male", "actual_months": 360}')
    assert json.loads(out)["eligible"] == "true"

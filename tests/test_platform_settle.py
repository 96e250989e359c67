"""The national platform's settlement JSON (platform/) and `yibao calc settle` (cli/calc_settle.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from yibao.cli import main
from yibao.platform import settle_document
from yibao.policy.registry import Registry

FIX = Path(__file__).parent / "fixtures" / "settlement"
CLAIM = {"med_type": "21", "hosp_lv": "level_3", "psn_type": "in_service", "age": 45,
         "setl_date": "2024-03-01", "insuplc_admdvs": "110000", "medfee_sumamt": "50000"}


def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.argv", ["yibao", "calc", "settle", *args])
    if stdin is not None:
        import io
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_one_claim_json_uses_platform_fields_and_yuan_strings() -> None:
    """Beijing 50000 in-service level-3 admission (computed by us from the Beijing bands, PD
    beijing): hifp 42895, the last chunk's pooled ratio 0.95, account 3000.50 then cash."""
    out, _ = settle_document({**CLAIM, "acct_balc": "3000.50"}, Registry(), None)
    info = out["setlinfo"]
    assert info["hifp_pay"] == "42895.00" and info["act_pay_dedc"] == "1300.00"
    assert info["pool_prop_selfpay"] == "0.95"
    assert (info["acct_pay"], info["psn_cash_pay"], info["balc"]) == ("3000.50", "4104.50", "0.00")
    assert out["setldetail"] == [{"fund_pay_type": "310100", "fund_payamt": "42895.00",
                                  "setl_proc_info": out["setldetail"][0]["setl_proc_info"]}]
    assert out["accumulators"][0]["inpatient_admissions"] == 1


def test_list_of_claims_for_two_people_with_starting_accumulators() -> None:
    """Person A starts the year with one admission already (so the 2nd deductible, 650, applies);
    person B is new (1300). The large-amount fund appears in setldetail as 330100."""
    doc: dict[str, Any] = {
        "claims": [{**CLAIM, "psn_no": "A", "medfee_sumamt": "10000"},
                   {**CLAIM, "psn_no": "B", "medfee_sumamt": "150000"}],
        "accumulators": [{"psn_no": "A", "year_key": 20240101, "inpatient_admissions": 1,
                          "inpatient_inscp_cum": "50000", "pool_inpatient_inscp_cum": "50000"}],
    }
    out, _ = settle_document(doc, Registry(), None)
    a, b = out["results"]
    assert a["setlinfo"]["act_pay_dedc"] == "650.00"
    assert a["setlinfo"]["hifp_pay"] == "8882.50"
    assert b["setlinfo"]["hifob_pay"] == "42500.00"
    assert [d["fund_pay_type"] for d in b["setldetail"]] == ["310100", "330100"]
    accs = {x["psn_no"]: x for x in out["accumulators"]}
    assert accs["A"]["inpatient_admissions"] == 2 and accs["B"]["inpatient_admissions"] == 1


def test_remote_care_is_settled_with_the_insured_regions_rules() -> None:
    """Treated in Shanghai (310000), insured in a user's Beijing file with a 10-point unregistered
    reduction (fixture remote_user.yaml): 38025, as in the examples."""
    reg = Registry(policy_files=[FIX / "remote_user.yaml"])
    out, _ = settle_document({**CLAIM, "insuplc_admdvs": "990001", "mdtrtarea_admvs": "310000"},
                             reg, None)
    assert out["setlinfo"]["hifp_pay"] == "38025.00"
    assert out["setlinfo"]["mdtrtarea_admvs"] == "310000"


def test_cli_human_output_shows_table_and_explanation(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "-r", "beijing", "-d", "2024-03-01",
                           "--total", "50000", "--lang", "en")
    assert code == 0
    assert "42895.00" in out and "deductible" in out and "settlement.inpatient.bands" in out


def test_cli_json_from_stdin_and_schema(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "--json", "-", stdin=json.dumps([CLAIM, CLAIM]))
    assert code == 0
    res = json.loads(out)["results"]
    assert [r["setlinfo"]["act_pay_dedc"] for r in res] == ["1300.00", "650.00"]
    code, out, _ = run_cli(monkeypatch, capsys, "--schema")
    schema = json.loads(out)
    assert code == 0 and "medfee_sumamt" in json.dumps(schema["input"])
    assert "pool_prop_selfpay" in json.dumps(schema["output"])


@pytest.mark.parametrize(("args", "needle"), [
    (("--total", "-5"), "medfee_sumamt"),
    (("--total", "abc"), "medfee_sumamt"),
    (("--total", "100", "--full-self-pay", "80", "--over-limit", "30"), "medfee_sumamt"),
    (("--total", "100", "--med-type", "99"), "med_type"),
    (("--total", "100", "--med-type", "14"), "med_type"),
    (("--total", "100", "--hosp-lv", "level_9"), "hosp_lv"),
    (("--total", "100", "--psn-type", "student"), "psn_type"),
    (("--total", "100", "-d", "1990-01-01"), "1990-01-01"),
    (("--total", "100", "-d", "2010-06-01"), "unknown"),
    (("--total", "100", "-d", "2024-02-30"), "date"),
    (("--total", "100", "-r", "atlantis"), "atlantis"),
])
def test_bad_input_is_a_bilingual_error_with_exit_code_2(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        args: tuple[str, ...], needle: str) -> None:
    base = {"-r": "beijing", "-d": "2024-03-01"}
    given = dict(zip(args[::2], args[1::2], strict=True))
    argv = [x for k, v in {**base, **given}.items() for x in (k, v)]
    code, out, err = run_cli(monkeypatch, capsys, *argv)
    assert code == 2
    assert needle in err and "Traceback" not in err + out
    assert "错误" in err and "error" in err


def test_bad_json_claim_is_a_bilingual_error(monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(monkeypatch, capsys, "--json", "-",
                           stdin=json.dumps({**CLAIM, "surprise": 1}))
    assert code == 2 and "surprise" in err and "Traceback" not in err


def test_fee_components_above_the_total_name_the_fields_and_the_amounts() -> None:
    """DOMAIN §4.1: full self-pay, over-limit and first self-pay are parts of medfee_sumamt."""
    from yibao.errors import InputError

    doc = {"med_type": "21", "hosp_lv": "level_3", "psn_type": "in_service", "age": 40,
           "setl_date": "2024-03-01", "insuplc_admdvs": "beijing", "medfee_sumamt": "100",
           "fulamt_ownpay_amt": "80", "overlmt_selfpay": "30"}
    with pytest.raises(InputError) as err:
        settle_document(doc, Registry(), None)
    assert "fulamt_ownpay_amt+overlmt_selfpay" in err.value.en
    assert "110.00" in err.value.en and "medfee_sumamt 100.00" in err.value.en
    assert "超过医疗费总额" in err.value.zh


def test_account_balance_carries_to_the_same_persons_next_claim() -> None:
    """A member's account pays each claim from what the previous one left (DOMAIN §3.3; computed
    by us from Beijing's 2024 rules: 50000 at level 3 leaves a personal share of 7105, so a 3000
    account is emptied by the first claim; the second admission, 1000, pays the 650 second-admission
    deductible and 5% of 350 in the 40000-100000 band, 667.50, all in cash)."""
    first = {**CLAIM, "psn_no": "A", "acct_balc": "3000"}
    second = {**CLAIM, "psn_no": "A", "medfee_sumamt": "1000", "setl_date": "2024-05-01"}
    other = {**CLAIM, "psn_no": "B", "medfee_sumamt": "1000", "setl_date": "2024-05-01"}
    out, _ = settle_document([first, second, other], Registry(), None)
    a1, a2, b = (r["setlinfo"] for r in out["results"])
    assert (a1["acct_pay"], a1["balc"]) == ("3000.00", "0.00")
    assert (a2["acct_pay"], a2["psn_cash_pay"], a2["balc"]) == ("0.00", "667.50", "0.00")
    assert b["acct_pay"] == "0.00"  # B never stated a balance: 0, not A's


def test_a_stated_balance_overrides_the_carried_one() -> None:
    first = {**CLAIM, "psn_no": "A", "acct_balc": "3000"}
    second = {**CLAIM, "psn_no": "A", "medfee_sumamt": "1000", "setl_date": "2024-05-01",
              "acct_balc": "500"}
    out, _ = settle_document([first, second], Registry(), None)
    a2 = out["results"][1]["setlinfo"]
    assert (a2["acct_pay"], a2["balc"]) == ("500.00", "0.00")

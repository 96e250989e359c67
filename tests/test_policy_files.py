"""Malformed policy files: every problem names file, line and key, all in one pass, exit code 2.

Source of the rules checked: the closed schema (src/yibao/policy/schema.py, catalog.py) and
docs/policy-format.md; the fixtures under tests/fixtures/policy/ are made-up files, not policy.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from yibao.cli.policy import app
from yibao.errors import PolicyFileError
from yibao.policy.loader import load_file

FIX = Path(__file__).parent / "fixtures" / "policy"
runner = CliRunner()


def line_of(name: str, needle: str) -> int:
    """1-based line of the first line of a fixture containing ``needle``."""
    for i, text in enumerate((FIX / name).read_text(encoding="utf-8").splitlines(), 1):
        if needle in text:
            return i
    raise AssertionError(f"{needle!r} not in {name}")


# (fixture, line holding the problem, key named, words the English message must contain)
CASES = [
    ("bad_syntax.yaml", "contribution.base_cap:", "contribution.employer_rate.basic", "YAML syntax"),
    ("unknown_key.yaml", "basik", "contribution.employer_rate.basik",
     "did you mean contribution.employer_rate.basic"),
    ("bad_date.yaml", "2023-02-30", "contribution.base_cap", "invalid date"),
    ("overlap.yaml", "2023-07-01, value: 21000", "contribution.base_cap", "overlap"),
    ("out_of_order.yaml", "2022-07-01", "contribution.base_floor", "increasing `from` order"),
    ("sub_bp_rate.yaml", "8.125%", "contribution.employer_rate.basic", "to 0.01%"),
    ("negative_amount.yaml", "-50000", "settlement.inpatient.pooled_ceiling", "must not be negative"),
    ("missing_source.yaml", "value: 20000", "contribution.base_cap", "needs a source"),
    ("undefined_source.yaml", "source: s2", "contribution.base_cap", "'s2' is not defined"),
]


@pytest.mark.parametrize(("fixture", "needle", "key", "words"), CASES)
def test_each_malformed_file_names_file_line_and_key(fixture: str, needle: str, key: str,
                                                     words: str) -> None:
    with pytest.raises(PolicyFileError) as err:
        load_file(FIX / fixture)
    issue = err.value.issues[0]
    assert issue.file.endswith(fixture)
    assert issue.line == line_of(fixture, needle)
    assert key in issue.key
    assert words in issue.en
    assert issue.zh  # every problem is also said in Chinese


def test_unknown_class_and_unknown_level_are_both_reported() -> None:
    with pytest.raises(PolicyFileError) as err:
        load_file(FIX / "unknown_class_level.yaml")
    issues = {i.key: i for i in err.value.issues}
    lvl = issues["settlement.inpatient.deductible.first[in_service][level_4]"]
    cls = issues["settlement.outpatient.pooled_ceiling[pensioner]"]
    assert "unknown facility level 'level_4'" in lvl.en and "未知的医疗机构等级" in lvl.zh
    assert "unknown benefit class 'pensioner'" in cls.en and "未知的待遇类别" in cls.zh
    assert lvl.line == line_of("unknown_class_level.yaml", "level_4")
    assert cls.line == line_of("unknown_class_level.yaml", "pensioner")


def test_all_problems_of_a_file_come_in_one_pass() -> None:
    with pytest.raises(PolicyFileError) as err:
        load_file(FIX / "many_problems.yaml")
    where = [(i.line, i.key.split("[")[0]) for i in err.value.issues]
    assert where == [
        (line_of("many_problems.yaml", "basik"), "contribution.employer_rate.basik"),
        (line_of("many_problems.yaml", "value: -1"), "contribution.base_cap"),
        (line_of("many_problems.yaml", "nowhere"), "contribution.base_floor"),
        (line_of("many_problems.yaml", "90.005%"), "settlement.inpatient.bands"),
    ]


@pytest.mark.parametrize("fixture", [c[0] for c in CASES] + ["unknown_class_level.yaml",
                                                             "many_problems.yaml"])
def test_policy_check_exits_2_and_prints_file_line_key(fixture: str) -> None:
    res = runner.invoke(app, ["check", str(FIX / fixture)])
    assert res.exit_code == 2
    first = load_error(fixture).issues[0]
    assert f"{fixture}:{first.line} [{first.key}]" in res.output
    assert "Traceback" not in res.output


def load_error(fixture: str) -> PolicyFileError:
    try:
        load_file(FIX / fixture)
    except PolicyFileError as exc:
        return exc
    raise AssertionError(f"{fixture} loaded")


def test_policy_check_reports_problems_of_several_files_together() -> None:
    res = runner.invoke(app, ["check", str(FIX / "overlap.yaml"), str(FIX / "good_region.yaml"),
                              str(FIX / "sub_bp_rate.yaml")])
    assert res.exit_code == 2
    assert "overlap.yaml:" in res.output and "sub_bp_rate.yaml:" in res.output
    assert "good_region.yaml: region fixture_region" in res.output  # the good file is summarised


def test_a_good_region_file_passes_and_is_summarised() -> None:
    res = runner.invoke(app, ["check", str(FIX / "good_region.yaml"), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert "2 keys set here (3 entries)" in res.output
    assert "on 2025-12-31" in res.output and "check passed" in res.output


def test_every_shipped_file_passes_policy_check() -> None:
    """Region files resolve every key on every month start and end 2018-01..2025-12."""
    params = Path(__file__).parents[1] / "src" / "yibao" / "policy" / "params"
    files = sorted(params.glob("*.yaml")) + sorted((params / "reforms").glob("*.yaml"))
    res = runner.invoke(app, ["check", *map(str, files), "--lang", "en"])
    assert res.exit_code == 0, res.output
    assert res.output.count("region ") >= 15 and res.output.count("reform ") >= 3

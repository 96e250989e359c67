"""Usage errors of the command line (a mistyped option, a missing or badly typed value) get the
same bilingual message as every other bad input: field, value, what is accepted; exit code 2."""

from __future__ import annotations

import sys

import pytest

from yibao.cli import main


def run_main(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str
) -> tuple[int, str]:
    monkeypatch.setattr(sys, "argv", ["yibao", *argv])
    monkeypatch.setenv("COLUMNS", "300")
    with pytest.raises(SystemExit) as stop:
        main()
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return int(stop.value.code or 0), captured.err


@pytest.mark.parametrize(
    ("argv", "zh", "en"),
    [
        (("calc", "settle", "--bogus"), "没有选项 --bogus", "no such option: --bogus"),
        (
            ("calc", "settle", "--age", "abc"),
            "'--age' 的值 'abc' 无效：应为整数",
            "invalid value 'abc' for '--age': expected a whole number",
        ),
        (("calc", "settle", "--region"), "选项 --region 后面需要一个值", "option --region needs a value"),
        (("calc", "settle", "--schema=yes"), "选项 --schema 不带值", "option --schema takes no value"),
        (("policy", "shw"), "没有命令 shw；是否想用 show", "no such command: shw; did you mean show"),
        (("policy", "show"), "缺少必需的参数 'region'", "missing required parameter 'region'"),
        (("calc", "settle", "surplus"), "多余的参数：surplus", "unexpected extra argument(s): surplus"),
    ],
)
def test_usage_errors_are_bilingual_and_exit_2(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: tuple[str, ...],
    zh: str,
    en: str,
) -> None:
    code, err = run_main(monkeypatch, capsys, *argv)
    assert code == 2
    assert "错误 / error" in err and zh in err and en in err
    assert err.index(zh) < err.index(en)  # Chinese first


def test_usage_line_and_help_follow_the_message(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, err = run_main(monkeypatch, capsys, "calc", "settle", "--bogus")
    assert code == 2
    assert "Usage: yibao calc settle" in err and "帮助 / help: yibao calc settle --help" in err


def test_each_command_answers_when_it_is_the_only_one_registered() -> None:
    """`main` registers only the group the command line names (startup time); every name of the
    table must then still be a command of its own, a lone command included (`yibao serve`)."""
    import subprocess

    from yibao.cli import _INSTALLERS

    names = [n for group, _ in _INSTALLERS for n in group]
    script = (
        "import sys\nfrom yibao.cli import main\n"
        "for n in sys.argv[1:]:\n"
        "    import yibao.cli as c, importlib; importlib.reload(c)\n"
        "    sys.argv = ['yibao', n, '--help']\n"
        "    try:\n        c.main()\n    except SystemExit as e:\n"
        "        assert not e.code, (n, e.code)\n"
        "    print('ok', n)\n"
    )
    p = subprocess.run([sys.executable, "-c", script, *names], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    assert [line for line in p.stdout.splitlines() if line.startswith("ok ")] == [f"ok {n}" for n in names]


def test_help_lists_every_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from yibao.cli import _INSTALLERS

    monkeypatch.setattr(sys, "argv", ["yibao", "--help"])
    monkeypatch.setenv("COLUMNS", "200")
    try:
        main()  # help is printed and main returns, or exits with 0
    except SystemExit as stop:
        assert not stop.code
    out = capsys.readouterr().out
    for group, _ in _INSTALLERS:
        for name in group:
            assert f"│ {name} " in out

"""The `yibao` command. Errors a user can cause print a bilingual message and exit with 2."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence

import typer
from rich.console import Console

from yibao.errors import YibaoError

__all__ = ["app", "main"]

app = typer.Typer(
    name="yibao",
    help="职工基本医疗保险：政策引擎、经办、精准参保、政策模拟 / employee medical insurance",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root() -> None:
    # A callback keeps `yibao` a group even when only one command is registered (see _register):
    # typer would otherwise run a lone command as the root, and `yibao serve` would read "serve"
    # as an extra argument.
    pass


def _policy() -> None:
    from yibao.cli import demo, policy

    app.add_typer(policy.app, name="policy")
    policy.app.command("demo")(demo.demo)


def _group(name: str) -> Callable[[], None]:
    """The group `yibao NAME`, the ``app`` of module ``yibao.cli.NAME``."""

    def install() -> None:
        app.add_typer(importlib.import_module(f"yibao.cli.{name}").app, name=name)

    return install


def _guarded(module: str, attr: str, name: str) -> Callable[[], None]:
    def install() -> None:
        from yibao.cli.admin_common import guard

        app.command(name)(guard(getattr(importlib.import_module(f"yibao.cli.{module}"), attr)))

    return install


def _installer(module: str) -> Callable[[], None]:
    def install() -> None:
        importlib.import_module(f"yibao.cli.{module}").install(app)

    return install


def _demo() -> None:
    from yibao.cli import admin_demo

    app.command("demo")(admin_demo.demo)


#: Each installer with the top-level names it registers, in the order `yibao --help` lists them.
_INSTALLERS: tuple[tuple[tuple[str, ...], Callable[[], None]], ...] = (
    (("policy",), _policy),
    (("calc",), _group("calc")),
    (("bench",), _group("bench")),
    (("db",), _group("db")),
    (("export",), _group("export")),
    (("region",), _group("region")),
    (("audit",), _group("audit")),
    (("match",), _group("match")),
    (("lab",), _group("lab")),
    (("demo",), _demo),
    (("serve",), _guarded("serve", "serve", "serve")),
    (("user",), _group("user")),
    (("provider",), _group("provider")),
    (("backup",), _guarded("backup", "backup_cmd", "backup")),
    (("keys",), _group("keys")),
    (("restore",), _guarded("backup", "restore_cmd", "restore")),
    (("pay", "accounts", "ledger", "statement"), _installer("admin_money")),
    (("transfer", "retire"), _installer("admin_cases")),
    (("person", "employer", "enroll"), _installer("admin_register")),
    (("settle", "claim"), _installer("admin_claims")),
    (("declare", "assess"), _installer("admin_contrib")),
)
_installed: set[Callable[[], None]] = set()


def _register(argv: Sequence[str] | None = None) -> None:
    """Register the commands: with ``argv``, only the group it names, when that name is known.

    The groups import very different things (the pinyin dictionaries of matching, the database
    layer, the web service, the lab's simulation), and a command that does not need them should
    not wait for them: ``yibao policy regions`` started in 3.8 s with every group imported
    (docs/performance.md). ``yibao --help``, no command or an unknown name register everything,
    so the help lists every command and a typo gets its "did you mean".
    """
    first = next((a for a in argv or () if not a.startswith("-")), None)
    chosen = [i for names, i in _INSTALLERS if first in names]
    for install in chosen or [i for _, i in _INSTALLERS]:
        if install not in _installed:
            install()
            _installed.add(install)


def main() -> None:
    """Entry point: run the app; a YibaoError becomes a message and exit code 2."""
    _register(sys.argv[1:])
    try:
        # In non-standalone mode click returns (not raises) the code of a typer.Exit: honour it.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except YibaoError as exc:
        Console(stderr=True, highlight=False).print(f"[bold red]错误 / error[/]\n{exc.bilingual()}",
                                                    markup=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(130)
    except Exception as exc:
        # sqlalchemy is imported here, not at the top: most commands never touch a database
        from sqlalchemy.exc import DBAPIError

        if isinstance(exc, DBAPIError):
            # a database fault is not the user's input, but it is still shown, not dumped as a
            # traceback
            first = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
            Console(stderr=True, highlight=False).print(
                f"错误 / error\n数据库操作失败，未做任何更改（{first}）；请检查 --db 或联系管理员\n"
                f"the database operation failed and nothing was changed ({first}); check --db or ask "
                "the administrator", markup=False)
            sys.exit(1)
        # Usage errors of the (vendored) click arrive here in non-standalone mode; its message is
        # English only, so it is rebuilt in both languages, with the usage line after it.
        if callable(getattr(exc, "show", None)) and hasattr(exc, "exit_code"):
            from yibao.cli.usage import usage_message

            err = Console(stderr=True, highlight=False)
            err.print(f"[bold red]错误 / error[/]\n{usage_message(exc).bilingual()}", markup=True)
            ctx = getattr(exc, "ctx", None)
            if ctx is not None:
                err.print(f"{ctx.get_usage()}\n帮助 / help: {ctx.command_path} --help", markup=False)
            sys.exit(2)
        raise

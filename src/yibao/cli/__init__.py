"""The `yibao` command. Errors a user can cause print a bilingual message and exit with 2."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from sqlalchemy.exc import DBAPIError

from yibao.errors import YibaoError

__all__ = ["app", "main"]

app = typer.Typer(
    name="yibao",
    help="职工基本医疗保险：政策引擎、经办、精准参保、政策模拟 / employee medical insurance",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _register() -> None:
    from yibao.cli import audit, bench, calc, db, demo, export, policy, region

    app.add_typer(policy.app, name="policy")
    app.add_typer(calc.app, name="calc")
    app.add_typer(bench.app, name="bench")
    app.add_typer(db.app, name="db")
    app.add_typer(export.app, name="export")
    app.add_typer(region.app, name="region")
    app.add_typer(audit.app, name="audit")
    from yibao.cli import match as match_cli

    app.add_typer(match_cli.app, name="match")
    from yibao.cli import lab as lab_cli

    app.add_typer(lab_cli.app, name="lab")
    from yibao.cli import admin_demo

    app.command("demo")(admin_demo.demo)
    from yibao.cli.admin_common import guard
    from yibao.cli.serve import serve

    app.command("serve")(guard(serve))
    from yibao.cli import user as user_cli

    app.add_typer(user_cli.app, name="user")
    from yibao.cli import provider as provider_cli

    app.add_typer(provider_cli.app, name="provider")
    from yibao.cli.backup import backup_cmd, restore_cmd

    app.command("backup")(guard(backup_cmd))
    from yibao.cli import keys as keys_cli

    app.add_typer(keys_cli.app, name="keys")
    app.command("restore")(guard(restore_cmd))
    policy.app.command("demo")(demo.demo)
    from yibao.cli import admin_money  # yibao pay | accounts | statement | ledger
    admin_money.install(app)
    from yibao.cli import admin_cases  # yibao transfer | retire
    admin_cases.install(app)
    from yibao.cli import admin_register  # yibao person | employer | enroll
    admin_register.install(app)
    from yibao.cli import admin_claims  # yibao settle | claim
    admin_claims.install(app)
    from yibao.cli import admin_contrib  # yibao declare | assess
    admin_contrib.install(app)


def main() -> None:
    """Entry point: run the app; a YibaoError becomes a message and exit code 2."""
    _register()
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
    except DBAPIError as exc:
        # a database fault is not the user's input, but it is still shown, not dumped as a traceback
        first = str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__
        Console(stderr=True, highlight=False).print(
            f"错误 / error\n数据库操作失败，未做任何更改（{first}）；请检查 --db 或联系管理员\n"
            f"the database operation failed and nothing was changed ({first}); check --db or ask "
            "the administrator", markup=False)
        sys.exit(1)
    except Exception as exc:
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

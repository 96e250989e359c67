"""`yibao calc` commands."""

from __future__ import annotations

import typer

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True)

from yibao.cli import calc_settle  # noqa: E402  (registers onto app, defined above)

calc_settle.register(app)

from yibao.cli import calc_rules  # noqa: E402  (contribution, account, eligibility, retirement, transfer)

calc_rules.register(app)

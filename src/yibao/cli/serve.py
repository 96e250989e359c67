"""``yibao serve``: the HTTP service (issue 5) with uvicorn, on loopback unless told otherwise.

The database (``--db``, ``YIBAO_DATABASE_URL`` or ``./yibao.db``) is upgraded to the current
schema first. ``--demo`` (what ``make run`` uses) also builds Demo City if the database has no
demo data yet and gives it one account per role, with random passwords written to
``yibao-demo-accounts.txt`` beside a SQLite database (readable by its owner only) and printed at
every start, so the pages can be tried at once. Logs are one JSON line per request with ID and
mobile numbers masked; uvicorn's own access log, which would print raw paths, is off.

Off loopback the service speaks TLS (``--certfile``, ``--keyfile``) or sits behind a
TLS-terminating proxy (``--proxy ADDRESS``, whose ``X-Forwarded-Proto`` is trusted, so session
cookies are marked ``Secure``); plain HTTP on a network address is refused.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from yibao.admin import users
from yibao.admin.demo import DEMO_REGION, sample_people
from yibao.admin.uow import SYSTEM, run
from yibao.cli.admin_common import DbOpt
from yibao.db.models.auth import UserAccount
from yibao.db.models.claims import Claim
from yibao.errors import InputError
from yibao.ids import MaskingFilter

__all__ = ["demo_accounts", "serve"]

ACCOUNTS_FILE = "yibao-demo-accounts.txt"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def demo_accounts(engine: Engine, folder: Path) -> list[tuple[str, str, str]]:
    """The demo's accounts ``(user name, role, password)``: created once, then read back."""
    path = folder / ACCOUNTS_FILE
    with Session(engine) as s:
        exists = s.scalar(select(UserAccount.id).where(UserAccount.username == "demo.operator")) is not None
        people = sample_people(s)
    if exists and path.exists():
        return [tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines()]  # type: ignore[misc]
    if exists:  # the file was removed, and the passwords with it: make the accounts anew
        with Session(engine) as s, s.begin():
            for u in s.scalars(select(UserAccount).where(UserAccount.username.like("demo.%"))):
                s.delete(u)
    insured = None
    if people["inpatient_claim"] is not None:
        with Session(engine) as s:
            insured = s.scalar(select(Claim.person_id).where(Claim.id == people["inpatient_claim"]))
    specs: list[tuple[str, str, dict[str, Any]]] = [
        ("demo.operator", "operator", {"regions": [DEMO_REGION], "display_name": "示范经办员"}),
        ("demo.auditor", "auditor", {"regions": [DEMO_REGION], "display_name": "示范稽核员"}),
        ("demo.analyst", "analyst", {"display_name": "示范分析员"}),
        ("demo.reviewer", "reviewer", {"regions": [DEMO_REGION], "display_name": "示范复核员"}),
        ("demo.admin", "admin", {"display_name": "示范系统管理员"}),
        ("demo.secadmin", "security_admin", {"display_name": "示范安全管理员"}),
        ("demo.secaudit", "security_auditor", {"display_name": "示范安全审计员"}),
    ]
    if people["employer"] is not None:
        specs.append(
            ("demo.employer", "employer", {"employer": people["employer"], "display_name": "示范单位"})
        )
    if insured is not None:
        specs.append(("demo.insured", "insured", {"person": insured, "display_name": "示范参保人"}))
    out = [(name, role, secrets.token_urlsafe(12)) for name, role, _ in specs]

    def create(s: Session) -> dict[str, str]:
        totp_secrets = {}
        for (name, role, kw), (_, _, password) in zip(specs, out, strict=True):
            users.create_user(s, SYSTEM, name, password, role, **kw)
            if role in users.TOTP_ROLES:  # officers, auditors, reviewers: a one-time code as well
                totp_secrets[name] = users.enroll_totp(s, SYSTEM, name)[0]
        return totp_secrets

    totp_secrets = run(engine, create)
    out = [(n, r, f"{p}  totp:{totp_secrets[n]}" if n in totp_secrets else p) for n, r, p in out]
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write("".join(f"{n}\t{r}\t{p}\n" for n, r, p in out))
    return out


def _start_sealing(engine: Engine, every: float = 60.0) -> None:
    """Seal the audit log into its hash chain and watch it for bulk reads, now and then every minute,
    in a daemon thread (yibao.admin.audit_chain, yibao.admin.watch; ``yibao audit seal`` and
    ``yibao audit watch`` do the same from cron)."""
    from yibao.admin.audit_chain import seal
    from yibao.admin.watch import watch

    log = logging.getLogger("yibao.audit")

    def loop() -> None:
        while True:
            try:
                run(engine, watch)  # bulk-read alerts, before the rows are sealed
                r = run(engine, seal)
                if r.sealed:
                    log.info("audit chain: %s rows sealed, head %s %s", r.sealed, r.head_seq, r.head_hash)
            except Exception:  # a busy database must not end the loop; the next minute retries
                log.exception("audit sealing failed; retrying in a minute")
            time.sleep(every)

    threading.Thread(target=loop, name="yibao-audit-seal", daemon=True).start()


def _logging() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(MaskingFilter())  # every record, whichever logger made it
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)


def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址 / address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口 / port")] = 8000,
    demo: Annotated[
        bool, typer.Option("--demo", help="示范市数据与示范账号 / Demo City data and accounts")
    ] = False,
    certfile: Annotated[
        Path | None, typer.Option("--certfile", help="TLS 证书（PEM）/ TLS certificate")
    ] = None,
    keyfile: Annotated[
        Path | None, typer.Option("--keyfile", help="TLS 私钥（PEM）/ TLS private key")
    ] = None,
    proxy: Annotated[
        str | None,
        typer.Option(
            "--proxy", help="前置 TLS 代理的地址（信任其 X-Forwarded-Proto）/ the TLS proxy's address"
        ),
    ] = None,
    db: DbOpt = None,
) -> None:
    """启动服务（API 与页面）/ start the service (API and pages); OpenAPI at /openapi.json."""
    import uvicorn

    from yibao.api.app import create_app
    from yibao.db.engine import database_url, make_engine
    from yibao.db.migrate import upgrade

    if not 1 <= port <= 65535:
        raise InputError("--port", port, "应在 1–65535", "must be 1–65535")
    if (certfile is None) != (keyfile is None):
        raise InputError(
            "--certfile/--keyfile",
            str(certfile or keyfile),
            "证书与私钥须同时给出",
            "give both the certificate and the key",
        )
    for f in (certfile, keyfile):
        if f is not None and not f.is_file():
            raise InputError("--certfile/--keyfile", str(f), "文件不存在", "no such file")
    if host not in LOOPBACK and certfile is None and proxy is None:
        # passwords and session cookies must not cross a network in clear
        raise InputError(
            "--host",
            host,
            "非本机地址须启用 TLS（--certfile 与 --keyfile），或经 TLS 代理（--proxy）",
            "an address other than loopback needs TLS (--certfile and --keyfile) or a "
            "TLS-terminating proxy (--proxy)",
        )
    url = database_url(db)
    engine = make_engine(url)
    upgrade(engine)
    accounts: list[tuple[str, str, str]] = []
    if demo:
        from yibao.admin.demo import build_demo, demo_exists

        if not demo_exists(engine):
            typer.echo("建立示范市数据… / building Demo City…")
            build_demo(engine)
        folder = Path(url.split("///", 1)[1]).parent if url.startswith("sqlite:///") else Path.cwd()
        accounts = demo_accounts(engine, folder)
    _logging()
    _start_sealing(engine)
    typer.echo(
        f"yibao 服务 / service: {'https' if certfile else 'http'}://{host}:{port}/  (OpenAPI /openapi.json)  "
        f"数据库 / database: {engine.url.render_as_string(hide_password=True)}"
    )
    if accounts:
        typer.echo(
            "示范账号（仅供本机试用；三员、稽核与复核另需动态口令：把 totp 密钥加入身份验证器，或 "
            "oathtool --totp -b 密钥）/ demo accounts (this machine only; the three officers, the auditor "
            "and the reviewer also need a one-time code from the totp secret: an authenticator app, or "
            "oathtool --totp -b SECRET):"
        )
        for name, role, password in accounts:
            typer.echo(f"  {name:<16} {role:<17} {password}")
    uvicorn.run(
        create_app(engine),
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        ssl_certfile=str(certfile) if certfile else None,
        ssl_keyfile=str(keyfile) if keyfile else None,
        proxy_headers=proxy is not None,
        forwarded_allow_ips=proxy or "127.0.0.1",
    )

"""``yibao serve`` off loopback (issue 5's deployment, issue 8's TLS): plain HTTP on a network
address is refused; with a certificate the service speaks HTTPS and its session cookie is Secure."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from yibao.cli import _register
from yibao.cli import app as root_app

_register()


def test_plain_http_on_a_network_address_is_refused() -> None:
    r = CliRunner().invoke(root_app, ["serve", "--host", "0.0.0.0"])
    assert r.exit_code == 2 and "--host" in r.output and "TLS" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(root_app, ["serve", "--certfile", "/no/such.pem"])
    assert r.exit_code == 2 and "--certfile" in r.output


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl makes the test certificate")
def test_https_with_a_certificate_and_secure_cookies(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    db = tmp_path / "y.db"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "yibao",
            "serve",
            "--port",
            str(port),
            "--certfile",
            str(cert),
            "--keyfile",
            str(key),
            "--db",
            f"sqlite:///{db}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"https://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", verify=False, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "yibao",
                "user",
                "add",
                "tls.op",
                "--role",
                "analyst",
                "--password-stdin",
                "--db",
                f"sqlite:///{db}",
            ],
            input=b"long enough password\n",
            check=True,
            capture_output=True,
        )
        with httpx.Client(base_url=base, verify=False) as c:
            assert c.get("/readyz").json()["status"] == "ready"
            r = c.post("/api/v1/auth/login", json={"username": "tls.op", "password": "long enough password"})
            assert r.status_code == 200, r.text
            assert "secure" in r.headers["set-cookie"].lower()
    finally:
        proc.terminate()
        proc.wait(20)

"""Time-based one-time passwords (RFC 6238, the codes authenticator apps show): the second factor
of the roles that guard others — admin and auditor (GB/T 22239-2019 level 3, 8.1.4.1 d: two or
more authentication techniques for administrators).

SHA-1, 30-second steps, 6 digits: what every authenticator app accepts. A code is accepted one
step early or late (clock drift) and only once (the last step used is kept).
"""

from __future__ import annotations

import base64
import hmac
import secrets
import struct
import time
from urllib.parse import quote

__all__ = ["DIGITS", "STEP", "code", "matching_step", "new_secret", "provisioning_uri"]

STEP = 30
DIGITS = 6


def new_secret() -> str:
    """A 160-bit secret in base32 (as apps expect it)."""
    return base64.b32encode(secrets.token_bytes(20)).decode().rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def code(secret: str, at: float | None = None, step_offset: int = 0, digits: int = DIGITS) -> str:
    """The code of ``secret`` at time ``at`` (RFC 6238 with RFC 4226's dynamic truncation)."""
    counter = int((time.time() if at is None else at) // STEP) + step_offset
    mac = hmac.new(_key(secret), struct.pack(">Q", counter), "sha1").digest()
    offset = mac[-1] & 0x0F
    value = struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**digits).zfill(digits)


def matching_step(
    secret: str, given: str, at: float | None = None, last_step: int | None = None
) -> int | None:
    """The time step ``given`` is the code of (now ±1), or None; a step at or before ``last_step``
    (already used) never matches again."""
    text = "".join(str(given or "").split())
    if len(text) != DIGITS or not text.isdecimal():
        return None
    now = int((time.time() if at is None else at) // STEP)
    for offset in (0, -1, 1):
        step = now + offset
        if last_step is not None and step <= last_step:
            continue
        if hmac.compare_digest(code(secret, step * STEP), text):
            return step
    return None


def provisioning_uri(username: str, secret: str, issuer: str = "yibao") -> str:
    """The ``otpauth://`` URI an authenticator app reads (as text or a QR code)."""
    return (
        f"otpauth://totp/{quote(issuer)}:{quote(username)}?secret={secret}&issuer={quote(issuer)}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP}"
    )

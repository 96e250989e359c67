"""One-time codes (issue 8: a second factor for admins and auditors), checked against RFC 6238's
appendix B test vectors (SHA-1, secret "12345678901234567890")."""

from __future__ import annotations

import base64

from yibao.admin import totp

SECRET = base64.b32encode(b"12345678901234567890").decode()


def test_rfc_6238_vectors() -> None:
    for t, expected in (
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ):
        assert totp.code(SECRET, t, digits=8) == expected


def test_a_code_is_accepted_once_and_one_step_either_side() -> None:
    t = 1_700_000_000
    now = totp.code(SECRET, t)
    step = totp.matching_step(SECRET, now, at=t)
    assert step == t // 30
    assert totp.matching_step(SECRET, now, at=t, last_step=step) is None  # used: refused
    assert totp.matching_step(SECRET, totp.code(SECRET, t - 30), at=t) == step - 1  # a slow clock
    assert totp.matching_step(SECRET, totp.code(SECRET, t - 90), at=t) is None  # too old
    assert totp.matching_step(SECRET, "12a456", at=t) is None and totp.matching_step(SECRET, "", at=t) is None
    uri = totp.provisioning_uri("root", SECRET)
    assert uri.startswith("otpauth://totp/yibao:root?secret=") and "period=30" in uri

"""Encryption at rest of personal fields: SM4-GCM (AES-256-GCM as a fallback) and a keyed blind index.

PIPL Art. 51 asks for encryption of personal information, and 等保 2.0 level 3 (GB/T 22239-2019
8.1.4.8 保密性) for the confidentiality of important personal data in storage; the commercial
cryptography rules (GM/T 0054-2018) expect the national algorithms. ID numbers, names, phone numbers
and the stored platform messages (which carry ``certno``, ``psn_name`` and diagnoses) are kept as
ciphertext; a database dump, a backup file or a replica read by someone without the key shows
nothing in clear.

- **Keyring.** A JSON file outside the database (``YIBAO_KEY_FILE``, default ``./yibao.keys``,
  created mode 0600) or the same JSON in ``YIBAO_DATA_KEYS`` (a secret manager's environment). It
  holds the data keys by id (the *primary* one encrypts; every listed one decrypts) and the blind
  index key. ``yibao keys rotate`` adds a key, makes it primary and re-encrypts every row.
- **Ciphertext** is text: ``<key id>$<base64(nonce ‖ ciphertext ‖ tag)>``; the associated data is
  the column's name, so a value moved to another column does not decrypt.
- **Blind index.** Equality look-ups (an ID number at the counter, a wage file's rows, a name) go
  through ``HMAC-SM3(index key, value)`` stored beside the ciphertext; the index reveals equality,
  never the value.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from sqlalchemy import Text
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.types import TypeDecorator

from yibao.errors import YibaoError

__all__ = [
    "ALGORITHMS",
    "DEFAULT_KEY_FILE",
    "Encrypted",
    "Keyring",
    "KeyringError",
    "blind_index",
    "create_keyring",
    "key_id_of",
    "keyring",
    "reset_keyring",
    "seal",
]

DEFAULT_KEY_FILE = "yibao.keys"
ALGORITHMS = {"sm4-gcm": 16, "aes-256-gcm": 32}  # algorithm → key length in bytes
_NONCE = 12
_TAG = 16


class KeyringError(YibaoError):
    """The keyring is missing, malformed, or lacks the key a stored value was encrypted with."""


@dataclass
class Keyring:
    """Data keys by id, the primary one, and the blind-index key."""

    keys: dict[str, tuple[str, bytes]]  # id → (algorithm, key)
    primary: str
    index_key: bytes
    source: str = ""  # where it was read from, for messages
    created: dict[str, str] = field(default_factory=dict)

    def encrypt(self, plaintext: str, context: str) -> str:
        algorithm, key = self.keys[self.primary]
        nonce = secrets.token_bytes(_NONCE)
        enc = Cipher(_algorithm(algorithm, key), modes.GCM(nonce)).encryptor()
        enc.authenticate_additional_data(context.encode())
        body = enc.update(plaintext.encode()) + enc.finalize()
        return f"{self.primary}${base64.b64encode(nonce + body + enc.tag).decode()}"

    def decrypt(self, stored: str, context: str) -> str:
        kid, sep, b64 = stored.partition("$")
        if not sep:
            raise KeyringError(
                f"{context} 中的值不是 yibao 密文（缺少密钥编号）",
                f"a value in {context} is not yibao ciphertext (no key id)",
            )
        if kid not in self.keys:
            raise KeyringError(
                f"{context} 中的值用密钥 {kid} 加密，但密钥环 {self.source} 中没有该密钥；"
                f"已有：{', '.join(sorted(self.keys))}",
                f"a value in {context} was encrypted with key {kid}, which keyring {self.source} "
                f"does not hold; it holds: {', '.join(sorted(self.keys))}",
            )
        algorithm, key = self.keys[kid]
        raw = base64.b64decode(b64)
        nonce, body, tag = raw[:_NONCE], raw[_NONCE:-_TAG], raw[-_TAG:]
        dec = Cipher(_algorithm(algorithm, key), modes.GCM(nonce, tag)).decryptor()
        dec.authenticate_additional_data(context.encode())
        try:
            return (dec.update(body) + dec.finalize()).decode()
        except InvalidTag:
            raise KeyringError(
                f"{context} 中的值无法用密钥 {kid} 解密（密钥不对，或密文被改动过）",
                f"a value in {context} does not decrypt with key {kid} (wrong key, or the "
                "ciphertext was altered)",
            ) from None

    def index(self, value: str) -> str:
        return hmac.new(self.index_key, value.encode(), "sm3").hexdigest()

    def to_json(self) -> str:
        return json.dumps(
            {
                "format": 1,
                "primary": self.primary,
                "keys": {
                    kid: {"algorithm": a, "key": k.hex(), "created": self.created.get(kid, "")}
                    for kid, (a, k) in self.keys.items()
                },
                "index_key": self.index_key.hex(),
            },
            indent=2,
        )

    def with_new_primary(self, algorithm: str) -> Keyring:
        """A keyring holding every key so far plus a new primary (for rotation)."""
        _check_algorithm(algorithm, "algorithm")
        n = 1 + max((int(k[1:]) for k in self.keys if k[1:].isdigit()), default=0)
        kid = f"k{n}"
        keys = dict(self.keys) | {kid: (algorithm, secrets.token_bytes(ALGORITHMS[algorithm]))}
        created = dict(self.created) | {kid: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        return Keyring(keys, kid, self.index_key, self.source, created)


def _algorithm(name: str, key: bytes) -> Any:
    return algorithms.SM4(key) if name == "sm4-gcm" else algorithms.AES(key)


def _check_algorithm(name: str, where: str) -> None:
    if name not in ALGORITHMS:
        raise KeyringError(
            f"{where} 的值 {name!r} 无效：可用 {', '.join(ALGORITHMS)}",
            f"{where}: invalid value {name!r}: accepted {', '.join(ALGORITHMS)}",
        )


def parse_keyring(text: str, source: str) -> Keyring:
    """A keyring from its JSON; every problem names the source and the key path."""

    def bad(path: str, zh: str, en: str) -> KeyringError:
        return KeyringError(f"密钥环 {source} 的 {path} 无效：{zh}", f"keyring {source}, {path}: {en}")

    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise bad("(JSON)", f"不是 JSON（第 {e.lineno} 行）", f"not JSON (line {e.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != 1:
        raise bad("format", "应为 1", "must be 1")
    keys: dict[str, tuple[str, bytes]] = {}
    created: dict[str, str] = {}
    for kid, spec in (data.get("keys") or {}).items():
        algorithm = spec.get("algorithm") if isinstance(spec, dict) else None
        _check_algorithm(str(algorithm), f"keyring {source}, keys.{kid}.algorithm")
        try:
            key = bytes.fromhex(spec.get("key", ""))
        except ValueError:
            raise bad(f"keys.{kid}.key", "应为十六进制", "must be hex") from None
        if len(key) != ALGORITHMS[str(algorithm)]:
            need = ALGORITHMS[str(algorithm)]
            raise bad(
                f"keys.{kid}.key",
                f"{algorithm} 需要 {need} 字节，实为 {len(key)}",
                f"{algorithm} needs {need} bytes, got {len(key)}",
            )
        keys[kid] = (str(algorithm), key)
        created[kid] = str(spec.get("created", ""))
    primary = data.get("primary")
    if primary not in keys:
        raise bad("primary", f"{primary!r} 不在 keys 中", f"{primary!r} is not one of keys")
    try:
        index_key = bytes.fromhex(data.get("index_key", ""))
    except ValueError:
        raise bad("index_key", "应为十六进制", "must be hex") from None
    if len(index_key) < 32:
        raise bad("index_key", "至少 32 字节", "needs at least 32 bytes")
    return Keyring(keys, str(primary), index_key, source, created)


def key_file() -> Path:
    return Path(os.environ.get("YIBAO_KEY_FILE") or DEFAULT_KEY_FILE)


def create_keyring(path: Path | None = None, algorithm: str | None = None) -> Keyring:
    """A new keyring written to ``path`` (mode 0600); refuses to overwrite an existing file."""
    algorithm = algorithm or os.environ.get("YIBAO_CIPHER", "sm4-gcm")
    _check_algorithm(algorithm, "YIBAO_CIPHER")
    path = path or key_file()
    ring = Keyring({}, "", secrets.token_bytes(32), str(path)).with_new_primary(algorithm)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ring.to_json())
    return ring


def write_keyring(ring: Keyring, path: Path) -> None:
    """Replace the keyring file atomically (a crash leaves the old or the new file, never half)."""
    tmp = path.with_name(path.name + ".new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(ring.to_json())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


_RING: Keyring | None = None


def keyring(*, create: bool = False) -> Keyring:
    """The process's keyring: ``YIBAO_DATA_KEYS`` (JSON), else the key file. ``create`` makes the
    file when it does not exist (database initialisation only: a lost key file is never silently
    replaced while encrypted rows exist, see :func:`yibao.db.migrate.upgrade`)."""
    global _RING
    if _RING is not None:
        return _RING
    inline = os.environ.get("YIBAO_DATA_KEYS")
    if inline:
        _RING = parse_keyring(inline, "YIBAO_DATA_KEYS")
        return _RING
    path = key_file()
    if not path.exists():
        if not create:
            raise KeyringError(
                f"找不到密钥环文件 {path}：个人信息字段加密存放，需要它才能读写。请设置 YIBAO_KEY_FILE "
                "指向密钥环，或用 YIBAO_DATA_KEYS 提供；新数据库由 yibao db upgrade 生成密钥环",
                f"no keyring file at {path}: personal fields are stored encrypted and need it. Set "
                "YIBAO_KEY_FILE to the keyring, or give it in YIBAO_DATA_KEYS; yibao db upgrade "
                "creates one for a new database",
            )
        _RING = create_keyring(path)
        return _RING
    _RING = parse_keyring(path.read_text(encoding="utf-8"), str(path))
    return _RING


def reset_keyring(ring: Keyring | None = None) -> None:
    """Forget the loaded keyring (or install ``ring``): after a rotation, and between tests."""
    global _RING
    _RING = ring


def blind_index(value: str | None) -> str | None:
    """The keyed SM3-HMAC of a value, for equality look-ups without decrypting."""
    return None if value is None else keyring().index(value)


def seal(value: str, context: str) -> str:
    """``value`` as the ciphertext :class:`Encrypted` (``context``) stores, for bulk loaders that
    write rows without the ORM (COPY)."""
    return keyring().encrypt(value, context)


def key_id_of(stored: str) -> str:
    return stored.partition("$")[0]


class Encrypted(TypeDecorator[str]):
    """A text column stored as SM4-GCM ciphertext under the keyring's primary key.

    Comparisons in SQL cannot work on it (each encryption uses a fresh nonce): look up through
    the column's blind index instead.
    """

    impl = Text
    cache_ok = True

    class Comparator(TypeDecorator.Comparator[str]):
        """Only ``IS [NOT] NULL`` means anything on ciphertext: any other comparison would be
        silently false, so it fails loudly and names the blind index to use."""

        def operate(self, op: Any, *other: Any, **kwargs: Any) -> Any:
            null_test = other == (None,) and op in (operators.eq, operators.ne)
            if op in (operators.is_, operators.is_not) or null_test:
                return super().operate(op, *other, **kwargs)
            raise TypeError(f"{self.expr} is encrypted: compare its blind index (…_bidx), not the value")

    comparator_factory = Comparator

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else keyring().encrypt(value, self.context)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        ring = keyring()
        if key_id_of(value) not in ring.keys and ring.source != "YIBAO_DATA_KEYS":
            reset_keyring()  # another process rotated the keys: read the keyring file again
            ring = keyring()
        return ring.decrypt(value, self.context)

"""Uploaded files (the wage file): checked by name and size, written to a private temporary folder."""

from __future__ import annotations

from pathlib import Path

from yibao.errors import InputError

__all__ = ["MAX_UPLOAD", "WAGE_FILE_SUFFIXES", "save_upload"]

MAX_UPLOAD = 20 * 1024 * 1024
WAGE_FILE_SUFFIXES = (".xlsx", ".csv")


def save_upload(
    filename: str | None, data: bytes, folder: Path, suffixes: tuple[str, ...] = WAGE_FILE_SUFFIXES
) -> tuple[str, Path]:
    """``(the name shown, the path written)``; a wrong kind or a file over :data:`MAX_UPLOAD` is an
    :class:`~yibao.errors.InputError` naming the file. The stored name is ours, never the client's."""
    name = Path(filename or "upload").name
    suffix = Path(name).suffix.lower()
    if suffix not in suffixes:
        raise InputError(
            "file", name, f"应为 {' 或 '.join(suffixes)} 文件", f"expected a {' or '.join(suffixes)} file"
        )
    if len(data) > MAX_UPLOAD:
        raise InputError(
            "file",
            name,
            f"文件超过 {MAX_UPLOAD // 2**20} MB",
            f"the file is larger than {MAX_UPLOAD // 2**20} MB",
        )
    path = folder / f"upload{suffix}"
    path.write_bytes(data)
    return name, path

"""Write a raw feed table as a department sends it: CSV (UTF-8 or GB18030), Excel or Parquet.

Every file is written under a temporary name and renamed when complete, so an interrupted run
never leaves a truncated feed under the real name.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from yibao.match.synthetic.model import FeedFormat

__all__ = ["write_feed"]


def _xlsx(raw: pl.DataFrame, path: Path) -> None:
    import openpyxl  # type: ignore[import-untyped]  # no stubs installed

    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    sheet.append(raw.columns)
    for row in raw.iter_rows():
        sheet.append(list(row))
    book.save(path)


def write_feed(raw: pl.DataFrame, folder: Path, name: str, fmt: FeedFormat) -> Path:
    """``folder/<name>.<csv|xlsx|parquet>``; the path written."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.{fmt.format}"
    tmp = folder / f".{name}.{fmt.format}.part"
    if fmt.format == "csv":
        text = raw.write_csv()
        tmp.write_bytes(text.encode(fmt.encoding))
    elif fmt.format == "xlsx":
        _xlsx(raw, tmp)
    else:
        raw.write_parquet(tmp)
    tmp.replace(path)
    return path

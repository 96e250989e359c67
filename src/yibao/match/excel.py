"""The worklists as an Excel workbook for bureau staff (openpyxl, write-only: memory stays flat).

- A **summary** sheet (汇总) first: each worklist's rows by priority, rows whose identity should be
  checked first, the amount involved in yuan; the thresholds with where each came from (policy,
  default or option); the run's provenance (run and register folders, as-of date, region and
  policy, the register export's audit event, feeds used, the time of writing) and whether IDs are
  masked.
- One sheet per worklist: Chinese headers in row 1, English in row 2, both frozen; column widths
  set; an auto-filter on the headers. Money is shown in yuan (``#,##0.00``) from integer fen,
  months as ``2024-12``, the match probability with three decimals.
- ID numbers and names are **masked** (``110105********002X``, ``张*``; :mod:`yibao.ids.masking`)
  unless ``full_ids`` is asked for explicitly.
- A worklist longer than an Excel sheet (1,048,576 rows) continues on sheets ``… (2)``, ``… (3)``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

import polars as pl
from openpyxl import Workbook  # type: ignore[import-untyped]  # no stubs installed
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.styles import Alignment, Font, PatternFill  # type: ignore[import-untyped]
from openpyxl.utils import get_column_letter  # type: ignore[import-untyped]

from yibao.errors import InputError
from yibao.match.worklists.common import COLUMNS, Column
from yibao.match.worklists.registry import BY_CODE, WORKLISTS, WorklistResult, mask_frame

__all__ = ["MAX_DATA_ROWS", "SUMMARY_SHEET", "sheet_columns", "write_workbook"]

WriteOnlyWorksheet = Any  # openpyxl.worksheet._write_only.WriteOnlyWorksheet (no stubs)

SUMMARY_SHEET: Final = "汇总 summary"
#: Data rows per sheet: Excel's 1,048,576 rows less the two header rows.
MAX_DATA_ROWS: Final = 1_048_576 - 2
_MONEY: Final = "#,##0.00"
_HEAD_FILL: Final = PatternFill("solid", fgColor="DDEBF7")
_HEAD_FONT: Final = Font(bold=True)
_SUB_FONT: Final = Font(italic=True, color="555555")
# who and what first, the worklist's own figures, the words in Chinese then English, the link last
_FRONT: Final = ("priority", "subtype", "person_id", "id_number", "name", "employer_id", "employer_uscc",
                 "employer_name", "month", "amount_fen")
_BACK: Final = ("reason_zh", "evidence_zh", "suggested_action_zh", "reason_en", "evidence_en",
                "suggested_action_en", "feed", "source_row", "link_method", "match_probability",
                "identity_check", "subject", "evidence")


def sheet_columns(frame: pl.DataFrame) -> list[str]:
    """The order of a worklist sheet's columns (the ``worklist`` code is the sheet itself)."""
    own = [c for c in frame.columns if c not in _FRONT and c not in _BACK and c != "worklist"]
    return [*_FRONT, *own, *_BACK]


def _head(ws: WriteOnlyWorksheet, texts: list[str], font: Font = _HEAD_FONT) -> list[WriteOnlyCell]:
    cells = []
    for t in texts:
        c = WriteOnlyCell(ws, value=t)
        c.font = font
        c.fill = _HEAD_FILL
        c.alignment = Alignment(wrap_text=True, vertical="top")
        cells.append(c)
    return cells


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else Decimal(int(fen)).scaleb(-2)


def _money_cell(ws: WriteOnlyWorksheet, fen: int | None) -> WriteOnlyCell:
    c = WriteOnlyCell(ws, value=_yuan(fen))
    c.number_format = _MONEY
    return c


def _converter(ws: WriteOnlyWorksheet, col: Column) -> Callable[[Any], Any]:
    """How one column's value becomes a cell value."""
    if col.kind == "money":
        return lambda v: _money_cell(ws, v)
    if col.kind == "month":
        return lambda v: None if v is None else f"{int(v) // 100}-{int(v) % 100:02d}"
    if col.kind == "prob":

        def prob(v: Any) -> Any:
            if v is None:
                return None
            c = WriteOnlyCell(ws, value=float(v))
            c.number_format = "0.000"
            return c

        return prob
    if col.kind == "bool":
        return lambda v: None if v is None else ("是 yes" if v else "")
    return lambda v: v


def _chunks(frame: pl.DataFrame, size: int) -> Iterator[pl.DataFrame]:
    if frame.height == 0:
        yield frame
        return
    for start in range(0, frame.height, size):
        yield frame.slice(start, size)


def _sheet(wb: Workbook, title: str, frame: pl.DataFrame) -> None:
    ws = wb.create_sheet(title)
    cols = [COLUMNS[c] for c in frame.columns]
    for j, col in enumerate(cols, start=1):
        ws.column_dimensions[get_column_letter(j)].width = col.width
    ws.freeze_panes = "A3"
    if frame.width:
        ws.auto_filter.ref = f"A2:{get_column_letter(frame.width)}{frame.height + 2}"
    ws.append(_head(ws, [c.zh for c in cols]))
    ws.append(_head(ws, [c.en for c in cols], _SUB_FONT))
    convert = [_converter(ws, c) for c in cols]
    for row in frame.iter_rows():
        ws.append([f(v) for f, v in zip(convert, row, strict=True)])


def _summary(wb: Workbook, result: WorklistResult, full_ids: bool) -> None:
    ws = wb.create_sheet(SUMMARY_SHEET)
    for j, width in enumerate((26, 34, 44, 10, 10, 10, 10, 12, 16, 50), start=1):
        ws.column_dimensions[get_column_letter(j)].width = width
    ws.append(_head(ws, ["精准参保工作清单", "precise enrollment worklists"]))
    prov = result.provenance
    ws.append(["地区 region", str(prov.get("region_label", prov.get("region", "")))])
    ws.append(["截至日期 as of", str(prov.get("as_of", ""))])
    ws.append(
        [
            "证件号码 IDs",
            "完整（经明确授权） full, asked for explicitly"
            if full_ids
            else "已脱敏 masked (110105********002X, 张*)",
        ]
    )
    ws.append([])
    ws.append(
        _head(
            ws,
            [
                "清单代码",
                "清单",
                "worklist",
                "行数",
                "优先级1",
                "优先级2",
                "优先级3",
                "身份待核实",
                "金额（元）",
                "说明",
            ],
        )
    )
    ws.append(
        _head(
            ws,
            [
                "code",
                "title",
                "",
                "rows",
                "priority 1",
                "priority 2",
                "priority 3",
                "check identity",
                "amount (yuan)",
                "note",
            ],
            _SUB_FONT,
        )
    )
    for s in result.summary():
        note = f"{s['note_zh']} / {s['note_en']}" if s["note_zh"] else ""
        ws.append(
            [
                s["worklist"],
                s["title_zh"],
                s["title_en"],
                s["rows"],
                s["priority_1"],
                s["priority_2"],
                s["priority_3"],
                s["identity_check"],
                _money_cell(ws, s["amount_fen"]),
                note,
            ]
        )
    ws.append([])
    ws.append(_head(ws, ["阈值 threshold", "取值 value", "依据 origin", "来源 source"]))
    for t in result.thresholds.values():
        ws.append([t.name, t.value, t.origin, t.source])
    ws.append([])
    ws.append(_head(ws, ["来源信息 provenance", "值 value"]))
    for key, value in prov.items():
        text = (
            value
            if isinstance(value, str | int | float) or value is None
            else json.dumps(value, ensure_ascii=False, default=str)
        )
        ws.append([key, text])
    ws.append(["written_at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")])


def write_workbook(
    result: WorklistResult,
    path: str | Path,
    full_ids: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write the workbook to ``path`` (``.xlsx``); the file is renamed into place when complete."""
    out = Path(path)
    if out.suffix.lower() != ".xlsx":
        raise InputError("out", str(out), "Excel 文件名应以 .xlsx 结尾", "an Excel file name ends in .xlsx")
    out.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook(write_only=True)
    _summary(wb, result, full_ids)
    for w in WORKLISTS:
        if w.code not in result.frames:
            continue
        frame = result.frames[w.code]
        frame = (frame if full_ids else mask_frame(frame)).select(sheet_columns(frame))
        for k, part in enumerate(_chunks(frame, MAX_DATA_ROWS), start=1):
            _sheet(wb, BY_CODE[w.code].sheet if k == 1 else f"{BY_CODE[w.code].sheet} ({k})", part)
        if progress is not None:
            progress(w.code)
    tmp = out.with_name(out.name + ".part")
    try:
        wb.save(tmp)
        tmp.replace(out)
    except OSError as exc:
        raise InputError("out", str(out), f"无法写入：{exc}", f"cannot be written: {exc}") from None
    return out

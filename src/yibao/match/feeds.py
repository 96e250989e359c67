"""Department feeds for precise enrollment (精准参保, DOMAIN.md §8; issue 6): read, validate, normalise.

A :class:`FeedSpec` (one YAML file per feed under ``match/specs/``) maps the headers a department
writes (公民身份号码, 姓名, 所属期 …) to canonical fields. :func:`ingest` reads a CSV (UTF-8 or
GB18030), Excel (.xlsx) or Parquet file, judges every cell of every mapped column and splits the
input into ``rows`` (canonical, normalised columns) and ``bad`` (one line per failed cell). A row
is bad when a required field is empty or any mapped field holds a value that does not validate
— a wrong value is never silently turned into a blank — so ``rows`` plus the distinct
``source_row`` of the ``error`` lines of ``bad`` always make up the whole input.

The person ID is the exception, because linkage can still find the person by name, birth date
and the rest (issue 6, interface point 1 of the match engineers): a row whose ID is unusable —
present but invalid (checksum, date, length, characters …) or empty — stays in ``rows`` with
``id_number`` null, ``id_raw`` the cleaned text and ``id_problem`` the :class:`~yibao.ids.IdReason`
name (``bad_checksum``, ``empty`` …), and is also listed in ``bad`` with ``severity`` ``warning``.
A valid row has ``id_raw`` = its input text and ``id_problem`` null. An empty ID of a feed where
the ID is optional is not reported (``id_problem`` is still ``empty``).

Person IDs are judged by :func:`yibao.ids.validate_ids` (legacy 15-digit numbers become 18 digits),
credit codes by :func:`yibao.ids.is_valid_uscc`, amounts with the rules of
:func:`yibao.money.parse_yuan` (integer fen, at most two decimals, never negative here).
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final, Literal

import polars as pl
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from yibao.errors import InputError, YibaoError
from yibao.ids import IdReason, is_valid_uscc, reason_text, validate_ids
from yibao.ids.uscc import parse_uscc
from yibao.match.normalize import (
    DATE_REASON_TEXT,
    SEX_REASON_TEXT,
    clean_text,
    normalize_names,
    parse_dates,
    parse_months,
    parse_sexes,
)
from yibao.money import parse_yuan

__all__ = ["FIELD_KINDS", "SEVERITIES", "FeedError", "FeedResult", "FeedSpec", "ingest", "load_spec",
           "shipped_specs", "write"]

Department = Literal["public_security", "civil_affairs", "tax", "market_supervision", "human_resources",
                     "other_region"]
FeedKind = Literal["births", "deaths", "hukou_moves", "low_income", "tax_wages", "new_businesses",
                   "closed_businesses", "employment_registrations", "unemployment", "register"]
FieldKind = Literal["id", "name", "sex", "date", "month", "money", "uscc", "text"]

# Canonical fields and how each is judged. Money fields are given in yuan and come out as ``*_fen``.
FIELD_KINDS: Final[dict[str, FieldKind]] = {
    "id_number": "id", "name": "name", "sex": "sex", "birth_date": "date", "event_date": "date",
    "month": "month", "wage_yuan": "money", "benefit_yuan": "money", "employer_uscc": "uscc",
    "employer_name": "text", "region_code": "text", "from_region_code": "text", "to_region_code": "text",
    "household_id": "text", "event_type": "text", "insurance_type": "text", "status": "text",
}

_BAD_SCHEMA: Final = {"source_row": pl.Int64, "field": pl.String, "value": pl.String, "reason_zh": pl.String,
                      "reason_en": pl.String, "severity": pl.String}
#: ``severity`` of a line of ``bad``: an ``error`` drops the row, a ``warning`` keeps it (unusable ID).
SEVERITIES: Final = ("error", "warning")
# IdReason code → its name, the ``id_problem`` of a kept row
_ID_PROBLEM: Final = {int(r): r.name for r in IdReason if r is not IdReason.ok}


class FeedSpec(BaseModel):
    """One department feed: who sends it, what it holds and which header is which field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    department: Department
    kind: FeedKind
    description: str = ""
    columns: dict[str, str] = Field(min_length=1, description="header in the file → canonical field")
    required: list[str] = Field(default_factory=list)
    date_formats: dict[str, list[str]] = Field(
        default_factory=dict, description="strptime formats tried first for a date field")

    @model_validator(mode="after")
    def _known_fields(self) -> FeedSpec:
        unknown = sorted({f for f in self.columns.values() if f not in FIELD_KINDS})
        if unknown:
            raise ValueError(f"unknown canonical fields {unknown}; known: {sorted(FIELD_KINDS)}")
        missing = sorted(set(self.required) - set(self.columns.values()))
        if missing:
            raise ValueError(f"required fields {missing} have no column")
        bad_hint = sorted(f for f in self.date_formats if FIELD_KINDS.get(f) not in ("date", "month"))
        if bad_hint:
            raise ValueError(f"date_formats given for non-date fields {bad_hint}")
        return self

    def fields(self) -> list[str]:
        """Canonical fields in the order they first appear in ``columns``."""
        return list(dict.fromkeys(self.columns.values()))


class FeedError(YibaoError):
    """A feed file cannot be read as its spec says (missing columns, unknown format, bad spec)."""


@dataclass(frozen=True)
class FeedResult:
    """The good rows (canonical columns + ``source_row``) and one line per bad cell."""

    spec: FeedSpec
    source: str
    input_rows: int
    rows: pl.DataFrame
    bad: pl.DataFrame

    def bad_row_count(self) -> int:
        """Rows dropped: the distinct rows with an ``error`` line."""
        errors = self.bad.filter(pl.col("severity") == "error")
        return int(errors["source_row"].n_unique()) if errors.height else 0

    def id_warning_count(self) -> int:
        """Rows kept for linkage although their ID is unusable (``warning`` lines of kept rows)."""
        warned = self.bad.filter(pl.col("severity") == "warning")["source_row"]
        return int(warned.is_in(self.rows["source_row"].implode()).sum())

    def summary(self) -> dict[str, object]:
        errors = self.bad.filter(pl.col("severity") == "error")
        by_field = (errors.group_by("field").len().sort("field").rows() if errors.height else [])
        return {"feed": self.spec.name, "department": self.spec.department, "kind": self.spec.kind,
                "source": self.source, "input_rows": self.input_rows, "good_rows": self.rows.height,
                "bad_rows": self.bad_row_count(), "bad_cells_by_field": dict(by_field),
                "rows_with_unusable_id": self.id_warning_count()}


# ---- specs -------------------------------------------------------------------------------------

def load_spec(source: str | Path) -> FeedSpec:
    """A spec from a YAML file, or a shipped spec by name (``tax_wages``)."""
    path = Path(source)
    if not path.suffix:
        shipped = shipped_specs()
        if str(source) not in shipped:
            raise FeedError(f"没有名为 {source} 的数据规格；可用：{', '.join(sorted(shipped))}",
                            f"no feed spec named {source}; shipped: {', '.join(sorted(shipped))}")
        return shipped[str(source)]
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise FeedError(f"无法读取数据规格 {path}：{exc}", f"cannot read feed spec {path}: {exc}") from None
    return _validate_spec(data, str(path))


def _validate_spec(data: object, where: str) -> FeedSpec:
    try:
        return FeedSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '-'}: {e['msg']}" for e in exc.errors())
        raise FeedError(f"数据规格 {where} 无效：{problems}",
                        f"feed spec {where} is invalid: {problems}") from None


def shipped_specs() -> dict[str, FeedSpec]:
    """The specs shipped with yibao, by name."""
    out: dict[str, FeedSpec] = {}
    folder = resources.files("yibao.match") / "specs"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            spec = _validate_spec(yaml.safe_load(entry.read_text(encoding="utf-8")), entry.name)
            out[spec.name] = spec
    return out


# ---- reading -----------------------------------------------------------------------------------

def _header(text: object) -> str:
    return (clean_text(text) or "").lstrip("\ufeff").replace(" ", "")


def _read_csv(path: Path) -> pl.DataFrame:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise FeedError(f"{path}：不是 UTF-8 或 GB18030 编码的文本",
                            f"{path}: not text in UTF-8 or GB18030") from None
        raw = text.encode("utf-8")
    else:
        raw = text.encode("utf-8") if raw.startswith(b"\xef\xbb\xbf") else raw
    # every column as text: ID numbers keep their leading zeros and X, amounts their exact digits
    try:
        return pl.read_csv(io.BytesIO(raw), infer_schema=False)
    except pl.exceptions.PolarsError as exc:
        first = str(exc).splitlines()[0]
        ragged = "more fields" in first  # typically an unquoted amount like 1,234.50
        raise FeedError(f"无法按 CSV 读取 {path}（{first}）" + ("；含逗号的值须加引号" if ragged else ""),
                        f"cannot read {path} as CSV ({first})"
                        + ("; quote values that contain commas" if ragged else "")) from None


def _excel_cell(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return None if value is None else str(value)


def _read_xlsx(path: Path) -> pl.DataFrame:
    import openpyxl  # type: ignore[import-untyped]  # no stubs installed

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise FeedError(f"无法读取 Excel 文件 {path}：{exc}",
                        f"cannot read Excel file {path}: {exc}") from None
    try:
        sheet = book.worksheets[0]
        it = sheet.iter_rows(values_only=True)
        header = [str(h) if h is not None else "" for h in next(it, ())]
        columns: list[list[object]] = [[] for _ in header]
        for row in it:
            if all(v is None for v in row):
                continue  # Excel keeps formatted but empty rows at the end
            for j in range(len(header)):
                columns[j].append(_excel_cell(row[j]) if j < len(row) else None)
    finally:
        book.close()
    return pl.DataFrame({h or f"column_{j + 1}": pl.Series(c, dtype=pl.String)
                         for j, (h, c) in enumerate(zip(header, columns, strict=True))})


def read_feed(path: Path) -> pl.DataFrame:
    """The raw table of a feed file (.csv, .txt, .xlsx, .parquet)."""
    if not path.is_file():
        raise FeedError(f"找不到文件 {path}", f"file not found: {path}")
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    if suffix == ".parquet":
        return pl.read_parquet(path)
    raise FeedError(f"{path}：不支持的文件类型 {suffix}（可用 .csv、.xlsx、.parquet）",
                    f"{path}: unsupported file type {suffix} (accepted: .csv, .xlsx, .parquet)")


def _pick_columns(raw: pl.DataFrame, spec: FeedSpec, source: str) -> dict[str, str]:
    """Canonical field → the raw column holding it (the first header of the spec found)."""
    found = {_header(c): c for c in raw.columns}
    picked: dict[str, str] = {}
    for head, field in spec.columns.items():
        if field not in picked and _header(head) in found:
            picked[field] = found[_header(head)]
    missing = [f for f in spec.required if f not in picked]
    if missing:
        wanted = [" 或 ".join(h for h, f in spec.columns.items() if f == m) for m in missing]
        wanted_en = [" or ".join(h for h, f in spec.columns.items() if f == m) for m in missing]
        raise FeedError(
            f"文件 {source} 缺少必需的列：{'；'.join(wanted)}。文件中的列：{'，'.join(raw.columns)}；"
            f"数据规格 {spec.name} 需要：{'，'.join(_required_heads(spec))}",
            f"file {source} lacks required columns: {'; '.join(wanted_en)}. Columns found: "
            f"{', '.join(raw.columns)}; feed spec {spec.name} expects: {', '.join(_required_heads(spec))}")
    return picked


def _required_heads(spec: FeedSpec) -> list[str]:
    return [h for h, f in spec.columns.items() if f in spec.required]


# ---- judging -----------------------------------------------------------------------------------

Judged = tuple[dict[str, pl.Series], pl.Series, Callable[[int], tuple[str, str]]]

_MONEY_FAST: Final = r"^(\d+)(?:\.(\d{1,2}))?$"


def _money_cell(value: str) -> tuple[int | None, int]:
    try:
        fen = parse_yuan(value, "wage_yuan")
    except InputError as exc:
        return None, 3 if "两位小数" in exc.zh else 2
    return (fen, 0) if fen >= 0 else (None, 4)


_MONEY_TEXT: Final = {1: ("金额为空", "amount is empty"),
                      2: ("不是金额（元，如 8500.00）", "not an amount in yuan (e.g. 8500.00)"),
                      3: ("金额最多精确到分（两位小数）", "amounts have at most two decimals (fen)"),
                      4: ("金额不能为负", "the amount may not be negative")}


def _judge_money(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    cleaned = text.str.replace_all(r"[,，\s]", "").str.strip_suffix("元")
    parts = pl.DataFrame({"t": cleaned}).select(pl.col("t").str.extract_groups(_MONEY_FAST).alias("g"))["g"]
    whole = parts.struct.field("1").cast(pl.Int64, strict=False)
    frac = parts.struct.field("2").fill_null("0").str.pad_end(2, "0").cast(pl.Int64, strict=False)
    fast = whole * 100 + frac
    slow_input = text.set(fast.is_not_null(), None)
    uniques = {u: _money_cell(u) for u in slow_input.drop_nulls().unique().to_list()}
    slow = slow_input.replace_strict({u: r[0] for u, r in uniques.items()}, default=None,
                                     return_dtype=pl.Int64)
    slow_reason = slow_input.replace_strict({u: r[1] for u, r in uniques.items()}, default=1,
                                            return_dtype=pl.Int8)
    fen = fast.fill_null(slow)
    reason = pl.select(pl.when(fast.is_not_null()).then(pl.lit(0, pl.Int8))
                       .otherwise(slow_reason)).to_series()
    return fen, reason


def _judge_uscc(text: pl.Series) -> tuple[pl.Series, pl.Series]:
    uniques = text.drop_nulls().unique().to_list()
    clean = {u: (parse_uscc(u) if is_valid_uscc(u) else None) for u in uniques}
    value = text.replace_strict(clean, default=None, return_dtype=pl.String)
    reason = pl.select(pl.when(text.is_null()).then(pl.lit(1, pl.Int8))
                       .when(value.is_null()).then(pl.lit(2, pl.Int8))
                       .otherwise(pl.lit(0, pl.Int8))).to_series()
    return value, reason


_USCC_TEXT: Final = {1: ("统一社会信用代码为空", "credit code is empty"),
                     2: ("不是有效的统一社会信用代码（GB 32100-2015）",
                         "not a valid unified social credit code (GB 32100-2015)")}
_TEXT_EMPTY: Final = {1: ("值为空", "value is empty")}


def _with_hints(text: pl.Series, formats: list[str]) -> pl.Series:
    """Cells matching a spec's strptime hint, rewritten ISO so the general parser reads them."""
    out = text
    for fmt in formats:
        got = text.str.to_date(fmt, strict=False)
        out = pl.select(pl.when(got.is_not_null()).then(got.cast(pl.String)).otherwise(out)).to_series()
    return out


def _judge(field: str, column: pl.Series, spec: FeedSpec) -> Judged:
    """Canonical output column(s), the Int8 reason per row (0 fine, 1 empty), and the reason texts."""
    kind = FIELD_KINDS[field]
    text = column if column.dtype in (pl.Date, pl.Datetime) else column.cast(pl.String)
    if text.dtype == pl.String:
        text = text.str.strip_chars()
        text = text.set(text == "", None)
    if kind == "id":
        batch = validate_ids(text.to_list())
        reason = pl.Series(field, batch.reason, dtype=pl.Int8)
        ids = pl.Series(field, batch.normalised, dtype=pl.String)
        raw = text.cast(pl.String).alias("id_raw")
        problem = reason.replace_strict(_ID_PROBLEM, default=None, return_dtype=pl.String).alias("id_problem")
        return ({field: ids, "id_raw": raw, "id_problem": problem}, reason,
                lambda c: (reason_text(c, "zh"), reason_text(c, "en")))
    if kind == "name":
        names = normalize_names(text)
        out = {c: names[c] for c in names.columns} if field == "name" else {field: names["name"]}
        return out, text.is_null().cast(pl.Int8), _TEXT_EMPTY.__getitem__
    if kind == "sex":
        sex, reason = parse_sexes(text)
        return {field: sex}, reason, SEX_REASON_TEXT.__getitem__
    if kind in ("date", "month"):
        if text.dtype == pl.String and spec.date_formats.get(field):
            text = _with_hints(text, spec.date_formats[field])
        day, reason = (parse_dates if kind == "date" else parse_months)(text)
        return {field: day}, reason, DATE_REASON_TEXT.__getitem__
    if kind == "money":
        fen, reason = _judge_money(text)
        return {field.removesuffix("_yuan") + "_fen": fen}, reason, _MONEY_TEXT.__getitem__
    if kind == "uscc":
        value, reason = _judge_uscc(text)
        return {field: value}, reason, _USCC_TEXT.__getitem__
    cleaned = text.map_elements(clean_text, return_dtype=pl.String) if text.len() else text
    return {field: cleaned}, cleaned.is_null().cast(pl.Int8), _TEXT_EMPTY.__getitem__


_EMPTY: Final = 1


def ingest(path: str | Path, spec: FeedSpec) -> FeedResult:
    """Read one feed file and judge every row; see the module docstring for what makes a row bad."""
    path = Path(path)
    raw = read_feed(path)
    picked = _pick_columns(raw, spec, str(path))
    n = raw.height
    source_row = pl.Series("source_row", range(1, n + 1), dtype=pl.Int64)
    outputs: dict[str, pl.Series] = {}
    is_bad = pl.Series([False] * n, dtype=pl.Boolean)
    bad_parts: list[pl.DataFrame] = []
    for field in spec.fields():
        if field not in picked:
            continue
        column = raw[picked[field]]
        out, reason, texts = _judge(field, column, spec)
        outputs.update(out)
        failed = (reason != 0) if field in spec.required else ((reason != 0) & (reason != _EMPTY))
        # an unusable person ID keeps its row for linkage (see the module docstring)
        severity = "warning" if FIELD_KINDS[field] == "id" else "error"
        if severity == "error":
            is_bad = is_bad | failed
        if failed.any():
            codes = reason.filter(failed)
            text = {int(c): texts(int(c)) for c in codes.unique().to_list()}
            count = int(failed.sum())
            bad_parts.append(pl.DataFrame({
                "source_row": source_row.filter(failed),
                "field": pl.Series([field] * count, dtype=pl.String),
                "value": column.filter(failed).cast(pl.String),
                "reason_zh": codes.replace_strict({c: t[0] for c, t in text.items()}, return_dtype=pl.String),
                "reason_en": codes.replace_strict({c: t[1] for c, t in text.items()}, return_dtype=pl.String),
                "severity": pl.Series([severity] * count, dtype=pl.String),
            }, schema=_BAD_SCHEMA))
    frame = pl.DataFrame([source_row, *(s.alias(k) for k, s in outputs.items())])
    rows = frame.filter(~is_bad)
    bad = (pl.concat(bad_parts).sort("source_row", "field", maintain_order=True) if bad_parts
           else pl.DataFrame(schema=_BAD_SCHEMA))
    return FeedResult(spec=spec, source=str(path), input_rows=n, rows=rows, bad=bad)


def write(result: FeedResult, out_dir: str | Path) -> dict[str, str]:
    """``rows.parquet``, ``bad_rows.parquet`` and ``summary.json`` in ``out_dir``; their paths."""
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        paths = {"rows": out / "rows.parquet", "bad_rows": out / "bad_rows.parquet",
                 "summary": out / "summary.json"}
        result.rows.write_parquet(paths["rows"])
        result.bad.write_parquet(paths["bad_rows"])
        paths["summary"].write_text(json.dumps(result.summary(), ensure_ascii=False, indent=2) + "\n",
                                    encoding="utf-8")
    except OSError as exc:
        raise FeedError(f"无法写入 {out}：{exc}", f"cannot write to {out}: {exc}") from None
    return {k: str(v) for k, v in paths.items()}


"""Bulk import of a unit's wage declarations from a CSV or Excel (.xlsx) file (批量申报缴费工资).

**Layout.** The first row is the header; each later row declares one employee's monthly wage from a
month. Headers may be Chinese or English (either spelling, full- or half-width, any case):

=====================  ==========================  ===========================================
column                 Chinese header              accepted values
=====================  ==========================  ===========================================
``id_number``          证件号码 (身份证号码)        an 18-digit ID (15-digit legacy, foreign
                                                   permanent residence IDs too), registered
``name``               姓名                        the name in the register
``wage``               缴费工资                    yuan: ``8000``, ``8000.50``, ``"8,000元"``,
                                                   ``"0.8万"`` (:func:`yibao.money.parse_yuan`)
``month_from``         起始月份                    ``202403``, ``2024-03``, ``2024年3月`` or a date
``uscc`` (optional)    单位统一社会信用代码         the unit (else the one given on the command line)
=====================  ==========================  ===========================================

A column ``序号`` / ``no`` (row number) is ignored. A missing or unknown column is one error naming
the file, the columns found and the columns expected, in both languages; nothing is read further.

**Validation.** Every row is checked, and every bad field of every row is reported with its row
number (the spreadsheet's: the header is row 1), the field, the value (ID numbers and names
masked) and what is accepted: the ID (checksum) and that it is registered; the name against the
register; the wage; the month; the unit (valid, registered in the region); an in-service
enrollment of the person with that unit covering the month; no duplicate within the file (the
row names the earlier row) nor of a declaration already recorded.

**Modes.** ``all_or_nothing`` (default): if any row is bad nothing is imported. ``good_rows``: the
good rows are imported and the bad ones reported. Either way the import is one transaction in the
caller's session (the rows are written inside a savepoint that is rolled back when nothing may be
kept), so a file is never half imported; the audit event of the import is kept in both cases.

**Large files** are streamed in batches of :data:`BATCH_ROWS` rows: each batch costs a handful of
queries (persons, enrollments, existing declarations by ``IN``) and one ``executemany`` insert.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from yibao.admin import audit
from yibao.admin.declarations import (
    bulk_insert,
    parse_wage,
    ym_text,
)
from yibao.admin.policies import region_policy
from yibao.admin.uow import Actor
from yibao.db.base import month_of, parse_month, utcnow
from yibao.db.crypto import blind_index
from yibao.db.models.contribution import WageDeclaration
from yibao.db.models.enrollment import Enrollment
from yibao.db.models.register import Employer, Person
from yibao.errors import InputError, YibaoError
from yibao.ids import mask_id, mask_name, parse_uscc, reason_text, validate_ids
from yibao.ids._text import clean_identifier
from yibao.money import fen_to_yuan_str

__all__ = ["BATCH_ROWS", "COLUMNS", "MODES", "BadRow", "ImportReport", "WageFileColumnsError",
           "import_wage_file"]

Mode = Literal["all_or_nothing", "good_rows"]
MODES: tuple[str, ...] = ("all_or_nothing", "good_rows")
BATCH_ROWS = 5000

#: canonical column → (Chinese header, every accepted spelling)
COLUMNS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id_number": ("证件号码", ("证件号码", "身份证号码", "身份证号", "公民身份号码", "id_number", "id")),
    "name": ("姓名", ("姓名", "name")),
    "wage": ("缴费工资", ("缴费工资", "缴费工资(元)", "缴费工资元", "月缴费工资", "wage", "wage_yuan")),
    "month_from": ("起始月份", ("起始月份", "起始年月", "开始月份", "month_from", "from")),
    "uscc": ("单位统一社会信用代码", ("单位统一社会信用代码", "统一社会信用代码", "uscc", "employer")),
}
REQUIRED = ("id_number", "name", "wage", "month_from")
IGNORED = ("序号", "no", "row")


def _norm_header(text: object) -> str:
    t = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().lower()
    return "".join(t.split()).replace("（", "(").replace("）", ")")


_ALIASES = {_norm_header(a): canon for canon, (_, names) in COLUMNS.items() for a in names}


class WageFileColumnsError(YibaoError):
    """The header row does not have the expected columns."""

    def __init__(self, path: str, found: Sequence[str], problems_zh: str, problems_en: str) -> None:
        self.path = path
        self.found = list(found)
        exp_zh = "、".join(f"{zh}" + ("（可选）" if c == "uscc" else "") for c, (zh, _) in COLUMNS.items())
        exp_en = ", ".join(c + (" (optional)" if c == "uscc" else "") for c in COLUMNS)
        shown = "、".join(repr(f) for f in found) or "（无）"
        shown_en = ", ".join(repr(f) for f in found) or "(none)"
        super().__init__(
            f"文件 {path} 的表头不符合要求：{problems_zh}。找到的列：{shown}；应有的列：{exp_zh}",
            f"file {path}: the header row is not as expected: {problems_en}. Columns found: {shown_en}; "
            f"columns expected: {exp_en} (Chinese or English headers)",
        )


@dataclass(frozen=True)
class BadRow:
    """One bad field of one row: ``row`` is the spreadsheet row number (header = 1)."""

    row: int
    field: str
    value: str
    zh: str
    en: str


@dataclass
class ImportReport:
    file: str
    mode: str
    employer: str | None
    rows: int = 0  # data rows read (blank rows skipped)
    imported: int = 0
    bad_rows: list[BadRow] = field(default_factory=list)

    @property
    def bad_row_numbers(self) -> list[int]:
        return sorted({b.row for b in self.bad_rows})

    @property
    def ok(self) -> bool:
        return not self.bad_rows

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["bad_row_count"] = len(self.bad_row_numbers)
        return out


# -- reading ----------------------------------------------------------------------------------------
def _csv_rows(path: Path) -> Iterator[list[Any]]:
    with path.open("rb") as fb:
        head = fb.read(1 << 16)
    encoding = "utf-8-sig"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the end of the sample is still UTF-8
        if exc.start < len(head) - 3:
            encoding = "gb18030"  # Excel on Chinese Windows saves CSV in GBK
    with path.open("r", encoding=encoding, newline="") as f:
        yield from csv.reader(f)


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    import openpyxl  # type: ignore[import-untyped]  # no stubs installed

    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # a corrupt or non-Excel file: openpyxl raises many kinds
        raise InputError("file", str(path), f"无法作为 Excel (.xlsx) 文件读取：{exc}",
                         f"cannot be read as an Excel (.xlsx) file: {exc}") from exc
    try:
        ws = wb.active
        if ws is None:
            return
        for values in ws.iter_rows(values_only=True):
            yield list(values)
    finally:
        wb.close()


def _rows(path: Path) -> Iterator[list[Any]]:
    if not path.is_file():
        raise InputError("file", str(path), "文件不存在", "no such file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return _csv_rows(path)
    if suffix in (".xlsx", ".xlsm"):
        return _xlsx_rows(path)
    raise InputError("file", str(path), "只接受 .csv 或 .xlsx 文件（旧版 .xls 请另存为 .xlsx）",
                     "only .csv and .xlsx files are accepted (save an old .xls as .xlsx)")


def _blank(cell: object) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _header(path: Path, cells: Sequence[Any], has_default_uscc: bool) -> dict[str, int]:
    found = [("" if c is None else str(c)).strip() for c in cells]
    while found and not found[-1]:
        found.pop()
    where: dict[str, int] = {}
    unknown: list[str] = []
    doubled: list[str] = []
    ignored = {_norm_header(x) for x in IGNORED}
    for i, name in enumerate(found):
        key = _norm_header(name)
        if key in ignored:
            continue
        canon = _ALIASES.get(key)
        if canon is None:
            unknown.append(name or f"(第 {i + 1} 列空表头 / empty header in column {i + 1})")
        elif canon in where:
            doubled.append(name)
        else:
            where[canon] = i
    missing = [c for c in REQUIRED if c not in where]
    if "uscc" not in where and not has_default_uscc:
        missing.append("uscc")
    if missing or unknown or doubled:
        zh, en = [], []
        if missing:
            zh.append("缺少列 " + "、".join(COLUMNS[c][0] for c in missing))
            en.append("missing column(s) " + ", ".join(missing))
        if unknown:
            zh.append("无法识别的列 " + "、".join(unknown))
            en.append("unknown column(s) " + ", ".join(unknown))
        if doubled:
            zh.append("重复的列 " + "、".join(doubled))
            en.append("column(s) given twice " + ", ".join(doubled))
        if "uscc" in missing:
            zh.append("（单位统一社会信用代码可在命令行用 --employer 给出）")
            en.append("(the unit's USCC may instead be given with --employer)")
        raise WageFileColumnsError(str(path), found, "；".join(zh), "; ".join(en))
    return where


def _month_cell(value: object) -> int:
    if isinstance(value, dt.datetime | dt.date):
        return month_of(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return parse_month(value, "month_from")


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _same_name(given: str, registered: str) -> bool:
    def norm(s: str) -> str:
        return "".join(unicodedata.normalize("NFKC", s).split()).casefold()

    return norm(given) == norm(registered)


# -- validation and import ------------------------------------------------------------------------
_DECLARATION: Table = WageDeclaration.__table__  # type: ignore[assignment]
_INSERTED = ("region_code", "person_id", "payer_kind", "payer_id", "month_from", "month_to", "wage_fen",
             "source", "created_at")


class _Person(NamedTuple):
    id: int
    id_number: str
    name: str


@dataclass
class _Row:
    row: int
    id_text: str
    name: str
    wage_cell: object
    month_cell: object
    uscc_text: str


class _Importer:
    def __init__(self, session: Session, actor: Actor, path: Path, region: str,
                 employer_uscc: str | None, mode: Mode) -> None:
        self.s = session
        self.actor = actor
        self.path = path
        self.region = region
        self.mode = mode
        self.default_uscc = employer_uscc
        self.report = ImportReport(str(path), mode, employer_uscc)
        self.employers: dict[str, Employer | tuple[str, str]] = {}
        self.seen: dict[tuple[int, int, int], int] = {}  # (person, employer, month) → first row
        self.writing = True
        self.spells: dict[int, list[tuple[int | None, int, int | None]]] = {}
        self.existing: dict[tuple[int, int, int], tuple[int, int, str]] = {}

    def bad(self, row: int, fld: str, value: object, zh: str, en: str) -> None:
        self.report.bad_rows.append(BadRow(row, fld, str(value), zh, en))
        if self.mode == "all_or_nothing":
            self.writing = False  # nothing of this file will be kept: stop writing

    def employer(self, text: str) -> Employer | tuple[str, str]:
        got = self.employers.get(text)
        if got is not None:
            return got
        result: Employer | tuple[str, str]
        try:
            code = parse_uscc(text, "uscc")
        except InputError as exc:
            result = (exc.zh, exc.en)
        else:
            emp = self.s.scalar(select(Employer).where(Employer.uscc == code))
            if emp is None:
                result = ("查无此单位（未登记）", "no such employer in the register")
            elif emp.region_code != self.region:
                result = (f"该单位登记在统筹地区 {emp.region_code}，不在 {self.region}",
                          f"the employer is registered in region {emp.region_code}, not {self.region}")
            else:
                result = emp
        self.employers[text] = result
        return result

    def batch(self, rows: list[_Row]) -> None:
        """Validate a batch with a few set queries, then insert its good rows in one executemany."""
        ids = validate_ids([r.id_text for r in rows])
        numbers = {n for n in ids.normalised if n is not None}
        persons = {number: _Person(pid, number, name) for pid, number, name in self.s.execute(
            select(Person.id, Person.id_number, Person.name)
            .where(Person.id_number_bidx.in_([blind_index(n) for n in numbers])))}
        pids = [p.id for p in persons.values()]
        e = Enrollment
        self.spells = {}
        for pid, emp_id, start, end in self.s.execute(
                select(e.person_id, e.employer_id, e.start_month, e.end_month)
                .where(e.person_id.in_(pids), e.region_code == self.region, e.category == "in_service",
                       e.scheme == "employee", e.status != "suspended")):
            self.spells.setdefault(pid, []).append((emp_id, start, end))
        w = WageDeclaration
        q = (select(w.id, w.person_id, w.payer_id, w.month_from, w.wage_fen, w.source)
             .where(w.person_id.in_(pids), w.payer_kind == "employer"))
        self.existing = {(pid, payer, m): (wid, wage, src)
                         for wid, pid, payer, m, wage, src in self.s.execute(q)}
        good: list[tuple[Any, ...]] = []
        now = utcnow()
        for r, number, reason in zip(rows, ids.normalised, ids.reason.tolist(), strict=True):
            n_bad = len(self.report.bad_rows)
            person = self.check_person(r, number, reason, persons)
            wage = None
            try:
                wage = parse_wage(r.wage_cell, "wage")
            except InputError as exc:
                self.bad(r.row, "wage", _text(r.wage_cell), _expect(exc, "zh"), _expect(exc, "en"))
            month = None
            try:
                month = _month_cell(r.month_cell)
            except InputError as exc:
                self.bad(r.row, "month_from", _text(r.month_cell), _expect(exc, "zh"), _expect(exc, "en"))
            found = self.employer(r.uscc_text)
            emp = None
            if isinstance(found, tuple):
                self.bad(r.row, "uscc", r.uscc_text, *found)
            else:
                emp = found
            if person is not None and emp is not None and month is not None:
                self.check_liable(r.row, person, emp, month)
            if len(self.report.bad_rows) == n_bad and self.writing:
                assert person is not None and emp is not None and month is not None and wage is not None
                good.append((self.region, person.id, "employer", emp.id, month, None, wage,
                             self.path.name[:128], now))
        if good and self.writing:
            bulk_insert(self.s, _DECLARATION, _INSERTED, good)
            self.report.imported += len(good)

    def check_person(self, r: _Row, number: str | None, reason: int,
                     persons: dict[str, _Person]) -> _Person | None:
        if number is None:
            shown = mask_id(clean_identifier(r.id_text)) if r.id_text else ""
            self.bad(r.row, "id_number", shown,
                     f"证件号码无效：{reason_text(reason, 'zh')}；"
                     "应为 18 位公民身份号码（或 15 位旧号、外国人永久居留身份证）",
                     f"invalid ID number: {reason_text(reason, 'en')}; expected an 18-digit citizen ID "
                     "(or a legacy 15-digit one, or a foreign permanent residence ID)")
            return None
        person = persons.get(number)
        if person is None:
            self.bad(r.row, "id_number", mask_id(number), "证件号码有效，但此人未登记参保",
                     "the ID number is valid but the person is not in the register")
            return None
        if not _same_name(r.name, person.name):
            self.bad(r.row, "name", mask_name(r.name) or "(空 / empty)",
                     f"姓名与登记不符（登记为 {mask_name(person.name)}）",
                     f"the name does not match the register ({mask_name(person.name)})")
        return person

    def check_liable(self, row: int, person: _Person, emp: Employer, month: int) -> None:
        """An enrollment with the unit covering the month; no duplicate in the file or the database."""
        m = ym_text(month)
        if not any(emp_id == emp.id and start <= month and (end is None or end >= month)
                   for emp_id, start, end in self.spells.get(person.id, [])):
            who = mask_name(person.name)
            self.bad(row, "month_from", m,
                     f"{who} 在 {m} 没有该单位（{emp.uscc}）的有效在职参保",
                     f"{who} has no in-service enrollment with this employer ({emp.uscc}) covering {m}")
        key = (person.id, emp.id, month)
        first = self.seen.get(key)
        if first is not None:
            self.bad(row, "month_from", m, f"与本文件第 {first} 行重复（同一人、同一单位、同一起始月份）",
                     f"duplicates row {first} of this file (same person, employer and first month)")
        else:
            self.seen[key] = row
        dup = self.existing.get(key)
        if dup is not None:
            wid, wage, src = dup
            self.bad(row, "month_from", m,
                     f"已有申报 #{wid}（缴费工资 {fen_to_yuan_str(wage)} 元，来源 {src}），不能重复申报",
                     f"declaration #{wid} already exists (wage {fen_to_yuan_str(wage)} yuan, source {src}); "
                     "a duplicate is refused")

    def run(self) -> ImportReport:
        rows = _rows(self.path)
        header = next(rows, None)
        if header is None:
            raise WageFileColumnsError(str(self.path), [], "文件是空的", "the file is empty")
        where = _header(self.path, header, self.default_uscc is not None)

        def cell(values: list[Any], col: str) -> Any:
            i = where.get(col)
            return values[i] if i is not None and i < len(values) else None

        buf: list[_Row] = []
        for number, values in enumerate(rows, start=2):
            if all(_blank(c) for c in values):
                continue
            self.report.rows += 1
            uscc = _text(cell(values, "uscc")) or (self.default_uscc or "")
            buf.append(_Row(number, _text(cell(values, "id_number")), _text(cell(values, "name")),
                            cell(values, "wage"), cell(values, "month_from"), uscc))
            if len(buf) >= BATCH_ROWS:
                self.batch(buf)
                buf = []
        if buf:
            self.batch(buf)
        return self.report


def _expect(exc: InputError, lang: str) -> str:
    """The "what is accepted" part of an InputError (its message without the field and value)."""
    text = exc.zh if lang == "zh" else exc.en
    for sep in ("无效：", ": invalid value "):
        if sep in text:
            tail = text.split(sep, 1)[1]
            return tail.split(": ", 1)[1] if lang == "en" and ": " in tail else tail
    return text


def import_wage_file(session: Session, actor: Actor, path: str | Path, region: str,
                     employer_uscc: str | None = None, mode: str = "all_or_nothing") -> ImportReport:
    """Import a wage file (module docstring) in the caller's transaction; return the report.

    Raises :class:`WageFileColumnsError` for a wrong header and :class:`InputError` for an unknown
    region or mode, an unreadable file or a bad ``employer_uscc``; bad rows do not raise, they are
    in the report (``all_or_nothing``: then ``imported`` is 0 and nothing was written).
    """
    actor.check_region(region)
    region_policy(session, region)  # an unknown region is a named error before anything is read
    if mode not in MODES:
        raise InputError("mode", mode, "应为 all_or_nothing（有错全不导入）或 good_rows（只导入正确行）",
                         "expected all_or_nothing (any bad row: import nothing) or good_rows (import the "
                         "good rows)")
    default = parse_uscc(employer_uscc, "employer") if employer_uscc else None
    p = Path(path)
    imp = _Importer(session, actor, p, region, default, cast(Mode, mode))
    if default is not None:
        emp = imp.employer(default)
        if isinstance(emp, tuple):
            raise InputError("employer", employer_uscc, *emp)
    savepoint = session.begin_nested()
    try:
        report = imp.run()
        if mode == "all_or_nothing" and report.bad_rows:
            savepoint.rollback()
            report.imported = 0
        else:
            savepoint.commit()
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    audit.record(session, actor, "wage_declaration.import", "wage_file", p.name[:64],
                 ("id_number", "name", "wage_fen", "month_from"), region,
                 outcome="ok" if report.ok else ("partial" if report.imported else "refused"))
    return report


def write_template(path: str | Path) -> None:
    """Write an empty CSV with the Chinese headers (a starting point for units)."""
    buf = io.StringIO()
    csv.writer(buf).writerow([zh for zh, _ in COLUMNS.values()])
    Path(path).write_text(buf.getvalue(), encoding="utf-8-sig")

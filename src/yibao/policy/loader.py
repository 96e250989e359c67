"""Loading a policy file strictly: every problem, with file, line and key, in one pass.

The YAML is composed once to learn the line of every node and loaded once for its values;
pydantic checks the file's shape, :func:`parse_value` each value against the closed catalogue,
and the entries of each parameter are checked for order and overlap.
"""

from __future__ import annotations

import datetime as dt
import difflib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from yibao.errors import PolicyFileError, PolicyIssue
from yibao.policy.catalog import CATALOGUE
from yibao.policy.schema import Entry, PolicyFileModel, ReformHeader, RegionHeader, Source
from yibao.policy.values import ValueProblem, parse_value

__all__ = ["LoadedEntry", "LoadedFile", "load_file", "load_text"]


@dataclass(frozen=True)
class LoadedEntry:
    """A validated entry: the parsed value, its period and its provenance."""

    key: str
    start: dt.date
    end: dt.date | None  # inclusive; None = until the next entry, or open
    value: object
    source: Source | None
    status: str
    derived: bool
    note: str | None
    line: int | None


@dataclass
class LoadedFile:
    path: str
    region: RegionHeader | None
    reform: ReformHeader | None
    entries: dict[str, list[LoadedEntry]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        if self.region is not None:
            return self.region.pinyin
        assert self.reform is not None
        return self.reform.id


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)  # a key keeps its own line, not its value's
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[(*path, key)] = k.start_mark.line + 1
            _lines(v, (*path, key), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _lines(v, (*path, i), out)


def _line_of(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int | None:
    p = tuple(str(x) if not isinstance(x, int) else x for x in path)
    while p:
        if p in lines:
            return lines[p]
        p = p[:-1]
    return None


class _BadDate(yaml.constructor.ConstructorError):
    """A date-shaped scalar that is not a date (e.g. 2023-02-30)."""


class _DateCheckingLoader(yaml.SafeLoader):
    """SafeLoader whose dates fail as YAML errors with a line, not as a bare ValueError."""


def _timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> object:
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError as exc:
        raise _BadDate(None, None, f"{node.value!r} ({exc})", node.start_mark) from exc


_DateCheckingLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp)
_PARAM_LINE = re.compile(r"^  ([a-z_][a-z0-9_.]*):\s*(#.*)?$")


def _key_near(text: str, line: int) -> str:
    """The parameter key whose block holds ``line`` (for YAML errors, before any tree exists)."""
    for candidate in reversed(text.splitlines()[:line]):
        m = _PARAM_LINE.match(candidate)
        if m:
            return m.group(1)
    return "-"


def load_file(path: str | Path) -> LoadedFile:
    """Load and validate one policy file; raise :class:`PolicyFileError` listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyFileError([PolicyIssue(str(p), None, "-", f"无法读取文件：{exc}",
                                           f"cannot read the file: {exc}")]) from exc
    return load_text(text, str(p))


def load_text(text: str, name: str) -> LoadedFile:
    """Validate policy YAML given as text; ``name`` is used in messages."""
    issues: list[PolicyIssue] = []

    def issue(line: int | None, key: str, zh: str, en: str) -> None:
        issues.append(PolicyIssue(name, line, key, zh, en))

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        raw = yaml.load(text, Loader=_DateCheckingLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context_mark", None) or mark
        key = _key_near(text, context.line + 1) if context is not None else "-"
        if isinstance(exc, _BadDate):
            raise PolicyFileError([PolicyIssue(name, line, key, f"日期无效：{problem}，应为 YYYY-MM-DD",
                                               f"invalid date: {problem}; expected YYYY-MM-DD")]) from exc
        raise PolicyFileError([PolicyIssue(name, line, key, f"YAML 语法错误：{problem}",
                                           f"YAML syntax error: {problem}")]) from exc
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    if not isinstance(raw, dict):
        raise PolicyFileError([PolicyIssue(name, 1, "-", "文件应为映射，含 region/reform 与 parameters",
                                           "the file must be a mapping with region/reform and "
                                           "parameters")])
    try:
        model = PolicyFileModel.model_validate(raw)
    except ValidationError as exc:
        for err in exc.errors():
            loc = tuple(err["loc"])
            key = ".".join(str(x) for x in loc) or "-"
            issue(_line_of(lines, loc), key, f"格式错误：{_zh_pydantic(err)}", f"schema: {err['msg']}")
        raise PolicyFileError(issues) from None
    loaded = LoadedFile(name, model.region, model.reform)
    for key, entries in model.parameters.items():
        base = ("parameters", key)
        if key not in CATALOGUE:
            near = difflib.get_close_matches(key, CATALOGUE, n=1)
            hint_zh = f"；是否想写 {near[0]}？" if near else ""
            hint_en = f"; did you mean {near[0]}?" if near else ""
            issue(_line_of(lines, base), key, f"未知参数（目录是封闭的）{hint_zh}",
                  f"unknown parameter (the catalogue is closed){hint_en}")
            continue
        loaded.entries[key] = list(_entries(key, entries, model.sources, lines, base, issue))
        _check_order(loaded.entries[key], issue)
    if issues:
        raise PolicyFileError(issues)
    return loaded


def _entries(key: str, entries: list[Entry], sources: dict[str, Source],
             lines: dict[tuple[Any, ...], int], base: tuple[Any, ...],
             issue: Any) -> Iterator[LoadedEntry]:
    spec = CATALOGUE[key]
    for i, e in enumerate(entries):
        line = _line_of(lines, (*base, i))
        src: Source | None
        if isinstance(e.source, str):
            if e.source not in sources:
                issue(_line_of(lines, (*base, i, "source")), key,
                      f"来源 {e.source!r} 未在 sources 中定义", f"source {e.source!r} is not defined "
                      "under sources")
                continue
            src = sources[e.source]
        else:
            src = e.source
        if src is not None and e.confidence is not None:
            src = src.model_copy(update={"confidence": e.confidence})
        try:
            value = parse_value(spec, e.value)
        except ValueProblem as p:
            vline = _line_of(lines, (*base, i, "value", *p.path))
            where = "".join(f"[{x}]" for x in p.path)
            issue(vline, f"{key}{where}", p.zh, p.en)
            continue
        yield LoadedEntry(key, e.from_, e.to, value, src, e.status, e.derived, e.note, line)


def _check_order(entries: list[LoadedEntry], issue: Any) -> None:
    for a, b in itertools.pairwise(entries):
        if b.start <= a.start:
            issue(b.line, a.key, f"条目须按 from 递增排列（{b.start} 不晚于 {a.start}）",
                  f"entries must be in increasing `from` order ({b.start} is not after {a.start})")
        elif a.end is not None and a.end >= b.start:
            issue(b.line, a.key, f"期间重叠：前一条至 {a.end}，本条自 {b.start}",
                  f"periods overlap: the previous entry runs to {a.end}, this one starts {b.start}")


_ZH_TYPES = {
    "missing": "缺少必填项",
    "extra_forbidden": "不允许的键（格式是封闭的）",
    "date_from_datetime_parsing": "应为日期 YYYY-MM-DD",
    "date_parsing": "应为日期 YYYY-MM-DD",
    "date_type": "应为日期 YYYY-MM-DD",
    "literal_error": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不符",
    "string_type": "应为文本",
    "value_error": "取值错误",
}


def _zh_pydantic(err: Any) -> str:
    t = err.get("type", "")
    return f"{_ZH_TYPES.get(t, '格式不符')}（{err['msg']}）"

"""`yibao policy`: look at the parameter files — regions, one region on a date, differences,
history, the catalogue — and check a file before shipping it (docs/policy-format.md).

Labels are bilingual, Chinese first; ``--lang zh`` or ``--lang en`` keeps one language. Every
error a user can cause is a bilingual message and exit code 2, never a traceback.
"""

from __future__ import annotations

import difflib
import functools
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from yibao.cli.common import PolicyFileOpt, ReformOpt, emit_json, parse_date, registry
from yibao.errors import InputError, PolicyFileError, YibaoError
from yibao.policy.catalog import CATALOGUE
from yibao.policy.check import check_files
from yibao.policy.resolve import Policy
from yibao.policy.view import (
    DIFF_PREFIXES,
    SECTIONS,
    Text,
    defined_in_kind,
    periods,
    row,
    section_keys,
    show_value,
)

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True,
                  help="政策参数：地区、取值、差异、历史、校验 / policy parameters: regions, values, "
                       "differences, history, checks")

LangArg = Annotated[str | None, typer.Option(
    "--lang", help="zh | en（默认双语，中文在前 / default both, Chinese first）")]
OptDate = Annotated[str | None, typer.Option("--date", "-d", help="日期 YYYY-MM-DD / date")]
NeedDate = Annotated[str, typer.Option("--date", "-d", help="日期 YYYY-MM-DD / date")]

P = ParamSpec("P")
R = TypeVar("R")


def _console() -> Console:
    c = Console(highlight=False)
    # Piped or captured output gets a wide width (COLUMNS, else 180) so tables do not wrap mid-word.
    width = int(os.environ.get("COLUMNS", "180")) if os.environ.get("COLUMNS", "180").isdigit() else 180
    return c if c.is_terminal else Console(highlight=False, width=width)


def _guard(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn a YibaoError into its bilingual message on stderr and exit code 2."""

    @functools.wraps(fn)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except YibaoError as exc:
            # Plain echo, not rich: a wrapped line would split "file:line [key]" apart.
            typer.echo(f"错误 / error\n{exc.bilingual()}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return inner


def _lang(lang: str | None) -> str | None:
    if lang not in (None, "zh", "en"):
        raise InputError("--lang", lang, "应为 zh 或 en", "expected zh or en")
    return lang


def _key(key: str) -> str:
    if key in CATALOGUE:
        return key
    near = difflib.get_close_matches(key, CATALOGUE, n=1)
    hint = (f"；是否想写 {near[0]}？", f"; did you mean {near[0]}?") if near else ("", "")
    raise InputError("key", key, f"不是目录中的参数{hint[0]}（见 yibao policy catalogue）",
                     f"not a catalogue key{hint[1]} (see yibao policy catalogue)")


def _table(lang: str | None, *cols: Text) -> Table:
    t = Table(show_lines=False)
    for c in cols:
        t.add_column(c.pick(lang), overflow="fold")
    return t


def _ids(reforms: list[str] | None) -> list[str]:
    return [r for r in (reforms or []) if not r.endswith((".yaml", ".yml"))]


def _policy(region: str, files: list[Path] | None, reforms: list[str] | None) -> Policy:
    return registry(files, reforms).policy(region, _ids(reforms))


@app.command("regions")
@_guard
def regions(date: OptDate = None, policy_file: PolicyFileOpt = None, lang: LangArg = None) -> None:
    """地区列表及完整度 / regions, and how complete each is on --date."""
    lg = _lang(lang)
    d = parse_date(date) if date else None
    reg = registry(policy_file)
    cols = [Text("代码", "code"), Text("拼音", "pinyin"), Text("中文名", "Chinese name"),
            Text("英文名", "English name"), Text("可信度", "confidence")]
    if d is not None:
        cols += [label for label, _ in SECTIONS.values()]
    t = _table(lg, *cols)
    for h in reg.regions():
        cells = [h.code, h.pinyin, h.name_zh, h.name_en, h.confidence]
        if d is not None:
            snap = reg.policy(h.code).at(d)
            for section in SECTIONS:
                keys = section_keys(section)
                cells.append(f"{sum(snap[k].known for k in keys)}/{len(keys)}")
        t.add_row(*cells)
    out = _console()
    out.print(t)
    if d is None:
        out.print(Text("加 --date 显示各部分已知/所需参数数", "add --date to show known/needed "
                       "parameters per section").pick(lg))
    else:
        out.print(Text(f"{d} 各部分：已知/所需参数数", f"per section on {d}: known/needed "
                       "parameters").pick(lg))


@app.command("show")
@_guard
def show(region: str, date: NeedDate, policy_file: PolicyFileOpt = None, reform: ReformOpt = None,
         as_json: Annotated[bool, typer.Option("--json", help="输出 JSON / print JSON")] = False,
         lang: LangArg = None) -> None:
    """某地区某日的全部参数 / every parameter of a region on a date, with its source."""
    lg = _lang(lang)
    d = parse_date(date)
    pol = _policy(region, policy_file, reform)
    snap = pol.at(d)
    rows = [row(pol, snap[k], lg) for k in CATALOGUE]
    if as_json:
        h = pol.region
        emit_json({"region": {"code": h.code, "pinyin": h.pinyin, "name_zh": h.name_zh,
                              "name_en": h.name_en, "confidence": h.confidence},
                   "date": d.isoformat(), "reforms": [ly.name for ly in pol.layers if ly.reform],
                   "parameters": rows})
        return
    t = _table(lg, Text("参数", "parameter"), Text("取值", "value"), Text("起", "from"),
               Text("止", "to"), Text("定义于", "defined in"), Text("来源", "source"),
               Text("可信度", "confidence"))
    for r in rows:
        src = r["source"]
        src_text = "-" if src is None else src["title"] + (f"（{src['doc_no']}）" if src["doc_no"] else "")
        flags = " *" if r["derived"] else ""
        flags += f" [{r['status']}]" if r["status"] not in ("enacted",) else ""
        kind = defined_in_kind(pol, r["defined_in"])
        where = r["defined_in"] if r["defined_in"] == kind.en else f"{r['defined_in']} ({kind.pick(lg)})"
        t.add_row(f"{r['label']}\n{r['key']}", r["shown"] + flags, r["from"], r["to"] or "-",
                  where, src_text, r["confidence"] or "-")
    out = _console()
    out.print(f"{pol.label} — {d}")
    out.print(t)
    out.print(Text("* 推算值（见说明）", "* derived value (see the note)").pick(lg))


@app.command("diff")
@_guard
def diff(a: str, b: str, date: NeedDate,
         show_all: Annotated[bool, typer.Option("--all", help="比较全部参数 / compare every key")] = False,
         policy_file: PolicyFileOpt = None, reform: ReformOpt = None, lang: LangArg = None) -> None:
    """两地区差异 / side by side, the keys where two regions differ on a date.

    Without --all, the regional differences seed 000 lists: rates, bases, waiting periods,
    deductibles, ceilings and minimum years.
    """
    lg = _lang(lang)
    d = parse_date(date)
    reg = registry(policy_file, reform)
    pa, pb = reg.policy(a, _ids(reform)), reg.policy(b, _ids(reform))
    keys = [k for k in CATALOGUE if show_all or k.startswith(DIFF_PREFIXES)]
    sa, sb = pa.at(d), pb.at(d)
    t = _table(lg, Text("参数", "parameter"), Text(pa.region.name_zh, pa.region.name_en),
               Text(pb.region.name_zh, pb.region.name_en))
    n = 0
    for k in keys:
        va, vb = sa[k].value, sb[k].value
        if va != vb:
            n += 1
            spec = CATALOGUE[k]
            t.add_row(f"{Text(spec.zh, spec.en).pick(lg)}\n{k}", show_value(k, va, lg),
                      show_value(k, vb, lg))
    out = _console()
    out.print(f"{pa.label} ↔ {pb.label} — {d}")
    if n:
        out.print(t)
    out.print(Text(f"{n} 项不同（共比较 {len(keys)} 项）",
                   f"{n} differing of {len(keys)} compared").pick(lg))


@app.command("history")
@_guard
def history(region: str, key: str, policy_file: PolicyFileOpt = None, reform: ReformOpt = None,
            lang: LangArg = None) -> None:
    """某参数的各时期取值 / the periods of one parameter."""
    lg = _lang(lang)
    k = _key(key)
    pol = _policy(region, policy_file, reform)
    t = _table(lg, Text("起", "from"), Text("止", "to"), Text("取值", "value"), Text("定义于", "defined in"),
               Text("来源", "source"), Text("说明", "note"))
    for p in periods(pol, k):
        r = p.resolved
        t.add_row(p.start.isoformat(), p.end.isoformat() if p.end else "-", show_value(k, r.value, lg),
                  r.defined_in, r.source.title if r.source else "-", r.note or "")
    out = _console()
    spec = CATALOGUE[k]
    out.print(f"{pol.label} — {Text(spec.zh, spec.en).pick(lg)} ({k})")
    out.print(t)


@app.command("catalogue")
@_guard
def catalogue(lang: LangArg = None) -> None:
    """参数目录 / every key a policy file may set, with kind, unit and meaning."""
    lg = _lang(lang)
    t = _table(lg, Text("参数", "key"), Text("类型", "kind"), Text("单位", "unit"), Text("含义", "meaning"))
    for spec in CATALOGUE.values():
        t.add_row(spec.key, spec.kind.value, spec.unit, Text(spec.zh, spec.en).pick(lg))
    _console().print(t)


@app.command("check")
@_guard
def check(files: Annotated[list[Path], typer.Argument(help="地区或改革文件 / region or reform files")],
          lang: LangArg = None) -> None:
    """校验政策文件 / validate files; resolve a region's every key on every month 2018-2025."""
    lg = _lang(lang)
    issues, summaries = check_files(files)
    out = _console()
    for s in summaries:
        if s.kind == "reform":
            out.print(Text(f"{s.path}: 改革 {s.name}，适用 {s.applies_to}，设 {s.keys_set} 个参数"
                           f"（{s.entries} 条）",
                           f"{s.path}: reform {s.name}, applies to {s.applies_to}, sets {s.keys_set} "
                           f"keys ({s.entries} entries)").sentence(lg))
        elif not s.issues:
            out.print(Text(f"{s.path}: 地区 {s.name}，本文件设 {s.keys_set} 个参数（{s.entries} 条）；"
                           f"{s.on} 已知 {s.known}、未知 {s.unknown}（共 {len(CATALOGUE)}）",
                           f"{s.path}: region {s.name}, {s.keys_set} keys set here ({s.entries} "
                           f"entries); on {s.on}: {s.known} known, {s.unknown} unknown of "
                           f"{len(CATALOGUE)}").sentence(lg))
    if issues:
        raise PolicyFileError(issues)
    out.print(Text("校验通过", "check passed").pick(lg))

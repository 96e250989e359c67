"""What every `yibao` command shares: options, region loading, dates, JSON in and out."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from yibao.errors import InputError
from yibao.policy.registry import Registry
from yibao.policy.resolve import Policy

__all__ = [
    "DateOpt",
    "JsonOpt",
    "LangOpt",
    "PolicyFileOpt",
    "ReformOpt",
    "RegionOpt",
    "emit_json",
    "load_policy",
    "parse_date",
    "read_json",
    "registry",
]

RegionOpt = Annotated[str, typer.Option("--region", "-r",
                                         help="统筹地区：行政区划代码或拼音 / region code or pinyin")]
DateOpt = Annotated[str, typer.Option("--date", "-d", help="日期 YYYY-MM-DD / date")]
PolicyFileOpt = Annotated[list[Path] | None, typer.Option(
    "--policy-file", help="自己的地区文件（可多次）/ your own region file (repeatable)")]
ReformOpt = Annotated[list[str] | None, typer.Option(
    "--reform", help="改革覆盖（id 或文件）/ reform overlay (id or file)")]
JsonOpt = Annotated[str | None, typer.Option(
    "--json", help="从文件或 - (stdin) 读 JSON 输入并输出 JSON / read JSON input, print JSON")]
LangOpt = Annotated[str, typer.Option("--lang", help="zh | en")]


def parse_date(text: str, field: str = "date") -> dt.date:
    """``YYYY-MM-DD`` → date, or a bilingual InputError naming the field."""
    try:
        return dt.date.fromisoformat(str(text).strip())
    except ValueError:
        raise InputError(field, text, "应为日期 YYYY-MM-DD，如 2024-03-15",
                         "expected a date YYYY-MM-DD, e.g. 2024-03-15") from None


def registry(policy_files: list[Path] | None = None, reforms: list[str] | None = None) -> Registry:
    files = list(policy_files or [])
    reform_files = [r for r in (reforms or []) if r.endswith((".yaml", ".yml"))]
    return Registry(files, reform_files)


def load_policy(region: str, policy_files: list[Path] | None = None,
                reforms: list[str] | None = None) -> Policy:
    """The region's policy from shipped files, a user's files and reform overlays."""
    reg = registry(policy_files, reforms)
    ids = [r for r in (reforms or []) if not r.endswith((".yaml", ".yml"))]
    return reg.policy(region, ids)


def read_json(source: str) -> Any:
    """JSON from a file path or ``-`` (stdin); a bilingual InputError if it is not JSON."""
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError("--json", source, "应为可读的文件路径或 -", "expected a readable file or -") \
            from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError("--json", f"{source} (line {exc.lineno})", f"JSON 格式错误：{exc.msg}",
                         f"malformed JSON: {exc.msg}") from None


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2))

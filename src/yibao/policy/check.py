"""Checking policy files the way `yibao policy check` does: validate, then resolve everything.

A file is first loaded strictly (every problem, with file, line and key, in one pass). A region
file is then resolved, through its inheritance, for every catalogue key on the first and last day
of every month from 2018-01 to 2025-12: each must give exactly one value or UNKNOWN, never "no
rule". A reform file is validated and summarised.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from yibao.errors import NoRuleError, PolicyFileError, PolicyIssue, YibaoError
from yibao.policy.catalog import CATALOGUE
from yibao.policy.loader import LoadedFile, load_file
from yibao.policy.registry import Registry
from yibao.policy.resolve import Policy

__all__ = ["CHECK_YEARS", "FileSummary", "check_files", "month_bounds", "resolve_everywhere"]

# The years the shipped data is meant to cover (the brief's 2018-01..2025-12 window).
CHECK_YEARS = (2018, 2025)


def month_bounds(first_year: int = CHECK_YEARS[0], last_year: int = CHECK_YEARS[1]) -> list[dt.date]:
    """The first and the last day of every month of the years given."""
    out = []
    for y in range(first_year, last_year + 1):
        for m in range(1, 13):
            out += [dt.date(y, m, 1), dt.date(y, m, calendar.monthrange(y, m)[1])]
    return out


@dataclass
class FileSummary:
    """What a checked file sets and, for a region, how much is known on the last day checked."""

    path: str
    name: str
    kind: str  # "region" | "reform"
    keys_set: int
    entries: int
    known: int = 0
    unknown: int = 0
    on: dt.date | None = None
    applies_to: str = ""
    issues: list[PolicyIssue] = field(default_factory=list)


def resolve_everywhere(policy: Policy, dates: Sequence[dt.date], path: str) -> list[PolicyIssue]:
    """Resolve every catalogue key on every date; one issue per key that has no rule somewhere."""
    issues = []
    for key in CATALOGUE:
        for d in dates:
            try:
                policy.resolve(key, d)
            except NoRuleError as exc:
                issues.append(PolicyIssue(path, None, key, exc.zh, exc.en))
                break
    return issues


def _summarise(path: str, f: LoadedFile) -> FileSummary:
    n_entries = sum(len(es) for es in f.entries.values())
    if f.reform is not None:
        targets = f.reform.applies_to
        return FileSummary(path, f.reform.id, "reform", len(f.entries), n_entries,
                           applies_to=targets if isinstance(targets, str) else ", ".join(targets))
    assert f.region is not None
    s = FileSummary(path, f.region.pinyin, "region", len(f.entries), n_entries)
    try:
        policy = Registry([path]).policy(f.region.code)
    except YibaoError as exc:
        s.issues.append(PolicyIssue(path, None, "region.inherits", exc.zh, exc.en))
        return s
    dates = month_bounds()
    s.issues = resolve_everywhere(policy, dates, path)
    if not s.issues:
        s.on = dates[-1]
        known = sum(policy.resolve(k, s.on).known for k in CATALOGUE)
        s.known, s.unknown = known, len(CATALOGUE) - known
    return s


def check_files(paths: Sequence[str | Path]) -> tuple[list[PolicyIssue], list[FileSummary]]:
    """Every problem in every file (validation, then resolution), and a summary per valid file."""
    issues: list[PolicyIssue] = []
    summaries: list[FileSummary] = []
    for p in paths:
        try:
            f = load_file(p)
        except PolicyFileError as exc:
            issues += exc.issues
            continue
        s = _summarise(str(p), f)
        issues += s.issues
        summaries.append(s)
    return issues, summaries

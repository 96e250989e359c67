"""What the worklists read: the register (export layout), the ingested feed rows and their links.

- The register is read ONLY through :func:`yibao.admin.export.read_table` (docs/register-export.md),
  so a bureau's own system can supply it. Enrollments and contribution months are those of the
  region the worklists are for; persons and employers are kept whole (a person of another region's
  enrollment may still be linked).
- A run folder (``yibao match run``, interface point 2 of issue 6) holds ``feeds/<feed>/rows.parquet``
  (the output of ``yibao match ingest``) and ``links.parquet`` (feed row → ``person_id``, ``method``,
  ``match_probability``, ``cluster_id``). Each feed is used by its spec's ``kind``; a feed row missing
  from the links counts as linked to nobody.
- Every feed row gets a ``subject``: who the row is about, for counting and de-duplicating —
  ``p:<person_id>`` when linked, else ``c:<cluster_id>`` (rows the linkage put in one cluster),
  else ``i:<id number>``, else ``r:<feed>:<row>``.

:class:`Inputs` is also built from a synthetic world's truth (:mod:`yibao.match.worklists.truth`),
so the same definitions give the true worklists.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.admin.export import read_table
from yibao.errors import InputError
from yibao.match.feeds import shipped_specs
from yibao.policy.registry import Registry, default_registry
from yibao.policy.resolve import Policy

__all__ = [
    "FEED_COLUMNS",
    "KINDS",
    "LINK_COLUMNS",
    "Inputs",
    "as_of_from",
    "load_inputs",
    "month_of",
    "read_register",
    "subject_expr",
]

#: Columns every feed frame carries (link and identity).
LINK_COLUMNS: Final = {
    "feed": pl.String,
    "source_row": pl.Int64,
    "person_id": pl.Int64,
    "link_method": pl.String,
    "match_probability": pl.Float64,
    "cluster_id": pl.Int64,
    "subject": pl.String,
    "id_number": pl.String,
    "name": pl.String,
}
#: Further columns of each feed kind the worklists use (``month`` is YYYYMM).
FEED_COLUMNS: Final[dict[str, dict[str, Any]]] = {
    "tax_wages": {
        "employer_uscc": pl.String,
        "employer_name": pl.String,
        "month": pl.Int32,
        "wage_fen": pl.Int64,
    },
    "deaths": {"death_date": pl.Date},
    "births": {"birth_date": pl.Date, "region_code": pl.String},
    "register": {
        "region_code": pl.String,
        "insurance_type": pl.String,
        "status": pl.String,
        "start_date": pl.Date,
    },
    "hukou_moves": {"move_date": pl.Date, "from_region_code": pl.String, "to_region_code": pl.String},
}
#: Feed kinds (``FeedSpec.kind``) the worklists read.
KINDS: Final = tuple(FEED_COLUMNS)
# canonical ingest column → worklist column, per kind
_RENAME: Final = {
    "deaths": {"event_date": "death_date"},
    "register": {"event_date": "start_date"},
    "hukou_moves": {"event_date": "move_date"},
}
_REGISTER_TABLES: Final = ("persons", "employers", "enrollments", "contribution_months")


def month_of(day: dt.date) -> int:
    """YYYYMM of a date."""
    return day.year * 100 + day.month


def subject_expr() -> pl.Expr:
    """Who a feed row is about (module docstring), as text."""
    return (
        pl.when(pl.col("person_id").is_not_null())
        .then(pl.format("p:{}", pl.col("person_id")))
        .when(pl.col("cluster_id").is_not_null())
        .then(pl.format("c:{}", pl.col("cluster_id")))
        .when(pl.col("id_number").is_not_null())
        .then(pl.format("i:{}", pl.col("id_number")))
        .otherwise(pl.format("r:{}:{}", pl.col("feed"), pl.col("source_row")))
        .alias("subject")
    )


@dataclass(frozen=True)
class Inputs:
    """The register of one region on an as-of date, the linked feed rows by kind, and the policy."""

    region: str
    as_of: dt.date
    policy: Policy
    persons: pl.DataFrame
    employers: pl.DataFrame
    enrollments: pl.DataFrame
    months: pl.DataFrame
    feeds: dict[str, pl.DataFrame]
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def as_of_month(self) -> int:
        return month_of(self.as_of)

    def feed(self, kind: str) -> pl.DataFrame | None:
        """The rows of every feed of ``kind`` (None if the run has none)."""
        return self.feeds.get(kind)


def _last_day(yyyymm: int) -> dt.date:
    y, m = divmod(yyyymm, 100)
    return (dt.date(y + m // 12, m % 12 + 1, 1)) - dt.timedelta(days=1)


def as_of_from(text: str | None, manifest: dict[str, Any]) -> dt.date:
    """The as-of date: the last day of ``--as-of YYYY-MM``, else the register manifest's ``as_of``."""
    if text is None:
        got = manifest.get("as_of")
        if not got:
            raise InputError(
                "as_of",
                None,
                "登记册 manifest.json 无 as_of，请用 --as-of YYYY-MM 指定",
                "the register's manifest.json has no as_of; give --as-of YYYY-MM",
            )
        return dt.date.fromisoformat(str(got))
    clean = text.strip().replace("/", "-")
    try:
        y, m = (int(p) for p in clean.split("-")) if "-" in clean else (int(clean[:4]), int(clean[4:]))
        if not (1998 <= y <= 2100 and 1 <= m <= 12):
            raise ValueError
    except ValueError:
        raise InputError(
            "as_of", text, "应为年月，如 2024-12", "expected a year and month such as 2024-12"
        ) from None
    return _last_day(y * 100 + m)


def _manifest(folder: Path) -> dict[str, Any]:
    path = folder / "manifest.json"
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError("manifest", str(path), f"无法读取：{exc}", f"cannot be read: {exc}") from None
    return data if isinstance(data, dict) else {}


def read_register(folder: Path, region: str) -> dict[str, pl.DataFrame]:
    """Persons, employers, and the region's enrollments and contribution months of an export folder."""
    if not folder.is_dir():
        raise InputError(
            "register",
            str(folder),
            "应为登记册导出目录（docs/register-export.md）",
            "expected a register export folder (docs/register-export.md)",
        )
    out: dict[str, pl.DataFrame] = {}
    for table in _REGISTER_TABLES:
        frame = pl.from_arrow(read_table(folder, table))
        assert isinstance(frame, pl.DataFrame)
        if table in ("enrollments", "contribution_months"):
            frame = frame.filter(pl.col("region_code") == region)
        out[table] = frame
    return out


def _kind_of(name: str, run_manifest: dict[str, Any]) -> str | None:
    entry = run_manifest.get("feeds", {}).get(name) if isinstance(run_manifest.get("feeds"), dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("kind"), str):
        return str(entry["kind"])
    spec = shipped_specs().get(name)
    return spec.kind if spec is not None else None


def _feed_frame(kind: str, rows: pl.DataFrame, links: pl.DataFrame, name: str) -> pl.DataFrame:
    rows = rows.rename({k: v for k, v in _RENAME.get(kind, {}).items() if k in rows.columns})
    if kind == "tax_wages" and "month" in rows.columns and rows.schema["month"] == pl.Date:
        rows = rows.with_columns(
            (pl.col("month").dt.year() * 100 + pl.col("month").dt.month()).alias("month")
        )
    wanted = {
        c: t
        for c, t in (LINK_COLUMNS | FEED_COLUMNS[kind]).items()
        if c not in ("feed", "person_id", "link_method", "match_probability", "cluster_id", "subject")
    }
    cols = [
        pl.col(c).cast(t) if c in rows.columns else pl.lit(None, dtype=t).alias(c) for c, t in wanted.items()
    ]
    got = rows.select(pl.lit(name).alias("feed"), *cols)
    mine = links.filter(pl.col("feed") == name).select(
        "source_row", "person_id", pl.col("method").alias("link_method"), "match_probability", "cluster_id"
    )
    got = got.join(mine, on="source_row", how="left").with_columns(pl.col("link_method").fill_null("none"))
    return got.with_columns(subject_expr()).select(list(LINK_COLUMNS) + list(FEED_COLUMNS[kind]))


def _links(run: Path) -> pl.DataFrame:
    path = run / "links.parquet"
    if not path.is_file():
        raise InputError(
            "run",
            str(run),
            "找不到 links.parquet（应为 yibao match run 的输出目录）",
            "no links.parquet (expected the folder written by yibao match run)",
        )
    links = pl.read_parquet(path)
    needs = ("feed", "source_row", "person_id", "method", "match_probability", "cluster_id")
    missing = [c for c in needs if c not in links.columns]
    if missing:
        raise InputError(
            "links", str(path), f"缺少列 {', '.join(missing)}", f"missing columns {', '.join(missing)}"
        )
    return links.select(
        pl.col("feed").cast(pl.String),
        pl.col("source_row").cast(pl.Int64),
        pl.col("person_id").cast(pl.Int64),
        pl.col("method").cast(pl.String),
        pl.col("match_probability").cast(pl.Float64),
        pl.col("cluster_id").cast(pl.Int64),
    )


def load_inputs(
    run: str | Path,
    register: str | Path,
    region: str | None = None,
    as_of: str | None = None,
    registry: Registry | None = None,
) -> Inputs:
    """The register export, the run's feeds joined to their links, the region's policy."""
    run, register = Path(run), Path(register)
    reg_manifest = _manifest(register)
    registry = registry or default_registry()
    name = region or reg_manifest.get("region")
    if not name:
        raise InputError(
            "region",
            None,
            "登记册未限定地区，请用 --region 指定统筹地区",
            "the register export covers no single region; give --region",
        )
    policy = registry.policy(str(name))
    code = policy.region.code
    day = as_of_from(as_of, reg_manifest)
    tables = read_register(register, code)
    links = _links(run)
    run_manifest = _manifest(run)
    feeds: dict[str, list[pl.DataFrame]] = {}
    unused: list[str] = []
    used: dict[str, str] = {}
    folder = run / "feeds"
    for sub in sorted(folder.iterdir()) if folder.is_dir() else []:
        rows_path = sub / "rows.parquet"
        if not rows_path.is_file():
            continue
        kind = _kind_of(sub.name, run_manifest)
        if kind not in FEED_COLUMNS:
            unused.append(sub.name)
            continue
        feeds.setdefault(kind, []).append(_feed_frame(kind, pl.read_parquet(rows_path), links, sub.name))
        used[sub.name] = kind
    provenance = {
        "run": str(run),
        "register": str(register),
        "region": code,
        "region_label": policy.label,
        "as_of": day.isoformat(),
        "register_manifest": {
            k: reg_manifest.get(k)
            for k in ("layout_version", "region", "as_of", "created_at", "audit_event", "rows")
        },
        "run_manifest": {k: v for k, v in run_manifest.items() if isinstance(v, str | int | float)},
        "feeds_used": used,
        "feeds_unused": unused,
    }
    return Inputs(
        code,
        day,
        policy,
        tables["persons"],
        tables["employers"],
        tables["enrollments"],
        tables["contribution_months"],
        {k: pl.concat(v) for k, v in feeds.items()},
        provenance,
    )

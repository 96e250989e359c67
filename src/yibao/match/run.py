"""``yibao match run``: feeds → exact matching → probabilistic linkage → ``RUN/links.parquet``.

A run folder holds every stage's output, so a run that is interrupted (Ctrl-C, a crash, the machine
going down) resumes where it stopped when started again with the same inputs:

```
RUN/run.json                   inputs, settings, stage fingerprints, counts and times
RUN/feeds/<feed>/rows.parquet  ingested rows (+ bad_rows.parquet, summary.json)  — stage ingest:<feed>
RUN/links_exact.parquet        exact-ID links                                    — stage exact
RUN/linkage/…                  prepared tables, model.json, pairs, candidates    — stage linkage
RUN/links.parquet              one link per feed row (docs/match-linkage.md)     — stage links
```

A stage is skipped when ``run.json`` records it as done with the same fingerprint — the inputs'
paths, sizes and modification times, and the fingerprints of the stages it reads — so changing a
feed file redoes its ingest and everything after it, and nothing else. Each stage writes its files
first and records itself last, so a stage cut off half-way is simply done again. ``fresh`` clears
the folder first.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import polars as pl

from yibao.errors import InputError
from yibao.match.exact import exact_links
from yibao.match.feeds import FeedSpec, ingest, load_spec, shipped_specs, write
from yibao.match.linkage import Backend, LinkageSettings, link, linkage_settings, merge_links

__all__ = ["RUN_VERSION", "FeedInput", "feeds_of_world", "parse_feed_option", "run_match", "summary_of"]

RUN_VERSION: Final = 1


@dataclass(frozen=True)
class FeedInput:
    """One department file to match and the spec to read it with."""

    name: str
    spec: FeedSpec
    file: Path


def feeds_of_world(world: str | Path) -> tuple[Path, list[FeedInput]]:
    """A synthetic world's register folder and its feeds, each read by the shipped spec of its name."""
    folder = Path(world)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise InputError("--world", str(folder), "找不到 manifest.json（应为 yibao match generate 的输出）",
                         "no manifest.json (expected the folder written by yibao match generate)")
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    specs = shipped_specs()
    feeds = [FeedInput(name, specs[name], folder / rel) for name, rel in manifest["feeds"].items()]
    return folder / "register", feeds


def parse_feed_option(text: str) -> FeedInput:
    """``SPEC=FILE`` (SPEC a shipped spec's name or a YAML file; the feed is named after the spec)."""
    spec_text, sep, file_text = text.partition("=")
    if not sep or not spec_text or not file_text:
        raise InputError("--feed", text, "应为 数据规格=文件，如 tax_wages=税务.csv",
                         "expected SPEC=FILE, e.g. tax_wages=tax.csv")
    spec = load_spec(spec_text)
    return FeedInput(spec.name, spec, Path(file_text))


def _stamp(path: Path) -> str:
    """Path, size and modification time of a file, or of every file under a folder."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
    elif path.is_file():
        files = [path]
    else:
        raise InputError("input", str(path), "文件或目录不存在", "no such file or folder")
    return ";".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in files)


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


class _State:
    """``run.json``: what each stage was done from, rewritten atomically after every stage."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "run.json"
        data: dict[str, Any] = {}
        if self.path.is_file():
            try:
                data = json.loads(self.path.read_text(encoding="utf-8"))
            except json.JSONDecodeError:
                data = {}  # a run.json cut off mid-write: every stage is redone
        if data.get("version") != RUN_VERSION:
            data = {"version": RUN_VERSION}
        self.data = data
        self.data.setdefault("stages", {})

    def done(self, stage: str, fingerprint: str) -> bool:
        entry = self.data["stages"].get(stage)
        return isinstance(entry, dict) and entry.get("fingerprint") == fingerprint

    def record(self, stage: str, fingerprint: str, **info: Any) -> None:
        self.data["stages"][stage] = {"fingerprint": fingerprint} | info
        self.save()

    def save(self) -> None:
        tmp = self.path.with_suffix(".json.part")
        tmp.write_text(json.dumps(self.data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        tmp.replace(self.path)


def run_match(register: str | Path, feeds: list[FeedInput], out: str | Path, *, backend: Backend = "duckdb",
              fresh: bool = False, settings: LinkageSettings | None = None, model: str | Path | None = None,
              progress: Callable[[str], None] = lambda _: None,
              log: Callable[[str], None] = lambda _: None) -> dict[str, Any]:
    """Run (or resume) the whole match; returns the summary also kept in ``run.json``.

    ``progress`` is called with each stage's name as it starts (one call per stage, done or skipped),
    ``log`` with finer messages from inside linkage."""
    register, out = Path(register), Path(out)
    if not feeds:
        raise InputError("--feed", "", "至少需要一个数据文件（--feed 或 --world）",
                         "at least one feed is needed (--feed or --world)")
    names = [f.name for f in feeds]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise InputError("--feed", ", ".join(dup), "同一数据规格只能给一个文件", "one file per feed spec")
    if fresh and out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    settings = settings or linkage_settings()
    state = _State(out)
    state.data["inputs"] = {"register": str(register), "backend": backend,
                            "feeds": {f.name: {"spec": f.spec.name, "kind": f.spec.kind, "file": str(f.file)}
                                      for f in feeds}}
    # the worklists read each feed's kind from here (yibao.match.worklists.inputs)
    state.data["feeds"] = {f.name: {"kind": f.spec.kind, "department": f.spec.department} for f in feeds}
    state.save()
    times: dict[str, float] = {}

    rows_paths: dict[str, Path] = {}
    ingest_prints: list[str] = []
    for feed in feeds:
        stage = f"ingest:{feed.name}"
        progress(stage)
        folder = out / "feeds" / feed.name
        fingerprint = _digest(_stamp(feed.file), feed.spec.model_dump())
        rows_paths[feed.name] = folder / "rows.parquet"
        if not (state.done(stage, fingerprint) and rows_paths[feed.name].is_file()):
            start = time.perf_counter()
            result = ingest(feed.file, feed.spec)
            write(result, folder)
            times[stage] = time.perf_counter() - start
            state.record(stage, fingerprint, summary=result.summary(), seconds=round(times[stage], 3))
        ingest_prints.append(fingerprint)

    progress("exact")
    exact_path = out / "links_exact.parquet"
    exact_print = _digest(_stamp(register / "persons.parquet" if register.is_dir() else register),
                          ingest_prints)
    if not (state.done("exact", exact_print) and exact_path.is_file()):
        start = time.perf_counter()
        matched = exact_links(register, rows_paths, exact_path, temp_directory=out / ".duckdb_tmp")
        times["exact"] = time.perf_counter() - start
        state.record("exact", exact_print, counts=matched.counts, seconds=round(times["exact"], 3),
                     register_persons=matched.register_persons,
                     register_duplicate_ids=matched.register_duplicate_ids)

    progress("linkage")
    work = out / "linkage"
    model_stamp = _stamp(Path(model)) if model else None
    link_print = _digest(exact_print, _stamp(register), settings.model_dump(), backend, model_stamp)
    candidates_path = work / "candidates.parquet"
    if not (state.done("linkage", link_print) and candidates_path.is_file()):
        start = time.perf_counter()
        exact = pl.read_parquet(exact_path)
        _, summary = link(register, rows_paths, exact, work, backend=backend, settings=settings,
                          model=model, log=log)
        times["linkage"] = time.perf_counter() - start
        state.record("linkage", link_print, backend=summary.backend, model=summary.model,
                     candidates=summary.candidates,
                     pairs=summary.pairs, linked=summary.linked, ambiguous=summary.ambiguous,
                     seconds=round(times["linkage"], 3),
                     parts={k: round(v, 3) for k, v in summary.seconds.items()},
                     threshold=settings.threshold, margin=settings.margin)

    progress("links")
    links_path = out / "links.parquet"
    links_print = _digest(link_print)
    if not (state.done("links", links_print) and links_path.is_file()):
        start = time.perf_counter()
        exact = pl.read_parquet(exact_path)
        candidates = pl.read_parquet(candidates_path)
        ids = pl.concat([pl.read_parquet(p, columns=["source_row", "id_number"])
                         .select(pl.lit(name).alias("feed"), "source_row", "id_number")
                         for name, p in rows_paths.items()])
        links = merge_links(exact, candidates, ids)
        tmp = links_path.with_suffix(".parquet.part")
        links.write_parquet(tmp)
        tmp.replace(links_path)
        counts = {str(k): int(v) for k, v in links.group_by("method").len().iter_rows()}
        times["links"] = time.perf_counter() - start
        state.record("links", links_print, by_method=counts, rows=links.height,
                     seconds=round(times["links"], 3))
    return summary_of(out)


def summary_of(out: Path) -> dict[str, Any]:
    """What ``run.json`` says of a finished run: rows, links by method, linkage figures, stage times."""
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    stages = data["stages"]
    linkage = stages.get("linkage", {})
    return {"out": str(out), "rows": stages["links"]["rows"], "by_method": stages["links"]["by_method"],
            "candidates": linkage.get("candidates"), "pairs": linkage.get("pairs"),
            "linked": linkage.get("linked"), "ambiguous": linkage.get("ambiguous"),
            "backend": linkage.get("backend"), "model": linkage.get("model"),
            "seconds": {k: v.get("seconds") for k, v in stages.items() if isinstance(v, dict)}}


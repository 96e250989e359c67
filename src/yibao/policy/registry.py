"""Finding regions and reforms: shipped files under ``params/`` plus files a user supplies.

A region is named by its division code (``110000``, as the national platform's
``insuplc_admdvs``), its pinyin name (``beijing``) or its Chinese name (``北京市``); all work
everywhere. A user's region file (``--policy-file``) with the code of a shipped region replaces it
for that run; one with a new code adds a region.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path

from yibao.errors import PolicyFileError, PolicyIssue, UnknownRegionError
from yibao.policy.loader import LoadedFile, load_file
from yibao.policy.resolve import Policy
from yibao.policy.schema import RegionHeader

__all__ = ["PARAMS_DIR", "Registry", "default_registry"]

PARAMS_DIR = Path(__file__).parent / "params"
NATIONAL = "national"


@cache
def _shipped(path: str, mtime: float) -> LoadedFile:
    return load_file(path)


def _load(path: Path) -> LoadedFile:
    return _shipped(str(path), path.stat().st_mtime)


class Registry:
    """The regions and reforms available to one command."""

    def __init__(self, policy_files: Sequence[str | Path | LoadedFile] = (),
                 reform_files: Sequence[str | Path] = ()) -> None:
        self._regions: dict[str, LoadedFile] = {}
        for p in sorted(PARAMS_DIR.glob("*.yaml")):
            self._add(_load(p))
        for pf in policy_files:
            # a LoadedFile: a region file kept elsewhere (e.g. an installation's database)
            f = pf if isinstance(pf, LoadedFile) else load_file(pf)
            if f.region is None:
                raise PolicyFileError([PolicyIssue(str(pf), 1, "region", "--policy-file 需要地区文件",
                                                   "--policy-file needs a region file (region:)")])
            self._add(f, replace=True)
        self._reforms: dict[str, LoadedFile] = {}
        for p in sorted((PARAMS_DIR / "reforms").glob("*.yaml")):
            self._add_reform(_load(p))
        self._extra_reforms = [self._reform_file(p) for p in reform_files]

    def _add(self, f: LoadedFile, replace: bool = False) -> None:
        if f.region is None:
            return
        code = f.region.code
        if code in self._regions and not replace:
            raise PolicyFileError([PolicyIssue(f.path, 1, "region.code", f"代码 {code} 重复",
                                               f"duplicate region code {code}")])
        for k, v in list(self._regions.items()):
            if v.region is not None and v.region.pinyin == f.region.pinyin and k != code:
                del self._regions[k]
        self._regions[code] = f

    def _add_reform(self, f: LoadedFile) -> None:
        if f.reform is not None:
            self._reforms[f.reform.id] = f

    def _reform_file(self, p: str | Path) -> LoadedFile:
        f = load_file(p)
        if f.reform is None:
            raise PolicyFileError([PolicyIssue(str(p), 1, "reform", "--reform 需要改革文件",
                                               "--reform needs a reform file (reform:)")])
        return f

    # -- lookups ------------------------------------------------------------------------------
    def regions(self) -> list[RegionHeader]:
        """Every region except the national baseline, by code."""
        return [f.region for k, f in sorted(self._regions.items())
                if f.region is not None and f.region.pinyin != NATIONAL]

    def _file(self, name: str) -> LoadedFile:
        n = name.strip().lower()
        for f in self._regions.values():
            r = f.region
            assert r is not None
            if n in (r.code, r.pinyin, r.name_zh.lower(), r.name_en.lower()) or \
                    n == r.name_zh.rstrip("市省").lower():
                return f
        known = [f"{f.region.code}/{f.region.pinyin}" for f in self._regions.values()
                 if f.region is not None]
        raise UnknownRegionError(name, sorted(known))

    def header(self, name: str) -> RegionHeader:
        r = self._file(name).region
        assert r is not None
        return r

    def policy(self, name: str, reforms: Iterable[str] = ()) -> Policy:
        """The policy of a region (code, pinyin or Chinese name), with optional reforms by id."""
        f = self._file(name)
        layers = [f]
        seen = {f.region.code if f.region else ""}
        parent = f.region.inherits if f.region else None
        while parent:
            pf = self._file(parent)
            assert pf.region is not None
            if pf.region.code in seen:
                raise PolicyFileError([PolicyIssue(f.path, None, "region.inherits",
                                                   "继承关系成环", "inheritance forms a cycle")])
            seen.add(pf.region.code)
            layers.append(pf)
            parent = pf.region.inherits
        assert f.region is not None
        pol = Policy(f.region, layers)
        chosen = [self.reform(r) for r in reforms] + self._extra_reforms
        return pol.with_reforms(chosen) if chosen else pol

    def reform(self, name: str) -> LoadedFile:
        if name in self._reforms:
            return self._reforms[name]
        if Path(name).exists():
            return self._reform_file(name)
        raise UnknownRegionError(name, sorted(self._reforms))

    def reforms(self) -> list[LoadedFile]:
        return list(self._reforms.values())


def default_registry() -> Registry:
    """Shipped regions and reforms only."""
    return Registry()

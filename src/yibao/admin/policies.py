"""The policy of a region this installation administers: shipped files plus the bureau's own.

A region row names its policy (``region.policy``, a registry name such as ``beijing``) and may
carry the bureau's own region file (``region.policy_file``, YAML text, checked by the same strict
loader as ``--policy-file``): a region that is not shipped, or a shipped one with local values,
works without code changes and travels with the database. Every service asks here, so one
installation never mixes two versions of a region's rules.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from yibao.db.models.register import Region
from yibao.errors import InputError
from yibao.policy.loader import load_text
from yibao.policy.registry import Registry
from yibao.policy.resolve import Policy

__all__ = ["add_region", "region_policy", "registry_of"]


@lru_cache(maxsize=32)
def _registry(files: tuple[tuple[str, str], ...]) -> Registry:
    return Registry([load_text(text, name) for name, text in files])


def _files(session: Session) -> tuple[tuple[str, str], ...]:
    rows = session.execute(select(Region.code, Region.policy_file).where(Region.policy_file.is_not(None))
                           .order_by(Region.code)).all()
    return tuple((f"region {code} (database)", str(text)) for code, text in rows)


def registry_of(session: Session) -> Registry:
    """Shipped regions plus every region file stored in this database (cached by content)."""
    return _registry(_files(session))


def region_policy(session: Session, region: str, registry: Registry | None = None) -> Policy:
    """The policy of a region this installation administers (``region.policy`` names the file):
    from ``registry`` if given, else the installation's (:func:`registry_of`: shipped files plus a
    bureau's own file stored with the region). An unknown region is a named error listing the
    registered ones."""
    row = session.get(Region, region)
    if row is None:
        known = ", ".join(session.scalars(select(Region.code).order_by(Region.code)))
        raise InputError("region", region,
                         f"不是本系统登记的统筹地区（yibao region add）；已登记：{known or '无'}",
                         f"not a pooling region of this installation (yibao region add); "
                         f"registered: {known or 'none'}")
    return (registry or registry_of(session)).policy(row.policy)


def add_region(session: Session, policy_file_text: str | None = None, name: str | None = None) -> Region:
    """Register a region to administer: a shipped one by ``name`` or a bureau's own file's text.

    The file is validated before anything is stored (a bad file raises PolicyFileError naming the
    line and key). Adding the same region twice updates its file (the history of values lives in
    the file's dated entries).
    """
    if policy_file_text is not None:
        loaded = load_text(policy_file_text, "policy_file")
        if loaded.region is None:
            raise InputError("policy_file", "reform:", "应为地区文件（region:）",
                             "expected a region file (region:)")
        header = Registry([loaded]).header(loaded.region.pinyin)
    elif name is not None:
        header = Registry().header(name)
    else:
        raise InputError("region", None, "须给出地区名或地区文件", "give a region name or a region file")
    row = session.get(Region, header.code)
    if row is None:
        row = Region(code=header.code, policy=header.pinyin, name_zh=header.name_zh, name_en=header.name_en)
        session.add(row)
    row.policy_file = policy_file_text
    session.flush()
    return row

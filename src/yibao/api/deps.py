"""What the routers share: the region registry (shipped regions and reforms), built once."""

from __future__ import annotations

from functools import lru_cache

from yibao.policy.registry import Registry, default_registry

__all__ = ["get_registry"]


@lru_cache(maxsize=1)
def get_registry() -> Registry:
    return default_registry()

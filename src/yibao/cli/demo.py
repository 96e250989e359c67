"""`yibao demo`: the engine at work (a two-region comparison and a settled claim)."""

from __future__ import annotations

__all__ = ["demo"]


def demo() -> None:
    """政策引擎演示 / show the policy engine at work."""
    print("yibao")

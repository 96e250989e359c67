"""Timing and memory of one call, measured honestly on this machine.

- Seconds: the best of ``repeat`` runs of ``time.perf_counter`` around the call alone (inputs are
  built before; numba kernels are compiled by a warm-up call first). The first run is kept too:
  on a fresh process it also pays the kernel's page faults for new output memory, which on this
  VM costs several times the computation at 10M rows.
- Memory: the process's peak resident set during the call minus the resident set just before
  it (Linux: write ``5`` to ``/proc/self/clear_refs`` to reset the high-water mark ``VmHWM``),
  i.e. everything the call allocated and touched — outputs, accumulators, temporaries, Python
  objects. Where that is unavailable, ``tracemalloc``'s peak is used (it sees numpy's buffers
  but not numba's own allocations). Both are reported per row.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Generic, TypeVar

__all__ = ["Measured", "machine", "measure"]

T = TypeVar("T")
_STATUS = Path("/proc/self/status")
_CLEAR = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        _CLEAR.write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Measured(Generic[T]):
    result: T
    seconds: float  # best of the runs
    first_seconds: float  # the first run: pays for touching fresh memory (page faults)
    peak_extra_bytes: int  # memory the call added at its peak
    method: str  # "rss" or "tracemalloc"


def measure(fn: Callable[[], T], repeat: int = 1) -> Measured[T]:
    """Run ``fn`` ``repeat`` times; the first run also measures memory."""
    gc.collect()
    use_rss = _reset_peak()
    before = _status_kb("VmRSS") if use_rss else None
    if before is None:
        use_rss = False
        tracemalloc.start()
    t0 = time.perf_counter()
    result = fn()
    best = first = time.perf_counter() - t0
    if use_rss and before is not None:
        peak = (_status_kb("VmHWM") or before) - before
        extra, method = max(0, peak) * 1024, "rss"
    else:
        extra, method = tracemalloc.get_traced_memory()[1], "tracemalloc"
        tracemalloc.stop()
    for _ in range(repeat - 1):
        del result
        gc.collect()
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return Measured(result, best, first, extra, method)


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    import os
    import platform

    import numba
    import numpy

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = {"cpu": cpu, "cores": str(os.cpu_count()), "python": platform.python_version(),
           "numpy": numpy.__version__, "numba": numba.__version__}
    try:
        out["openfisca-core"] = version("openfisca-core")
    except PackageNotFoundError:
        out["openfisca-core"] = "not installed"
    return out

"""Benefit class (待遇类别) of a person on a date, over the closed classes of the catalogue.

Regions pay different deductibles and ratios to in-service members, flexible workers and retirees,
and some favour older retirees (Beijing 70+, DOMAIN.md §4.6) or retirees of an earlier era
(Shanghai: retired on or before 2000-12-31, "老人", DOMAIN.md §4.2). The class is an index into
:data:`yibao.policy.catalog.BENEFIT_CLASSES`; a table that leaves a class out falls back as the
catalogue says (``retired_senior`` → ``retired`` …), so the class only ever refines.

Rules, in order (the first that holds wins):

1. not retired → ``in_service`` or ``flexible`` (the member's status);
2. retired on or before ``benefit_class.early_retiree_before`` → ``retired_early``;
3. age ≥ ``benefit_class.senior_age`` → ``retired_senior``;
4. otherwise ``retired``.

``retired_early`` is checked before ``retired_senior`` because it is the narrower, historical
class (Shanghai's 700-yuan deductible applies to those retirees whatever their age). An unknown or
absent ``senior_age`` means no senior class; an absent ``early_retiree_before`` means no early class.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import numpy as np
import numpy.typing as npt

from yibao.errors import InputError
from yibao.policy.catalog import BENEFIT_CLASSES
from yibao.policy.resolve import Snapshot
from yibao.policy.values import Unknown

__all__ = ["CLASS_INDEX", "STATUSES", "STATUS_INDEX", "benefit_class", "class_settings", "parse_status"]

STATUSES: Final[tuple[str, ...]] = ("in_service", "flexible", "retired")
"""A member's status (人员类别) as the input gives it: 在职职工, 灵活就业人员, 退休人员."""
STATUS_INDEX: Final[dict[str, int]] = {s: i for i, s in enumerate(STATUSES)}
CLASS_INDEX: Final[dict[str, int]] = {c: i for i, c in enumerate(BENEFIT_CLASSES)}

_RETIRED = STATUS_INDEX["retired"]


def parse_status(text: str, field: str = "psn_type") -> int:
    """``"retired"`` → its index in :data:`STATUSES`, or a bilingual InputError."""
    key = str(text).strip().lower()
    if key not in STATUS_INDEX:
        raise InputError(field, text, f"应为人员类别之一：{', '.join(STATUSES)}",
                         f"expected one of {', '.join(STATUSES)}")
    return STATUS_INDEX[key]


def class_settings(snap: Snapshot) -> tuple[int | None, dt.date | None]:
    """``(senior_age, early_before)`` of a snapshot as :func:`benefit_class` takes them: None where
    the region sets no such class or its value is unknown."""
    senior = snap.maybe("benefit_class.senior_age")
    early = snap.maybe("benefit_class.early_retiree_before")
    return (None if isinstance(senior, Unknown) else int(senior),
            None if isinstance(early, Unknown) or early is None else early)


def benefit_class(
    status: npt.ArrayLike,
    age: npt.ArrayLike,
    retired_on: npt.ArrayLike,
    senior_age: int | None,
    early_before: dt.date | None,
) -> npt.NDArray[np.int8]:
    """The benefit class of each person, as an index into ``BENEFIT_CLASSES`` (int8).

    ``status`` holds indexes into :data:`STATUSES`; ``age`` whole years on the service date;
    ``retired_on`` dates as ``datetime64[D]`` (``NaT`` where not retired or not known).
    ``senior_age`` is ``benefit_class.senior_age`` (None if unknown or not set) and
    ``early_before`` is ``benefit_class.early_retiree_before`` (None = no such class).
    """
    st = np.asarray(status, dtype=np.int8)
    ag = np.asarray(age, dtype=np.int64)
    ro = np.asarray(retired_on, dtype="datetime64[D]")
    if np.any((st < 0) | (st >= len(STATUSES))):
        bad = int(st[(st < 0) | (st >= len(STATUSES))][0])
        raise InputError("psn_type", bad, f"应为 0..{len(STATUSES) - 1}（{', '.join(STATUSES)}）",
                         f"expected 0..{len(STATUSES) - 1} ({', '.join(STATUSES)})")
    if np.any(ag < 0):
        raise InputError("age", int(ag[ag < 0][0]), "年龄不能为负", "age must not be negative")
    # in_service and flexible map to the classes of the same name (same order in both enums)
    out = np.where(st == STATUS_INDEX["flexible"], CLASS_INDEX["flexible"],
                   CLASS_INDEX["in_service"]).astype(np.int8)
    retired = st == _RETIRED
    out[retired] = CLASS_INDEX["retired"]
    if senior_age is not None:
        out[retired & (ag >= senior_age)] = CLASS_INDEX["retired_senior"]
    if early_before is not None:
        # NaT compares False, so a retiree without a retirement date is never "early"
        # a dt.date converts to unit "D" with or without the argument: that mutant is equivalent
        cut = np.datetime64(early_before, "D")  # pragma: no mutate
        early = retired & (ro <= cut)
        out[early] = CLASS_INDEX["retired_early"]
    return out

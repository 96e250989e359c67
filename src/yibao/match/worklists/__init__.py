"""Worklists of precise enrollment (精准参保, issue 6; docs/worklists.md).

Eight lists turn the differences between department feeds and the enrollment register into work:
employed but not insured, employers insuring fewer than they tax, bases below the taxed wage (with
the contribution gap priced by the policy engine), the deceased still enrolled, the insured twice,
newborns not enrolled, interrupted contributions and flexible workers about to lose continuity.
Each row carries its reason, evidence and a suggested action.
"""

from yibao.match.worklists.inputs import Inputs, load_inputs
from yibao.match.worklists.registry import (
    BY_CODE,
    CODES,
    WORKLISTS,
    WorklistResult,
    compute,
    mask_frame,
    write_folder,
)

__all__ = [
    "BY_CODE",
    "CODES",
    "WORKLISTS",
    "Inputs",
    "WorklistResult",
    "compute",
    "load_inputs",
    "mask_frame",
    "write_folder",
]

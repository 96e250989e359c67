"""The national medical-insurance platform's message shapes (2206/2207, 2303/2304 settlement).

Pydantic models with the platform's field names, yuan strings on output, and the service that
turns a JSON document into settled claims with :mod:`yibao.rules.settlement`.
"""

from yibao.platform.models import BatchIn, BatchOut, ClaimIn, ClaimOut, SetlDetail, SetlInfo, SingleOut
from yibao.platform.settle import json_schema, settle_document, settle_inputs

__all__ = [
    "BatchIn",
    "BatchOut",
    "ClaimIn",
    "ClaimOut",
    "SetlDetail",
    "SetlInfo",
    "SingleOut",
    "json_schema",
    "settle_document",
    "settle_inputs",
]

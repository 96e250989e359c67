"""A synthetic region with known truth for precise enrollment (精准参保, issue 6).

:func:`generate` writes the register (register-export layout), the department feeds as they are
sent (spec headers, CSV/GB18030/xlsx/Parquet, with the errors of the corruption model) and the
truth: which person each feed row is, which errors it carries, and the uncorrupted world with the
cases each worklist should find. The model and its rates: docs/match-synthetic.md and
``model.yaml``.
"""

from yibao.match.synthetic.generate import MAX_PERSONS, MIN_PERSONS, STAGES, generate
from yibao.match.synthetic.model import CORRUPTION_TYPES, FEEDS, ID_UNUSABLE, Model, load_model
from yibao.match.synthetic.truth import SITUATIONS

__all__ = ["CORRUPTION_TYPES", "FEEDS", "ID_UNUSABLE", "MAX_PERSONS", "MIN_PERSONS", "SITUATIONS", "STAGES",
           "Model", "generate", "load_model"]

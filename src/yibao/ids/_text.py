"""Text clean-up shared by the identifier parsers.

Identifiers arrive from forms, spreadsheets and partner feeds. A person typing on a Chinese input
method often produces full-width characters (``１１０１…``, ``Ｘ``); spreadsheet exports add
surrounding spaces, a byte-order mark or zero-width spaces. All of that is presentation, not
content, so it is removed before any check. Anything inside the number (a space, a hyphen, a
letter) is content and is reported, never silently dropped.
"""

from __future__ import annotations

import math
import re
import unicodedata

import numpy as np

__all__ = ["NOT_TEXT", "cell_text", "clean_identifier"]

# Stands for a cell that is not text at all: the parsers name its first character as not allowed.
NOT_TEXT = "\x00" * 18

# Surrounding characters that carry no content: Unicode whitespace (incl. the ideographic space
# U+3000), zero-width space/joiners and the byte-order mark that Excel's UTF-8 export puts first.
_EDGES = re.compile(r"^[\s\u200b-\u200d\u2060\ufeff]+|[\s\u200b-\u200d\u2060\ufeff]+$")


def clean_identifier(text: str) -> str:
    """NFKC-fold (full-width → half-width), strip surrounding blanks, upper-case.

    >>> clean_identifier("  １１０１０５１９４９１２３１００２ｘ\\u3000")
    '11010519491231002X'
    """
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    return _EDGES.sub("", text).upper()


def cell_text(value: object) -> str:
    """The text of one cell of a feed column: None/NaN → "", an integer → its digits.

    A spreadsheet or dataframe that typed an ID column as numbers gives ints (or NaN for a missing
    cell); other objects (floats, bytes, …) become :data:`NOT_TEXT`.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(value)
    return NOT_TEXT

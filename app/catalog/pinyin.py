"""Pinyin initials (拼音首字母) of generic names, for search (阿托伐他汀 → ``atftt``)."""
from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

__all__ = ["initials"]

_HAN_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def initials(text: str | None) -> str:
    """Return the pinyin initial of each Chinese character of ``text``, lower-cased.

    Other characters are kept, lower-cased, after folding full-width forms (NFKC):
    ``维生素B12`` → ``wssb12``. Polyphonic characters take pypinyin's reading in context.
    """
    folded = unicodedata.normalize("NFKC", text or "")
    if not folded:
        return ""
    # lazy_pinyin on the whole text lets pypinyin's phrase dictionary pick polyphone readings;
    # non-Han runs come back unchanged as one item each.
    result = "".join(
        item.lower() for item in lazy_pinyin(folded, style=Style.FIRST_LETTER, errors="default")
    )
    # A Han character pypinyin cannot read (rare extension characters) is returned as is; drop it
    # rather than index a character no one can type in an initials search.
    return _HAN_RE.sub("", result)

"""Query text as search sees it: accents folded, lower case, words of letters and digits only.
Every query-syntax character of either engine (quotes, colons, parentheses, `*`, `\\`, `/`)
is thereby plain text: it separates words and is never interpreted."""

from __future__ import annotations

import re
import unicodedata

MAX_QUERY_LENGTH = 200
MAX_WORDS = 12
_WORD = re.compile(r"[^\W_]+")


def fold(value: str) -> str:
    """Lower case without accents (what the database's ``search_fold`` does)."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(query: str) -> list[str]:
    """The folded words of ``query``, at most MAX_WORDS of them."""
    return _WORD.findall(fold(query))[:MAX_WORDS]


def prefix_tsquery(terms: list[str]) -> str:
    """A ``to_tsquery('simple', ...)`` text: every word whole but the last, which is a prefix.
    Safe to hand to to_tsquery because ``terms`` hold letters and digits only."""
    assert all(_WORD.fullmatch(term) for term in terms)
    return " & ".join([*terms[:-1], f"{terms[-1]}:*"])


def edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (an adjacent swap counts as one edit: tolkein)."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[-1][j] + 1, row[j - 1] + 1, rows[-1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[-2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]

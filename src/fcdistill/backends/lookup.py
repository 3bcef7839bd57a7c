"""Draft tokens from a row's own context (prompt lookup decoding).

A function-calling reply copies much of what its prompt holds: the function names and call
syntax of the worked examples, the numbers and names of the problem, and, when a model
repeats itself, its own earlier turns word for word. The tokens that followed the latest
earlier occurrence of the context's last few tokens are a guess at the next ones; the
model checks the guess in the same forward pass that writes its next token, and keeps the
part it would have written anyway (greedy decoding: the chain does not change).
"""

from __future__ import annotations

import numpy as np

NGRAM = 3  # the longest tail of the context looked up; shorter tails are tried after it


def draft(context: np.ndarray, tokens: int, ngram: int = NGRAM) -> list[int]:
    """Up to `tokens` tokens that followed the latest earlier occurrence of the context's last
    `ngram` tokens (or, where that tail never occurred before, of a shorter one); [] when even
    the last token is new."""
    if tokens <= 0 or len(context) < 2:
        return []
    last = len(context) - 1
    # Earlier positions holding the last token, latest first: each is the end of a candidate match.
    ends = np.flatnonzero(context[:last] == context[last])[::-1]
    matched = np.ones(len(ends), dtype=bool)  # the candidates whose last n tokens match the tail's
    best = ends[:1]  # the latest candidate matching the longest tail so far
    for n in range(2, min(ngram, last) + 1):
        matched &= (ends >= n - 1) & (context[np.maximum(ends - n + 1, 0)] == context[last - n + 1])
        if not matched.any():
            break
        best = ends[matched][:1]
    if not len(best):
        return []
    return context[best[0] + 1 : best[0] + 1 + tokens].tolist()

"""Drafting tokens from a row's own context (prompt lookup)."""

from __future__ import annotations

import numpy as np

from fcdistill.backends.lookup import draft


def test_the_tokens_after_the_latest_match_of_the_longest_tail():
    context = np.array([5, 1, 2, 3, 9, 9, 1, 2, 3, 7, 8, 4, 0, 2, 3])
    # The tail [0, 2, 3] never occurred before; [2, 3] did, latest at 7..8 (then 7, 8, 4).
    assert draft(context, 3) == [7, 8, 4]
    assert draft(context, 1) == [7]
    assert draft(np.array([4, 1, 2, 3, 6, 6, 2, 3, 5, 1, 2, 3]), 2) == [6, 6]  # [1, 2, 3] beats the later [2, 3]
    assert draft(np.array([4, 1, 2, 3, 6, 6, 2, 3, 5, 1, 2, 3]), 2, ngram=2) == [5, 1]  # the latest [2, 3]


def test_a_repeated_turn_is_drafted_whole():
    turn = [11, 12, 13, 14, 15, 16]
    context = np.array([1, 2, *turn, 3, 4, 11])  # the model starts writing its earlier turn again
    assert draft(context, 4) == [12, 13, 14, 15]
    assert draft(context, 10) == [12, 13, 14, 15, 16, 3, 4, 11]  # up to the context's end


def test_nothing_to_draft():
    assert draft(np.array([1, 2, 3, 4]), 4) == []  # the last token is new
    assert draft(np.array([7]), 4) == []
    assert draft(np.array([1, 2, 1]), 0) == []

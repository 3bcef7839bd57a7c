"""Labelled chains to preference pairs."""

from fcdistill.pairs.build import STRATEGIES, Pair, PairSettings, balanced_pairs, build_pairs, make_pair
from fcdistill.pairs.checks import ChainChecks, check_chain

__all__ = [
    "STRATEGIES",
    "ChainChecks",
    "Pair",
    "PairSettings",
    "balanced_pairs",
    "build_pairs",
    "check_chain",
    "make_pair",
]

"""Labelled chains to preference pairs."""

from fcdistill.pairs.build import STRATEGIES, Pair, build_pairs, make_pair
from fcdistill.pairs.checks import ChainChecks, check_chain

__all__ = ["STRATEGIES", "ChainChecks", "Pair", "build_pairs", "check_chain", "make_pair"]

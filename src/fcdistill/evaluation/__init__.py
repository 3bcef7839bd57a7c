"""Scoring chains."""

from fcdistill.evaluation.compare import Summary, summarize

__all__ = ["Summary", "summarize"]

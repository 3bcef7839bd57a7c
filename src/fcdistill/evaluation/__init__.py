"""Scoring chains."""

from fcdistill.evaluation.summary import Summary, summarize

__all__ = ["Summary", "summarize"]

"""Chain records and their JSONL files."""

from fcdistill.chains.records import CallRecord, Chain, Message, Problem, Sampling

__all__ = ["CallRecord", "Chain", "Message", "Problem", "Sampling"]

"""The self-contained HTML report of a pipeline run, and its plots."""

from fcdistill.report.html import write_report
from fcdistill.report.plots import accuracy_vs_size

__all__ = ["accuracy_vs_size", "write_report"]

"""Plots for the report; training curves come from `fcdistill.training.curves.plot_curves`."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullFormatter  # noqa: E402

from fcdistill.evaluation.results import OVERALL, RunResults  # noqa: E402
from fcdistill.report.html import format_parameters  # noqa: E402

MARKERS = "osD^vP*X"
DODGE = 1.06  # n_max series side by side: x times DODGE ** offset, so equal sizes do not overlap


def accuracy_vs_size(results: RunResults, path: Path) -> Path:
    """Accuracy (%) against parameters (log x), one point per model label and n_max, 95% CI as error bars;
    over all tasks pooled when there are several. Labels with no known parameter count are left out."""
    parameters = {m.label: m.parameters for m in results.models if m.parameters}
    tasks = {e.task for e in results.evaluations}
    shown = [
        e for e in results.evaluations if e.task == (OVERALL if OVERALL in tasks else e.task) and e.model in parameters
    ]
    series = sorted({e.n_max for e in shown})
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for i, n_max in enumerate(series):
        points = [e for e in shown if e.n_max == n_max]
        x = [parameters[e.model] * DODGE ** (i - (len(series) - 1) / 2) for e in points]
        y = [100 * e.accuracy for e in points]
        low = [100 * (e.accuracy - e.ci[0]) for e in points]
        high = [100 * (e.ci[1] - e.accuracy) for e in points]
        ax.errorbar(
            x, y, yerr=[low, high], fmt=MARKERS[i % len(MARKERS)], color=f"C{i}", capsize=3, label=f"n_max {n_max}"
        )
        for e, xi, yi in zip(points, x, y):
            ax.annotate(e.model, (xi, yi), xytext=(5, 4), textcoords="offset points", fontsize=8)
    ax.set_xscale("log")
    sizes = sorted(set(parameters.values()))
    if sizes:
        ax.set_xlim(sizes[0] / 1.6, sizes[-1] * 1.6)
        ax.set_xticks(sizes)
        ax.xaxis.set_major_formatter(FuncFormatter(lambda n, _: format_parameters(int(n))))
        ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("parameters")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3, which="both")
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path

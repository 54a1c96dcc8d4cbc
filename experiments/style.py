"""One consistent figure style for the catalogue: exact curves solid, simulated points with
error bars, bounds dashed (order-only bounds dotted and labelled so)."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use(os.environ.get("MPLBACKEND", "Agg"))
import matplotlib.pyplot as plt  # noqa: E402

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
EXACT = dict(linestyle="-", linewidth=1.8)
SIM = dict(linestyle="none", marker="o", markersize=4.5, capsize=3, elinewidth=1.0)
BOUND = dict(linestyle="--", linewidth=1.4)
ORDER_ONLY = dict(linestyle=":", linewidth=1.6)

plt.rcParams.update(
    {
        "figure.dpi": 110,
        "savefig.dpi": 150,
        "font.size": 10,
        "axes.titlesize": 11,
        "axes.labelsize": 10,
        "legend.fontsize": 8.5,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.constrained_layout.use": True,
    }
)


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.2, height: float = 4.0):
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    return fig, axes


def save(fig, path_stem: str) -> list[str]:
    """Write ``path_stem``.png and .pdf (atomically) and close the figure."""
    out = []
    d = os.path.dirname(path_stem)
    if d:
        os.makedirs(d, exist_ok=True)
    for ext in ("png", "pdf"):
        final = f"{path_stem}.{ext}"
        tmp = f"{path_stem}.tmp.{ext}"
        fig.savefig(tmp)
        os.replace(tmp, final)
        out.append(final)
    plt.close(fig)
    return out

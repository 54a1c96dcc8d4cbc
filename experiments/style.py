"""One consistent figure style for the catalogue: exact curves solid, simulated points with
error bars, bounds dashed (order-only bounds dotted and labelled so)."""

from __future__ import annotations

import contextlib
import os
import time

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


PNG_METADATA = {"Software": f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/"}
"""Fixed PNG text chunks (matplotlib's default, no date): the same figure gives the same bytes."""

PDF_METADATA = {"CreationDate": None}
"""No creation date in the vector PDF, so that re-running leaves the committed file unchanged."""

_VECTOR_PDF = [os.environ.get("SHARPSIM_PDF", "") == "1"]


@contextlib.contextmanager
def vector_pdf(enabled: bool = True):
    """Within the block, :func:`save` renders the PDF as vector graphics (a second rendering).

    The runner turns it on for full runs (``figures/``); ``SHARPSIM_PDF=1`` turns it on everywhere.
    """
    old = _VECTOR_PDF[0]
    _VECTOR_PDF[0] = bool(enabled) or old
    try:
        yield
    finally:
        _VECTOR_PDF[0] = old


def _raster_pdf(fig, path: str) -> None:
    """A one-page PDF holding the figure's Agg raster (just rendered for the PNG; no second rendering)."""
    from PIL import Image

    rgba = Image.frombuffer("RGBA", fig.canvas.get_width_height(physical=True),
                            bytes(fig.canvas.buffer_rgba()), "raw", "RGBA", 0, 1)
    epoch = time.gmtime(0)
    rgba.convert("RGB").save(path, "PDF", resolution=float(plt.rcParams["savefig.dpi"]),
                             title="sharpsim figure", creationDate=epoch, modDate=epoch)


def save(fig, path_stem: str) -> list[str]:
    """Write ``path_stem``.png and .pdf (atomically, byte-reproducibly) and close the figure.

    The PNG is rendered once at ``savefig.dpi`` (what the README shows). The PDF is vector
    graphics in full runs or on request (:func:`vector_pdf`, ``SHARPSIM_PDF=1``); otherwise it is
    that same raster wrapped in a PDF page, which costs no second rendering.
    """
    out = []
    d = os.path.dirname(path_stem)
    if d:
        os.makedirs(d, exist_ok=True)
    png, pdf = f"{path_stem}.png", f"{path_stem}.pdf"
    tmp = f"{path_stem}.tmp.png"
    fig.savefig(tmp, metadata=PNG_METADATA)
    os.replace(tmp, png)
    tmp = f"{path_stem}.tmp.pdf"
    if _VECTOR_PDF[0]:
        fig.savefig(tmp, metadata=PDF_METADATA)
    else:
        _raster_pdf(fig, tmp)
    os.replace(tmp, pdf)
    out += [png, pdf]
    plt.close(fig)
    return out

"""Figures are byte-reproducible (issue 12): the same figure saved twice gives the same PNG and PDF
bytes, the PDF carries no creation date, and the vector PDF is written only on request."""

import numpy as np

from experiments import style


def _figure():
    fig, axes = style.new_figure(2, 1)
    for k, ax in enumerate(axes[0]):
        x = np.arange(20)
        ax.errorbar(x, np.sin(x / 3.0) + k, yerr=0.1, label="sim", **style.SIM)
        ax.plot(x, np.cos(x / 3.0), label="exact", **style.EXACT)
        ax.set_title(f"({'ab'[k]}) panel")
        ax.legend()
    return fig


def _bytes(stem):
    return {ext: open(f"{stem}.{ext}", "rb").read() for ext in ("png", "pdf")}


def test_raster_pdf_by_default_and_bytes_repeat(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    assert style.save(_figure(), a) == [f"{a}.png", f"{a}.pdf"]
    style.save(_figure(), b)
    ba, bb = _bytes(a), _bytes(b)
    assert ba == bb
    assert ba["png"].startswith(b"\x89PNG") and ba["pdf"].startswith(b"%PDF")
    assert b"/Image" in ba["pdf"] and b"/Font" not in ba["pdf"]  # the PNG's raster, no second rendering
    assert len(ba["pdf"]) > 10_000


def test_vector_pdf_on_request_has_no_date_and_repeats(tmp_path):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    with style.vector_pdf():
        style.save(_figure(), a)
        style.save(_figure(), b)
    ba, bb = _bytes(a), _bytes(b)
    assert ba == bb
    assert b"/Font" in ba["pdf"] and b"CreationDate" not in ba["pdf"]
    style.save(_figure(), str(tmp_path / "c"))  # the request ends with the block
    assert b"/Font" not in _bytes(str(tmp_path / "c"))["pdf"]

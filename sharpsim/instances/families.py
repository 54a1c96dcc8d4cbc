"""Random families with a controllable coverage and margin, for scaling sweeps (SPEC 3.4, 3.6).

* :func:`two_level_family`: every prompt has argmax mass a = 1/C_cov and runner-up exactly
  a/(1 + gamma_margin), the rest spread randomly below it: C_cov and gamma_margin are exact.
* :func:`power_law_family`: rows proportional to rank^(-s) (wraps sharpsim.power_law_table),
  C_cov exact; the margin is then 2^s - 1 (:func:`power_law_margin`).
"""

from __future__ import annotations

import jax
import numpy as np

from .._validate import check_int, check_positive, check_real
from ..generators import power_law_exponent, power_law_table
from ..models import TabularLM

__all__ = ["two_level_family", "two_level_coverage_range", "power_law_family", "power_law_margin"]


def _numpy_rng(key) -> np.random.Generator:
    """numpy Generator seeded by 128 bits drawn from the jax key (same key, same bits; one compile for all shapes)."""
    bits = np.asarray(jax.random.bits(key, (4,), dtype=np.uint32))
    return np.random.default_rng([int(b) for b in bits])


def two_level_coverage_range(Y: int, gamma_margin: float) -> tuple[float, float]:
    """Feasible C_cov for :func:`two_level_family`: [(2 + g)/(1 + g), (Y + g)/(1 + g)], g = gamma_margin.

    Lower end: a + a/(1+g) <= 1 (argmax and runner-up fit); upper end: 1 - a <= (Y - 1) a/(1+g)
    (the Y - 1 non-argmax responses, each <= a/(1+g), carry the remaining mass).
    """
    Y = check_int(Y, "Y", minimum=2)
    g = check_positive(check_real(gamma_margin, "gamma_margin"), "gamma_margin")
    return (2.0 + g) / (1.0 + g), (Y + g) / (1.0 + g)


def two_level_family(key, X: int, Y: int, C_cov: float, gamma_margin: float, mu=None) -> TabularLM:
    """TabularLM with exact C_cov and exact margin gamma_margin (unique argmax at every prompt).

    Each prompt: argmax mass a = 1/C_cov, runner-up r = a/(1 + gamma_margin) (so the margin of
    Assumption 4.2 is exactly gamma_margin), and the remaining mass 1 - a - r spread over the other
    Y - 2 responses as a keyed mixture lambda Dirichlet(1) + (1 - lambda) uniform, with lambda the
    largest value in [0, 1] keeping every entry <= r (ties with the runner-up are allowed, the
    margin stays exact). Responses are permuted per prompt (keyed). Since every argmax is unique and
    has mass a, C_cov = C_bar_cov = 1/a = C_cov exactly. Requires C_cov in
    :func:`two_level_coverage_range`; Y = 2 forces C_cov = (2 + g)/(1 + g).
    """
    X = check_int(X, "X")
    Y = check_int(Y, "Y", minimum=2)
    g = check_positive(check_real(gamma_margin, "gamma_margin"), "gamma_margin")
    C = check_real(C_cov, "C_cov")
    lo, hi = two_level_coverage_range(Y, g)
    if not (lo * (1 - 1e-12) <= C <= hi * (1 + 1e-12)):
        raise ValueError(
            f"C_cov must lie in [{lo:.6g}, {hi:.6g}] for Y={Y}, gamma_margin={g} "
            f"(argmax 1/C_cov, every other response <= argmax/(1+gamma_margin)), got {C}"
        )
    a = 1.0 / C
    r = a / (1.0 + g)
    rest = max(0.0, 1.0 - a - r)
    rng = _numpy_rng(key)
    table = np.zeros((X, Y))
    table[:, 0] = a
    table[:, 1] = r
    if Y > 2:
        # Dirichlet(1) as normalised Exp(1) variates (cheaper to compile than jax.random.dirichlet)
        e = rng.standard_exponential((X, Y - 2))
        w = e / e.sum(axis=1, keepdims=True)
        u = 1.0 / (Y - 2)
        # entries rest*((1-lam) u + lam w_i) <= r  <=>  lam (w_i - u) <= r/rest - u
        slack = (r / rest - u) if rest > 0 else np.inf
        excess = np.max(w - u, axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            lam = np.where(excess > 0, np.minimum(1.0, slack / excess), 1.0)
        lam = np.clip(lam, 0.0, 1.0)
        table[:, 2:] = rest * ((1.0 - lam)[:, None] * u + lam[:, None] * w)
        table[:, 2:] = np.minimum(table[:, 2:], r)  # float guard (exact ties at r are allowed)
    # keyed per-prompt permutations: argsort of i.i.d. uniforms (cheap to compile for any shape)
    perms = np.argsort(rng.random((X, Y)), axis=1)
    out = np.empty_like(table)
    np.put_along_axis(out, perms, table, axis=1)
    return TabularLM(out, mu)


def power_law_family(key, X: int, Y: int, C_cov: float, mu=None) -> TabularLM:
    """Power-law rows p(rank r) proportional to r^(-s) with C_cov exact (wraps sharpsim.power_law_table).

    The margin is then exactly 2^s - 1 (:func:`power_law_margin`).
    """
    return power_law_table(key, X, Y, C_cov, mu)


def power_law_margin(Y: int, C_cov: float) -> float:
    """Margin 2^s - 1 of :func:`power_law_family` (argmax over runner-up = (1/2)^(-s))."""
    return 2.0 ** power_law_exponent(C_cov, Y) - 1.0

"""Exact finite-sample references for the simulations (theory layer).

* One prompt, SFT-Sharpening with the tabular class: :func:`kmin`, :func:`exact_success`
  (P[Bin(n, q_N) >= k_min], q_N = 1 - (1 - p*)^N), :func:`exact_path_m` (the least m along a
  ray of sizes), :func:`exact_optimum` (the least m = n N over all sizes) and
  :func:`population_N_checked` (N_pop from the closed form, confirmed by ``bon_law``).
* The lower-bound family's Bayes-optimal learner (F12): :func:`bayes_error_exact` (per-coordinate
  error after k draws, occupancy recursion) and :func:`bayes_curve` (its expectation over
  k ~ Bin(m, Delta/d)). Its simulation through the oracle is :mod:`sharpsim.algorithms.bayes`.

Each is checked against simulation in the experiments and against brute force in the tests.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .quantities import bon_law, population_N

__all__ = ["kmin", "exact_success", "exact_path_m", "exact_optimum", "population_N_checked",
           "bayes_error_exact", "bayes_curve"]


def kmin(n: int, delta: float) -> int:
    """Smallest count k with k/n > 1 - delta (the tabular MLE puts k/n on y*), in float64 as the engine."""
    k = int(math.floor((1.0 - delta) * n))
    while k / n <= 1.0 - delta:
        k += 1
    while k > 0 and (k - 1) / n > 1.0 - delta:
        k -= 1
    return k


def exact_success(p_star: float, n: int, N: int, delta: float) -> float:
    """P[SFT on one prompt succeeds] = P[Bin(n, q_N) >= k_min], q_N = 1 - (1 - p*)^N (exact)."""
    q = -math.expm1(N * math.log1p(-p_star))
    return float(stats.binom.sf(kmin(n, delta) - 1, n, q))


def exact_path_m(p_star, n0, N0, delta, rho, grid=4000) -> float:
    """Smallest m = n_s N_s along (n_s, N_s) = (ceil(s n0), ceil(s N0)) with exact success >= 1 - rho."""
    for sc in np.geomspace(1e-4, 1.0, grid):
        n, N = max(1, math.ceil(sc * n0)), max(1, math.ceil(sc * N0))
        if exact_success(p_star, n, N, delta) >= 1 - rho:
            return float(n * N)
    return float("nan")


def exact_optimum(p_star, delta, rho, n_max=64) -> tuple[float, int, int]:
    """min over n <= n_max of n N_min(n), N_min(n) the least N with exact success >= 1 - rho."""
    best = (math.inf, 0, 0)
    for n in range(1, n_max + 1):
        lo, hi = 0, 1
        while exact_success(p_star, n, hi, delta) < 1 - rho:
            lo, hi = hi, 2 * hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if exact_success(p_star, n, mid, delta) >= 1 - rho:
                hi = mid
            else:
                lo = mid
        if n * hi < best[0]:
            best = (float(n * hi), n, hi)
    return best


def population_N_checked(base, delta: float) -> tuple[int, float]:
    """N_pop of a one-prompt base: least N with pi^BoN_N(y*) > 1 - delta, from the closed form
    (:func:`sharpsim.quantities.population_N`, then stepped down while N - 1 also succeeds in
    float64), confirmed by ``bon_law``.

    Returns (N_pop, max |bon_law(y*) - closed form| at N_pop - 1 and N_pop)."""
    p = float(np.max(base.table()))
    star = int(np.argmax(base.table()[0]))
    N = population_N(np.array([p]), np.ones(1), delta, 0.0)
    while N > 1 and -math.expm1((N - 1) * math.log1p(-p)) > 1 - delta:
        N -= 1
    law_hi = float(bon_law(base, N)[0, star])
    law_lo = float(bon_law(base, max(N - 1, 1))[0, star]) if N > 1 else 0.0
    if not (law_hi > 1 - delta and (N == 1 or law_lo <= 1 - delta)):
        raise AssertionError(f"bon_law disagrees with the closed form at N_pop={N}")
    disc = max(abs(law_hi + math.expm1(N * math.log1p(-p))),
               abs(law_lo + math.expm1((N - 1) * math.log1p(-p))) if N > 1 else 0.0)
    return N, disc


def bayes_error_exact(M: int, k_max: int) -> np.ndarray:
    """b(k), k = 0..k_max: exact Bayes-optimal per-coordinate error after k draws at x_i.

    b(k) = (1 - 2/M)^k E[1 - 1/(M - D_k)], D_k = number of distinct indices among k uniform
    draws from the M - 1 non-argmax indices (occupancy recursion, see the module docstring).
    """
    K = M - 1
    occ = np.zeros(K + 1)
    occ[0] = 1.0
    a = 2.0 / M
    j = np.arange(K + 1)
    inner = 1.0 - 1.0 / (M - j)
    out = np.empty(k_max + 1)
    for k in range(k_max + 1):
        out[k] = (1.0 - a) ** k * float(occ @ inner)
        new = occ * j / K
        new[1:] += occ[:-1] * (K - j[1:] + 1) / K
        occ = new
    return out


def bayes_curve(M: int, d: int, Delta: float, m_values) -> np.ndarray:
    """Exact per-coordinate Bayes error E_{k ~ Bin(m, Delta/d)} b(k) at each m (N = 1 per prompt)."""
    m_values = np.asarray(m_values, dtype=np.int64)
    b = bayes_error_exact(M, int(m_values.max()))
    out = []
    for m in m_values:
        k = np.arange(m + 1)
        out.append(float(stats.binom.pmf(k, m, Delta / d) @ b[: m + 1]))
    return np.array(out)

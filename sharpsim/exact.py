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


def _success_many(p_star: float, ns, Ns, delta: float) -> np.ndarray:
    """:func:`exact_success` at the sizes (ns[i], Ns[i]), float64 [len(ns)]: the same bits, one
    vectorized ``binom.sf`` instead of one call per size (q_N and k_min per element as there)."""
    k = {n: kmin(n, delta) for n in set(ns)}
    q = {N: -math.expm1(N * math.log1p(-p_star)) for N in set(Ns)}
    return np.asarray(stats.binom.sf(np.array([k[n] - 1 for n in ns], dtype=np.int64),
                                      np.array(ns, dtype=np.int64), np.array([q[N] for N in Ns])), dtype=np.float64)


def exact_path_m(p_star, n0, N0, delta, rho, grid=4000) -> float:
    """Smallest m = n_s N_s along (n_s, N_s) = (ceil(s n0), ceil(s N0)) with exact success >= 1 - rho
    (s on a geometric grid of ``grid`` points from 1e-4 to 1; nan if none succeeds)."""
    scs = np.geomspace(1e-4, 1.0, grid)
    ns = [max(1, math.ceil(sc * n0)) for sc in scs]
    Ns = [max(1, math.ceil(sc * N0)) for sc in scs]
    ok = np.flatnonzero(_success_many(p_star, ns, Ns, delta) >= 1 - rho)
    return float(ns[ok[0]] * Ns[ok[0]]) if ok.size else float("nan")


_DOUBLINGS = 62
"""exact_optimum's doubling phase looks at N = 2^0 .. 2^_DOUBLINGS at once (sizes where no N
succeeds are searched one doubling at a time beyond it, as before)."""


def exact_optimum(p_star, delta, rho, n_max=64) -> tuple[float, int, int]:
    """min over n <= n_max of n N_min(n), N_min(n) the least N with exact success >= 1 - rho.

    N_min(n) by doubling (the least power of two hi that succeeds, lo = hi / 2 or 0) then bisection
    on (lo, hi]; every n's steps are evaluated together (:func:`_success_many`), the same searches
    and results as one n at a time. Ties in n N go to the smallest n. Returns (m, n, N_min(n)).
    """
    ns = list(range(1, n_max + 1))
    pows = [2**j for j in range(_DOUBLINGS + 1)]
    ok = (_success_many(p_star, [n for n in ns for _ in pows], pows * len(ns), delta) >= 1 - rho).reshape(len(ns), -1)
    lo, hi = [], []
    for i, n in enumerate(ns):
        j = np.flatnonzero(ok[i])
        if j.size:
            hi.append(pows[j[0]])
            lo.append(pows[j[0] - 1] if j[0] else 0)
        else:  # beyond 2^_DOUBLINGS: go on doubling one at a time
            h = 2 * pows[-1]
            while exact_success(p_star, n, h, delta) < 1 - rho:
                h *= 2
            hi.append(h)
            lo.append(h // 2)
    while True:
        live = [i for i in range(len(ns)) if hi[i] - lo[i] > 1]
        if not live:
            break
        mids = [(lo[i] + hi[i]) // 2 for i in live]
        good = _success_many(p_star, [ns[i] for i in live], mids, delta) >= 1 - rho
        for i, mid, g in zip(live, mids, good):
            if g:
                hi[i] = mid
            else:
                lo[i] = mid
    best = (math.inf, 0, 0)
    for n, h in zip(ns, hi):
        if n * h < best[0]:
            best = (float(n * h), n, h)
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

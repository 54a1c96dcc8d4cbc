"""Token-level factorization of the power distribution of an autoregressive model (issue 14).

For pi(y_{1:H}|x) = prod_h pi_h(y_h | ctx_h, x), where ctx_h is the last c_h tokens of y_{<h}
(c_1 = 0, c_{h+1} <= c_h + 1: a prefix tree when c_h = h - 1, Markov of order k when
c_h = min(h - 1, k)), the power distribution p_alpha(y|x) proportional to pi(y|x)^alpha is
again autoregressive with the same contexts:

    p_alpha,h(v | ctx_h, x) = pi_h(v | ctx_h, x)^alpha zeta_h(ctx_{h+1}(ctx_h, v), x) / zeta_{h-1}(ctx_h, x),
    zeta_H = 1,
    zeta_{h-1}(ctx_h, x) = sum_v pi_h(v | ctx_h, x)^alpha zeta_h(ctx_{h+1}(ctx_h, v), x),

zeta_h(ctx_{h+1}) = sum over continuations y_{>h} of pi(y_{>h} | y_{<=h}, x)^alpha (the look-ahead
weight of Ji et al., arXiv 2601.21590), which depends on y_{<=h} only through ctx_{h+1}
because every later step reads at most the last c_{h+1} tokens of it. The next context is
ctx_{h+1} = (ctx_h V + v) mod V^{c_{h+1}} (big-endian). The backward recursion visits each
context once: cost sum_h X V^(c_h + 1) (for Markov order k: H X V^(k+1)), never V^H.
Token-level temperature 1/alpha is the same recursion with zeta = 1.

Pure numpy in log space; imports nothing above :mod:`sharpsim._validate`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from scipy.special import logsumexp

from ._validate import as_float_array, check_positive

__all__ = ["ARPower", "power_conditionals"]


class ARPower(NamedTuple):
    """Result of :func:`power_conditionals`.

    conditionals: list of H log-probability arrays [X, V^c_h, V] of p_alpha,h(. | ctx_h, x);
    log_zeta: list of H arrays; log_zeta[h-1] has shape [X, V^c_{h+1}] (c_{H+1} = 0) and holds
      log zeta_h(ctx_{h+1}, x) = log sum_{y_{>h}} pi(y_{>h} | y_{<=h}, x)^alpha (zeros at h = H);
    log_normalizer: [X], log sum_y pi(y|x)^alpha (= log zeta_0).
    """

    conditionals: list
    log_zeta: list
    log_normalizer: np.ndarray


def _context_length(n: int, V: int, h: int) -> int:
    if V == 1:
        if n != 1:
            raise ValueError(f"log_conds[{h - 1}] has {n} contexts; with V = 1 there is one")
        return 0
    c = int(round(math.log(n, V))) if n >= 1 else -1
    if c < 0 or V**c != n:
        raise ValueError(f"log_conds[{h - 1}] has {n} contexts, which is not a power of V={V}")
    return c


def power_conditionals(log_conds: Sequence, alpha) -> ARPower:
    """Exact token-level conditionals of the power distribution pi^alpha / Z (module docstring).

    Args:
      log_conds: list of H log-conditional arrays [X, V^c_h, V] (``AutoregressiveLM.conditionals``),
        rows normalised, ``-inf`` for zeros; c_1 = 0 and c_{h+1} <= c_h + 1.
      alpha: > 0 (finite).
    Returns:
      :class:`ARPower`. The product of the returned conditionals along any sequence equals
      alpha log pi(y|x) - log_normalizer[x] (up to rounding).
    """
    alpha = check_positive(alpha, "alpha")
    if not math.isfinite(alpha):
        raise ValueError("alpha must be finite")
    if isinstance(log_conds, np.ndarray) or not isinstance(log_conds, Sequence) or len(log_conds) < 1:
        raise TypeError("log_conds must be a non-empty list of H arrays [X, V^c_h, V]")
    conds = [as_float_array(c, f"log_conds[{i}]") for i, c in enumerate(log_conds)]
    X, _, V = conds[0].shape if conds[0].ndim == 3 else (None, None, None)
    if X is None:
        raise ValueError(f"log_conds[0] must have shape [X, 1, V], got {conds[0].shape}")
    ctx = []
    for h, c in enumerate(conds, start=1):
        if c.ndim != 3 or c.shape[0] != X or c.shape[2] != V:
            raise ValueError(f"log_conds[{h - 1}] has shape {c.shape}, expected [X={X}, V^c, V={V}]")
        if np.isnan(c).any() or (c > 1e-12).any():
            raise ValueError(f"log_conds[{h - 1}] must hold log-probabilities (no NaN, none above 0)")
        c_h = _context_length(c.shape[1], V, h)
        if (h == 1 and c_h != 0) or (h > 1 and c_h > ctx[-1] + 1):
            raise ValueError("context lengths must satisfy c_1 = 0 and c_(h+1) <= c_h + 1")
        ctx.append(c_h)
    H = len(conds)
    out = [None] * H
    log_zeta = [None] * H
    logZ_next = np.zeros((X, 1))  # zeta_H = 1 on the empty context
    c_next = 0
    for h in range(H, 0, -1):
        c_h = ctx[h - 1]
        nxt = (np.arange(V**c_h)[:, None] * V + np.arange(V)[None, :]) % (V**c_next)  # [V^c_h, V]
        lc = conds[h - 1]
        with np.errstate(invalid="ignore"):
            scaled = np.where(np.isneginf(lc), -np.inf, alpha * lc)
        vals = scaled + logZ_next[:, nxt]  # [X, V^c_h, V]
        logZ = logsumexp(vals, axis=-1)  # [X, V^c_h], finite: every row has a live token
        out[h - 1] = vals - logZ[..., None]
        log_zeta[h - 1] = logZ_next
        logZ_next, c_next = logZ, c_h
    return ARPower(out, log_zeta, logZ_next[:, 0])

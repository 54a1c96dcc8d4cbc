"""Sharpening versus discovery: exact pass@k, its estimator, crossovers and support (issue 13).

A *task* adds a verifier to a model: a boolean ``correct`` table [X, Y] (or a predicate, see
:func:`correct_table`). Sharpening never looks at it (the self-reward is log pi_base); the
verifier is only used to score. With p(x) = pi(correct|x) = sum_{y correct} pi(y|x):

* pass@k(x) = 1 - (1 - p(x))^k (k independent draws, at least one correct) and its
  dataset average pass@k = sum_x mu(x) pass@k(x)  (:func:`pass_at_k`; log space throughout:
  log(1 - p) = log1p(-p) for p <= 1/2 and log of the wrong mass otherwise, then
  pass@k = -expm1(k log(1 - p)), exact for p = 1e-30 as for p = 1 - 1e-30).
* The unbiased estimator from c correct among n samples (Chen et al. 2021, arXiv 2107.03374),
  pass@k-hat = 1 - C(n-c, k) / C(n, k)  (:func:`pass_at_k_estimate`), and its exact variance under
  c ~ Binomial(n, p) (:func:`pass_at_k_estimator_variance`, Hoeffding's U-statistic formula, a
  finite sum of k terms), so that one can ask how many samples resolve a difference
  (:func:`passk_samples_to_resolve`).
* The dataset crossover: the smallest integer k with pass_base@k >= pass_sharp@k
  (:func:`passk_crossover`), i.e. the first k >= 1 with
      D(k) = sum_x mu(x) [ (1 - p_sharp(x))^k - (1 - p_base(x))^k ] >= 0,
  found exactly by a scan whose steps are certified by a derivative bound and a tail bound.
  Per prompt, pass@k is increasing in p(x) for every k, so two models never cross on one prompt:
  a dataset crossover is a mixture effect (sharpening raises p where the mode is correct and
  lowers it where it is not).
* The sharpened models: best-of-N (:func:`sharpsim.bon_law`), the tilted pi*_beta proportional
  to pi^(1 + 1/beta) (:func:`sharpsim.tilted`), the argmax (beta -> 0, :func:`argmax_policy`) and
  the model *learned* by SFT-Sharpening through the counting oracle (:func:`sft_learned`), whose
  support can shrink; :func:`sft_support` gives its expected pass@infinity and lost correct mass
  in closed form.
* Heavy-tailed difficulty (Schaeffer et al. 2025, arXiv 2502.17578): with p ~ Beta(a, b) over
  prompts, 1 - pass@k = E[(1 - p)^k] = B(a, b + k) / B(a, b) ~ Gamma(a + b)/Gamma(b) k^(-a), so
  -log pass@k ~ Gamma(a + b)/Gamma(b) k^(-a) (:func:`beta_difficulty_pass_at_k`);
  :func:`beta_difficulty_task` is a finite model (Gauss-Jacobi prompts) whose pass@k equals the
  closed form exactly for k <= 2M - 1.

References: Yue et al. 2025 (arXiv 2504.13837) for the pass@k question; Huang et al. (arXiv
2412.01951, SPEC 5.1, 6.1, 9) for the sharpening operators.

Why one file of ~800 lines: pass@k, its estimator and exact variance, the crossover scan, the
support loss of the SFT-learned model and the Beta-difficulty closed form answer one question
(does sharpening only re-weight, or discover?) and share the log-space helpers for 1 - p; the
crossover's certified scan needs pass@k's own rounding rules, so they stay side by side.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy.special import betaln, gammaln, logsumexp

from ._validate import (
    as_float_array,
    check_int,
    check_open_unit,
    check_positive,
    is_model,
    log_table_of,
    mu_of,
)
from .algorithms import sft_sharpening
from .classes import TabularClass
from .models import TabularLM
from .oracle import Oracle
from .quantities import argmax_set, bon_law

__all__ = [
    "PassAtK",
    "correct_table",
    "correct_mass",
    "pass_at_k",
    "pass_at_k_estimate",
    "pass_at_k_estimator_variance",
    "passk_crossover",
    "passk_gap",
    "passk_samples_to_resolve",
    "argmax_policy",
    "sft_learned",
    "SupportLoss",
    "sft_support",
    "BetaPassAtK",
    "beta_difficulty_pass_at_k",
    "beta_difficulty_task",
]

TIE_RTOL = 1e-12
"""Relative tolerance on log(1 - pi(correct|x)) under which the base and the sharpened model count
as tied on a prompt (:func:`passk_crossover`, :func:`passk_gap`, :func:`passk_samples_to_resolve`)."""

MAX_SCAN_STEPS = 10**5
"""Cap on the certified scan of :func:`passk_crossover` (reached only by pathological inputs)."""


# --------------------------------------------------------------------------- the verifier


def correct_table(model, correct) -> np.ndarray:
    """The verifier as a bool [X, Y] table.

    ``correct`` is a bool (or 0/1) array [X, Y], or a predicate called as ``correct(x, y)`` with
    x int [X, 1] and, for an autoregressive model (one with ``V`` and ``H``), y the tokens int
    [1, Y, H] of every sequence (big-endian order of :func:`sharpsim.decode`), else y the response
    indices int [1, Y]; it must return a bool array broadcastable to [X, Y]. Example (the answer
    is the last token): ``lambda x, t: t[..., -1] == answers[x]``.
    """
    lt = log_table_of(model, "model")
    X, Y = lt.shape
    if callable(correct) and not isinstance(correct, np.ndarray):
        x = np.arange(X)[:, None]
        if is_model(model) and hasattr(model, "V") and hasattr(model, "H"):
            from .models import decode

            y = decode(np.arange(Y), model.V, model.H)[None]
        else:
            y = np.arange(Y)[None, :]
        try:
            out = np.broadcast_to(np.asarray(correct(x, y)), (X, Y))
        except ValueError as exc:
            raise ValueError(f"the predicate correct(x, y) must return an array broadcastable to [X, Y] = [{X}, {Y}]: {exc}") from None
        if out.dtype != np.bool_:
            raise TypeError(f"the predicate correct(x, y) must return booleans, got dtype {out.dtype}")
        return np.array(out)
    arr = np.asarray(correct)
    if arr.dtype == np.bool_:
        out = arr
    else:
        f = as_float_array(correct, "correct")
        if np.isnan(f).any() or not np.isin(f, (0.0, 1.0)).all():
            raise ValueError("correct must be a boolean table (or hold only 0 and 1)")
        out = f.astype(bool)
    if out.shape != (X, Y):
        raise ValueError(f"correct has shape {out.shape} but the model's table is [X, Y] = [{X}, {Y}] (shape mismatch)")
    return np.array(out)


def _log_pq(model, correct):
    """(log p, log(1 - p)) per prompt [X], each from the tail that avoids cancellation."""
    lt = log_table_of(model, "model")
    corr = correct_table(model, correct)
    with np.errstate(under="ignore"):
        log_p = logsumexp(np.where(corr, lt, -np.inf), axis=1)
        log_w = logsumexp(np.where(corr, -np.inf, lt), axis=1)
        # renormalise (tables are exact to ~1e-12 only): p = P / (P + W)
        log_tot = np.logaddexp(log_p, log_w)
    log_p, log_w = log_p - log_tot, log_w - log_tot
    small = log_p <= -math.log(2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_q = np.where(small, np.log1p(-np.exp(np.minimum(log_p, 0.0))), log_w)
        log_p = np.where(small, log_p, np.log1p(-np.exp(np.minimum(log_w, 0.0))))
    log_q = np.where(np.isneginf(log_p), 0.0, log_q)
    log_p = np.where(np.isneginf(log_q), 0.0, log_p)
    return log_p, log_q


def correct_mass(model, correct, log: bool = False) -> np.ndarray:
    """p(x) = pi(correct | x) = sum_{y : correct[x, y]} pi(y|x), float [X] (log p with ``log=True``).

    >>> correct_mass([[0.5, 0.3, 0.2]], [[False, True, True]]).round(12).tolist()
    [0.5]
    """
    log_p, _ = _log_pq(model, correct)
    return log_p if log else np.exp(log_p)


# --------------------------------------------------------------------------- exact pass@k


class PassAtK(NamedTuple):
    """Exact pass@k of a model on a task.

    per_prompt: 1 - (1 - p(x))^k, [X] (k a scalar) or [X, K] (k an array);
    dataset: sum_x mu(x) per_prompt, float or [K];
    dataset_miss: 1 - dataset = sum_x mu(x) (1 - p(x))^k, summed without cancellation;
    log_miss: k log(1 - p(x)), shape of per_prompt;
    p: pi(correct|x) [X].
    """

    per_prompt: np.ndarray
    dataset: object
    dataset_miss: object
    log_miss: np.ndarray
    p: np.ndarray


def _check_k(k, name="k"):
    arr = as_float_array(k, name)
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if (arr < 0).any():
        raise ValueError(f"{name} must be >= 0 (number of attempts), got {arr[arr < 0].ravel()[0]!r}")
    return arr


def _log_miss(log_q, k):
    """k log(1 - p) with 0 * (-inf) = 0 (k = 0) and inf * 0 = 0 (p = 0, k = inf). [X, K]."""
    lq = log_q[:, None]
    kk = k[None, :]
    with np.errstate(invalid="ignore"):
        out = kk * lq
    out = np.where(kk == 0, 0.0, out)
    return np.where(lq == 0, 0.0, out)


def pass_at_k(model, correct, k, mu=None) -> PassAtK:
    """Exact pass@k(x) = 1 - (1 - pi(correct|x))^k and its mu-average (issue 13).

    Args:
      model: [X, Y] table or sharpsim model (autoregressive models are read through
        ``log_table()``, so pi(correct|x) = 1e-30 stays exact).
      correct: the verifier, bool [X, Y] or a predicate (see :func:`correct_table`).
      k: number of attempts, a scalar or an array of reals >= 0 (``np.inf`` gives pass@infinity
        = 1{p(x) > 0}; non-integer k is the analytic extension used for the crossover root).
      mu: [X] prompt weights (None: the model's own, else uniform). A sharpened *table* (the
        output of :func:`sharpsim.bon_law`, :func:`sharpsim.tilted`, ...) carries no mu: pass the
        base's (``mu=base.mu``) when it is not uniform.
    Returns:
      :class:`PassAtK`.

    >>> r = pass_at_k([[0.5, 0.5], [0.9, 0.1]], [[True, False], [False, True]], [1, 2])
    >>> r.per_prompt.round(12).tolist(), r.dataset.round(12).tolist()
    ([[0.5, 0.75], [0.1, 0.19]], [0.3, 0.47])
    """
    lt = log_table_of(model, "model")
    m = mu_of(mu, model, lt.shape[0])
    log_p, log_q = _log_pq(model, correct)
    karr = _check_k(k)
    lm = _log_miss(log_q, karr.ravel())
    per = -np.expm1(lm)
    dataset = per.T @ m
    miss = np.exp(lm).T @ m
    if karr.ndim == 0:
        return PassAtK(per[:, 0], float(dataset[0]), float(miss[0]), lm[:, 0], np.exp(log_p))
    shape = (lt.shape[0],) + karr.shape
    return PassAtK(per.reshape(shape), dataset.reshape(karr.shape), miss.reshape(karr.shape), lm.reshape(shape),
                   np.exp(log_p))


def _pow_diff(xs, xb):
    """exp(xs) - exp(xb) elementwise (xs, xb <= 0, -inf allowed), accurate when both are near 1
    (expm1 difference) and when both are tiny (direct difference)."""
    xs, xb = np.asarray(xs, dtype=np.float64), np.asarray(xb, dtype=np.float64)
    near = (xs > -math.log(2.0)) & (xb > -math.log(2.0))
    with np.errstate(invalid="ignore"):
        return np.where(near, np.expm1(np.where(near, xs, 0.0)) - np.expm1(np.where(near, xb, 0.0)),
                        np.exp(xs) - np.exp(xb))


def passk_gap(base, sharpened, correct, k, mu=None):
    """D(k) = pass_base@k - pass_sharp@k = sum_x mu(x) [(1 - p_sharp(x))^k - (1 - p_base(x))^k].

    The crossover equation of :func:`passk_crossover` is D(k) = 0. float or [K].
    """
    lb, ls = _pair_logq(base, sharpened, correct, mu)
    karr = _check_k(k)
    d = _pow_diff(_log_miss(ls[0], karr.ravel()), _log_miss(lb[0], karr.ravel())).T @ lb[1]
    return float(d[0]) if karr.ndim == 0 else d.reshape(karr.shape)


def _pair_logq(base, sharpened, correct, mu):
    lb = log_table_of(base, "base")
    lsh = log_table_of(sharpened, "sharpened")
    if lb.shape != lsh.shape:
        raise ValueError(f"base has shape {lb.shape} but sharpened has shape {lsh.shape} (shape mismatch)")
    m = mu_of(mu, base, lb.shape[0])
    corr = correct_table(base, correct)
    _, lqb = _log_pq(base, corr)
    _, lqs = _log_pq(sharpened, corr)
    # a prompt whose two masses agree to TIE_RTOL (relative, on log(1 - p)) is a tie: the two
    # tables went through different float roundings (e.g. an unchanged row of tilted(base, beta))
    with np.errstate(invalid="ignore"):
        tie = np.isfinite(lqs) & np.isfinite(lqb) & (np.abs(lqs - lqb) <= TIE_RTOL * np.maximum(np.abs(lqs), np.abs(lqb)))
    lqs = np.where(tie, lqb, lqs)
    return (lqb, m), (lqs, m)


def passk_crossover(base, sharpened, correct, mu=None, root: bool = False) -> float:
    """Smallest integer k >= 1 with dataset pass_base@k >= pass_sharp@k; ``inf`` if there is none.

    Exact: k* is the first integer k >= 1 with
        D(k) = sum_x mu(x) [ (1 - p_s(x))^k - (1 - p_b(x))^k ] >= 0
    (p_b, p_s: pi_base(correct|x), pi_sharp(correct|x); a prompt where log(1 - p_b) and
    log(1 - p_s) agree to the relative :data:`TIE_RTOL` counts as a tie). Written as D(k) = sum_i a_i r_i^k over the
    distinct rates r_i = 1 - p (equal rates merged), the scan from k = 1 skips only integers on
    which D provably stays negative: |D'(t)| <= L(k) = sum_i |a_i| |log r_i| r_i^k for t >= k, so D
    keeps its sign on [k, k + |D(k)|/L(k)). It stops with ``inf`` once the leading term dominates
    with a negative sign: for k > log(S / |a_1|) / log(r_1 / r_2) (S = sum_{i>1} |a_i|), sign D(k)
    = sign a_1. A second certificate skips [k, k + s] when, prompt by prompt, the largest the
    positive terms mu (r_s^t - r_b^t) get on [k, k + s] sums to less than the smallest the negative
    ones get (each |r_s^t - r_b^t| = r_max^t (1 - exp(-t |log r_s - log r_b|)) is unimodal in t). Raises RuntimeError if the scan needs
    more than :data:`MAX_SCAN_STEPS` steps (a near-tangency of D at enormous k). D(k) is summed with ``math.fsum``; near a root its sign is that of the float64 sum.

    Args:
      base, sharpened: [X, Y] tables or models of the same shape; correct: the verifier (see
        :func:`correct_table`); mu: [X] (None: the base's own, else uniform).
      root: False: return the integer k* (a float, ``inf`` if never). True: return the real root
        t in (k* - 1, k*] of D(t) = 0 (brentq; 1.0 when D(1) >= 0, ``inf`` if never).

    >>> base = [[0.4, 0.6], [0.7, 0.3]]     # response 0 is correct; the mode is wrong on prompt 0
    >>> sharp = [[0.2, 0.8], [0.95, 0.05]]  # pass@1: sharp 0.575 > base 0.55
    >>> passk_crossover(base, sharp, [[True, False], [True, False]])
    2.0
    """
    (lqb, m), (lqs, _) = _pair_logq(base, sharpened, correct, mu)
    keep = m > 0
    rates = np.concatenate([lqs[keep], lqb[keep]])
    coef = np.concatenate([m[keep], -m[keep]])
    uniq, inv = np.unique(rates, return_inverse=True)
    a = np.zeros(uniq.shape[0])
    np.add.at(a, inv, coef)
    nz = a != 0.0
    lr, a = uniq[nz][::-1], a[nz][::-1]  # descending rates
    if a.size == 0:
        return 1.0

    mk, lqs_k, lqb_k = m[keep], lqs[keep], lqb[keep]
    lmu = np.log(mk)

    def parts(t):
        """(log of the positive part, log of the negative part) of D(t), per-prompt exact in log
        space: mu (r_s^t - r_b^t) = +- mu r_max^t (1 - exp(-t |log r_s - log r_b|))."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            d = lqs_k - lqb_k
            top = t * np.maximum(lqs_k, lqb_k)
            mag = lmu + top + np.log(-np.expm1(-t * np.abs(d)))
        pos = np.where(d > 0, mag, -np.inf)
        neg = np.where(d < 0, mag, -np.inf)
        return logsumexp(pos), logsumexp(neg)

    def reached(t):
        lp, ln = parts(t)
        return lp >= ln

    def log_abs_D(t):
        lp, ln = parts(t)
        hi, lo = max(lp, ln), min(lp, ln)
        with np.errstate(divide="ignore"):
            return hi + math.log(-math.expm1(lo - hi)) if hi > -np.inf and lo < hi else -math.inf

    if reached(1.0):
        return 1.0
    # tail: for k >= 1 the rates r = 0 (p = 1) contribute nothing to sum a_i r_i^k
    fin = np.isfinite(lr)
    lrf, af = lr[fin], a[fin]
    if af.size == 0:  # every term is 0 for k >= 1
        return 1.0
    k_tail = math.inf
    if af[0] < 0:
        if af.size == 1:
            return math.inf
        S = float(np.abs(af[1:]).sum())
        k_tail = max(1.0, math.log(S / abs(af[0])) / (lrf[0] - lrf[1]))
    live = lrf < 0
    log_coef = np.log(np.abs(af[live])) + np.log(-lrf[live])

    with np.errstate(invalid="ignore", divide="ignore"):
        dpr = lqs_k - lqb_k
        Mx = np.maximum(lqs_k, lqb_k)  # per prompt, mu |r_s^t - r_b^t| = mu g(t), g(t) = e^(t M) (1 - e^(-t dd))
        dd = np.abs(dpr)
        # g rises until t0 = log((M - dd) / M) / dd, then falls (t0 = inf when M = 0, -inf when dd = inf)
        t0 = np.where(Mx == 0, np.inf, np.where(np.isinf(dd), -np.inf, np.log((Mx - dd) / Mx) / dd))
    posx, negx = dpr > 0, dpr < 0

    def log_g(t):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            return np.where(np.isneginf(Mx), -np.inf, t * Mx + np.log(-np.expm1(-t * dd)))

    def log_L_pair(k):
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            t1 = np.where(Mx < 0, np.log(np.abs(Mx)) + log_g(np.maximum(float(k), t0)), -np.inf)
            t2 = np.where(np.isfinite(dd) & (dd > 0), np.log(dd) + k * (Mx - dd), -np.inf)
            terms = np.where(dd > 0, lmu + np.logaddexp(t1, t2), -np.inf)
        return logsumexp(terms)

    def dominated(k, s_):
        """D < 0 on all of [k, k + s]: the largest each positive prompt term gets on the interval
        (g is unimodal) sums to less than the smallest the negative ones get (at an end)."""
        tt = np.clip(t0, k, k + s_)
        hi = logsumexp(np.where(posx, lmu + log_g(tt), -np.inf))
        lo = logsumexp(np.where(negx, lmu + np.minimum(log_g(float(k)), log_g(float(k + s_))), -np.inf))
        return hi < lo

    k = 1
    for _ in range(MAX_SCAN_STEPS):
        if reached(float(k)):
            break
        if k > k_tail:
            return math.inf
        if not live.any():  # D is constant from here on
            return math.inf
        # (i) |D'(t)| <= L(k) for t >= k: D stays negative on [k, k + |D(k)| / L(k)); two bounds,
        # term by term, and prompt by prompt: |f'| <= |M| g(t) + dd e^(t (M - dd)) for
        # f = r_s^t - r_b^t, with g(t) <= g(max(k, t0)) on t >= k
        log_L = min(logsumexp(log_coef + k * lrf[live]), log_L_pair(k))
        step = max(1, int(math.exp(min(log_abs_D(float(k)) - log_L, 43.0))))
        # (ii) per prompt, |r_s^t - r_b^t| is unimodal in t: the largest s with sup of the positive
        # prompt terms < inf of the negative ones on [k, k + s] (doubling, bisection) certifies it
        if dominated(k, 1):
            lo, hi = 1, 2
            while hi < 2**62 and dominated(k, hi):
                lo, hi = hi, 2 * hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if dominated(k, mid) else (lo, mid)
            step = max(step, lo + 1)
        k = k + step
    else:  # pragma: no cover - pathological
        raise RuntimeError(f"passk_crossover: the certified scan did not finish in {MAX_SCAN_STEPS} steps")
    if not root or k == 1:
        return float(k)
    from scipy.optimize import brentq

    lr_top = float(lrf[0])

    def D_scaled(t):  # D(t) / r_top^t: same sign, no underflow
        lp, ln = parts(t)
        return math.exp(lp - t * lr_top) - math.exp(ln - t * lr_top)

    if D_scaled(float(k)) == 0:
        return float(k)
    return float(brentq(D_scaled, k - 1.0, float(k), xtol=1e-12))


# --------------------------------------------------------------------------- the estimator


def _int_array(v, name, minimum):
    arr = np.asarray(v)
    if arr.dtype == np.bool_ or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or (arr != np.round(arr)).any():
            raise TypeError(f"{name} must hold integers, got {arr.ravel()[0]!r}")
    arr = arr.astype(np.int64)
    if (arr < minimum).any():
        raise ValueError(f"{name} must be >= {minimum}, got {int(arr.min())}")
    return arr


def _log_comb(n, k):
    """log C(n, k) for integer arrays 0 <= k <= n (float64, via betaln: accurate for large n)."""
    n = np.asarray(n, dtype=np.float64)
    k = np.asarray(k, dtype=np.float64)
    return -np.log1p(n) - betaln(n - k + 1.0, k + 1.0)


def pass_at_k_estimate(c, n, k):
    """Unbiased estimate of pass@k from c correct among n samples: 1 - C(n - c, k) / C(n, k).

    (Chen et al. 2021, arXiv 2107.03374, Eq. 1.) E[estimate] = 1 - (1 - p)^k exactly when
    c ~ Binomial(n, p). The ratio is taken as exp(log C(n-c, k) - log C(n, k)) (1 when n - c < k:
    every k-subset holds a correct sample). Arrays broadcast; requires 0 <= c <= n and 1 <= k <= n.

    >>> float(pass_at_k_estimate(1, 4, 2))   # 1 - C(3,2)/C(4,2)
    0.5
    """
    c = _int_array(c, "c", 0)
    n = _int_array(n, "n", 1)
    k = _int_array(k, "k", 1)
    c, n, k = np.broadcast_arrays(c, n, k)
    if (c > n).any():
        raise ValueError("c must satisfy c <= n (correct samples among n)")
    if (k > n).any():
        raise ValueError("k must satisfy k <= n: the unbiased estimator needs at least k samples")
    m = n - c
    ok = m >= k
    lr = np.where(ok, _log_comb(np.where(ok, m, k), k) - _log_comb(n, k), -np.inf)
    out = np.where(c == 0, 0.0, -np.expm1(lr))
    return out if out.ndim else float(out)


def _log_expm1(z):
    """log(exp(z) - 1) for z > 0, stable at both ends."""
    with np.errstate(divide="ignore"):
        return z + np.log(-np.expm1(-z))


def pass_at_k_estimator_variance(p, n, k):
    """Exact variance of :func:`pass_at_k_estimate` when c ~ Binomial(n, p).

    The estimate is 1 - U with U the U-statistic of the kernel prod_{i in S} 1{sample i wrong}
    over k-subsets S (mean q^k, q = 1 - p). Two k-subsets sharing j samples have covariance
    q^(2k-j) - q^(2k) and the overlap J of two random k-subsets of n is hypergeometric, so
    (Hoeffding 1948)
        Var = sum_{j=1}^{k} C(k, j) C(n-k, k-j) / C(n, k) * (q^(2k-j) - q^(2k))
            = q^(2k) sum_{j>=1} P[J = j] (q^(-j) - 1),
    a finite sum of k non-negative terms, summed in log space. Equal to the direct sum
    sum_c Binom(c; n, p) (estimate(c) - pass@k)^2 (tested in Fraction arithmetic).
    Arrays broadcast; p in [0, 1], 1 <= k <= n.

    >>> round(float(pass_at_k_estimator_variance(0.5, 1, 1)), 12)   # a single Bernoulli(1/2)
    0.25
    """
    p = as_float_array(p, "p")
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p must lie in [0, 1]")
    n = _int_array(n, "n", 1)
    k = _int_array(k, "k", 1)
    p, n, k = np.broadcast_arrays(p, n, k)
    if (k > n).any():
        raise ValueError("k must satisfy k <= n: the unbiased estimator needs at least k samples")
    shape = p.shape
    p, n, k = p.ravel(), n.ravel(), k.ravel()
    out = np.zeros(p.shape)
    live = (p > 0) & (p < 1)
    if live.any():
        pl, nl, kl = p[live], n[live], k[live]
        lq = np.log1p(-pl)
        J = int(kl.max())
        j = np.arange(1, J + 1)[None, :]
        kk, nn = kl[:, None], nl[:, None]
        valid = (j <= kk) & (kk - j <= nn - kk)
        jj = np.where(valid, j, 1)
        kmj = np.where(valid, kk - jj, 0)
        logw = _log_comb(kk, jj) + _log_comb(np.where(valid, nn - kk, 0), kmj) - _log_comb(nn, kk)
        terms = np.where(valid, logw + _log_expm1(-jj * lq[:, None]), -np.inf)
        with np.errstate(under="ignore"):
            out[live] = np.exp(2 * kl * lq + logsumexp(terms, axis=1))
    out = out.reshape(shape)
    return out if out.ndim else float(out)


def _dataset_var(log_q, m, n, k):
    """sum_x mu(x)^2 Var_x of the dataset estimate sum_x mu(x) estimate_x (n samples per prompt)."""
    p = -np.expm1(log_q)
    return float(np.dot(m**2, pass_at_k_estimator_variance(p, n, k)))


def _dataset_var_at(log_q, m, k):
    """``n -> _dataset_var(log_q, m, n, k)`` for one k at many n, the same bits: for n >= 2k - 1 (every
    overlap j = 1..k possible) the n-independent parts of :func:`pass_at_k_estimator_variance`'s
    terms -- log C(k, j) and log(q^(-j) - 1) -- are computed once, the same expressions on the same
    elements; smaller n go to :func:`_dataset_var`."""
    p = -np.expm1(log_q)
    live = (p > 0) & (p < 1)
    lq = np.log1p(-p[live])[:, None]
    kk = np.int64(k)
    j = np.arange(1, k + 1, dtype=np.int64)[None, :]
    head = _log_comb(kk, j)  # log C(k, j)
    tail = _log_expm1(-j * lq)  # log(q^(-j) - 1)
    scale = 2 * kk * lq[:, 0]
    w = m**2

    def var(n):
        if n < 2 * k - 1:
            return _dataset_var(log_q, m, n, k)
        nn = np.int64(n)
        logw = head + _log_comb(nn - kk, kk - j) - _log_comb(nn, kk)
        out = np.zeros(p.shape)
        with np.errstate(under="ignore"):
            out[live] = np.exp(scale + logsumexp(np.broadcast_to(logw, tail.shape) + tail, axis=1))
        return float(np.dot(w, out))

    return var


def passk_samples_to_resolve(base, sharpened, correct, k, mu=None, conf: float = 0.95, n_max: int = 2**40):
    """Samples per prompt the unbiased estimator needs to resolve the sign of pass_base@k - pass_sharp@k.

    Both models are sampled n times on every prompt (independently); the dataset estimate
    D-hat = sum_x mu(x) (estimate_base(x) - estimate_sharp(x)) has the exact variance
        Var_n = sum_x mu(x)^2 [Var_base,x(n) + Var_sharp,x(n)]
    (:func:`pass_at_k_estimator_variance`). Returns, per k, the smallest integer n >= k with
    z sqrt(Var_n) < |D(k)|, z = Phi^-1((1 + conf)/2) (1.96 at 95%; the normal approximation of
    D-hat's law, two-sided); ``inf`` when D(k) = 0 or no n <= n_max suffices. Var_n is
    non-increasing in n (a U-statistic), so n is found by doubling and bisection.

    Returns float (k scalar) or float [K].
    """
    from scipy.stats import norm

    check_open_unit(conf, "conf")
    n_max = check_int(n_max, "n_max")
    (lqb, m), (lqs, _) = _pair_logq(base, sharpened, correct, mu)
    karr = _int_array(k, "k", 1)
    z = float(norm.ppf(0.5 + conf / 2))
    out = []
    for kk in karr.ravel().tolist():
        gap = math.fsum((m * _pow_diff(kk * lqs, kk * lqb)).tolist())
        var_b, var_s = _dataset_var_at(lqb, m, kk), _dataset_var_at(lqs, m, kk)

        def ok(n, gap=gap, var_b=var_b, var_s=var_s):
            return z * math.sqrt(var_b(n) + var_s(n)) < abs(gap)

        if gap == 0 or kk > n_max or not ok(n_max):
            out.append(math.inf)
            continue
        lo, hi = kk - 1, kk  # ok(lo) False (or lo < k), find smallest ok
        while not ok(hi):
            lo, hi = hi, min(2 * hi, n_max)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(mid):
                hi = mid
            else:
                lo = mid
        out.append(float(hi))
    res = np.array(out)
    return float(res[0]) if karr.ndim == 0 else res.reshape(karr.shape)


# --------------------------------------------------------------------------- sharpened models


def argmax_policy(base) -> np.ndarray:
    """The beta -> 0 limit of pi*_beta: uniform on the argmax set y*(x) (ties kept). float [X, Y].

    >>> argmax_policy([[0.4, 0.4, 0.2]]).tolist()
    [[0.5, 0.5, 0.0]]
    """

    star = argmax_set(base).astype(np.float64)
    return star / star.sum(axis=1, keepdims=True)


def sft_learned(base, n: int, N: int, key, mu=None):
    """The model learned by SFT-Sharpening with the tabular class (SPEC 5.1): n prompts x ~ mu,
    one best-of-N response each (self-reward log pi_base, drawn through the counting
    :class:`sharpsim.oracle.Oracle`), then the tabular MLE (empirical frequencies; unseen prompts
    get the uniform row). Returns the :class:`sharpsim.algorithms.LearnerResult` (``.policy`` is
    the learned [X, Y] table, ``.queries`` = n N).

    A correct response never kept gets mass 0 on a seen prompt, so pass@infinity can drop.
    """

    oracle = Oracle(base, mu)
    return sft_sharpening(oracle, TabularClass(oracle.X, oracle.Y), n, N, key)


class SupportLoss(NamedTuple):
    """Expected support of the SFT-learned model (:func:`sft_support`); all mu-averages.

    pass_at_infinity: E[ sum_x mu(x) 1{pi_hat(correct|x) > 0} ];
    base_pass_at_infinity: sum_x mu(x) 1{pi_base(correct|x) > 0};
    lost_correct_mass: E[ sum_x mu(x) pi_base(correct and outside supp pi_hat(.|x) | x) ];
    per_prompt_pass_at_infinity: [X] the expectation per prompt.
    """

    pass_at_infinity: float
    base_pass_at_infinity: float
    lost_correct_mass: float
    per_prompt_pass_at_infinity: np.ndarray


def sft_support(base, correct, n: int, N: int, mu=None) -> SupportLoss:
    """Exact expected support of :func:`sft_learned` (tabular MLE on n prompts x best-of-N).

    Prompt x is drawn c ~ Binomial(n, mu(x)) times; if c = 0 its learned row is uniform (support
    Y), else the empirical law of c i.i.d. draws from pi^BoN_N(.|x) (:func:`sharpsim.bon_law`).
    With b(x) = pi^BoN_N(correct|x), b(x, y) = pi^BoN_N(y|x) and A(x) = 1{x has a correct response}:
        E 1{pi_hat(correct|x) > 0} = 1 - (1 - mu(x) b(x))^n + (1 - mu(x))^n A(x),
        E pi_base(y|x) 1{y not in supp pi_hat(.|x)} = pi_base(y|x) [(1 - mu(x) b(x, y))^n - (1 - mu(x))^n].
    """

    n, N = check_int(n, "n"), check_int(N, "N")
    lt = log_table_of(base, "base")
    m = mu_of(mu, base, lt.shape[0])
    corr = correct_table(base, correct)
    law = bon_law(base, N)
    b = np.where(corr, law, 0.0).sum(axis=1)
    A = corr.any(axis=1).astype(np.float64)
    with np.errstate(divide="ignore"):
        unseen = np.exp(n * np.log1p(-m))  # (1 - mu(x))^n: x never drawn
    per = -np.expm1(n * np.log1p(-m * np.minimum(b, 1.0))) + unseen * A
    keep_never = np.exp(n * np.log1p(-m[:, None] * np.minimum(law, 1.0))) - unseen[:, None]
    lost = np.where(corr, np.exp(lt) * keep_never, 0.0).sum(axis=1)
    base_inf = (np.where(corr, np.exp(lt), 0.0).sum(axis=1) > 0).astype(np.float64)
    return SupportLoss(float(m @ per), float(m @ base_inf), float(m @ lost), per)


# --------------------------------------------------------------------------- heavy-tailed difficulty


class BetaPassAtK(NamedTuple):
    """Dataset pass@k when p(x) ~ Beta(a, b) over prompts (:func:`beta_difficulty_pass_at_k`).

    pass_at_k: 1 - miss; miss: E[(1 - s(p))^k]; neg_log_pass: -log pass@k (stable);
    asymptote: the k -> infinity form of -log pass@k, C k^(-exponent) (``nan`` for a custom
    ``sharpen`` without ``alpha``); exponent: the tail exponent a / alpha.
    """

    pass_at_k: np.ndarray
    miss: np.ndarray
    neg_log_pass: np.ndarray
    asymptote: np.ndarray
    exponent: float


def _neg_log_one_minus(log_m):
    """-log(1 - m) from log m (stable for m near 0 and near 1)."""
    with np.errstate(divide="ignore"):
        return np.where(log_m < -math.log(2.0), -np.log1p(-np.exp(log_m)), -np.log(-np.expm1(log_m)))


def beta_difficulty_pass_at_k(a, b, k, sharpen=None, alpha=None) -> BetaPassAtK:
    """Dataset pass@k under heavy-tailed difficulty p ~ Beta(a, b) (Schaeffer et al., arXiv 2502.17578).

    sharpen=None (the base): the closed form
        1 - pass@k = E[(1 - p)^k] = B(a, b + k) / B(a, b) ~ Gamma(a + b) / Gamma(b) k^(-a),
    so -log pass@k = m + m^2/2 + ... with m = 1 - pass@k = C k^(-a) (1 + O(1/k)),
    C = Gamma(a + b)/Gamma(b): -log pass@k ~ C k^(-a), a power law of exponent a (what
    ``asymptote`` holds; the relative distance of -log pass@k to it is below m for large k). With ``sharpen`` a vectorised map p -> s(p) (the sharpened model's pi(correct|x)
    as a function of the base's), 1 - pass@k = E[(1 - s(p))^k] by adaptive quadrature (scipy
    ``quad`` over t = log u, p = u^(1/a), which removes the p^(a-1) singularity). When
    s(p) ~ p^alpha as p -> 0 (pass ``alpha``: tilted pi*_beta on a one-correct-one-wrong task has
    alpha = 1 + 1/beta, best-of-N has alpha = N), the tail exponent becomes a / alpha and
    -log pass@k ~ Gamma(a/alpha) / (alpha B(a, b)) k^(-a/alpha).

    Args: a, b > 0; k: scalar or array of reals >= 0. Returns :class:`BetaPassAtK`.
    """
    a, b = check_positive(a, "a"), check_positive(b, "b")
    karr = _check_k(k)
    kf = karr.ravel()
    if sharpen is None:
        log_m = betaln(a, b + kf) - betaln(a, b)
        C = math.exp(gammaln(a + b) - gammaln(b))
        expo = a
    else:
        if not callable(sharpen):
            raise TypeError("sharpen must be a callable p -> s(p) or None")
        from scipy.integrate import quad

        lB = betaln(a, b)

        def miss_one(kk):
            def f(t):
                u = math.exp(t)
                p = u ** (1.0 / a)
                s = float(np.clip(sharpen(np.array([p]))[0], 0.0, 1.0))
                if s >= 1.0:
                    return 0.0
                return u * math.exp((b - 1.0) * math.log1p(-p) + kk * math.log1p(-s) - lB) / a if p < 1 else 0.0

            val, _ = quad(f, -np.inf, 0.0, limit=400, epsabs=0.0, epsrel=1e-11)
            return val

        m = np.array([miss_one(float(kk)) if kk > 0 else 1.0 for kk in kf])
        with np.errstate(divide="ignore"):
            log_m = np.log(m)
        if alpha is None:
            C, expo = math.nan, math.nan
        else:
            alpha = check_positive(alpha, "alpha")
            expo = a / alpha
            C = math.exp(gammaln(expo) - math.log(alpha) - betaln(a, b))
    miss = np.exp(log_m)
    with np.errstate(divide="ignore"):
        asym = C * kf ** (-expo) if not math.isnan(C) else np.full(kf.shape, math.nan)
    shp = karr.shape
    return BetaPassAtK((-np.expm1(log_m)).reshape(shp), miss.reshape(shp), _neg_log_one_minus(log_m).reshape(shp),
                       np.asarray(asym).reshape(shp), float(expo))


def beta_difficulty_task(a, b, M: int):
    """A finite task with Beta(a, b) difficulty: M prompts at the Gauss-Jacobi nodes.

    Prompt i has responses (correct, wrong) with pi(correct|x_i) = p_i, the i-th node of the
    M-point Gauss quadrature for the weight p^(a-1) (1-p)^(b-1) on [0, 1], and mu(x_i) its
    normalised weight. Gauss quadrature is exact for polynomials of degree <= 2M - 1, so
        pass@k of this model = 1 - B(a, b + k) / B(a, b) exactly for every integer k <= 2M - 1.
    Returns (TabularLM [M, 2], correct bool [M, 2]).
    """
    from scipy.special import roots_jacobi


    a, b = check_positive(a, "a"), check_positive(b, "b")
    M = check_int(M, "M")
    x, w = roots_jacobi(M, b - 1.0, a - 1.0)  # weight (1-x)^(b-1) (1+x)^(a-1) on [-1, 1]
    p = (1.0 + x) / 2.0
    w = np.asarray(w, dtype=np.float64)
    mu = w / w.sum()
    probs = np.stack([p, 1.0 - p], axis=1)
    correct = np.zeros((M, 2), dtype=bool)
    correct[:, 0] = True
    return TabularLM(probs, mu), correct


# --------------------------------------------------------------------------- a tabular toy task

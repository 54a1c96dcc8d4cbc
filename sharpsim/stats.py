"""Small statistics used by the engine and the experiments: intervals and log-log slopes.

* :func:`clopper_pearson`: the exact binomial interval of a success frequency.
* :func:`mean_ci`: mean and half-width of a t- or z-interval over an axis.
* :func:`loglog_slope`: least-squares slope of log y against log x with its standard error,
  and :func:`finite_slope`, the same after dropping points whose y is missing (None).

Pure numpy/scipy; no jax, no other sharpsim layer (the bottom of the stack beside
:mod:`sharpsim._validate`).
"""

from __future__ import annotations

import math

import numpy as np

from ._validate import check_int, check_open_unit

__all__ = ["clopper_pearson", "mean_ci", "loglog_slope", "finite_slope"]


def clopper_pearson(k: int, n: int, conf: float = 0.95) -> tuple[float, float]:
    """Exact (Clopper-Pearson) two-sided interval for a binomial proportion k / n.

    [B(a/2; k, n-k+1), B(1-a/2; k+1, n-k)] with a = 1 - conf (0 / 1 at the ends).

    >>> clopper_pearson(0, 10)[0], round(clopper_pearson(0, 10)[1], 4)
    (0.0, 0.3085)
    """
    from scipy import stats

    n = check_int(n, "n")
    k = check_int(k, "k", minimum=0)
    if not 0 <= k <= n:
        raise ValueError(f"k must lie in [0, n={n}], got {k}")
    a = 1.0 - check_open_unit(conf, "conf")
    lo = 0.0 if k == 0 else float(stats.beta.ppf(a / 2, k, n - k + 1))
    hi = 1.0 if k == n else float(stats.beta.ppf(1 - a / 2, k + 1, n - k))
    return lo, hi


def mean_ci(a, axis: int = 0, conf: float = 0.95, method: str = "t"):
    """Mean of ``a`` over ``axis`` and the half-width of its two-sided interval.

    method "t": t_{(1+conf)/2, k-1} * s / sqrt(k) (Student t, s the ddof=1 standard deviation);
    method "z": z_{(1+conf)/2} * s / sqrt(k) with z = 1.96 at conf = 0.95 (normal approximation).
    With fewer than two values the half-width is 0. Returns (mean, half), arrays of ``a``'s
    shape without ``axis`` (floats for a 1-d input).

    >>> mean_ci(np.array([1.0, 2.0, 3.0]), method="z")[0]
    2.0
    """
    a = np.asarray(a, dtype=np.float64)
    if method not in ("t", "z"):
        raise ValueError(f"method must be 't' or 'z', got {method!r}")
    check_open_unit(conf, "conf")
    if a.ndim == 0 or not -a.ndim <= axis < a.ndim:
        raise ValueError(f"axis {axis} is out of range for a of shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("a contains NaN or infinite values (the mean and interval would be NaN)")
    k = a.shape[axis]
    mean = a.mean(axis=axis)
    if k < 2:
        return mean, np.zeros_like(mean)
    if method == "t":
        from scipy import stats

        q = stats.t.ppf(0.5 + conf / 2, k - 1)
        half = q * a.std(axis=axis, ddof=1) / np.sqrt(k)
    else:
        q = 1.96 if conf == 0.95 else float(__import__("scipy.stats", fromlist=["norm"]).norm.ppf(0.5 + conf / 2))
        half = q * a.std(axis=axis, ddof=1) / math.sqrt(k)
    return mean, half


def _positive_1d(v, name: str) -> np.ndarray:
    if isinstance(v, (str, bytes)) or v is None:
        raise TypeError(f"{name} must be a sequence of positive numbers, got {type(v).__name__}")
    try:
        arr = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of positive numbers (None entries: use finite_slope)") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    bad = ~(np.isfinite(arr) & (arr > 0))
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"{name} must be finite and > 0 for a log-log slope; {name}[{i}] = {float(arr[i])!r}")
    return arr


def loglog_slope(x, y) -> tuple[float, float]:
    """Least-squares slope of log y against log x, with its standard error (for order-only
    bounds: compare to the theorem's exponent, e.g. 1 for C_cov, -2 for eps in Eq. 7).

    Every x and y must be finite and > 0 (ValueError naming x or y otherwise: a log of 0, a
    negative or a NaN would give a NaN slope). With exactly two points the standard error is NaN
    (no degrees of freedom left).
    """
    ax, ay = _positive_1d(x, "x"), _positive_1d(y, "y")
    if ax.shape != ay.shape or ax.size < 2:
        raise ValueError(f"x and y must have the same length >= 2, got {ax.size} and {ay.size}")
    if np.all(ax == ax[0]):
        raise ValueError("x must hold at least two distinct values (the slope is undefined)")
    lx, ly = np.log(ax), np.log(ay)
    A = np.stack([lx, np.ones_like(lx)], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, ly, rcond=None)
    dof = lx.size - 2
    if dof > 0:
        s2 = float(np.sum((ly - A @ coef) ** 2)) / dof
        se = math.sqrt(s2 / float(np.sum((lx - lx.mean()) ** 2)))
    else:
        se = float("nan")
    return float(coef[0]), se


def finite_slope(x, y):
    """:func:`loglog_slope` over the points whose y is not None; (None, None) when fewer than two remain."""
    pts = [(a, b) for a, b in zip(x, y) if b is not None]
    if len(pts) < 2:
        return None, None
    return loglog_slope([a for a, _ in pts], [b for _, b in pts])


def percent_lift(acc, acc_ref):
    """Percent lift of ``acc`` over the reference accuracy ``acc_ref``: 100 (acc - acc_ref) / acc_ref
    (the paper's Figure 1 "% lift", formula presumed, decision D10). ``acc`` may be an array;
    None when acc_ref <= 0 (no lift over a zero baseline is defined).

    >>> float(percent_lift(0.6, 0.5))
    20.000000000000004
    """
    if acc_ref <= 0:
        return None
    return 100.0 * (np.asarray(acc) - acc_ref) / acc_ref

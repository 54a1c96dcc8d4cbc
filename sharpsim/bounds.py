"""Every bound of the paper as a function (SPEC 4-6).

Each function takes the quantities its theorem takes and returns a :class:`Prescription`:
what the theorem prescribes (n, N, m = n N, or T for XPO) and, where the theorem bounds the
error for given n and N, that error bound. Results stated with <= up to constants (Theorems
3.1, 3.1', D.2, 4.2, 4.2', 4.3, J.1, J.2, J.3) are *order-only*: they take a ``constant``
argument (default 1) and return ``order_only=True``; every report marks them.

Why one file of ~900 lines: it is the catalogue of the paper's results, one short function per
theorem in the order of SPEC 4-6, with the shared argument checks and the :class:`Prescription`
they all return; a reader compares a bound with its neighbours (Theorem 4.1 vs D.1 vs 4.2) on one
page, as in the paper. The functions are pure float arithmetic (only :mod:`sharpsim.core` below
them), so the file has no internal coupling that a split would untangle.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Prescription:
    """What a theorem prescribes.

    Attributes:
      theorem: the paper's label, e.g. "Theorem 4.1 (F9, derived constant 23.3)".
      n: number of prompts (None when not applicable).
      N: responses per prompt (None when not applicable).
      m: total sample-and-evaluate queries (n * N, or the expected total for adaptive rules,
         or the theorem's m for XPO / lower bounds).
      T: XPO iterations (None otherwise).
      error_bound: the theorem's bound on P_x[pi_hat(y*|x) <= 1 - delta] (None when the
         theorem prescribes sizes only).
      order_only: True when the result holds only up to an unknown absolute constant.
      constant: the constant used for order-only results (1.0 otherwise).
      params: other prescribed parameters (beta, alpha, N_star, mu_stop, ...).
      notes: one line on assumptions / provenance of the constants.
    """

    theorem: str
    n: int | None = None
    N: int | None = None
    m: float | None = None
    T: int | None = None
    error_bound: float | None = None
    order_only: bool = False
    constant: float = 1.0
    params: dict = field(default_factory=dict)
    notes: str = ""

    def as_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Functions below the dataclass.  Everything is plain Python float arithmetic (float64) with
# natural logarithms (SPEC 2.2, D9).  log_class_size is always ln|Pi| (nats).
# ---------------------------------------------------------------------------------------------

import math  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import brentq  # noqa: E402

from .core import argmax_set  # noqa: E402

from ._validate import (  # noqa: E402
    check_gamma,
    check_int,
    check_open_unit,
    check_positive,
    check_real,
    log_table_of,
    mu_of,
)

__all__ = [
    "Prescription",
    "HELLINGER_CONSTANT",
    "bon_inference",
    "bon_failure",
    "sft_error_bound",
    "sft_sample_complexity",
    "sft_paper_parameters",
    "adaptive_sft_sample_complexity",
    "adaptive_expected_draws",
    "adaptive_failure_bound",
    "adaptive_stopping_exact",
    "lower_bound_sample_complexity",
    "hard_instance_threshold",
    "dpo_sample_complexity",
    "dpo_error_bound",
    "xpo_iterations",
    "xpo_sample_complexity",
    "xpo_regret_bound",
    "linear_softmax_xpo",
    "tilted_beta_sufficient",
    "tilted_mass_lower_bound",
    "tilted_beta_exact",
    "margin_sharpness_bound",
]

HELLINGER_CONSTANT = 2.0 / (1.0 - 1.0 / math.sqrt(2.0)) ** 2
"""2 / (1 - 1/sqrt 2)^2 = 23.3137...: the derived constant of F9 (SPEC 5.3) [reconstructed].

Lemma F.1 gives E_x D_H^2(pi_hat, target) <= 2 ln(|Pi|/rho) / n; if target(y*|x) >= 1 - delta/2
and pi_hat(y*|x) <= 1 - delta then D_H^2 >= (sqrt(delta) - sqrt(delta/2))^2 = (1 - 1/sqrt 2)^2 delta,
so Markov gives P_x[pi_hat(y*|x) <= 1 - delta] <= HELLINGER_CONSTANT ln(|Pi|/rho) / (delta n)."""

_ORDER_NOTE = "order-only: holds up to an unknown absolute constant (constant={c:g})"


# -- validation helpers (names follow the paper) ----------------------------------------------
def _finite(value, name) -> float:
    v = check_real(value, name)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _at_least(value, name, lower) -> float:
    v = _finite(value, name)
    if v < lower:
        raise ValueError(f"{name} must be >= {lower:g}, got {v!r}")
    return v


def _log_class(value, name="log_class_size") -> float:
    """ln|Pi| >= 0 (|Pi| >= 1)."""
    return _at_least(value, name, 0.0)


def _coverage_arg(value, name) -> float:
    """Coverage / concentrability coefficients are >= 1 (SPEC 3.4: 1 <= C_cov <= |Y|)."""
    return _at_least(value, name, 1.0)


def _pos_finite(value, name) -> float:
    v = check_positive(value, name)
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _constant(value) -> float:
    return _pos_finite(value, "constant")


def _ceil(v: float) -> int:
    """ceil with a guard against float noise just above an integer (e.g. 10.000000000000002)."""
    r = round(v)
    if abs(v - r) <= 1e-9 * max(1.0, abs(v)):
        return int(r)
    return int(math.ceil(v))


def _log_pi_over_rho(log_class_size: float, rho: float) -> float:
    """ln(|Pi| / rho) = ln|Pi| + ln(1/rho)."""
    return log_class_size + math.log(1.0 / rho)


# -- Proposition C.1: inference-time best-of-N (exact) ------------------------------------------
def bon_failure(p_star, N) -> float:
    """Exact failure probability of inference-time best-of-N at one prompt (Prop. C.1, F4).

    P[y_hat not in y*_gamma(x)] = (1 - p_star)^N, where p_star = pi_base(y*_gamma(x)|x) is the
    base mass of the (approximate) argmax set: BoN fails iff none of the N i.i.d. draws lands in
    it. Exact, no assumption on Pi.

    Args:
      p_star: in (0, 1].  N: integer >= 1.

    >>> bon_failure(0.5, 3)
    0.125
    """
    p = _finite(p_star, "p_star")
    if not (0.0 < p <= 1.0):
        raise ValueError(f"p_star must lie in (0, 1], got {p!r}")
    N = check_int(N, "N", minimum=1)
    return (1.0 - p) ** N


def bon_inference(p_star, rho, gamma=0.0) -> Prescription:
    """Inference-time best-of-N (Proposition C.1, SPEC 5.4, F4) -- exact.

    N = ceil( ln(1/rho) / p_star ) guarantees failure (1 - p_star)^N <= exp(-N p_star) <= rho,
    where p_star = pi_base(y*_gamma(x)|x). One prompt, so n = 1 and m = N.
    ``error_bound`` is the exact failure probability (1 - p_star)^N at that N (<= rho).
    No realizability needed; the constant is the paper's (exact).

    Args:
      p_star: argmax-set mass in (0, 1].  rho: in (0, 1).  gamma: in [0, 1), only a label
        recording which argmax set p_star refers to.

    >>> bon_inference(0.5, 0.1).N   # ceil(ln 10 / 0.5) = ceil(4.605) = 5
    5
    """
    rho = check_open_unit(rho, "rho")
    gamma = check_gamma(gamma)
    p = _finite(p_star, "p_star")
    if not (0.0 < p <= 1.0):
        raise ValueError(f"p_star must lie in (0, 1], got {p!r}")
    N = max(1, _ceil(math.log(1.0 / rho) / p))
    return Prescription(
        theorem="Prop C.1 (inference-time BoN, exact)",
        n=1,
        N=N,
        m=float(N),
        error_bound=bon_failure(p, N),
        params={"p_star": p, "gamma": gamma, "rho": rho},
        notes="exact: P[fail] = (1 - p_star)^N <= exp(-N p_star) <= rho; per prompt, no realizability",
    )


# -- Theorem 4.1 / 4.1' : SFT-Sharpening -------------------------------------------------------
def sft_error_bound(C_cov, log_class_size, n, N, delta, rho) -> float:
    """Finite-n SFT-Sharpening error bound with the derived constant (F9, SPEC 5.3) [reconstructed].

        P_x[pi_hat(y*|x) <= 1 - delta] <= 23.31 ln(|Pi|/rho) / (delta n) + C_cov / N_star,
        N_star = N / ln(2/delta),  23.31 = 2 / (1 - 1/sqrt 2)^2 (:data:`HELLINGER_CONSTANT`).

    Holds with probability >= 1 - rho under Assumption 4.1 (pi^BoN_N in Pi, exact MLE over a
    finite class of size |Pi| = exp(log_class_size)). The first term is Lemma F.1 (constant 2,
    the paper's) plus the Hellinger step (derived); the second is Markov on 1/p*(x) (F7). The
    value can exceed 1 (vacuous bound); it is returned unclipped. C_cov may be C_cov,gamma
    (Theorem 4.1').

    Args: C_cov >= 1; log_class_size = ln|Pi| >= 0; n, N integers >= 1; delta, rho in (0, 1).
    """
    C_cov = _coverage_arg(C_cov, "C_cov")
    log_class_size = _log_class(log_class_size)
    n = check_int(n, "n", minimum=1)
    N = check_int(N, "N", minimum=1)
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    N_star = N / math.log(2.0 / delta)
    return HELLINGER_CONSTANT * _log_pi_over_rho(log_class_size, rho) / (delta * n) + C_cov / N_star


def sft_sample_complexity(C_cov, log_class_size, eps, delta, rho) -> Prescription:
    """SFT-Sharpening sizes from the derived-constant bound (Theorem 4.1 / 4.1', F9) [reconstructed].

    Split eps in halves between the two terms of :func:`sft_error_bound`:
        n      = ceil( 2 c ln(|Pi|/rho) / (delta eps) ),  c = 2/(1 - 1/sqrt 2)^2 = 23.31,
        N_star = ceil( 2 C_cov / eps ),
        N      = ceil( N_star ln(2/delta) )   (decision D4: N = N_star ln(2/delta)),
        m      = n N.
    ``error_bound`` is sft_error_bound at these n, N, which is <= eps. Holds w.p. >= 1 - rho
    under exact MLE over a finite realizable class (Assumption 4.1). The paper's constant c is
    unknown; this one is derived in SPEC 5.3. Shape (F10): m ~ C_cov ln(|Pi|/rho) ln(2/delta) /
    (delta eps^2).

    Args: C_cov >= 1 (or C_cov,gamma); log_class_size = ln|Pi| >= 0; eps, delta, rho in (0, 1).

    >>> p = sft_sample_complexity(10.0, 0.0, 0.5, 0.5, math.exp(-1))
    >>> (p.n, p.params["N_star"], p.N)   # n = ceil(2c / 0.25) = ceil(186.5) = 187, N* = 40, N = ceil(40 ln 4) = 56
    (187, 40, 56)
    """
    C_cov = _coverage_arg(C_cov, "C_cov")
    log_class_size = _log_class(log_class_size)
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    L = _log_pi_over_rho(log_class_size, rho)
    n = _ceil(2.0 * HELLINGER_CONSTANT * L / (delta * eps))
    N_star = _ceil(2.0 * C_cov / eps)
    N = _ceil(N_star * math.log(2.0 / delta))
    return Prescription(
        theorem="Thm 4.1/4.1' SFT-Sharpening (derived constant, F9)",
        n=n,
        N=N,
        m=float(n) * float(N),
        error_bound=sft_error_bound(C_cov, log_class_size, n, N, delta, rho),
        params={"N_star": N_star, "c": HELLINGER_CONSTANT},
        notes=(
            "derived constant 2/(1-1/sqrt2)^2 (SPEC 5.3, F9) [reconstructed]; holds w.p. >= 1-rho "
            "under exact MLE over a finite realizable class (Assumption 4.1)"
        ),
    )


def sft_paper_parameters(C_cov, log_class_size, eps, delta, rho, constant=1.0) -> Prescription:
    """The paper's Theorem 4.1 parameter choice, order-only (SPEC 5.2).

        n = ceil( c ln(|Pi|/rho) / (delta eps) ),   N = ceil( c C_cov ln(2/delta) / eps ),   m = n N,

    where the main text calls the total per-prompt count N "N*" (SPEC 10.2; here N = N_star
    ln(2/delta) with N_star = c C_cov / eps, decision D4). Eq. (7): m = O(C_cov ln(|Pi|/rho)
    ln(1/delta) / (delta eps^2)); ``params['m_eq7']`` is that expression times ``constant``.
    c (= ``constant``) is unknown in the paper, so this is order-only.

    Args: C_cov >= 1; log_class_size >= 0; eps, delta, rho in (0, 1); constant > 0.
    """
    C_cov = _coverage_arg(C_cov, "C_cov")
    log_class_size = _log_class(log_class_size)
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    c = _constant(constant)
    L = _log_pi_over_rho(log_class_size, rho)
    n = max(1, _ceil(c * L / (delta * eps)))
    N = max(1, _ceil(c * C_cov * math.log(2.0 / delta) / eps))
    return Prescription(
        theorem="Thm 4.1 SFT-Sharpening (paper's choice)",
        n=n,
        N=N,
        m=float(n) * float(N),
        order_only=True,
        constant=c,
        params={
            "N_star": c * C_cov / eps,
            "m_eq7": c * C_cov * L * math.log(1.0 / delta) / (delta * eps**2),
        },
        notes=_ORDER_NOTE.format(c=c) + "; the paper's c is unspecified (SPEC 10.3)",
    )


# -- Theorem D.1 / Lemma I.1 : adaptive SFT-Sharpening ------------------------------------------
def adaptive_expected_draws(p_max, argmax_size, mu_stop) -> float:
    """Lemma I.1 bound on the expected stopping time of Eq. (10) (F19) [paper].

        E[N_mu] <= (mu_stop + 1/|y*|) / p_max,   p_max = max_y p(y), |y*| = argmax_size.

    The exact value is :func:`adaptive_stopping_exact`. ``mu_stop`` is the paper's mu (D8).

    >>> adaptive_expected_draws(0.5, 1, math.log(20))   # (ln 20 + 1) / 0.5 = 7.9915
    7.991464547107982
    """
    p_max = _finite(p_max, "p_max")
    if not (0.0 < p_max <= 1.0):
        raise ValueError(f"p_max must lie in (0, 1], got {p_max!r}")
    k = check_int(argmax_size, "argmax_size", minimum=1)
    if k * p_max > 1.0 + 1e-12:
        raise ValueError(f"argmax_size * p_max must be <= 1 (the argmax set's mass), got {k} * {p_max!r}")
    mu_stop = _pos_finite(mu_stop, "mu_stop")
    return (mu_stop + 1.0 / k) / p_max


def adaptive_failure_bound(argmax_size, mu_stop) -> float:
    """Lemma I.1: P[y_hat_tau not in y*] <= exp(-|y*| mu_stop) for any stopping time tau >= N_mu (F19).

    With mu_stop = ln(2/delta) this is <= delta/2 (Theorem D.1). [paper]

    >>> round(adaptive_failure_bound(1, math.log(20)), 12)   # 1/20
    0.05
    """
    k = check_int(argmax_size, "argmax_size", minimum=1)
    mu_stop = _pos_finite(mu_stop, "mu_stop")
    return math.exp(-k * mu_stop)


def adaptive_stopping_exact(p, mu_stop) -> tuple[float, float]:
    """Exact (E[N_mu], P[fail]) of the stopping rule of Eq. (10) for one distribution p [reconstructed].

    N_mu = inf{k : k * M_k >= mu_stop}, M_k = max_{j<=k} p(y_j). Since M_k is non-decreasing and
    mu_stop/k decreasing, {N_mu > k} = {M_k < mu_stop/k}, so with S(t) = P[p(Y) < t]:
        E[N_mu] = sum_{k>=0} S(mu_stop/k)^k     (k = 0 term = 1; terms vanish once mu_stop/k <= p_max),
        P[fail] = P[M_{N_mu} < p_max]
                = sum_k P[M_{k-1} < mu_stop/(k-1), mu_stop/k <= M_k < p_max]
                = sum_k S(min(a, p_max))^{k-1} S(p_max) - S(min(a, c))^{k-1} S(c),
          a = mu_stop/(k-1), c = mu_stop/k
          (for c < p_max; with a = inf at k = 1).
    Used to check Lemma I.1 (:func:`adaptive_expected_draws`, :func:`adaptive_failure_bound`).

    Args: p: 1-D distribution (sums to 1). mu_stop > 0.
    """
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"p must be a 1-D distribution, got shape {arr.shape}")
    if np.isnan(arr).any() or (arr < 0).any() or abs(arr.sum() - 1.0) > 1e-9:
        raise ValueError("p must be non-negative and sum to 1")
    mu_stop = _pos_finite(mu_stop, "mu_stop")
    p_max = float(arr.max())
    vals = np.sort(arr[arr > 0])

    def S(t):  # P[p(Y) < t]
        return float(vals[vals < t].sum())

    expected = 1.0
    fail = 0.0
    s_pmax = S(p_max)
    k = 0
    while True:
        k += 1
        c = mu_stop / k
        if c <= vals[0]:  # S(c) = 0: N_mu <= k surely, all later terms vanish
            if c < p_max:
                a = math.inf if k == 1 else mu_stop / (k - 1)
                fail += (S(min(a, p_max)) ** (k - 1) if k > 1 else 1.0) * s_pmax
            break
        if c <= p_max and s_pmax ** (k - 1) < 1e-18:  # remaining terms <= (1 - p_max)^(k-1) / p_max
            break
        expected += S(c) ** k
        if c < p_max:
            a = math.inf if k == 1 else mu_stop / (k - 1)
            first = (S(min(a, p_max)) ** (k - 1) if k > 1 else 1.0) * s_pmax
            second = (S(min(a, c)) ** (k - 1) if k > 1 else 1.0) * S(c)
            fail += first - second
    return expected, fail


def adaptive_sft_sample_complexity(C_bar_cov, log_class_size, eps, delta, rho) -> Prescription:
    """Adaptive SFT-Sharpening (Theorem D.1 + Lemma I.1, SPEC 5.5, F19).

    Stopping parameter mu_stop = ln(2/delta) (paper). Sizes:
        n = ceil( c ln(|Pi|/rho) / (delta eps) ),  c = 2/(1 - 1/sqrt 2)^2 = 23.31,
        E[m] <= n (1 + mu_stop) C_bar_cov   (Lemma I.1 with 1/|y*| <= 1; the statement prints C_cov,
                                            the proof gives C_bar_cov [typo?], SPEC 10.2).
    [reconstructed] With mu_stop = ln(2/delta), Lemma I.1 gives failure <= exp(-|y*| mu_stop) <=
    delta/2 at EVERY prompt, so the adaptive BoN target puts >= 1 - delta/2 on y*(x) everywhere and
    the F9 Hellinger step gives P_x[pi_hat(y*|x) <= 1 - delta] <= c ln(|Pi|/rho) / (delta n) <= eps
    with no coverage term (w.p. >= 1 - rho, exact MLE, Assumption D.1). ``error_bound`` is that
    value at the prescribed n. N is None (adaptive); m is the expected total (an upper bound).
    The scaling is 1/eps (Theorem D.2 shows it is tight).

    Args: C_bar_cov >= 1; log_class_size >= 0; eps, delta, rho in (0, 1).
    """
    C_bar_cov = _coverage_arg(C_bar_cov, "C_bar_cov")
    log_class_size = _log_class(log_class_size)
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    L = _log_pi_over_rho(log_class_size, rho)
    mu_stop = math.log(2.0 / delta)
    n = _ceil(HELLINGER_CONSTANT * L / (delta * eps))
    return Prescription(
        theorem="Thm D.1 adaptive SFT-Sharpening (derived constant)",
        n=n,
        N=None,
        m=n * (1.0 + mu_stop) * C_bar_cov,
        error_bound=HELLINGER_CONSTANT * L / (delta * n),
        params={"mu_stop": mu_stop, "c": HELLINGER_CONSTANT, "m_is_expected_upper_bound": True},
        notes=(
            "[reconstructed] derived constant (F9 Hellinger step, no coverage term since the adaptive "
            "target has >= 1-delta/2 on y* at every prompt); m = E[total draws] bound n(1+mu)C_bar_cov (Lemma I.1)"
        ),
    )


# -- Theorems 3.1 / 3.1' / D.2 and Lemma H.3 : lower bounds ------------------------------------
def lower_bound_sample_complexity(C, log_class_size, eps, p=1, adaptive=False, constant=1.0) -> Prescription:
    """Minimax lower bound on the sample complexity (Theorems 3.1, 3.1', D.2; SPEC 4.1-4.3), order-only.

        non-adaptive:  m >= c C ln|Pi| / ( eps^(1 + 1/p) (1 + ln(C eps^(-1/p))) )
        adaptive:      E[m] >= c C ln|Pi| / ( eps^(1/p) (1 + ln(C eps^(-1/p))) )

    p = 1 gives Theorem 3.1 (non-adaptive) and Theorem D.2 (adaptive). Holds for any algorithm
    in the (adaptive) sample-and-evaluate model on the worst-case class of SPEC 4.4 with
    sup C_cov,gamma,p <= C, for success criterion pi_hat(y*) > 1/2 on all but eps of the prompts.
    The absolute constant c (= ``constant``) is unknown: order-only.

    Args: C >= 1; log_class_size = ln|Pi| >= 0; eps in (0, 1); p integer >= 1; constant > 0.
    """
    C = _coverage_arg(C, "C")
    log_class_size = _log_class(log_class_size)
    eps = check_open_unit(eps, "eps")
    p = check_int(p, "p", minimum=1)
    if not isinstance(adaptive, (bool, np.bool_)):
        raise TypeError(f"adaptive must be a bool, got {type(adaptive).__name__}")
    c = _constant(constant)
    denom_log = 1.0 + math.log(C * eps ** (-1.0 / p))
    power = 1.0 / p if adaptive else 1.0 + 1.0 / p
    m = c * C * log_class_size / (eps**power * denom_log)
    if adaptive:
        name = "Thm D.2 lower bound (adaptive)" if p == 1 else f"Thm 3.1' lower bound (adaptive, p={p})"
    else:
        name = "Thm 3.1 lower bound" if p == 1 else f"Thm 3.1' lower bound (p={p})"
    return Prescription(
        theorem=name,
        m=m,
        order_only=True,
        constant=c,
        params={
            "C": C,
            "p": p,
            "adaptive": bool(adaptive),
            "Delta_family": 16 * eps if 16 * eps < 1 else None,
            "M_family": 1 + C * eps ** (-1.0 / p),
        },
        notes=_ORDER_NOTE.format(c=c) + "; minimax over the hard family of SPEC 4.4 that the theorem builds for this "
        "C and eps (Delta_family = 16 eps, M_family ~ 1 + C eps^(-1/p)), not the instance's own Delta and M",
    )


def hard_instance_threshold(d, M, Delta, constant=1.0) -> Prescription:
    """Lemma H.3 (SPEC 4.4, F12): below m = c d M / Delta every learner has per-coordinate error >= 1/8.

    On the hard family (d, M, Delta) with M >= 8: if m <= c d M / Delta then
    E_I E^I 1{j_hat_i != j*_i} >= 1/8 for every coordinate i. c (= ``constant``) is an unknown
    absolute constant: order-only.

    Args: d integer >= 1; M integer >= 8; Delta in (0, 1); constant > 0.
    """
    d = check_int(d, "d", minimum=1)
    M = check_int(M, "M", minimum=8)
    Delta = check_open_unit(Delta, "Delta")
    c = _constant(constant)
    return Prescription(
        theorem="Lemma H.3 hard-instance threshold",
        m=c * d * M / Delta,
        error_bound=None,
        order_only=True,
        constant=c,
        params={"d": d, "M": M, "Delta": Delta, "per_coordinate_error_below": 0.125},
        notes=_ORDER_NOTE.format(c=c) + "; below m the per-coordinate error is >= 1/8",
    )


# -- Theorem 4.2 / 4.2' : DPO-style RLHF-Sharpening ---------------------------------------------
def _dpo_log(C_loss, log_class_size, rho) -> float:
    """ln(C_loss |Pi| / rho)."""
    return math.log(C_loss) + log_class_size + math.log(1.0 / rho)


def dpo_sample_complexity(C_conc, C_loss, log_class_size, gamma_margin, eps, delta, rho, constant=1.0) -> Prescription:
    """DPO-style RLHF-Sharpening (Theorem 4.2, SPEC 6.3, F25), order-only.

        m = c C_conc ln^3(C_loss |Pi| / rho) / (gamma_margin^2 delta^2 eps^2),   beta = c gamma_margin delta eps,
        n = ceil(m / 2) preference triples, N = 2 responses each; the returned m is n N.
    ``params['m_formula']`` is the unrounded expression. Assumptions 4.2 (margin), 4.3 (pi*_beta in Pi),
    4.4 (C_pi <= C_conc for all pi in Pi with C_conc >= C_cov; C_{pi_base/pi;beta} <= C_loss with
    C_loss >= |Y|). O-tilde hides further log factors; c (= ``constant``) is unknown.

    Args: C_conc >= 1; C_loss >= 1; log_class_size >= 0; gamma_margin > 0; eps, delta, rho in (0, 1).
    """
    C_conc = _coverage_arg(C_conc, "C_conc")
    C_loss = _coverage_arg(C_loss, "C_loss")
    log_class_size = _log_class(log_class_size)
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    c = _constant(constant)
    m = c * C_conc * _dpo_log(C_loss, log_class_size, rho) ** 3 / (gamma_margin**2 * delta**2 * eps**2)
    n = max(1, _ceil(m / 2.0))
    return Prescription(
        theorem="Thm 4.2 DPO RLHF-Sharpening",
        n=n,
        N=2,
        m=2.0 * n,
        order_only=True,
        constant=c,
        params={"beta": c * gamma_margin * delta * eps, "m_formula": m},
        notes=_ORDER_NOTE.format(c=c) + "; O-tilde also hides log factors (Assumptions 4.2-4.4)",
    )


def dpo_error_bound(C_conc, C_loss, log_class_size, gamma_margin, delta, rho, n, beta, gamma=0.0, constant=1.0) -> float:
    """Theorem 4.2' (SPEC 6.3), order-only: bound on P_x[pi_hat(y*_gamma|x) <= 1 - delta]:

        c / (gamma_margin delta) * ( sqrt(C_conc ln^3(C_loss |Pi| / rho) / n) + beta ln(C_conc) + gamma ).

    O-tilde factors (logarithmic in n and C_conc) are dropped; c (= ``constant``) is unknown.

    Args: C_conc, C_loss >= 1; log_class_size >= 0; gamma_margin > 0; delta, rho in (0, 1);
      n integer >= 1; beta > 0; gamma in [0, 1).
    """
    C_conc = _coverage_arg(C_conc, "C_conc")
    C_loss = _coverage_arg(C_loss, "C_loss")
    log_class_size = _log_class(log_class_size)
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    n = check_int(n, "n", minimum=1)
    beta = _pos_finite(beta, "beta")
    gamma = check_gamma(gamma)
    c = _constant(constant)
    stat = math.sqrt(C_conc * _dpo_log(C_loss, log_class_size, rho) ** 3 / n)
    return c / (gamma_margin * delta) * (stat + beta * math.log(C_conc) + gamma)


# -- Theorems J.1 / J.2 / 4.3 / J.3 : XPO ------------------------------------------------------
_T_CAP = 1e300
"""Largest T the XPO iteration search resolves; above it :func:`_least_T` returns inf."""
_T_BEYOND_NOTE = ("; T = m = inf: the least T is finite (the right-hand side grows like polylog T) but "
                  "exceeds 1e300, beyond what float64 resolves")


def _least_T(rhs, name: str, max_iter: int = 100_000):
    """Smallest integer T >= 1 with T >= rhs(T), for an increasing rhs growing slower than T.

    Fixed-point iteration T <- max(1, rhs(T)) from T = 1: the iterates increase to the least
    real solution T* (rhs increasing), then the least integer >= T* satisfying the inequality
    is found by a forward search (bisection on a doubling bracket, exact integer arithmetic).
    Above 2^53 the integer is exact with respect to the float64 evaluation of rhs (relative
    precision ~1e-16). T* is finite whenever rhs grows slower than T; the search covers every T up to
    ``_T_CAP`` = 1e300 (where float64 evaluations of rhs stop being meaningful) and returns
    ``math.inf`` beyond it (callers then report T = m = inf with a note).
    """
    T = 1.0
    for _ in range(max_iter):
        nxt = max(1.0, rhs(T))
        if math.isnan(nxt):
            raise ValueError(f"{name}: the condition evaluated to nan at T = {T:g}")
        if nxt > _T_CAP:  # T* lies beyond what float64 resolves
            return math.inf
        if nxt <= T * (1 + 1e-13):
            break
        T = nxt
    if T > _T_CAP:
        return math.inf
    lo = max(1, int(math.floor(T)))
    if lo >= rhs(lo):
        # only possible when lo = 1 or lo = T* exactly: no smaller integer can satisfy
        return lo
    hi = lo + 1
    while hi < rhs(hi):  # Python integers are exact at any size; rhs is evaluated in float64
        hi = 2 * hi
        if hi > _T_CAP:
            return math.inf
    while hi - lo > 1:  # invariant: lo fails, hi satisfies
        mid = (lo + hi) // 2
        if mid >= rhs(mid):
            hi = mid
        else:
            lo = mid
    return hi


def xpo_iterations(SEC, log_cover, R_max, eps, delta, beta, rho, constant=1.0) -> Prescription:
    """Number of XPO iterations T of Theorem J.2 (SPEC 6.4), order-only.

        T >= c R_max^2 SEC ln(2 N(Pi, eps_disc) T / rho) / (eps^2 delta^2 beta^2),   ln N = log_cover.

    T appears on both sides: the least integer T satisfying it is found by fixed-point iteration
    (see ``_least_T``). Also returned:
      * alpha = (beta / R_max) sqrt( ln(2 N T / rho) / (SEC T) )  (J.2 prints "/delta" inside the
        log, J.1 has "/rho" [typo?]; rho is used);
      * eps_disc_max = eps delta / sqrt(SEC T) (J.2 requires eps_disc <= c' eps delta / sqrt(SEC T),
        c' unknown, set to 1);
      * m = 2T: each iteration draws one prompt, one response y ~ pi^(t) (evaluated under pi_base,
        outside sample-and-evaluate, D7) and one response y' ~ pi_base; validation samples for
        selecting pi_hat are NOT counted (the paper does not count them).
    Assumptions: margin (4.2) with beta^-1 >= 2 gamma_margin^-1 ln(2|Y|/delta), pi*_beta in Pi,
    R_max >= 1 + max log(1/pi_base). Constant c (= ``constant``) unknown.

    Args: SEC > 0; log_cover >= 0; R_max >= 1; eps, delta, beta, rho in (0, 1); constant > 0.
    """
    SEC = _pos_finite(SEC, "SEC")
    log_cover = _at_least(log_cover, "log_cover", 0.0)
    R_max = _at_least(R_max, "R_max", 1.0)
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    beta = check_open_unit(beta, "beta")
    rho = check_open_unit(rho, "rho")
    c = _constant(constant)
    A = c * R_max**2 * SEC / (eps**2 * delta**2 * beta**2)
    L0 = math.log(2.0) + log_cover + math.log(1.0 / rho)
    T = _least_T(lambda t: A * (L0 + math.log(t)), "xpo_iterations")
    finite = math.isfinite(T)
    log_term = L0 + math.log(T)
    return Prescription(
        theorem="Thm J.2 XPO iterations",
        T=T,
        m=2.0 * T,
        order_only=True,
        constant=c,
        params={
            "alpha": beta / R_max * math.sqrt(log_term / (SEC * T)) if finite else 0.0,
            "eps_disc_max": eps * delta / math.sqrt(SEC * T) if finite else 0.0,
            "base_samples": T,
            "policy_samples_evaluated": T,
        },
        notes=_ORDER_NOTE.format(c=c)
        + "; m = 2T counts the pi_base draw and the pi^(t) draw (evaluated under pi_base) per iteration, not validation"
        + ("" if finite else _T_BEYOND_NOTE),
    )


def xpo_sample_complexity(SEC, log_class_size, gamma_margin, eps, delta, rho, Y, R_max=None, constant=1.0) -> Prescription:
    """XPO sample complexity: Theorem 4.3 (informal) or, with R_max, Theorem J.2's m (SPEC 6.4), order-only.

        Theorem 4.3:  m = c SEC ln(|Pi|/rho) / (gamma_margin^2 delta^2 eps^2)
        Theorem J.2:  m = c R_max^2 SEC ln(|Pi|/rho) ln^2(|Y|/delta) / (gamma_margin^2 eps^2 delta^2)
    with beta = gamma_margin / (2 ln(2|Y|/delta)) and T = ceil(m/2) (m = 2T, see
    :func:`xpo_iterations`). No dependence on C_cov. ln|Pi| stands for ln N(Pi, eps_disc).
    Both are O-tilde statements with unknown constants.

    Args: SEC > 0; log_class_size >= 0; gamma_margin > 0; eps, delta, rho in (0, 1); Y integer >= 2;
      R_max >= 1 or None; constant > 0.
    """
    SEC = _pos_finite(SEC, "SEC")
    log_class_size = _log_class(log_class_size)
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    Y = check_int(Y, "Y", minimum=2)
    c = _constant(constant)
    L = _log_pi_over_rho(log_class_size, rho)
    m_informal = c * SEC * L / (gamma_margin**2 * delta**2 * eps**2)
    params = {"beta": gamma_margin / (2.0 * math.log(2.0 * Y / delta)), "m_informal": m_informal}
    if R_max is None:
        m, name = m_informal, "Thm 4.3 XPO (informal)"
    else:
        R_max = _at_least(R_max, "R_max", 1.0)
        m = m_informal * R_max**2 * math.log(Y / delta) ** 2
        params["m_J2"] = m
        name = "Thm J.2 XPO (formal m)"
    T = max(1, _ceil(m / 2.0))
    return Prescription(
        theorem=name,
        T=T,
        m=2.0 * T,
        order_only=True,
        constant=c,
        params=params,
        notes=_ORDER_NOTE.format(c=c) + "; no C_cov dependence; ln|Pi| in place of ln N(Pi, eps_disc)",
    )


def xpo_regret_bound(SEC, log_cover, R_max, V_max, T, rho, beta, eps_disc, constant=1.0) -> float:
    """Theorem J.1 (SPEC 6.4, F26), order-only: w.p. >= 1 - rho,

        beta KL(pi_hat || pi*_beta) = J_beta(pi*_beta) - J_beta(pi_hat)
            <= c [ (R_max + V_max) sqrt( SEC ln(2 N T / rho) / T ) + beta eps_disc sqrt(SEC T) ].

    Returns the right-hand side (a bound on the regret, not on the sharpness error).
    Assumptions J.3 (pi*_beta in Pi), J.4 (|beta log(pi/pi_base)| <= V_max).

    Args: SEC > 0; log_cover >= 0; R_max > 0; V_max >= 0; T integer >= 1; rho in (0, 1);
      beta > 0; eps_disc in (0, 1); constant > 0.
    """
    SEC = _pos_finite(SEC, "SEC")
    log_cover = _at_least(log_cover, "log_cover", 0.0)
    R_max = _pos_finite(R_max, "R_max")
    V_max = _at_least(V_max, "V_max", 0.0)
    T = check_int(T, "T", minimum=1)
    rho = check_open_unit(rho, "rho")
    beta = _pos_finite(beta, "beta")
    eps_disc = check_open_unit(eps_disc, "eps_disc")
    c = _constant(constant)
    L = math.log(2.0) + log_cover + math.log(T) + math.log(1.0 / rho)
    return c * ((R_max + V_max) * math.sqrt(SEC * L / T) + beta * eps_disc * math.sqrt(SEC * T))


def linear_softmax_xpo(d, B, Y, gamma_margin, eps, delta, rho, constant=1.0) -> Prescription:
    """XPO on the linear-softmax class Pi_{phi,B} (Theorem J.3, SPEC 6.5), order-only.

    Plugs the proof's quantities into Theorem J.2:
        beta  = gamma_margin / (2 ln(2|Y|/delta)),
        R_max = sqrt(4 beta^2 B^2 + (2B + ln|Y|)^2),
        SEC(T) = d ln(T + 1)                    (Lemma J.5, constant dropped),
        eps_disc(T) = eps delta / sqrt(SEC(T) T),   ln N(Pi, eps_disc) = d ln(6B / eps_disc)  (Lemma J.4),
    and solves T >= c R_max^2 SEC(T) ln(2 N T / rho) / (eps^2 delta^2 beta^2) by fixed-point
    iteration; m = 2T (see :func:`xpo_iterations`). The realizability (norm) condition
    ||theta*||_2 <= gamma_margin B / (3 ln(2|Y|/delta)) is returned as ``params['theta_norm_max']``.
    The paper states m = poly(1/eps, 1/delta, 1/gamma_margin, d, B, log(|Y|/rho)); the
    combination above is [reconstructed] and order-only.

    Args: d integer >= 1; B >= 1; Y integer >= 2; gamma_margin > 0; eps, delta, rho in (0, 1).
    """
    d = check_int(d, "d", minimum=1)
    B = _at_least(B, "B", 1.0)
    Y = check_int(Y, "Y", minimum=2)
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    eps = check_open_unit(eps, "eps")
    delta = check_open_unit(delta, "delta")
    rho = check_open_unit(rho, "rho")
    c = _constant(constant)
    logY = math.log(2.0 * Y / delta)
    beta = gamma_margin / (2.0 * logY)
    R_max = math.sqrt(4 * beta**2 * B**2 + (2 * B + math.log(Y)) ** 2)
    A = c * R_max**2 / (eps**2 * delta**2 * beta**2)

    def sec(t):
        return d * math.log(t + 1.0)

    def log_cover(t):
        return d * math.log(6.0 * B * math.sqrt(sec(t) * t) / (eps * delta))

    def rhs(t):
        return A * sec(t) * (math.log(2.0) + log_cover(t) + math.log(t) + math.log(1.0 / rho))

    T = _least_T(rhs, "linear_softmax_xpo")
    finite = math.isfinite(T)
    return Prescription(
        theorem="Thm J.3 XPO on linear softmax",
        T=T,
        m=2.0 * T,
        order_only=True,
        constant=c,
        params={
            "beta": beta,
            "R_max": R_max,
            "SEC": sec(T) if finite else math.inf,
            "log_cover": log_cover(T) if finite else math.inf,
            "eps_disc": eps * delta / math.sqrt(sec(T) * T) if finite else 0.0,
            "theta_norm_max": gamma_margin * B / (3.0 * logY),
        },
        notes=_ORDER_NOTE.format(c=c) + "; [reconstructed] J.2 with SEC ~ d ln(T+1), ln N = d ln(6B/eps_disc)"
        + ("" if finite else _T_BEYOND_NOTE),
    )


# -- the tilted optimum (F13, F14) and the margin transfer (F18) -------------------------------
_GAMMA_CAP = 1.0


def tilted_beta_sufficient(gamma_margin, Y, delta) -> float:
    """beta = gamma_margin / (2 ln(2|Y|/delta)) (F14; Theorem J.2 condition, Theorem 4.3's beta) [paper].

    Under the margin assumption (4.2) any beta <= this value gives pi*_beta(y*|x) >= 1 - delta/2
    for every x: each y' outside y*(x) has pi*_beta(y'|x) <= (1+gamma_margin)^-(1+1/beta) <=
    exp(-gamma_margin/(2 beta)) = delta/(2|Y|), using ln(1+g) >= g/2 (true for g <= 1, the paper's
    domain gamma_margin in (0, 1)). A margin gamma_margin > 1 implies margin 1, so gamma_margin is
    clipped to 1 here (documented decision).

    Args: gamma_margin > 0; Y integer >= 1 (number of responses); delta in (0, 1).

    >>> round(tilted_beta_sufficient(0.5, 10, 0.2), 6)   # 0.5 / (2 ln 100)
    0.054287
    """
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    Y = check_int(Y, "Y", minimum=1)
    delta = check_open_unit(delta, "delta")
    g = min(gamma_margin, _GAMMA_CAP)
    return g / (2.0 * math.log(2.0 * Y / delta))


def tilted_mass_lower_bound(gamma_margin, Y, beta) -> float:
    """Sharper F14 form [reconstructed]: pi*_beta(y*|x) >= 1 - (|Y| - 1)(1 + gamma_margin)^-(1 + 1/beta).

    Each y' outside y*(x) has pi*_beta(y'|x) <= (pi_base(y'|x)/max_y pi_base(y|x))^(1+1/beta) <=
    (1+gamma_margin)^-(1+1/beta), and at most |Y| - 1 responses lie outside. Tight on two-level
    instances (one argmax, |Y| - 1 responses at max/(1+gamma_margin)). May be negative (vacuous).

    Args: gamma_margin > 0; Y integer >= 1; beta > 0.
    """
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    Y = check_int(Y, "Y", minimum=1)
    beta = _pos_finite(beta, "beta")
    return 1.0 - (Y - 1) * math.exp(-(1.0 + 1.0 / beta) * math.log1p(gamma_margin))


def _log_tilted_offmass(lp_rows: np.ndarray, star: np.ndarray, s: float) -> np.ndarray:
    """log of 1 - pi*_beta(y*|x) per row, with exponent s = 1 + 1/beta, in log space."""
    from scipy.special import logsumexp

    z = s * lp_rows
    with np.errstate(invalid="ignore"):
        z = np.where(np.isneginf(lp_rows), -np.inf, z)
    tot = logsumexp(z, axis=1)
    off = logsumexp(np.where(star, -np.inf, z), axis=1)
    return off - tot


def tilted_beta_exact(base, delta, mu=None) -> float:
    """Exact largest beta with min_{x in supp mu} pi*_beta(y*(x)|x) >= 1 - delta/2 (F13, F14).

    pi*_beta(y*|x) = sum_{y in y*} p^s / sum_y p^s with s = 1 + 1/beta, which decreases in beta
    (each ratio (p(y)/p_max)^s < 1 of a non-argmax y decreases in s), so the set of valid beta is an
    interval (0, beta_max]. beta_max solves min_x pi*_beta(y*|x) = 1 - delta/2 and is found by
    scipy ``brentq`` in log(beta) on the exact tilted mass (computed in log space). Returns
    ``inf`` when pi_base itself already has pi_base(y*|x) >= 1 - delta/2 on every prompt (every
    beta works). Never smaller than :func:`tilted_beta_sufficient` under the instance's margin.

    Args: base: [X, Y] table or model; delta in (0, 1); mu: [X] or None (the model's own / uniform).
    """

    delta = check_open_unit(delta, "delta")
    lp = log_table_of(base, "base")
    m = mu_of(mu, base, lp.shape[0])
    rows = lp[m > 0]
    star = np.asarray(argmax_set(rows))
    log_target = math.log(delta / 2.0)  # need log(off-mass) <= log(delta/2)

    def g(log_beta):  # > 0 when beta fails, decreasing as beta shrinks
        s = 1.0 + math.exp(-log_beta)
        return float(np.max(_log_tilted_offmass(rows, star, s))) - log_target

    # beta -> inf: the off-mass tends to the base off-mass
    with np.errstate(divide="ignore"):
        base_off = np.log(np.maximum(0.0, 1.0 - np.exp(_log_masses(rows, star))))
    if float(np.max(base_off)) <= log_target:
        return math.inf
    lo, hi = 0.0, 0.0
    while g(lo) > 0:
        lo -= 2.0
        if lo < -600:
            raise ValueError("tilted_beta_exact: no beta > 0 reaches the target (numerical underflow)")
    while g(hi) <= 0:
        hi += 2.0
        if hi > 700:
            return math.inf
    root = brentq(g, lo, hi, xtol=1e-14, rtol=1e-13, maxiter=500)
    return math.exp(root)


def _log_masses(rows: np.ndarray, star: np.ndarray) -> np.ndarray:
    from scipy.special import logsumexp

    return logsumexp(np.where(star, rows, -np.inf), axis=1)


def margin_sharpness_bound(eta, gamma_margin, delta) -> float:
    """F18 [reconstructed from the Theorem 4.2' proof]: P_x[pi_hat(y*|x) <= 1 - delta] <= eta / (ln(1+gamma_margin) delta).

    eta = E_x[ max_y log pi_base(y|x) - E_{y~pi_hat} log pi_base(y|x) ] is the expected
    log-likelihood gap; under the exact-argmax margin (Assumption 4.2) every non-argmax draw
    loses at least ln(1 + gamma_margin) nats, so Markov on 1 - pi_hat(y*|x) gives the bound with
    constant 1. May exceed 1 (vacuous).

    Args: eta >= 0; gamma_margin > 0; delta in (0, 1).
    """
    eta = _at_least(eta, "eta", 0.0)
    gamma_margin = _pos_finite(gamma_margin, "gamma_margin")
    delta = check_open_unit(delta, "delta")
    return eta / (math.log1p(gamma_margin) * delta)

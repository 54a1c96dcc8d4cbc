"""The quantities of the sharpening theory, as validated pure functions.

Every function takes ``base`` / ``policy`` as an ``[X, Y]`` table of
probabilities (rows sum to 1 within 1e-9; zeros allowed) **or** any sharpsim
model (which yields its exact log-table, so tiny sequence probabilities stay
exact), and ``mu`` as an ``[X]`` prompt distribution (``None``: the model's own
``mu`` when ``base`` is a model, else uniform). Inputs are validated
(``TypeError`` / ``ValueError`` naming the argument), then a jitted core of
:mod:`sharpsim.core` runs. Scalars come back as Python floats and tables as
float64 numpy arrays.

The two-table quantities (argmax_mass, sharpness_error, concentrability, kl, hellinger_sq,
regularized_value, dpo_residual) also take either table as an [X, Y] log-probability table through
the keyword-only ``log_policy=`` / ``log_base=``, e.g. Lemma 4.1's
``concentrability(base, log_base=log_tilted(base, beta), beta=beta)``: probabilities that ``exp``
underflows to 0 then never turn a finite quantity into ``inf``.

References: ``shared/SPEC.md`` sections and the paper (Huang et al., arXiv
2412.01951, v1 numbering).
"""

from __future__ import annotations

import math
import sys

import numpy as np

from . import core
from ._validate import (
    ROW_SUM_TOL,
    check_gamma,
    check_int,
    check_log_table,
    check_open_unit,
    check_positive,
    log_table_of,
    mu_of,
    same_shape,
)

__all__ = [
    "population_N",
    "argmax_set",
    "argmax_mass",
    "coverage",
    "adaptive_coverage",
    "margin",
    "sharpness_error",
    "bon_law",
    "tilted",
    "log_tilted",
    "concentrability",
    "kl",
    "hellinger_sq",
    "regularized_value",
    "dpo_residual",
]


def _finite_beta(beta):
    """beta > 0 and finite (beta = inf would give inf * 0 = NaN in the divergence terms)."""
    beta = check_positive(beta, "beta")
    if beta == np.inf:
        raise ValueError("beta must be finite, got inf")
    return beta


def _base(base, name="base"):
    return log_table_of(base, name)


def _one(value, log_value, name):
    """Log table of ``value`` (table or model) or of ``log_value`` (an [X, Y] log-probability table)."""
    if log_value is not None:
        if value is not None:
            raise ValueError(f"pass either {name} or log_{name}, not both")
        return check_log_table(log_value, f"log_{name}")
    if value is None:
        raise TypeError(f"{name} is required (a table or a model), or log_{name} (a log-probability table)")
    return log_table_of(value, name)


def _pair(policy, base, log_policy=None, log_base=None):
    """(log policy, log base) from tables / models, or from log tables passed as log_policy / log_base.

    A log table is used as it is (validated and renormalised exactly like
    ``TabularLM.from_log_probs``), so probabilities that ``exp`` underflows (e.g. the tails of
    :func:`log_tilted`) never round-trip through 0.
    """
    lq = _one(policy, log_policy, "policy")
    lp = _one(base, log_base, "base")
    same_shape(lq, lp, "log_policy" if log_policy is not None else "policy", "log_base" if log_base is not None else "base")
    return lq, lp


def _mu(mu, base, lp, other=None):
    if mu is None and getattr(base, "mu", None) is None and other is not None:
        return mu_of(None, other, lp.shape[0])
    return mu_of(mu, base, lp.shape[0])


def argmax_set(base, gamma=0.0) -> np.ndarray:
    """Argmax sets y*_gamma(x) of the base model (SPEC 3.1, 3.3).

    y*_gamma(x) = { y : pi_base(y|x) >= (1 - gamma) max_y' pi_base(y'|x) };
    gamma = 0 gives the exact argmax set y*(x) (ties kept).

    Args:
      base: [X, Y] table or model.
      gamma: in [0, 1).
    Returns:
      bool [X, Y].

    >>> argmax_set([[0.5, 0.3, 0.2], [0.4, 0.4, 0.2]]).astype(int).tolist()
    [[1, 0, 0], [1, 1, 0]]
    """
    gamma = check_gamma(gamma)
    return np.asarray(core.argmax_set(_base(base), gamma))


def argmax_mass(policy=None, base=None, gamma=0.0, *, log_policy=None, log_base=None) -> np.ndarray:
    """Policy mass on the base model's argmax set, policy(y*_gamma(x) | x) (SPEC 3.1).

    Args:
      policy, base: [X, Y] tables or models of the same shape.
      gamma: in [0, 1).
    Returns:
      float [X].

    >>> argmax_mass([[0.9, 0.1, 0.0]], [[0.2, 0.5, 0.3]]).round(3).tolist()
    [0.1]
    """
    gamma = check_gamma(gamma)
    lq, lp = _pair(policy, base, log_policy, log_base)
    return np.exp(np.asarray(core.log_argmax_mass(lq, lp, gamma)))


def coverage(base, mu=None, gamma=0.0, p=1) -> float:
    """Coverage coefficient C_cov,gamma,p = ( E_{x~mu}[ pi_base(y*_gamma(x)|x)^(-p) ] )^(1/p).

    At the defaults (gamma = 0, p = 1) this is C_cov of Eq. (6) (SPEC 3.4): the
    prompt-averaged expected number of draws from pi_base until the first argmax
    response (F5). 1 <= C_cov <= |Y|. Computed in log space.

    Args:
      base: [X, Y] table or model; mu: [X] or None; gamma in [0, 1); p: integer >= 1.

    >>> coverage([[0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])  # (2 + 1/0.6) / 2
    1.8333333333333335
    """
    gamma = check_gamma(gamma)
    p = check_int(p, "p", minimum=1)
    lp = _base(base)
    m = _mu(mu, base, lp)
    return float(core.coverage(lp, m, gamma, float(p)))


def adaptive_coverage(base, mu=None) -> float:
    """C-bar_cov = E_{x~mu}[ 1 / max_y pi_base(y|x) ]  (SPEC 3.4, Appendix D).

    C-bar_cov >= C_cov, with equality when every argmax is unique (F5).

    >>> adaptive_coverage([[0.4, 0.4, 0.2]])
    2.5
    """
    lp = _base(base)
    return float(core.adaptive_coverage(lp, _mu(mu, base, lp)))


def margin(base, mu=None, gamma=0.0) -> float:
    """Largest gamma_margin for which the margin assumption holds on supp(mu) (SPEC 3.6).

    gamma = 0 (Assumption 4.2): max_y pi_base(y|x) >= (1 + gamma_margin) pi_base(y'|x)
    for all y' outside y*(x); gamma > 0 (Assumption J.2): pi_base(y*_gamma(x)|x) >=
    (1 + gamma_margin) pi_base(y|x) for all y outside y*_gamma(x). Returns
    min_x [ top(x) / max_{y' outside} pi_base(y'|x) - 1 ] over prompts with mu(x) > 0;
    ``inf`` when every prompt puts all its mass inside the argmax set.

    >>> round(margin([[0.5, 0.25, 0.25]]), 12)
    1.0
    """
    gamma = check_gamma(gamma)
    lp = _base(base)
    return float(core.margin(lp, _mu(mu, base, lp), gamma))


def sharpness_error(policy=None, base=None, delta=None, mu=None, gamma=0.0, strict=True, *, log_policy=None, log_base=None) -> float:
    """The eps a policy achieves: P_{x~mu}[ policy(y*_gamma(x)|x) < 1 - delta ] (Definition 3.1).

    policy is (eps, delta)-sharpened iff sharpness_error(policy, base, delta) <= eps.
    ``strict=False`` measures the event {policy(y*|x) <= 1 - delta} used by the
    upper-bound theorems (SPEC 10.1, D5).

    >>> sharpness_error([[0.9, 0.1], [0.5, 0.5]], [[0.6, 0.4], [0.7, 0.3]], delta=0.2)
    0.5
    """
    delta = check_open_unit(delta, "delta")
    gamma = check_gamma(gamma)
    if not isinstance(strict, (bool, np.bool_)):
        raise TypeError(f"strict must be a bool, got {type(strict).__name__}")
    lq, lp = _pair(policy, base, log_policy, log_base)
    return float(core.sharpness_error(lq, lp, delta, _mu(mu, base, lp, policy), gamma, bool(strict)))


def bon_N_float(N: int) -> float:
    """float(N) for the best-of-N law; N beyond the float64 range becomes the largest float64.

    For such N the law is, in float64, exactly its N -> inf limit: every level below the top has
    mass S_<=(v)^N <= (1 - max_y p(y))^N with max_y p(y) >= 1 / Y, which is 0 in float64 already
    at N = 1.8e308, and the top level has mass 1 - S_<(top)^N = 1; so the law is the uniform
    law on the argmax set (tie groups) for every N >= 1.8e308. Bits for smaller N are unchanged.
    """
    try:
        return float(N)
    except OverflowError:
        return sys.float_info.max


def bon_law(base, N) -> np.ndarray:
    """Exact law pi^BoN_N of best-of-N with self-reward log pi_base (SPEC 9 item 1, F1, F2).

    For a level v of p = pi_base(.|x), the output lies in {p = v} with probability
    S_<=(v)^N - S_<(v)^N, where S_<=(v) = sum_{p(y) <= v} p(y); ties between tied
    responses are broken uniformly at random (decision D1), so the level mass is split
    equally. In particular pi^BoN_N(y*|x) = 1 - (1 - pi_base(y*|x))^N.

    Args:
      base: [X, Y] table or model; N: integer >= 1 (any size: N beyond the float64 range gives
        the N -> inf limit, uniform on the argmax set, which is then the law to float64 precision;
        see :func:`bon_N_float`).
    Returns:
      float [X, Y], rows sum to 1.

    >>> bon_law([[0.5, 0.25, 0.25]], 2).tolist()
    [[0.75, 0.125, 0.125]]
    """
    N = check_int(N, "N", minimum=1)
    return bon_law_log_table(_base(base), N)


def bon_law_log_table(lp, N) -> np.ndarray:
    """:func:`bon_law` of an already validated float64 log table ``lp`` [X, Y] and integer N >= 1 (no
    checks): the faster exact path (:func:`sharpsim.core.bon_law_numpy`; on the CPU backend sorted in
    numpy, the jitted law's bits, a few compiled programs for all table shapes), N beyond the float64
    range taken as its limit (:func:`bon_N_float`). The law of callers that validated their table."""
    return core.bon_law_numpy(np.asarray(lp, dtype=np.float64), bon_N_float(N))


def _rows_not_normalised(lt: np.ndarray) -> np.ndarray:
    """bool [X]: rows of a log table with NaN or +inf, no mass, or a sum off 1 by more than ROW_SUM_TOL."""
    with np.errstate(all="ignore"):
        bad = np.isnan(lt).any(axis=1) | np.isposinf(lt).any(axis=1)
        mx = np.max(np.where(np.isnan(lt), -np.inf, lt), axis=1)
        finite = np.isfinite(mx)
        safe = np.where(finite, mx, 0.0)
        lse = safe + np.log(np.sum(np.exp(lt - safe[:, None]), axis=1))
        bad |= ~finite | ~(np.abs(np.expm1(lse)) <= ROW_SUM_TOL)
    return bad


def log_tilted(base, beta) -> np.ndarray:
    """log pi*_beta: the KL-regularized optimum in log space, float64 [X, Y] (SPEC 6.1, F13).

    pi*_beta(y|x) = pi_base(y|x)^(1 + 1/beta) / sum_y' pi_base(y'|x)^(1 + 1/beta), i.e.
    log pi*_beta = (1 + 1/beta) log pi_base - logsumexp_y((1 + 1/beta) log pi_base)
    (:func:`sharpsim.core.tilted`). Every row is normalised for every beta > 0: rows where that
    plain formula is NaN / inf or sums to 1 only within more than ``ROW_SUM_TOL`` (beta below
    ~1e-7, where (1 + 1/beta) log pi_base loses its fraction bits) are computed relative to the row
    maximum instead (:func:`sharpsim.core.tilted_stable`); as beta -> 0 a row tends to the uniform
    law on the argmax set. Entries stay exact far below the float64 range of ``exp`` (-inf only
    where pi_base is 0), so pass the result on as a log table (``log_policy=`` / ``log_base=`` of
    :func:`concentrability`, :func:`kl`, ... or ``TabularLM.from_log_probs``) rather than through
    :func:`tilted`, whose tiny probabilities underflow to 0.

    Args:
      base: [X, Y] table or model; beta: > 0.
    Returns:
      float [X, Y] log-probabilities.

    >>> np.exp(log_tilted([[0.5, 0.25, 0.25]], 1e-100)).tolist()
    [[1.0, 0.0, 0.0]]
    """
    beta = check_positive(beta, "beta")
    lp = _base(base)
    lt = np.asarray(core.tilted(lp, beta))
    bad = _rows_not_normalised(lt)
    if bad.any():
        lt = np.array(lt)
        lt[bad] = np.asarray(core.tilted_stable(lp, beta))[bad]  # full table: one compile per shape
    return lt


def tilted(base, beta) -> np.ndarray:
    """KL-regularized optimum pi*_beta proportional to pi_base^(1 + 1/beta) (SPEC 6.1, F13).

    pi*_beta = argmax_pi E_pi[log pi_base] - beta KL(pi || pi_base); it is pi_base at
    temperature beta / (1 + beta). ``exp`` of :func:`log_tilted`: rows are normalised for every
    beta > 0 (limit beta -> 0: uniform on the argmax set), but probabilities below ~1e-308
    underflow to 0; use :func:`log_tilted` to pass pi*_beta on (e.g. to :func:`concentrability`).

    >>> tilted([[0.5, 0.25, 0.25]], 1.0).round(4).tolist()
    [[0.6667, 0.1667, 0.1667]]
    """
    return np.exp(log_tilted(base, beta))


def concentrability(policy=None, base=None, mu=None, beta=1.0, *, log_policy=None, log_base=None) -> float:
    """C_{policy/base;beta} = E_{x~mu, y~policy}[ (policy(y|x) / base(y|x))^beta ] (SPEC Eq. 9).

    beta = 1 gives C_pi = E_mu sum_y policy^2 / pi_base (Assumption 4.4); Lemma 4.1's
    C_{pi_base/pi*_beta; beta} is
    ``concentrability(base, log_base=log_tilted(base, beta), beta=beta)``.
    ``inf`` when policy puts mass where base has none.

    Computed in log space: sum_y exp(log q + beta (log q - log r)). Either argument may be given
    as a log-probability table instead (keyword-only ``log_policy=`` / ``log_base=``, [X, Y],
    -inf for zeros), so a policy whose probabilities underflow ``exp`` (e.g. pi*_beta for small
    beta, whose tails are 0 in :func:`tilted` but finite in :func:`log_tilted`) gives its exact
    finite value instead of ``inf``. A model (e.g. ``TabularLM.from_log_probs(...)``) works too.

    >>> concentrability([[1.0, 0.0]], [[0.5, 0.5]])
    2.0
    """
    beta = _finite_beta(beta)
    lq, lp = _pair(policy, base, log_policy, log_base)
    return float(core.concentrability(lq, lp, _mu(mu, base, lp, policy), beta))


def kl(policy=None, base=None, mu=None, *, log_policy=None, log_base=None) -> float:
    """E_{x~mu} KL(policy(.|x) || base(.|x)) in nats; 0 log 0 = 0, inf off the support.

    >>> round(kl([[1.0, 0.0]], [[0.5, 0.5]]), 12)  # log 2
    0.69314718056
    """
    lq, lp = _pair(policy, base, log_policy, log_base)
    return float(core.kl(lq, lp, _mu(mu, base, lp, policy)))


def hellinger_sq(policy=None, base=None, mu=None, *, log_policy=None, log_base=None) -> float:
    """E_{x~mu} D_H^2(policy, base) with the unnormalised D_H^2 = sum_y (sqrt q - sqrt p)^2 in [0, 2].

    (SPEC 2.2; the normalisation the derived constant 23.3 of F9 assumes.)

    >>> hellinger_sq([[1.0, 0.0]], [[0.0, 1.0]])
    2.0
    """
    lq, lp = _pair(policy, base, log_policy, log_base)
    return float(core.hellinger_sq(lq, lp, _mu(mu, base, lp, policy)))


def regularized_value(policy=None, base=None, beta=None, mu=None, *, log_policy=None, log_base=None) -> float:
    """J_beta(policy) = E_policy[log pi_base] - beta KL(policy || pi_base) (SPEC 6.4, r = log pi_base).

    Maximised by tilted(base, beta); J_beta(pi*_beta) - J_beta(pi) = beta KL(pi || pi*_beta) (F17).

    >>> round(regularized_value([[0.5, 0.5]], [[0.5, 0.5]], beta=1.0), 12)  # log 1/2
    -0.69314718056
    """
    beta = _finite_beta(beta)
    lq, lp = _pair(policy, base, log_policy, log_base)
    return float(core.regularized_value(lq, lp, beta, _mu(mu, base, lp, policy)))


def dpo_residual(policy=None, base=None, beta=None, *, log_policy=None, log_base=None) -> np.ndarray:
    """Residuals of the squared DPO loss of Eq. (8) for every (x, y, y') (SPEC 6.2, F16).

    R = beta log(policy(y|x)/base(y|x)) - beta log(policy(y'|x)/base(y'|x)) - (log base(y|x) - log base(y'|x)),
    on supp(base) x supp(base) (0 elsewhere). Identically zero at policy = tilted(base, beta).

    Returns float [X, Y, Y].
    """
    beta = _finite_beta(beta)
    lq, lp = _pair(policy, base, log_policy, log_base)
    return np.asarray(core.dpo_residual(lq, lp, beta))


def population_N(p_star, mu, delta: float, target: float = 0.0) -> int:
    """Smallest N whose exact population SFT error P_x[(1 - p*(x))^N >= delta] (F7) is <= target.

    p_star: [X] argmax masses pi_base(y*(x)|x) (:func:`argmax_mass`); mu: [X]. With target = 0
    this is N_pop, the least N at which best-of-N puts more than 1 - delta on y*(x) at every prompt
    (the population limit of SFT-Sharpening succeeds; SPEC 5.2, F7).

    Prompt x stops counting once N > ln(delta)/ln(1 - p*(x)), i.e. from
    N_x = floor(ln delta / ln(1 - p*)) + 1 on (N_x = 1 when p* = 1). Exact.
    """
    p_star, mu = np.asarray(p_star, dtype=float), np.asarray(mu, dtype=float)
    with np.errstate(divide="ignore"):
        lq = np.log1p(-np.minimum(p_star, 1.0))
    Nx = np.where(p_star >= 1.0, 1, np.floor(math.log(delta) / np.where(lq < 0, lq, -1.0)) + 1).astype(np.int64)
    Nx = np.where(p_star >= 1.0, 1, Nx)
    for N in sorted(set(Nx.tolist()) | {1}):
        if float(np.sum(mu[Nx > N])) <= target:
            return int(N)
    return int(Nx.max())

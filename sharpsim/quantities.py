"""The quantities of the sharpening theory, as validated pure functions.

Every function takes ``base`` / ``policy`` as an ``[X, Y]`` table of
probabilities (rows sum to 1 within 1e-9; zeros allowed) **or** any sharpsim
model (which yields its exact log-table, so tiny sequence probabilities stay
exact), and ``mu`` as an ``[X]`` prompt distribution (``None``: the model's own
``mu`` when ``base`` is a model, else uniform). Inputs are validated
(``TypeError`` / ``ValueError`` naming the argument), then a jitted core of
:mod:`sharpsim.core` runs. Scalars come back as Python floats and tables as
float64 numpy arrays.

References: ``shared/SPEC.md`` sections and the paper (Huang et al., arXiv
2412.01951, v1 numbering).
"""

from __future__ import annotations

import math

import numpy as np

from . import core
from ._validate import (
    check_gamma,
    check_int,
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
    "concentrability",
    "kl",
    "hellinger_sq",
    "regularized_value",
    "dpo_residual",
]


def _base(base, name="base"):
    return log_table_of(base, name)


def _pair(policy, base):
    lq = log_table_of(policy, "policy")
    lp = log_table_of(base, "base")
    same_shape(lq, lp, "policy", "base")
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


def argmax_mass(policy, base, gamma=0.0) -> np.ndarray:
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
    lq, lp = _pair(policy, base)
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


def sharpness_error(policy, base, delta, mu=None, gamma=0.0, strict=True) -> float:
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
    lq, lp = _pair(policy, base)
    return float(core.sharpness_error(lq, lp, delta, _mu(mu, base, lp, policy), gamma, bool(strict)))


def bon_law(base, N) -> np.ndarray:
    """Exact law pi^BoN_N of best-of-N with self-reward log pi_base (SPEC 9 item 1, F1, F2).

    For a level v of p = pi_base(.|x), the output lies in {p = v} with probability
    S_<=(v)^N - S_<(v)^N, where S_<=(v) = sum_{p(y) <= v} p(y); ties between tied
    responses are broken uniformly at random (decision D1), so the level mass is split
    equally. In particular pi^BoN_N(y*|x) = 1 - (1 - pi_base(y*|x))^N.

    Args:
      base: [X, Y] table or model; N: integer >= 1.
    Returns:
      float [X, Y], rows sum to 1.

    >>> bon_law([[0.5, 0.25, 0.25]], 2).tolist()
    [[0.75, 0.125, 0.125]]
    """
    N = check_int(N, "N", minimum=1)
    return np.asarray(core.bon_law(_base(base), float(N)))


def tilted(base, beta) -> np.ndarray:
    """KL-regularized optimum pi*_beta proportional to pi_base^(1 + 1/beta) (SPEC 6.1, F13).

    pi*_beta = argmax_pi E_pi[log pi_base] - beta KL(pi || pi_base); it is pi_base at
    temperature beta / (1 + beta).

    >>> tilted([[0.5, 0.25, 0.25]], 1.0).round(4).tolist()
    [[0.6667, 0.1667, 0.1667]]
    """
    beta = check_positive(beta, "beta")
    return np.exp(np.asarray(core.tilted(_base(base), beta)))


def concentrability(policy, base, mu=None, beta=1.0) -> float:
    """C_{policy/base;beta} = E_{x~mu, y~policy}[ (policy(y|x) / base(y|x))^beta ] (SPEC Eq. 9).

    beta = 1 gives C_pi = E_mu sum_y policy^2 / pi_base (Assumption 4.4); Lemma 4.1's
    C_{pi_base/pi*_beta; beta} is ``concentrability(base, tilted(base, beta), beta=beta)``.
    ``inf`` when policy puts mass where base has none.

    >>> concentrability([[1.0, 0.0]], [[0.5, 0.5]])
    2.0
    """
    beta = check_positive(beta, "beta")
    lq, lp = _pair(policy, base)
    return float(core.concentrability(lq, lp, _mu(mu, base, lp, policy), beta))


def kl(policy, base, mu=None) -> float:
    """E_{x~mu} KL(policy(.|x) || base(.|x)) in nats; 0 log 0 = 0, inf off the support.

    >>> round(kl([[1.0, 0.0]], [[0.5, 0.5]]), 12)  # log 2
    0.69314718056
    """
    lq, lp = _pair(policy, base)
    return float(core.kl(lq, lp, _mu(mu, base, lp, policy)))


def hellinger_sq(policy, base, mu=None) -> float:
    """E_{x~mu} D_H^2(policy, base) with the unnormalised D_H^2 = sum_y (sqrt q - sqrt p)^2 in [0, 2].

    (SPEC 2.2; the normalisation the derived constant 23.3 of F9 assumes.)

    >>> hellinger_sq([[1.0, 0.0]], [[0.0, 1.0]])
    2.0
    """
    lq, lp = _pair(policy, base)
    return float(core.hellinger_sq(lq, lp, _mu(mu, base, lp, policy)))


def regularized_value(policy, base, beta, mu=None) -> float:
    """J_beta(policy) = E_policy[log pi_base] - beta KL(policy || pi_base) (SPEC 6.4, r = log pi_base).

    Maximised by tilted(base, beta); J_beta(pi*_beta) - J_beta(pi) = beta KL(pi || pi*_beta) (F17).

    >>> round(regularized_value([[0.5, 0.5]], [[0.5, 0.5]], beta=1.0), 12)  # log 1/2
    -0.69314718056
    """
    beta = check_positive(beta, "beta")
    lq, lp = _pair(policy, base)
    return float(core.regularized_value(lq, lp, beta, _mu(mu, base, lp, policy)))


def dpo_residual(policy, base, beta) -> np.ndarray:
    """Residuals of the squared DPO loss of Eq. (8) for every (x, y, y') (SPEC 6.2, F16).

    R = beta log(policy(y|x)/base(y|x)) - beta log(policy(y'|x)/base(y'|x)) - (log base(y|x) - log base(y'|x)),
    on supp(base) x supp(base) (0 elsewhere). Identically zero at policy = tilted(base, beta).

    Returns float [X, Y, Y].
    """
    beta = check_positive(beta, "beta")
    lq, lp = _pair(policy, base)
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

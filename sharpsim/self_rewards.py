"""Self-rewards beyond best-of-N with log pi_base, computed exactly (issue 14).

The paper's self-reward is log pi_base with best-of-N selection (SPEC 5.4). The same toy
models give the exact laws of the selection rules the field has since turned to:

* :func:`power`: the sequence-level power distribution p_alpha(y|x) proportional to
  pi_base(y|x)^alpha ("Reasoning with sampling", Karan and Du, arXiv 2510.14901; the
  token-level factorization of Ji et al., arXiv 2601.21590, is
  :meth:`sharpsim.AutoregressiveLM.power`). For alpha > 1 it is the KL-regularized optimum
  ``tilted(base, beta=1/(alpha-1))`` (SPEC 6.1, F13).
* :func:`answer_law`, :func:`majority_law`, :func:`majority_prob`: majority vote
  (plurality) over the answers of N i.i.d. responses, ties broken uniformly, by dynamic
  programming over answer counts.
* :func:`soft_bon_law`: soft best-of-N (Verdun et al., arXiv 2505.03156): of N i.i.d.
  draws pick draw i with probability proportional to exp(r(y_i)/lambda).
* :func:`bon_kl`, :func:`bon_kl_bound`, :func:`bon_win_rate`: the exact KL(BoN_N || base)
  with ties against log N - (N-1)/N and the exact win rate against N/(N+1)
  (Beirami et al., arXiv 2401.01879).
* :func:`power_vs_temperature`: exact KL, mode mass and task accuracy of the sequence-level
  power distribution against token-level temperature 1/alpha.

Tables are ``[X, Y]`` probabilities or any sharpsim model (exact log-table), as in
:mod:`sharpsim.quantities`; results are float64 numpy arrays / Python floats.

Why one file (over 500 lines): these are the exact laws of the selection rules that the
``self_rewards`` experiment puts on one frontier; each section (power, majority vote, soft
best-of-N, best-of-N KL / win rate, power vs temperature) is self-contained, and the layer is
2 (quantities): it reads only :mod:`sharpsim.core` and :mod:`sharpsim._validate`.
"""

from __future__ import annotations

import math

import jax
import numpy as np
from jax.scipy.special import logsumexp
from scipy.special import gammaln, roots_legendre, xlogy
from scipy.special import logsumexp as np_logsumexp

from . import aot, core
from ._validate import (
    as_float_array,
    check_int,
    check_positive,
    is_model,
    log_table_of,
    mu_of,
)
from .quantities import bon_law_log_table

__all__ = [
    "power",
    "answer_law",
    "majority_law",
    "majority_prob",
    "soft_bon_law",
    "bon_kl",
    "bon_kl_bound",
    "bon_win_rate",
    "bon_win_rate_continuous",
    "power_vs_temperature",
]


# --------------------------------------------------------------------------- power


@aot.jit
def _power_core(logp, alpha):
    # the operations of core.tilted with the exponent alpha itself (same bits when
    # 1 + 1/beta == alpha exactly)
    lt = alpha * logp
    return lt - logsumexp(lt, axis=-1, keepdims=True)


def power(base, alpha) -> np.ndarray:
    """Sequence-level power distribution p_alpha(y|x) = pi_base(y|x)^alpha / sum_y' pi_base(y'|x)^alpha.

    Karan and Du, "Reasoning with sampling" (arXiv 2510.14901), target of their
    Metropolis-Hastings sampler (:func:`sharpsim.algorithms.mh_power_sampling`). alpha > 1 sharpens,
    alpha = 1 is the base, alpha < 1 flattens. For alpha > 1 this is the KL-regularized
    optimum pi*_beta of :func:`sharpsim.tilted` with beta = 1/(alpha - 1) (SPEC 6.1, F13):
    the same operations, here with the exponent alpha exactly. ``tilted`` forms 1 + 1/beta,
    which for some alpha (1.76, 1.97, 2.52, ...) is one ulp off alpha; then the two differ by
    at most ~2e-16 in probability and ``power`` is the more accurate (relative error ~2e-15
    against up to ~9e-15 for ``tilted`` on 5-token sequences); otherwise they agree bit for bit
    (pinned in tests/test_self_rewards.py). Zeros stay zeros. Computed in log space.

    Args:
      base: [X, Y] table or model; alpha: > 0.
    Returns:
      float [X, Y], rows sum to 1.

    >>> power([[0.5, 0.25, 0.25]], 2.0).round(4).tolist()
    [[0.6667, 0.1667, 0.1667]]
    """
    alpha = check_positive(alpha, "alpha")
    if not math.isfinite(alpha):
        raise ValueError("alpha must be finite (alpha -> inf is the argmax set: sharpsim.argmax_set)")
    return np.exp(np.asarray(_power_core(log_table_of(base, "base"), alpha)))


# --------------------------------------------------------------------------- majority vote


def _answers_of(answers, X: int, Y: int, num_answers):
    a = np.asarray(answers)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.bool_)):
        raise TypeError(f"answers must be an integer array (answer id of each response), got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.ndim == 1:
        a = np.broadcast_to(a[None, :], (X, a.shape[0]))
    if a.shape != (X, Y):
        raise ValueError(f"answers must have shape [Y]=[{Y}] or [X, Y]={[X, Y]}, got {np.asarray(answers).shape}")
    if (a < 0).any():
        raise ValueError("answers must be non-negative answer ids")
    A = int(a.max()) + 1 if num_answers is None else check_int(num_answers, "num_answers")
    if (a >= A).any():
        raise ValueError(f"answers must lie in [0, num_answers={A})")
    return a, A


def answer_law(base, answers, num_answers=None) -> np.ndarray:
    """Law of the answer of one response: q(a|x) = sum_{y : answer(x, y) = a} pi_base(y|x).

    Args:
      base: [X, Y] table or model.
      answers: int [Y] or [X, Y], the answer id of each response (many responses share one).
      num_answers: A (default: max id + 1).
    Returns:
      float [X, A].

    >>> answer_law([[0.5, 0.2, 0.3]], [0, 1, 0]).tolist()
    [[0.8, 0.2]]
    """
    lp = log_table_of(base, "base")
    X, Y = lp.shape
    a, A = _answers_of(answers, X, Y, num_answers)
    q = np.zeros((X, A))
    np.add.at(q, (np.repeat(np.arange(X), Y), a.ravel()), np.exp(lp).ravel())
    return q


def _binom_pmf_table(rho, one_minus, N):
    """pmf of Bin(m, rho) at n for m, n in 0..N: [B, N+1 (m), N+1 (n)] (0 for n > m)."""
    m = np.arange(N + 1)[:, None]
    n = np.arange(N + 1)[None, :]
    valid = n <= m
    nn = np.where(valid, n, 0)
    logc = gammaln(m + 1) - gammaln(nn + 1) - gammaln(m - nn + 1)
    r = rho[:, None, None]
    om = one_minus[:, None, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        lg = logc[None] + xlogy(nn[None], r) + xlogy((m - nn)[None], om)
    return np.where(valid[None], np.exp(lg), 0.0)


MAJORITY_CHUNK_ENTRIES = 2**23
"""Largest DP array (rows x N levels x nodes x (N + 1) counts, float64: 64 MiB) per chunk of rows."""


def _majority_target_core(q, target, N):
    """Chunked over rows so that the DP array stays below :data:`MAJORITY_CHUNK_ENTRIES`."""
    B, A = q.shape
    per_row = N * max(1, (A + 1) // 2) * (N + 1)
    chunk = max(1, MAJORITY_CHUNK_ENTRIES // per_row)
    if B <= chunk:
        return _majority_target_rows(q, target, N)
    return np.concatenate([_majority_target_rows(q[i : i + chunk], target[i : i + chunk], N)
                           for i in range(0, B, chunk)])


def _majority_target_rows(q, target, N):
    """P[the plurality answer of N i.i.d. draws from q is target] per row, ties uniform.

    q: [B, A] answer laws (rows sum to 1); target: int [B]; returns float [B].

    P = sum_{k=1}^N Bin(N, q_a)(k) E[ 1{max_{b != a} n_b <= k} / (1 + #{b != a : n_b = k}) | n_a = k ],
    where given n_a = k the other counts are Multinomial(N - k, q_b / (1 - q_a)). The tie
    weight uses 1/(1 + j) = int_0^1 t^j dt: the integrand prod_{b != a} (1{n_b < k} + t 1{n_b = k})
    is a polynomial of degree <= A - 1 in t, integrated exactly by Gauss-Legendre with
    ceil(A/2) nodes. The multinomial is processed answer by answer as conditional binomials
    n_b | m ~ Bin(m, q_b / sum_{b' >= b} q_b'), the state being the remaining count m, so every
    term is a non-negative probability (no cancellation). Work O(A * ceil(A/2) * N^3 / 6) per row.
    """
    B, A = q.shape
    rows = np.arange(B)
    qa = q[rows, target]
    keep = np.ones((B, A), dtype=bool)
    keep[rows, target] = False
    qo = q[keep].reshape(B, A - 1)  # the other answers, in index order
    qo = qo[:, (qo > 0).any(axis=0)]  # an answer of zero mass never reaches a level k >= 1
    L = qo.shape[1]
    # suffix sums S_i = sum_{l >= i} qo_l ; rho_i = qo_i / S_i ; 1 - rho_i = S_{i+1} / S_i
    S = np.concatenate([np.cumsum(qo[:, ::-1], axis=1)[:, ::-1], np.zeros((B, 1))], axis=1)
    npos = int((qo > 0).sum(axis=1).max()) if L else 0
    T = max(1, (npos + 2) // 2)
    tn, tw = roots_legendre(T)
    tn, tw = 0.5 * (tn + 1.0), 0.5 * tw  # nodes and weights on [0, 1]
    K = N  # levels k = 1..N at index k-1
    D = np.zeros((B, K, T, N + 1))
    for k in range(1, N + 1):
        D[:, k - 1, :, N - k] = 1.0
    for i in range(L):
        live = S[:, i] > 0
        rho = np.where(live, qo[:, i] / np.where(live, S[:, i], 1.0), 0.0)
        om = np.where(live, S[:, i + 1] / np.where(live, S[:, i], 1.0), 1.0)
        P = _binom_pmf_table(rho, om, N)
        Dn = np.zeros_like(D)
        for n in range(N + 1):
            # levels k with k >= max(n, 1) and remaining m = m' + n <= N - k, i.e. k <= N - n
            k_lo, k_hi = max(n, 1), N - n
            if k_hi < k_lo:
                break
            m_hi = N - k_lo  # largest remaining count at these levels
            if m_hi < n:
                continue
            pn = P[:, None, None, n : m_hi + 1, n]
            if n >= 1:  # level k = n: this answer ties the target, weight t
                Dn[:, n - 1, :, 0 : m_hi + 1 - n] += D[:, n - 1, :, n : m_hi + 1] * pn[:, 0] * tn[None, :, None]
            lo = max(n + 1, 1)  # levels k > n: weight 1
            if lo <= k_hi:
                Dn[:, lo - 1 : k_hi, :, 0 : m_hi + 1 - n] += D[:, lo - 1 : k_hi, :, n : m_hi + 1] * pn
        D = Dn
    cond = (D[..., 0] * tw[None, None, :]).sum(axis=-1)  # [B, K]
    qa = np.clip(qa, 0.0, 1.0)  # a normalised row can put 1 + 1 ulp on one answer: 1 - q_a must not go negative
    pk = _binom_pmf_table(qa, 1.0 - qa, N)[:, N, 1:]  # Bin(N, q_a) at k = 1..N  [B, K]
    return (pk * cond).sum(axis=1)


def _check_answer_rows(q, name="answer law"):
    sums = q.sum(axis=1)
    if np.any(np.abs(sums - 1.0) > 1e-9):
        raise ValueError(f"rows of the {name} must sum to 1")
    return q / sums[:, None]


def majority_law(base, answers, N, num_answers=None) -> np.ndarray:
    """Exact law of majority vote (plurality) over the answers of N i.i.d. responses.

    Draw y_1..y_N ~ pi_base(.|x) i.i.d., let n_a = #{i : answer(x, y_i) = a}; the output is an
    answer with the largest count, uniformly at random among the tied-top answers. Only the
    answer law q = :func:`answer_law` matters:

        P[out = a] = sum_{k>=1} Bin(N, q_a)(k) E[ 1{n_b <= k for all b != a} / (1 + #{b != a : n_b = k}) | n_a = k ].

    Computed exactly by dynamic programming over answer counts (see
    :func:`majority_prob` for the recursion); O(A^2 ceil(A/2) N^3 / 6) per prompt for the
    full law over A answers. Majority vote is the self-consistency rule of Wang et al.
    (arXiv 2203.11171); the paper's Figure 1 compares it with best-of-N.

    Args:
      base: [X, Y] table or model; answers: int [Y] or [X, Y] answer ids; N: >= 1;
      num_answers: A (default max id + 1).
    Returns:
      float [X, A], rows sum to 1.

    >>> majority_law([[0.5, 0.5]], [0, 1], 2).tolist()
    [[0.5, 0.5]]
    """
    N = check_int(N, "N")
    q = answer_law(base, answers, num_answers)
    X, A = q.shape
    qq = np.repeat(q, A, axis=0)
    tgt = np.tile(np.arange(A), X)
    return _majority_target_core(qq, tgt, N).reshape(X, A)


def majority_prob(base, answers, N, target, num_answers=None) -> np.ndarray:
    """P[majority vote over N responses returns answer target[x]] per prompt (exact), float [X].

    One column of :func:`majority_law` (A times cheaper): the accuracy of majority vote
    when ``target`` holds the correct answers. Recursion: for each level k = n_target, the
    other answers' counts are conditional binomials over the remaining count m; the
    tie weight 1/(1 + j) = int_0^1 t^j dt is integrated exactly by Gauss-Legendre.
    O(A ceil(A/2) N^3 / 6) per prompt.

    >>> majority_prob([[0.6, 0.4]], [0, 1], 3, [0]).round(6).tolist()  # 0.6^3 + 3 0.6^2 0.4
    [0.648]
    """
    N = check_int(N, "N")
    q = answer_law(base, answers, num_answers)
    X, A = q.shape
    t = np.asarray(target)
    if not np.issubdtype(t.dtype, np.integer):
        raise TypeError("target must be an integer array of answer ids")
    t = np.broadcast_to(t.astype(np.int64), (X,))
    if (t < 0).any() or (t >= A).any():
        raise ValueError(f"target must lie in [0, num_answers={A})")
    return _majority_target_core(q, t, N)


# --------------------------------------------------------------------------- soft best-of-N

SOFT_BON_STEP = 0.05
"""Step of the trapezoid rule (in u = log s) used by :func:`soft_bon_law`."""

SOFT_BON_MAX_NODES = 400_000


def _soft_bon_row(lp, ell, N):
    """P[out = y] for one prompt: lp [Y] log pi_base, ell [Y] log-weights (<= 0, max 0 on the support)."""
    live = np.isfinite(lp)
    out = np.zeros_like(lp)
    if N == 1:
        out[live] = np.exp(lp[live])
        return out
    l_live = ell[live]
    lp_live = lp[live]
    ell_min = float(l_live.min())
    u_lo = -math.log(N) - 42.0
    u_hi = -ell_min + math.log(45.0 + math.log(N) - ell_min) + 1.0
    nodes = int(math.ceil((u_hi - u_lo) / SOFT_BON_STEP)) + 1
    if nodes > SOFT_BON_MAX_NODES:
        raise ValueError(
            f"soft_bon_law: the reward range / lam = {-ell_min:.4g} is too wide for the quadrature "
            f"({nodes} nodes > {SOFT_BON_MAX_NODES}); increase lam (lam -> 0 is best-of-N: sharpsim.bon_law)"
        )
    u = u_lo + SOFT_BON_STEP * np.arange(nodes)
    acc = np.zeros(l_live.shape[0])
    chunk = max(1, 2_000_000 // max(1, l_live.shape[0]))
    for c0 in range(0, nodes, chunk):
        uc = u[c0 : c0 + chunk]
        # log M(s) = log sum_y p(y) exp(-s w(y)) at s = e^u
        logM = np_logsumexp(lp_live[None, :] - np.exp(uc[:, None] + l_live[None, :]), axis=1)  # [U]
        z = l_live[None, :] + uc[:, None]
        f = np.exp(z - np.exp(z) + (N - 1) * logM[:, None])  # [U, Y_live]
        acc += f.sum(axis=0)
    out[live] = N * np.exp(lp_live) * acc * SOFT_BON_STEP
    return out


def soft_bon_law(base, N, lam, reward=None) -> np.ndarray:
    """Exact law of soft best-of-N (Verdun et al., "Soft Best-of-n Sampling", arXiv 2505.03156).

    Draw y_1..y_N ~ pi_base(.|x) i.i.d. and return y_i with probability
    w(y_i) / sum_j w(y_j), w(y) = exp(r(x, y)/lam) (r = log pi_base by default: the paper's
    self-reward, w = pi_base^(1/lam)). By symmetry over the N draws,

        P[out = y] = N pi_base(y) E[ w(y) / (w(y) + S_{N-1}) ],   S_{N-1} = sum_{j=2}^N w(y_j),

    and 1/c = int_0^inf e^{-cs} ds gives the one-dimensional integral

        P[out = y] = N pi_base(y) w(y) int_0^inf e^{-s w(y)} M(s)^{N-1} ds,   M(s) = E_{pi_base}[e^{-s w}],

    evaluated in log space by the trapezoid rule in u = log s (an analytic, doubly
    exponentially decaying integrand: the error is far below 1e-15 at the step
    :data:`SOFT_BON_STEP`; tested against enumeration of all Y^N draws). lam -> 0 gives
    best-of-N (:func:`sharpsim.bon_law`), lam -> inf the base; N = 1 the base.

    Args:
      base: [X, Y] table or model; N: >= 1; lam: > 0;
      reward: optional [X, Y] finite rewards (default log pi_base).
    Returns:
      float [X, Y], rows sum to 1 (zero where pi_base is zero).

    >>> soft_bon_law([[0.5, 0.5]], 3, 1.0).round(12).tolist()
    [[0.5, 0.5]]
    """
    N = check_int(N, "N")
    lam = check_positive(lam, "lam")
    if not math.isfinite(lam):
        raise ValueError("lam must be finite (lam = inf is the base model)")
    lp = log_table_of(base, "base")
    if reward is None:
        r = lp
    else:
        r = as_float_array(reward, "reward")
        if r.shape != lp.shape:
            raise ValueError(f"reward must have the shape of the table {lp.shape}, got {r.shape}")
        if not np.isfinite(r).all():
            raise ValueError("reward must be finite")
    out = np.zeros_like(lp)
    for x in range(lp.shape[0]):
        live = np.isfinite(lp[x])
        rx = np.where(live, r[x], -np.inf)
        ell = (rx - rx[live].max()) / lam
        out[x] = _soft_bon_row(lp[x], ell, N)
    return out


# --------------------------------------------------------------------------- best-of-N KL and win rate


def bon_kl_bound(N) -> float:
    """log N - (N - 1)/N: the "analytical" KL(BoN_N || base) that is exact for continuous rewards
    (no ties) and an upper bound in general (Beirami et al., arXiv 2401.01879, Theorem 1).

    >>> bon_kl_bound(1)
    0.0
    """
    N = check_int(N, "N")
    return math.log(N) - (N - 1) / N


def bon_kl(base, N, mu=None) -> float:
    """Exact E_{x~mu} KL(pi^BoN_N(.|x) || pi_base(.|x)) with the self-reward log pi_base and
    uniform tie-breaking (law :func:`sharpsim.bon_law`; Beirami et al., arXiv 2401.01879).

    Always <= :func:`bon_kl_bound`(N) = log N - (N - 1)/N, with equality iff pi_base(.|x) has
    no ties among positive-probability responses.

    >>> round(bon_kl([[0.5, 0.5]], 4), 12)  # one tie level: BoN = base
    0.0
    """
    N = check_int(N, "N")
    lp = log_table_of(base, "base")
    m = mu_of(mu, base, lp.shape[0])
    law = bon_law_log_table(lp, N)  # host path: few programs for all shapes
    with np.errstate(divide="ignore"):
        lq = np.log(law)
    return float(core.kl(lq, lp, m))


_snap_rows = aot.jit(jax.vmap(core.snap_ties), name="sharpsim.self_rewards._snap_rows")


def _win_rows(lp, law):
    """sum_y law(y) [S_<(y) + S_=(y)/2] per row, levels = tie groups of core.snap_ties."""
    snapped = np.asarray(_snap_rows(core.to_device(lp)))
    p = np.exp(lp)
    out = np.zeros(lp.shape[0])
    for x in range(lp.shape[0]):
        live = np.isfinite(snapped[x])
        lev, inv = np.unique(snapped[x][live], return_inverse=True)
        mass = np.bincount(inv, weights=p[x][live], minlength=lev.size)
        below = np.concatenate([[0.0], np.cumsum(mass)[:-1]])
        score = below + 0.5 * mass  # per level
        out[x] = float(np.sum(law[x][live] * score[inv]))
    return out


def bon_win_rate(base, N, mu=None) -> float:
    """Exact win rate of best-of-N against the base: P[r(y_BoN) > r(y')] + P[r(y_BoN) = r(y')]/2,
    y_BoN ~ pi^BoN_N(.|x), y' ~ pi_base(.|x) independent, r = log pi_base, averaged over x ~ mu.

    Equals N/(N + 1) (:func:`bon_win_rate_continuous`) when pi_base(.|x) has no ties (Beirami
    et al., arXiv 2401.01879, for continuous rewards); ties are counted half, and a
    one-level base gives 1/2. Levels are the tie groups of :func:`sharpsim.bon_law`.

    >>> round(bon_win_rate([[0.25, 0.75]], 1), 12)  # N = 1: a draw against a draw
    0.5
    """
    N = check_int(N, "N")
    lp = log_table_of(base, "base")
    m = mu_of(mu, base, lp.shape[0])
    law = bon_law_log_table(lp, N)  # host path: few programs for all shapes
    return float(np.sum(m * _win_rows(lp, law)))


def bon_win_rate_continuous(N) -> float:
    """N / (N + 1): the win rate of best-of-N over one base draw for continuous rewards."""
    N = check_int(N, "N")
    return N / (N + 1)


# --------------------------------------------------------------------------- power vs temperature


def _kl_np(lq, lr, mu):
    """E_mu KL(q || r) from log tables (0 log 0 = 0; inf where q > 0 = r)."""
    live = np.isfinite(lq)
    with np.errstate(invalid="ignore"):
        terms = np.where(live, np.exp(lq) * (lq - np.where(live, lr, 0.0)), 0.0)
    per = terms.sum(axis=1)
    return float(np.sum(np.where(mu > 0, mu * per, 0.0)))


def power_vs_temperature(model, alpha, correct=None) -> dict:
    """Sequence-level power p^alpha against token-level temperature 1/alpha, exactly.

    For an :class:`sharpsim.AutoregressiveLM` the temperature policy is
    ``model.with_temperature(1/alpha)`` (per-step pi_h^alpha renormalised) and the power
    distribution ``model.power(alpha)`` (Ji et al., arXiv 2601.21590: the per-step
    factorization carries the look-ahead weights zeta that temperature drops). They
    coincide when the steps are independent (every context length 0) and differ on
    "trap" prompts whose likely first token leads to diffuse continuations.

    Args:
      model: AutoregressiveLM (enumerable, X * V^H <= MAX_ENUMERATION); alpha: > 0;
      correct: optional bool [X, Y] verifier (e.g. :func:`sharpsim.instances.toy.answer_correct`).
    Returns:
      dict with ``kl_power_temp`` = E_mu KL(power || temperature), ``kl_temp_power``,
      ``mode_mass_power`` / ``mode_mass_temp`` (mass on the base argmax set y*(x), mean over mu),
      ``kl_power_base`` / ``kl_temp_base``, and with ``correct``: ``acc_power``, ``acc_temp``,
      ``acc_base`` (mass on correct responses, mean over mu).
    """
    alpha = check_positive(alpha, "alpha")
    if not (hasattr(model, "with_temperature") and hasattr(model, "power") and is_model(model)):
        raise TypeError("model must be a sharpsim AutoregressiveLM (with .power and .with_temperature)")
    lp = np.asarray(model.log_table())
    mu = np.asarray(model.mu)
    lpow = np.asarray(model.power(alpha).log_table())
    ltemp = np.asarray(model.with_temperature(1.0 / alpha).log_table())
    # numpy twins of core.argmax_set / core.kl (no per-shape compilation; same formulas)
    mx = lp.max(axis=1, keepdims=True)
    star = lp >= mx - core.TIE_RTOL * (1.0 + np.abs(mx))
    out = dict(
        alpha=alpha,
        kl_power_temp=_kl_np(lpow, ltemp, mu),
        kl_temp_power=_kl_np(ltemp, lpow, mu),
        kl_power_base=_kl_np(lpow, lp, mu),
        kl_temp_base=_kl_np(ltemp, lp, mu),
        mode_mass_power=float(np.sum(mu * np.where(star, np.exp(lpow), 0.0).sum(axis=1))),
        mode_mass_temp=float(np.sum(mu * np.where(star, np.exp(ltemp), 0.0).sum(axis=1))),
    )
    if correct is not None:
        c = np.asarray(correct)
        if c.shape != lp.shape or c.dtype != np.bool_:
            raise ValueError(f"correct must be a bool array of shape {lp.shape}")
        for name, t in (("acc_power", lpow), ("acc_temp", ltemp), ("acc_base", lp)):
            out[name] = float(np.sum(mu * np.where(c, np.exp(t), 0.0).sum(axis=1)))
    return out


"""Metropolis-Hastings power sampling through a counting oracle (Karan and Du, arXiv 2510.14901).

Target: the power distribution p_alpha(y|x) proportional to pi_base(y|x)^alpha over Y = V^H
(:func:`sharpsim.power`). One MH step from the state y:

1. pick a position t uniformly in {0, ..., H-1} (0-based);
2. keep y_<t and regenerate the suffix y'_{>=t} ~ pi_base(. | y_<t, x) from the base model
   (one oracle *generation*; it reveals the drawn tokens and their log-probabilities);
3. accept y' with probability min(1, (pi_base(y'|x) / pi_base(y|x))^(alpha - 1)).

For a fixed t the proposal is q_t(y'|y) = pi_base(y'_{>=t} | y_<t) on {y' : y'_<t = y_<t}, so
pi_base(y')^alpha q_t(y|y') / (pi_base(y)^alpha q_t(y'|y)) = (pi_base(y')/pi_base(y))^(alpha-1)
(the prefix probabilities cancel): each t-kernel satisfies detailed balance with p_alpha, and so
does their uniform mixture. The chain starts from a base draw (t = 0, a full generation).
Karan and Du run the same kernel block by block with growing prefixes; here it acts on the full
sequence, so its exact transition matrix is a [V^H, V^H] table (:func:`power_mcmc_transition`)
and mixing is known exactly (:func:`spectral_gap`, :func:`power_mcmc_laws`).

Query accounting (SPEC 3.5 extended to prefix access): :class:`PrefixOracle` counts every
generation in ``queries`` (the first draw and each proposal: 1 + steps per chain), the tokens it
generates in ``tokens`` (H + sum of proposal suffix lengths, expected H + steps (H+1)/2), and
every log pi_base evaluation at a sequence the learner supplies in ``extended_queries``
(decision D7; the sampler needs none: the log-probabilities of generated tokens come with the
generation, and the state's prefix log-probabilities are those it was generated with).
Best-of-N costs N queries and N H tokens.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import numpy as np

from .._validate import check_int, check_positive
from ..models import AutoregressiveLM, TabularLM, decode, encode

MAX_TRANSITION_STATES = 2048
"""Largest V^H for which :func:`power_mcmc_transition` builds the [Y, Y] matrix."""

__all__ = [
    "MAX_TRANSITION_STATES",
    "PrefixOracle",
    "PowerMCMCResult",
    "mh_power_sampling",
    "power_mcmc_transition",
    "power_mcmc_laws",
    "spectral_gap",
]


def _as_ar(model) -> AutoregressiveLM:
    if isinstance(model, AutoregressiveLM):
        return model
    if isinstance(model, TabularLM):  # H = 1: one step over V = Y tokens
        return AutoregressiveLM([np.asarray(model.log_table())[:, None, :]], model.mu, log=True)
    if hasattr(model, "to_autoregressive"):
        return model.to_autoregressive()
    raise TypeError(f"model must be an AutoregressiveLM (or TabularLM / ARLinearSoftmax), got {type(model).__name__}")


class PrefixOracle:
    """Counting access to an autoregressive base model for samplers that regenerate suffixes.

    The learner sees pi_base only through:

    * :meth:`sample_prompts` (counted in ``prompts``);
    * :meth:`generate`: complete given prefixes with base draws; returns the tokens and the
      per-token log pi_base of the *generated* tokens (counted: one ``query`` per completed
      sequence, ``tokens`` += tokens generated);
    * :meth:`evaluate`: log pi_base(y|x) at a sequence the learner supplies (counted in
      ``extended_queries``, decision D7).

    Args:
      model: AutoregressiveLM (TabularLM / ARLinearSoftmax converted). Sizes X, V, H are public.
    """

    def __init__(self, model):
        m = _as_ar(model)
        self._conds = [np.asarray(c) for c in m.conditionals]
        self._ctx = m.context_lengths
        self._mu = np.asarray(m.mu)
        self.X, self.V, self.H = m.X, m.V, m.H
        self.reset()

    def reset(self) -> None:
        self.queries = 0
        self.tokens = 0
        self.extended_queries = 0
        self.prompts = 0

    def counts(self) -> dict:
        return {"queries": self.queries, "tokens": self.tokens, "extended_queries": self.extended_queries,
                "prompts": self.prompts}

    def sample_prompts(self, key, n: int) -> np.ndarray:
        """n prompts x ~ mu, int [n]."""
        n = check_int(n, "n")
        u = np.asarray(jax.random.uniform(key, (n,), dtype=np.float64))
        cdf = np.cumsum(self._mu)
        x = np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), self.X - 1)
        self.prompts += n
        return x.astype(np.int64)

    def _check(self, x, tokens=None, start=None):
        x = np.atleast_1d(np.asarray(x))
        if not np.issubdtype(x.dtype, np.integer) or x.ndim != 1:
            raise TypeError("x must be a 1-D integer array of prompt indices")
        if (x < 0).any() or (x >= self.X).any():
            raise ValueError(f"prompt indices x must lie in [0, {self.X})")
        if tokens is not None:
            tokens = np.asarray(tokens)
            if tokens.shape != (x.shape[0], self.H) or not np.issubdtype(tokens.dtype, np.integer):
                raise ValueError(f"tokens must be an integer array of shape [B, H] = [{x.shape[0]}, {self.H}]")
            if (tokens < 0).any() or (tokens >= self.V).any():
                raise ValueError(f"tokens must lie in [0, V={self.V})")
        if start is not None:
            start = np.broadcast_to(np.asarray(start), x.shape)
            if not np.issubdtype(start.dtype, np.integer) or (start < 0).any() or (start >= self.H).any():
                raise ValueError(f"start must be integer positions in [0, H={self.H})")
        return x.astype(np.int64), tokens, start

    def _ctx_index(self, tokens, h):
        c = self._ctx[h]
        if c == 0:
            return np.zeros(tokens.shape[0], dtype=np.int64)
        return encode(tokens[:, h - c : h], self.V)

    def generate(self, key, x, prefix=None, start=0):
        """Complete sequences from position ``start`` with base draws.

        Args:
          x: int [B] prompts; prefix: int [B, H] tokens whose first start[b] entries are kept
            (ignored where start = 0; None means no prefix); start: int [B] (or scalar) in [0, H).
        Returns:
          (tokens int [B, H], step_logp float [B, H]) where step_logp[b, h] = log pi_base(y_h | y_<h, x)
          for the generated positions h >= start[b] and 0 before (not generated, not revealed).
        Charges one query per sequence and H - start[b] tokens.
        """
        if prefix is None:
            prefix = np.zeros((np.atleast_1d(np.asarray(x)).shape[0], self.H), dtype=np.int64)
        x, tokens, start = self._check(x, prefix, start)
        u = np.asarray(jax.random.uniform(key, (x.shape[0], self.H), dtype=np.float64))
        return self._generate_u(x, tokens, start, u)

    def _generate_u(self, x, tokens, start, u):
        """:meth:`generate` with its uniforms u [B, H] given (inverse CDF per step); counts the same."""
        tokens = np.array(tokens, dtype=np.int64)
        B = x.shape[0]
        step = np.zeros((B, self.H))
        for h in range(self.H):
            gen = h >= start
            if not gen.any():
                continue
            rows = self._conds[h][x, self._ctx_index(tokens, h)]  # [B, V]
            p = np.exp(rows)
            cdf = np.cumsum(p, axis=1)
            v = (cdf <= (u[:, h] * cdf[:, -1])[:, None]).sum(axis=1)
            last_live = self.V - 1 - np.argmax(p[:, ::-1] > 0, axis=1)
            v = np.minimum(v, last_live)
            tokens[gen, h] = v[gen]
            step[gen, h] = rows[np.arange(B), v][gen]
        self.queries += B
        self.tokens += int(np.sum(self.H - start))
        return tokens, step

    def evaluate(self, x, tokens) -> np.ndarray:
        """log pi_base(y|x) at sequences the learner supplies, float [B] (extended access, D7)."""
        x, tokens, _ = self._check(x, tokens)
        total = np.zeros(x.shape[0])
        for h in range(self.H):
            total = total + self._conds[h][x, self._ctx_index(tokens, h), tokens[:, h]]
        self.extended_queries += int(x.shape[0])
        return total

    def __repr__(self) -> str:
        return f"PrefixOracle(X={self.X}, V={self.V}, H={self.H}, queries={self.queries}, tokens={self.tokens})"


class PowerMCMCResult(NamedTuple):
    """Output of :func:`mh_power_sampling`.

    tokens: int [B, H] final states; y: int [B] their sequence indices (big-endian);
    log_prob: [B] log pi_base of the final states; accepted: int [B] accepted proposals per chain;
    trace: int [steps + 1, B] sequence index after each step (row 0: the initial base draw);
    queries, tokens_generated, extended_queries: what the run charged (all chains).
    """

    tokens: np.ndarray
    y: np.ndarray
    log_prob: np.ndarray
    accepted: np.ndarray
    trace: np.ndarray
    queries: int
    tokens_generated: int
    extended_queries: int


def mh_power_sampling(oracle: PrefixOracle, alpha, steps: int, key, x) -> PowerMCMCResult:
    """Karan and Du's Metropolis-Hastings power sampler, one chain per entry of x (module docstring).

    Chain: y_0 ~ pi_base(.|x) (one generation), then ``steps`` MH steps, each: t ~ U{0..H-1},
    y' = y_<t + a base completion, accept w.p. min(1, exp((alpha - 1)(log pi(y') - log pi(y)))).
    log pi(y') = sum of the state's own per-token log-probs before t + the generated ones.

    Args:
      oracle: :class:`PrefixOracle`; alpha: > 0 (alpha > 1 sharpens); steps: >= 0;
      key: jax key (all uniforms are drawn from it at once: [steps + 1, B, H + 2]);
      x: int [B] prompts (chains).
    Returns:
      :class:`PowerMCMCResult`. The law of ``trace[k]`` is ``power_mcmc_laws(model, alpha, k)[k]``.
    """
    alpha = check_positive(alpha, "alpha")
    if not math.isfinite(alpha):
        raise ValueError("alpha must be finite")
    steps = check_int(steps, "steps", minimum=0)
    if not isinstance(oracle, PrefixOracle):
        raise TypeError("oracle must be a PrefixOracle (the sampler regenerates suffixes)")
    x, _, _ = oracle._check(x)
    q0, t0, e0 = oracle.queries, oracle.tokens, oracle.extended_queries
    B, H, V = x.shape[0], oracle.H, oracle.V
    # every uniform in one draw: [k, b, :H] suffix tokens, [k, b, H] position t, [k, b, H+1] acceptance
    U = np.asarray(jax.random.uniform(key, (steps + 1, B, H + 2), dtype=np.float64))
    tokens, step_lp = oracle._generate_u(x, np.zeros((B, H), dtype=np.int64), np.zeros(B, dtype=np.int64),
                                         U[0, :, :H])
    logp = step_lp.sum(axis=1)
    accepted = np.zeros(B, dtype=np.int64)
    trace = np.zeros((steps + 1, B), dtype=np.int64)
    trace[0] = encode(tokens, V)
    for k in range(1, steps + 1):
        t = np.minimum((U[k, :, H] * H).astype(np.int64), H - 1)
        prop, prop_lp = oracle._generate_u(x, tokens, t, U[k, :, :H])
        keep = np.arange(H)[None, :] < t[:, None]
        new_lp = np.where(keep, step_lp, prop_lp)
        new_logp = new_lp.sum(axis=1)
        log_acc = (alpha - 1.0) * (new_logp - logp)
        with np.errstate(divide="ignore"):
            acc = np.log(U[k, :, H + 1]) < np.minimum(log_acc, 0.0)
        tokens = np.where(acc[:, None], prop, tokens)
        step_lp = np.where(acc[:, None], new_lp, step_lp)
        logp = np.where(acc, new_logp, logp)
        accepted += acc
        trace[k] = encode(tokens, V)
    return PowerMCMCResult(tokens, encode(tokens, V), logp, accepted, trace, oracle.queries - q0,
                           oracle.tokens - t0, oracle.extended_queries - e0)


# --------------------------------------------------------------------------- exact chain


def _prefix_logs(model: AutoregressiveLM, x: int):
    """Per-sequence log pi(y_<t | x) for t = 0..H: [Y, H + 1] (enumerates V^H)."""
    V, H = model.V, model.H
    toks = decode(np.arange(V**H), V, H)
    xs = np.full(V**H, x, dtype=np.int64)
    steps = np.zeros((V**H, H))
    for h in range(1, H + 1):
        c = model.context_lengths[h - 1]
        ctx = np.zeros(V**H, dtype=np.int64) if c == 0 else encode(toks[:, h - 1 - c : h - 1], V)
        steps[:, h - 1] = model.conditionals[h - 1][xs, ctx, toks[:, h - 1]]
    with np.errstate(invalid="ignore"):
        pre = np.concatenate([np.zeros((V**H, 1)), np.cumsum(steps, axis=1)], axis=1)
    return toks, pre


def power_mcmc_transition(model, alpha, x: int = 0) -> np.ndarray:
    """Exact transition matrix P[y, y'] of one MH step of :func:`mh_power_sampling` at prompt x, [Y, Y].

    For y' != y with common prefix length d(y, y'):
        P[y, y'] = (1/H) sum_{t=0}^{min(d, H-1)} pi(y'_{>=t} | y_<t) min(1, (pi(y')/pi(y))^(alpha-1)),
    and P[y, y] = 1 - sum_{y' != y} P[y, y']. States with pi(y) = 0 are never visited from a base
    draw; their rows accept every proposal (any convention leaves p_alpha stationary).
    Enumerates V^H (Y^2 entries): for small models.
    """
    m = _as_ar(model)
    alpha = check_positive(alpha, "alpha")
    x = check_int(x, "x", minimum=0)
    if x >= m.X:
        raise ValueError(f"x must lie in [0, X={m.X})")
    Y, H = m.Y, m.H
    if Y > MAX_TRANSITION_STATES:
        raise ValueError(f"the transition matrix has Y^2 = {Y}^2 entries; use a model with "
                         f"V^H <= {MAX_TRANSITION_STATES}")
    toks, pre = _prefix_logs(m, x)
    lt = pre[:, H]
    live = np.isfinite(lt)
    # c[y', t] = pi(y'_{>=t} | y'_<t) for t = 0..H-1 (0 where pi(y') = 0)
    with np.errstate(invalid="ignore"):
        c = np.where(live[:, None], np.exp(lt[:, None] - np.where(live[:, None], pre[:, :H], 0.0)), 0.0)
    cum = np.cumsum(c, axis=1)  # [Y, H]: sum_{t <= s}
    same = np.cumprod(toks[:, None, :] == toks[None, :, :], axis=2)  # [Y, Y, H]
    d = same.sum(axis=2)  # common prefix length
    q = cum[np.arange(Y)[None, :], np.minimum(d, H - 1)] / H  # [Y, Y] proposal y -> y'
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.where(live[None, :] & live[:, None], lt[None, :] - np.where(live, lt, 0.0)[:, None], 0.0)
        acc = np.where(live[:, None], np.exp(np.minimum((alpha - 1.0) * diff, 0.0)), 1.0)
    P = np.where(live[None, :], q * acc, 0.0)
    np.fill_diagonal(P, 0.0)
    P[np.arange(Y), np.arange(Y)] = 1.0 - P.sum(axis=1)
    return P


def power_mcmc_laws(model, alpha, steps: int, x: int = 0) -> np.ndarray:
    """Exact law of the chain's state after k = 0..steps MH steps from a base draw, [steps + 1, Y].

    law_0 = pi_base(.|x), law_{k+1} = law_k P (:func:`power_mcmc_transition`).
    """
    steps = check_int(steps, "steps", minimum=0)
    m = _as_ar(model)
    P = power_mcmc_transition(m, alpha, x)
    law = np.exp(np.asarray(m.log_table())[x])
    out = np.zeros((steps + 1, law.shape[0]))
    out[0] = law
    for k in range(steps):
        law = law @ P
        out[k + 1] = law
    return out


def spectral_gap(P, pi) -> dict:
    """Spectral gap of a transition matrix P [Y, Y] reversible w.r.t. pi [Y], on supp(pi).

    A = diag(sqrt pi) P diag(1/sqrt pi) is symmetric for a reversible chain; with eigenvalues
    1 = l_1 >= l_2 >= ... >= l_min, returns ``gap`` = 1 - l_2 (relaxation time 1/gap),
    ``abs_gap`` = 1 - max(l_2, |l_min|) (geometric rate of convergence in L2(pi)),
    ``lambda_2``, ``lambda_min`` and ``asymmetry`` = max |A - A^T| (0 up to rounding when reversible).
    """
    P = np.asarray(P, dtype=np.float64)
    pi = np.asarray(pi, dtype=np.float64)
    if P.ndim != 2 or P.shape[0] != P.shape[1] or pi.shape != (P.shape[0],):
        raise ValueError("P must be [Y, Y] and pi [Y]")
    live = pi > 0
    sp = np.sqrt(pi[live])
    A = sp[:, None] * P[np.ix_(live, live)] / sp[None, :]
    asym = float(np.abs(A - A.T).max()) if A.size else 0.0
    ev = np.sort(np.linalg.eigvalsh(0.5 * (A + A.T)))[::-1]
    l2 = float(ev[1]) if ev.size > 1 else 0.0
    lmin = float(ev[-1])
    return dict(gap=1.0 - l2, abs_gap=1.0 - max(l2, abs(lmin)), lambda_2=l2, lambda_min=lmin, asymmetry=asym)

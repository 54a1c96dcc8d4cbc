"""Model classes Pi and exact (or convex) optimization over them (SPEC 3.6, 5.1, 6.2).

A class is built by the *experimenter* (it may contain bon_law(base, N) or
tilted(base, beta) to make Assumption 4.1 / 4.3 hold); the learner only optimizes over
it using oracle data. Each class exposes pure, jit-able cores that take the class's
arrays and the data the oracle revealed, never the base table:

* ``mle_core(arrays, counts, key)``: argmax_{pi in Pi} sum_{x,y} counts[x,y] log pi(y|x)
  (SFT-Sharpening, SPEC 5.1), returning the learned *probability* table [X, Y];
* ``dpo_core(arrays, pairs, beta, key)``: argmin of the squared DPO loss of Eq. (8)
  (SPEC 6.2).

Classes and their exact maximizers / tie rules (decision D2):

* :class:`TabularClass`: all tables. MLE = empirical frequencies of the kept responses;
  a prompt never seen gets the **uniform row** (any row is an MLE there).
* :class:`FiniteClass`: K candidate tables [K, X, Y]; exact argmax of the log-likelihood;
  candidates within 1e-9 (relative) of the best count as tied and the **lowest index**
  wins (deterministic). :func:`realizable_finite_class` builds one that contains
  bon_law(base, N) at a random position.
* :class:`ProductClass`: a product over prompts of per-prompt candidate rows [X, K, Y];
  exact per-coordinate maximization, ties (within 1e-9 relative) broken **uniformly at
  random** with the learner's own key (so the learner is equivariant under relabelling
  candidates).
* :class:`SpikeProductClass`: the structured product class of the lower-bound family
  (SPEC 4.4): at prompt x the candidate for response y puts ``log_hi[x]`` on y and
  ``log_lo[x]`` on every other response of ``support[x]``; exact maximization is the most
  frequent candidate response (uniform random ties). :func:`hard_bon_class` gives
  {bon_law(pi^I, N) : I in [M]^d} (realizable, Assumption 4.1) and
  :func:`hard_family_class` gives the family's own {pi^I} (misspecified for SFT).
* :class:`LinearSoftmaxClass`: Definition J.3, ||theta||_2 <= B (convex MLE: accelerated
  projected gradient, FISTA, step 1/L with L = max ||phi||^2; DPO: exact constrained least
  squares, the log-partition cancels in Eq. (8)).
* :class:`ARLinearSoftmaxClass`: Eq. (11), each ||theta_h||_2 <= B (projected gradient).
* :class:`BoxTabularClass`: tabular softmax with logits in [-R, R] (a bounded tabular class
  for XPO's exploration term, which is unbounded below over all tables).

Why one file of ~800 lines: the seven classes share their tie rules (``_tied``, ``_random_pick``),
the kind -> core registries (``MLE_CORES``, ``DPO_CORES``, ``LOG_TABLE_FNS``, ``PROJECTIONS``) that
the learners' trial cores dispatch on inside jit, and the decision D2 they implement; each class is
a short block with its two cores beside it, so a reader checks one tie rule against all of them
in one place. Splitting per class would scatter the registries and the shared helpers.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.special import logsumexp

from . import aot
from ._validate import check_int, check_positive, log_table_of
from .core import to_device
from .models import TabularLM
from .optim import fista
from .quantities import bon_law, log_tilted

__all__ = [
    "TabularClass",
    "FiniteClass",
    "ProductClass",
    "SpikeProductClass",
    "LinearSoftmaxClass",
    "ARLinearSoftmaxClass",
    "BoxTabularClass",
    "realizable_finite_class",
    "adaptive_bon_law",
    "hard_bon_class",
    "hard_family_class",
    "counts_core",
    "OBJECTIVE_TIE_RTOL",
]

OBJECTIVE_TIE_RTOL = 1e-9
"""Objective values (log-likelihoods of class members) within this relative tolerance of the optimum
count as tied (decision D2). Not :data:`sharpsim.core.TIE_RTOL` (1e-12), which ties log-probabilities
of responses; objectives are sums of many logs, so their rounding is larger."""


@partial(aot.jit, static_argnames=("X", "Y"))
def counts_core(x, y, w, X, Y):
    """counts[x, y] = sum_i w_i 1{x_i = x, y_i = y}, float [X, Y]."""
    return jnp.zeros((X, Y)).at[x, y].add(w)


def _xlogy(c, logq):
    """c * log q with 0 * (-inf) = 0 and c > 0, log q = -inf -> -inf."""
    return jnp.where(c > 0, c * jnp.where(c > 0, logq, 0.0), 0.0)


def _tied(vals, valid):
    best = jnp.max(jnp.where(valid, vals, -jnp.inf), axis=-1, keepdims=True)
    tol = OBJECTIVE_TIE_RTOL * jnp.maximum(1.0, jnp.abs(jnp.where(jnp.isfinite(best), best, 0.0)))
    return valid & ((vals >= best - tol) | (jnp.isneginf(best) & jnp.isneginf(vals)))


def _random_pick(key, mask):
    """Uniform random index among True entries of each row of mask [R, K]."""
    prio = jax.random.uniform(key, mask.shape, dtype=jnp.float64)
    return jnp.argmax(jnp.where(mask, prio, -1.0), axis=-1)


def _uniform_rows(q, live):
    Y = q.shape[-1]
    return jnp.where(live[:, None], q, 1.0 / Y)


# --------------------------------------------------------------------------- base class


class _Class:
    kind: str = ""
    X: int
    Y: int

    @property
    def log_size(self) -> float:
        """log|Pi| (inf for infinite classes)."""
        return math.inf

    @property
    def arrays(self) -> dict:
        return {}

    def mle(self, counts, key=None) -> np.ndarray:
        """Exact (or converged convex) MLE for kept-response counts [X, Y] -> probability table [X, Y]."""
        counts = jnp.asarray(counts, dtype=jnp.float64)
        if counts.shape != (self.X, self.Y):
            raise ValueError(f"counts must have shape {(self.X, self.Y)}, got {counts.shape}")
        key = jax.random.key(0) if key is None else key
        return np.asarray(MLE_CORES[self.kind](self.arrays, counts, key))

    def dpo(self, pairs, beta, key=None) -> np.ndarray:
        """Squared-loss DPO (Eq. 8) estimate from pairs (x, y, y2, logp_y, logp_y2, w) -> table [X, Y]."""
        beta = check_positive(beta, "beta")
        key = jax.random.key(0) if key is None else key
        return np.asarray(DPO_CORES[self.kind](self.arrays, tuple(pairs[:6]), beta, key))


# --------------------------------------------------------------------------- tabular


class TabularClass(_Class):
    """All [X, Y] tables. MLE = empirical frequencies; unseen prompts get the uniform row.

    DPO over all tables (Eq. 8) has a zero-loss set: on each prompt the log-ratios of the
    responses seen in the data are pinned to (1 + 1/beta) log pi_base up to one offset
    per connected component of the comparison graph, and unseen responses are free. The
    returned member (decision D2) puts zero mass on responses never seen at x and uses a
    common offset: q(y|x) proportional to 1{y seen at x} pi_base(y|x)^(1 + 1/beta), i.e.
    tilted(base, beta) restricted to the seen responses (uniform row for unseen prompts).
    Its population limit (every response seen) is exactly tilted(base, beta).
    """

    kind = "tabular"

    def __init__(self, X: int, Y: int):
        self.X, self.Y = check_int(X, "X"), check_int(Y, "Y")

    def __repr__(self):
        return f"TabularClass(X={self.X}, Y={self.Y})"


def _row_divide(a, tot):
    """a[x, y] / tot[x], correctly rounded (XLA rewrites a division by a broadcast into a
    multiplication by the reciprocal, which can be off by one ulp; the barrier prevents it,
    so the result equals numpy's bit for bit)."""
    return a / jax.lax.optimization_barrier(jnp.broadcast_to(tot[:, None], a.shape))


@aot.jit
def _mle_tabular(arrays, counts, key):
    tot = jnp.sum(counts, axis=-1)
    q = _row_divide(counts, jnp.where(tot > 0, tot, 1.0))
    return _uniform_rows(q, tot > 0)


@aot.jit
def _dpo_tabular_seen(pairs, beta, X, Y):
    x, y, y2, lp, lp2, w = pairs
    seen = jnp.zeros((X.shape[0], Y.shape[0]), dtype=bool).at[x, y].max(w > 0).at[x, y2].max(w > 0)
    lpt = jnp.full((X.shape[0], Y.shape[0]), -jnp.inf)
    lpt = lpt.at[x, y].max(jnp.where(w > 0, lp, -jnp.inf)).at[x, y2].max(jnp.where(w > 0, lp2, -jnp.inf))
    return seen, lpt


def _dpo_tabular(arrays, pairs, beta, key):
    X, Y = arrays["shape_x"], arrays["shape_y"]
    seen, lpt = _dpo_tabular_seen(pairs, beta, X, Y)
    z = jnp.where(seen, (1.0 + 1.0 / beta) * lpt, -jnp.inf)
    live = jnp.any(seen, axis=-1)
    q = jnp.exp(z - logsumexp(jnp.where(live[:, None], z, 0.0), axis=-1, keepdims=True))
    return _uniform_rows(jnp.where(live[:, None], q, 0.0), live)


# numpy placeholders (only their shapes are read, inside the jitted learners): an eager jnp.zeros
# would build an XLA program for every new X and Y
TabularClass.arrays = property(lambda self: {"shape_x": np.zeros(self.X), "shape_y": np.zeros(self.Y)})


# --------------------------------------------------------------------------- finite


class FiniteClass(_Class):
    """A finite class of K candidate tables (SPEC 3.6). Exact argmax of the log-likelihood;
    ties (within :data:`OBJECTIVE_TIE_RTOL`) go to the lowest index (decision D2).

    Args: tables: [K, X, Y] probability tables (or a list of tables / models); with ``log=True``,
    log-probability tables (members whose masses underflow in float64 keep them exactly).
    """

    kind = "finite"

    def __init__(self, tables, log: bool = False):
        if log:
            logs = [np.asarray(TabularLM.from_log_probs(t).log_table()) for t in tables]
        else:
            logs = [log_table_of(t, f"tables[{k}]") for k, t in enumerate(tables)]
        if not logs:
            raise ValueError("tables must hold at least one candidate")
        shapes = {lt.shape for lt in logs}
        if len(shapes) != 1:
            raise ValueError(f"tables must all have the same shape, got {sorted(shapes)}")
        self.log_tables = to_device(np.stack(logs))
        self.K, self.X, self.Y = (int(s) for s in self.log_tables.shape)

    @property
    def log_size(self) -> float:
        return math.log(self.K)

    @property
    def arrays(self):
        return {"log_tables": self.log_tables}

    def tables(self) -> np.ndarray:
        return np.exp(np.asarray(self.log_tables))

    def __repr__(self):
        return f"FiniteClass(K={self.K}, X={self.X}, Y={self.Y})"


def _finite_pick(vals):
    mask = _tied(vals[None, :], jnp.ones((1, vals.shape[0]), dtype=bool))[0]
    return jnp.argmax(mask)  # lowest tied index


@aot.jit
def _mle_finite(arrays, counts, key):
    lt = arrays["log_tables"]
    ll = jnp.sum(_xlogy(counts[None], lt), axis=(1, 2))
    return jnp.exp(lt[_finite_pick(ll)])


def _dpo_residuals(lq, pairs, beta):
    """Eq. (8) residuals beta log(q(y)/p(y)) - beta log(q(y')/p(y')) - (log p(y) - log p(y'))."""
    x, y, y2, lp, lp2, w = pairs
    a, b = lq[x, y], lq[x, y2]
    same = y == y2
    diff = jnp.where(same, 0.0, a - jnp.where(same, 0.0, b))
    return beta * diff - (1.0 + beta) * (lp - lp2), w


@aot.jit
def _dpo_finite(arrays, pairs, beta, key):
    lt = arrays["log_tables"]

    def loss(l):
        r, w = _dpo_residuals(l, pairs, beta)
        r = jnp.where(jnp.isnan(r), jnp.inf, r)
        return jnp.sum(jnp.where(w > 0, w * r * r, 0.0))

    vals = jax.vmap(loss)(lt)
    return jnp.exp(lt[_finite_pick(-vals)])


def realizable_finite_class(key, base, N: int, K: int, alpha: float = 1.0, target="bon", beta=None,
                            mu_stop=None) -> FiniteClass:
    """A finite class of K tables that contains the realizability target (built by the
    experimenter, who knows the base; the learner only sees the class).

    target="bon": bon_law(base, N) (Assumption 4.1, for SFT); target="tilted":
    the tilted optimum pi*_beta (Assumption 4.3, for DPO), built in log space from
    :func:`sharpsim.log_tilted` so that the member is the true pi*_beta even where its masses
    underflow in float64 (the whole class is then held as log tables); target="adaptive":
    :func:`adaptive_bon_law` (base, mu_stop) (Assumption D.1, for adaptive SFT; N is ignored). The other K - 1 members are
    "decoys": the target with each row's responses randomly permuted (same BoN-ness,
    wrong argmax) for half of them and Dirichlet(alpha) rows for the rest. The target
    sits at a uniformly random index, so the lowest-index tie rule does not favour it.
    """

    K = check_int(K, "K")
    lp = log_table_of(base, "base")
    X, Y = lp.shape
    if target == "bon":
        tgt = bon_law(base, check_int(N, "N"))
    elif target == "tilted":
        tgt = log_tilted(base, check_positive(beta, "beta"))
    elif target == "adaptive":
        tgt = adaptive_bon_law(base, check_positive(mu_stop, "mu_stop"))
    else:
        raise ValueError(f"target must be 'bon', 'tilted' or 'adaptive', got {target!r}")
    # the decoys come from a numpy generator seeded by the key (same key, same class)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel().tolist())
    pos = int(rng.integers(0, K))
    tables = []
    log = target == "tilted"
    for k in range(K - 1):
        if k % 2 == 0:
            perms = np.argsort(rng.random((X, Y)), axis=1)
            tables.append(np.take_along_axis(tgt, perms, axis=1))
        else:
            g = rng.dirichlet(np.full(Y, alpha), size=X)
            g = np.maximum(g, 1e-300)
            g = g / g.sum(axis=1, keepdims=True)
            tables.append(np.log(g) if log else g)
    tables.insert(pos, tgt)
    fc = FiniteClass(tables, log=log)
    fc.target_index = pos
    return fc


def _adaptive_row_law(p, mu_stop, tail_tol=1e-18):
    """Law of the kept response of adaptive best-of-N (Eq. 10) for one row p [Y] (numpy)."""
    p = np.asarray(p, dtype=np.float64)
    vals, inv = np.unique(p, return_inverse=True)  # distinct values, ascending
    pos = vals > 0
    eq = np.bincount(inv, weights=p, minlength=vals.size)  # P[p(Y) = v]
    F = np.cumsum(eq)                                       # P[p(Y) <= v]
    S = F - eq                                              # P[p(Y) < v]
    p_max, v_min = float(vals[-1]), float(vals[pos][0])
    total = float(F[-1])

    def S_at(t):  # P[p(Y) < t]
        return float(eq[vals < t].sum())

    law_v = np.zeros(vals.size)
    k = max(1, int(math.floor(mu_stop / p_max)))
    while True:
        c = mu_stop / k
        a = math.inf if k == 1 else mu_stop / (k - 1)
        live = pos & (vals >= c)
        sa = S_at(a) if k > 1 else total
        # P[N = k, M_k = v] = P[M_{k-1} < a, M_k = v] for v >= c
        term = np.where(vals >= a, (sa ** (k - 1)) * eq, F ** k - S ** k)
        law_v += np.where(live, term, 0.0)
        if c <= v_min or (c <= p_max and sa ** (k - 1) < tail_tol):
            break
        k += 1
    count = np.bincount(inv, minlength=vals.size)  # responses per value: uniform tie-break
    q = np.where(p > 0, law_v[inv] / np.maximum(count[inv], 1), 0.0)
    return q / q.sum()


def adaptive_bon_law(base, mu_stop: float) -> np.ndarray:
    """Exact law of the response kept by adaptive best-of-N with the stopping rule of Eq. (10)
    (SPEC 5.5): draw y_1, y_2, ... ~ p = pi_base(.|x), stop at N = inf{k : k M_k >= mu_stop},
    M_k = max_{j<=k} p(y_j), keep a draw with p = M_N (uniform tie-break).

    Per prompt, with S(t) = P[p(Y) < t], F(t) = P[p(Y) <= t], c_k = mu_stop / k and
    a_k = mu_stop / (k - 1) (a_1 = inf):  {N = k} = {M_{k-1} < a_k, M_k >= c_k}, so for v >= c_k

        P[N = k, M_N = v] = S(a_k)^(k-1) P[p(Y) = v]     if a_k <= v,
                          = F(v)^k - S(v)^k              if a_k >  v,

    summed over k until c_k <= min_y p(y) > 0 (stopping is then sure) or the remaining mass
    S(a_k)^(k-1) < 1e-18; the kept response is uniform among the responses with p(y) = M_N:
    q(y|x) = P[M_N = p(y|x)] / #{y' : p(y'|x) = p(y|x)}. The failure mass
    sum_{y not in y*} q(y|x) equals :func:`sharpsim.bounds.adaptive_stopping_exact`'s P[fail].
    Ties are exact equality of probabilities (the oracle compares log-probabilities exactly).

    Args: base: [X, Y] table or model. mu_stop > 0 (the paper's mu, decision D8).
    Returns: float64 [X, Y] probability table.
    """
    mu_stop = check_positive(mu_stop, "mu_stop")
    lp = np.asarray(log_table_of(base, "base"))
    return np.stack([_adaptive_row_law(np.exp(row), mu_stop) for row in lp])


# --------------------------------------------------------------------------- product


class ProductClass(_Class):
    """Product over prompts of per-prompt candidate rows: Pi = {x -> rows[x, k_x]} (size prod_x K_x).

    Args:
      rows: [X, K, Y] probability rows (candidate k at prompt x).
      valid: optional bool [X, K] (prompts with fewer candidates pad with invalid rows).
    Exact MLE per coordinate; ties within :data:`OBJECTIVE_TIE_RTOL` broken uniformly at random.
    """

    kind = "product"

    def __init__(self, rows, valid=None):
        arr = np.asarray(rows, dtype=np.float64)
        if arr.ndim != 3:
            raise ValueError(f"rows must have shape [X, K, Y], got {arr.shape}")
        if (arr < 0).any() or not np.isfinite(arr).all():
            raise ValueError("rows must be finite and non-negative")
        valid = np.ones(arr.shape[:2], dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        if valid.shape != arr.shape[:2] or not valid.any(axis=1).all():
            raise ValueError("valid must be bool [X, K] with at least one candidate per prompt")
        sums = arr.sum(axis=-1)
        if (np.abs(sums - 1) > 1e-9)[valid].any():
            raise ValueError("rows of valid candidates must sum to 1")
        arr = np.where(valid[..., None], arr / np.where(sums > 0, sums, 1)[..., None], 1.0 / arr.shape[2])
        with np.errstate(divide="ignore"):
            self.log_rows = to_device(np.log(arr))
        self.valid = to_device(valid)
        self.X, self.K, self.Y = (int(s) for s in arr.shape)

    @property
    def log_size(self) -> float:
        return float(np.sum(np.log(np.asarray(self.valid).sum(axis=1))))

    @property
    def arrays(self):
        return {"log_rows": self.log_rows, "valid": self.valid}

    def __repr__(self):
        return f"ProductClass(X={self.X}, K={self.K}, Y={self.Y})"


@aot.jit
def _mle_product(arrays, counts, key):
    lr, valid = arrays["log_rows"], arrays["valid"]
    ll = jnp.sum(_xlogy(counts[:, None, :], lr), axis=-1)  # [X, K]
    k = _random_pick(key, _tied(ll, valid))
    return jnp.exp(jnp.take_along_axis(lr, k[:, None, None], axis=1)[:, 0])


@aot.jit
def _dpo_product(arrays, pairs, beta, key):
    lr, valid = arrays["log_rows"], arrays["valid"]
    x, y, y2, lp, lp2, w = pairs
    X, K, _ = lr.shape

    def per_k(k):
        l = lr[:, k, :]
        r, _ = _dpo_residuals(l, pairs, beta)
        r = jnp.where(jnp.isnan(r), jnp.inf, r)
        return jnp.zeros(X).at[x].add(jnp.where(w > 0, w * r * r, 0.0))

    loss = jax.vmap(per_k, out_axes=1)(jnp.arange(K))  # [X, K]
    k = _random_pick(key, _tied(-loss, valid))
    return jnp.exp(jnp.take_along_axis(lr, k[:, None, None], axis=1)[:, 0])


class SpikeProductClass(_Class):
    """Structured product class (the lower-bound family's shape, SPEC 4.4).

    At prompt x the candidate for response c (``cand[x, c]`` True) is the row with
    log-probability ``log_hi[x]`` at c, ``log_lo[x]`` on every other response of
    ``support[x]`` and 0 mass elsewhere. Requires log_hi > log_lo (or a single candidate).
    Exact per-coordinate MLE: the candidate response most frequent among the kept
    responses (uniform random ties); O(X Y) instead of O(X K Y).
    """

    kind = "spike"

    def __init__(self, log_hi, log_lo, support, cand):
        self.log_hi = to_device(np.asarray(log_hi, dtype=np.float64))
        self.log_lo = to_device(np.asarray(log_lo, dtype=np.float64))
        self.support = to_device(np.asarray(support, dtype=bool))
        self.cand = to_device(np.asarray(cand, dtype=bool))
        self.X, self.Y = (int(s) for s in self.support.shape)
        if not np.asarray(self.cand).any(axis=1).all():
            raise ValueError("cand must allow at least one candidate per prompt")

    @property
    def log_size(self) -> float:
        return float(np.sum(np.log(np.asarray(self.cand).sum(axis=1))))

    @property
    def arrays(self):
        return {"log_hi": self.log_hi, "log_lo": self.log_lo, "support": self.support, "cand": self.cand}

    def row_tables(self) -> np.ndarray:
        """Dense [X, K=Y, Y] rows (candidate c = response c), for tests / ProductClass."""
        return np.asarray(_spike_rows(self.arrays))

    def __repr__(self):
        return f"SpikeProductClass(X={self.X}, Y={self.Y})"


def _spike_table(arrays, choice):
    lh, ll, sup = arrays["log_hi"], arrays["log_lo"], arrays["support"]
    Y = sup.shape[1]
    onehot = jnp.arange(Y)[None, :] == choice[:, None]
    return jnp.where(onehot, jnp.exp(lh)[:, None], jnp.where(sup, jnp.exp(ll)[:, None], 0.0))


def _spike_rows(arrays):
    Y = arrays["support"].shape[1]
    return jax.vmap(lambda c: _spike_table(arrays, jnp.full(arrays["support"].shape[0], c)), out_axes=1)(jnp.arange(Y))


@aot.jit
def _mle_spike(arrays, counts, key):
    lh, lo, sup, cand = arrays["log_hi"], arrays["log_lo"], arrays["support"], arrays["cand"]
    S = jnp.sum(jnp.where(sup, counts, 0.0), axis=-1, keepdims=True)
    off = jnp.sum(jnp.where(sup, 0.0, counts), axis=-1, keepdims=True)
    rest = S - counts
    ll = (jnp.where(counts > 0, counts * lh[:, None], 0.0) + jnp.where(rest > 0, rest * lo[:, None], 0.0)
          + jnp.where(off > 0, -jnp.inf, 0.0))
    ll = jnp.where(sup, ll, jnp.where(counts > 0, -jnp.inf, ll))  # a candidate off the support
    choice = _random_pick(key, _tied(ll, cand))
    return _spike_table(arrays, choice)


def _dpo_spike(arrays, pairs, beta, key):
    raise NotImplementedError("DPO over SpikeProductClass: use ProductClass(cls.row_tables()) instead")


def hard_family_class(inst) -> SpikeProductClass:
    """The hard family's own class {pi^I : I in [M]^d} (SPEC 4.4), misspecified for SFT."""
    X, Y = inst.X, inst.Y
    t = inst.table(np.ones(inst.d, dtype=np.int64))
    sup = np.zeros((X, Y), dtype=bool)
    sup[0, 0] = True
    sup[1:, 1:] = True
    cand = sup.copy()
    hi = np.zeros(X)
    lo = np.full(X, -np.inf)
    hi[1:] = np.log(t[1, 1])
    lo[1:] = np.log(t[1, 2])
    return SpikeProductClass(hi, lo, sup, cand)


def hard_bon_class(inst, N: int) -> SpikeProductClass:
    """{bon_law(pi^I, N) : I in [M]^d}: realizable for SFT with N responses (Assumption 4.1).

    Every P_j is a spike (2/M-ish at y_j, equal mass elsewhere on [M]), so bon_law(P_j, N)
    is a spike too: 1 - (1 - P_j(y_j))^N at y_j, the rest split equally (F1, F2).
    """

    N = check_int(N, "N")
    X, Y = inst.X, inst.Y
    law = bon_law(inst.table(np.ones(inst.d, dtype=np.int64)), N)
    sup = np.zeros((X, Y), dtype=bool)
    sup[0, 0] = True
    sup[1:, 1:] = True
    hi = np.zeros(X)
    lo = np.full(X, -np.inf)
    with np.errstate(divide="ignore"):
        hi[1:] = np.log(law[1, 1])
        lo[1:] = np.log(law[1, 2])
    return SpikeProductClass(hi, lo, sup, sup.copy())


# --------------------------------------------------------------------------- parametric


def _ball(theta, B):
    nrm = jnp.sqrt(jnp.sum(theta * theta, axis=-1, keepdims=True))
    return theta * jnp.minimum(1.0, B / jnp.maximum(nrm, 1e-300))


class LinearSoftmaxClass(_Class):
    """Pi_{phi,B} = {pi_theta : ||theta||_2 <= B}, pi_theta(y|x) prop. to pi_zero(y|x) exp(<phi(x,y), theta>)
    (Definition J.3, SPEC 6.5). MLE is concave in theta: FISTA, ``steps`` iterations.

    Args: phi [X, Y, d]; B > 0; log_pi_zero [X, Y] (uniform when None); steps.
    """

    kind = "linear"

    def __init__(self, phi, B, log_pi_zero=None, steps: int = 800):
        phi = np.asarray(phi, dtype=np.float64)
        if phi.ndim != 3:
            raise ValueError(f"phi must have shape [X, Y, d], got {phi.shape}")
        self.phi = to_device(phi)
        self.B = check_positive(B, "B")
        X, Y, self.d = phi.shape
        self.X, self.Y = int(X), int(Y)
        lz = np.full((X, Y), -math.log(Y)) if log_pi_zero is None else np.asarray(log_pi_zero, dtype=np.float64)
        self.log_pi_zero = to_device(lz)
        self.steps = check_int(steps, "steps")
        self.L = float(max(np.max(np.sum(phi * phi, axis=-1)), 1e-12))

    @property
    def arrays(self):
        return {"phi": self.phi, "log_pi_zero": self.log_pi_zero, "B": jnp.asarray(self.B),
                "L": jnp.asarray(self.L), "steps": np.zeros(self.steps)}

    def log_table(self, theta) -> np.ndarray:
        return np.asarray(_linear_log_table(self.arrays, jnp.asarray(theta)))

    def init_params(self):
        return jnp.zeros(self.d)

    def __repr__(self):
        return f"LinearSoftmaxClass(X={self.X}, Y={self.Y}, d={self.d}, B={self.B:g})"


def _linear_log_table(arrays, theta):
    z = arrays["log_pi_zero"] + arrays["phi"] @ theta
    return z - logsumexp(z, axis=-1, keepdims=True)


def _linear_mle_theta(arrays, counts):
    tot = jnp.maximum(jnp.sum(counts), 1.0)

    def loss(th):
        return -jnp.sum(counts * _linear_log_table(arrays, th)) / tot

    return fista(loss, jnp.zeros(arrays["phi"].shape[-1]), lambda t: _ball(t, arrays["B"]),
                  arrays["L"], arrays["steps"].shape[0])


@aot.jit
def _mle_linear(arrays, counts, key):
    return jnp.exp(_linear_log_table(arrays, _linear_mle_theta(arrays, counts)))


def _constrained_lstsq(A, b, w, B):
    """argmin_{||theta|| <= B} sum_i w_i (A_i theta - b_i)^2, exactly (eigendecomposition + bisection on
    the Lagrange multiplier; min-norm solution when unconstrained and rank-deficient)."""
    G = (A * w[:, None]).T @ A
    h = (A * w[:, None]).T @ b
    e, V = jnp.linalg.eigh(G)
    s = V.T @ h
    tol = 1e-10 * jnp.maximum(jnp.max(jnp.abs(e)), 1e-300)
    live = e > tol

    def theta(lam):
        return V @ jnp.where(live, s / jnp.where(live, e + lam, 1.0), 0.0)

    t0 = theta(0.0)
    n0 = jnp.linalg.norm(t0)

    def norm_of(lam):
        return jnp.linalg.norm(V @ (s / (e + lam)))

    hi = jnp.linalg.norm(s) / B + 1.0

    def bis(_, lohi):
        lo, hi = lohi
        mid = 0.5 * (lo + hi)
        big = norm_of(mid) > B
        return jnp.where(big, mid, lo), jnp.where(big, hi, mid)

    lo, hi = jax.lax.fori_loop(0, 200, bis, (jnp.array(0.0), hi))
    tc = V @ (s / (e + hi))
    return jnp.where(n0 <= B, t0, _ball(tc, B))


@aot.jit
def _dpo_linear(arrays, pairs, beta, key):
    x, y, y2, lp, lp2, w = pairs
    phi, lz = arrays["phi"], arrays["log_pi_zero"]
    A = beta * (phi[x, y] - phi[x, y2])
    b = (1.0 + beta) * (lp - lp2) - beta * (lz[x, y] - lz[x, y2])
    th = _constrained_lstsq(A, b, w, arrays["B"])
    return jnp.exp(_linear_log_table(arrays, th))


class ARLinearSoftmaxClass(_Class):
    """Autoregressive linear softmax class of Eq. (11) (SPEC 7): each ||theta_h||_2 <= B.

    Sequences y in V^H are indexed big-endian (as :class:`sharpsim.AutoregressiveLM`).
    MLE and DPO by projected gradient (FISTA, step 1/L with L = H max ||phi||^2); the MLE is
    concave in (theta_1..theta_H) (a sum of per-step log-softmax terms).

    Args: phi: list of H arrays [X, V^(h-1), V, d]; B; steps.
    """

    kind = "arlinear"

    def __init__(self, phi, B, steps: int = 800):
        self.phi = [to_device(np.asarray(p, dtype=np.float64)) for p in phi]
        self.H = len(self.phi)
        self.X, _, self.V, self.d = (int(s) for s in self.phi[0].shape)
        self.Y = self.V**self.H
        self.B = check_positive(B, "B")
        self.steps = check_int(steps, "steps")
        self.L = float(max(max(float(jnp.max(jnp.sum(p * p, axis=-1))) for p in self.phi), 1e-12)) * self.H

    @property
    def arrays(self):
        return {"phi": tuple(self.phi), "B": jnp.asarray(self.B), "L": jnp.asarray(self.L),
                "steps": np.zeros(self.steps)}

    def log_table(self, thetas) -> np.ndarray:
        return np.asarray(_ar_log_table(self.arrays, jnp.asarray(thetas)))

    def init_params(self):
        return jnp.zeros((self.H, self.d))

    def __repr__(self):
        return f"ARLinearSoftmaxClass(X={self.X}, V={self.V}, H={self.H}, d={self.d}, B={self.B:g})"


def _ar_log_table(arrays, thetas):
    phi = arrays["phi"]
    X = phi[0].shape[0]
    L = None
    for h, p in enumerate(phi):
        z = p @ thetas[h]  # [X, V^h, V]
        z = z - logsumexp(z, axis=-1, keepdims=True)
        L = z[:, 0, :] if L is None else (L[:, :, None] + z).reshape(X, -1)
    return L


@aot.jit
def _mle_arlinear(arrays, counts, key):
    tot = jnp.maximum(jnp.sum(counts), 1.0)
    H, d = len(arrays["phi"]), arrays["phi"][0].shape[-1]

    def loss(th):
        return -jnp.sum(_xlogy(counts, _ar_log_table(arrays, th))) / tot

    th = fista(loss, jnp.zeros((H, d)), lambda t: _ball(t, arrays["B"]), arrays["L"], arrays["steps"].shape[0])
    return jnp.exp(_ar_log_table(arrays, th))


@aot.jit
def _dpo_arlinear(arrays, pairs, beta, key):
    w = pairs[5]
    tot = jnp.maximum(jnp.sum(w), 1.0)
    H, d = len(arrays["phi"]), arrays["phi"][0].shape[-1]

    def loss(th):
        r, ww = _dpo_residuals(_ar_log_table(arrays, th), pairs, beta)
        return jnp.sum(ww * r * r) / tot

    # squared loss: smoothness ~ 2 beta^2 (2 sqrt(L))^2
    L = 8.0 * beta * beta * arrays["L"] + 1e-12
    th = fista(loss, jnp.zeros((H, d)), lambda t: _ball(t, arrays["B"]), L, arrays["steps"].shape[0])
    return jnp.exp(_ar_log_table(arrays, th))


class BoxTabularClass(_Class):
    """Tabular softmax class {softmax(u[x]) : u in [-R, R]^(X x Y)} (bounded, for XPO).

    Contains tilted(base, beta) iff (1 + 1/beta) (max_y - min_y) log pi_base(y|x) <= 2R on every x.
    MLE (concave in u) by FISTA, L = 1.
    """

    kind = "box"

    def __init__(self, X: int, Y: int, R: float, steps: int = 800):
        self.X, self.Y = check_int(X, "X"), check_int(Y, "Y")
        self.R = check_positive(R, "R")
        self.steps = check_int(steps, "steps")

    @property
    def arrays(self):
        return {"R": jnp.asarray(self.R), "shape": np.zeros((self.X, self.Y)), "steps": np.zeros(self.steps)}

    def log_table(self, u) -> np.ndarray:
        return np.asarray(_box_log_table(self.arrays, jnp.asarray(u)))

    def init_params(self):
        return jnp.zeros((self.X, self.Y))

    def __repr__(self):
        return f"BoxTabularClass(X={self.X}, Y={self.Y}, R={self.R:g})"


def _box_log_table(arrays, u):
    return u - logsumexp(u, axis=-1, keepdims=True)


@aot.jit
def _mle_box(arrays, counts, key):
    tot = jnp.maximum(jnp.sum(counts), 1.0)
    R = arrays["R"]

    def loss(u):
        return -jnp.sum(_xlogy(counts, _box_log_table(arrays, u))) / tot

    u = fista(loss, jnp.zeros_like(arrays["shape"]), lambda v: jnp.clip(v, -R, R), 1.0, arrays["steps"].shape[0])
    return jnp.exp(_box_log_table(arrays, u))


@aot.jit
def _dpo_box(arrays, pairs, beta, key):
    w = pairs[5]
    tot = jnp.maximum(jnp.sum(w), 1.0)
    R = arrays["R"]

    def loss(u):
        r, ww = _dpo_residuals(_box_log_table(arrays, u), pairs, beta)
        return jnp.sum(ww * r * r) / tot

    u = fista(loss, jnp.zeros_like(arrays["shape"]), lambda v: jnp.clip(v, -R, R), 8.0 * beta * beta + 1e-12,
               arrays["steps"].shape[0])
    return jnp.exp(_box_log_table(arrays, u))


# --------------------------------------------------------------------------- registries

MLE_CORES = {
    "tabular": _mle_tabular,
    "finite": _mle_finite,
    "product": _mle_product,
    "spike": _mle_spike,
    "linear": _mle_linear,
    "arlinear": _mle_arlinear,
    "box": _mle_box,
}
"""kind -> jit-able ``(arrays, counts [X, Y], key) -> probability table [X, Y]``."""

DPO_CORES = {
    "tabular": aot.jit(_dpo_tabular),
    "finite": _dpo_finite,
    "product": _dpo_product,
    "spike": _dpo_spike,
    "linear": _dpo_linear,
    "arlinear": _dpo_arlinear,
    "box": _dpo_box,
}
"""kind -> jit-able ``(arrays, (x, y, y2, logp_y, logp_y2, w), beta, key) -> table [X, Y]``."""

LOG_TABLE_FNS = {"linear": _linear_log_table, "arlinear": _ar_log_table, "box": _box_log_table}
"""Parametric classes: kind -> ``(arrays, params) -> log table [X, Y]`` (used by XPO)."""

PROJECTIONS = {
    "linear": lambda arrays, p: _ball(p, arrays["B"]),
    "arlinear": lambda arrays, p: _ball(p, arrays["B"]),
    "box": lambda arrays, p: jnp.clip(p, -arrays["R"], arrays["R"]),
}

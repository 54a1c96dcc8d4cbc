"""The Monte-Carlo engine: many independent trials, success frequencies with intervals,
empirical sample complexity, and theory next to simulation (DESIGN.md "sim").

* :func:`run_trials`: K independent trials of a learner on a :class:`Problem`, vectorized
  with ``jax.vmap`` (one key per trial: ``jax.random.split(key, K)``; same key, same bits),
  in chunks (a tqdm bar on stderr when it is a TTY). Each trial composes an *oracle core*
  (:mod:`sharpsim.oracle`, the only code that touches the base table) with a *learner core*
  (:mod:`sharpsim.classes`, which sees only what the oracle returned), then evaluates the
  learned table exactly: err = P_{x~mu}[pi_hat(y*(x)|x) <= 1 - delta] (the non-strict event
  of the upper-bound theorems, D5; computed in probability space, no log round trip).
  Success = err <= eps. Inference-time BoN trials: x ~ mu, one BoN answer, success = the
  answer is in y*(x) (Prop. C.1).
* :func:`clopper_pearson`: exact binomial interval (scipy.stats.beta).
* :func:`empirical_sample_complexity`: the smallest m at which the success frequency
  reaches 1 - rho: a doubling grid along a path of sizes, then bisection (in log scale);
  the uncertainty is the m-range between the largest size that fails *significantly* (CI
  upper end < 1 - rho) and the smallest that succeeds significantly (CI lower end >= 1 - rho).
* :func:`theory_vs_simulation`: the bound's prescribed m, the empirical m, their ratio,
  and whether the bound held at its prescribed sizes (``held`` = the CI upper end of the
  success frequency is >= 1 - rho, i.e. the simulation does not refute it; None for
  order-only bounds, where only the fitted slope (:func:`loglog_slope`) is meaningful).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from . import core
from ._validate import check_int, check_open_unit, log_table_of, mu_of
from .algorithms.xpo import alpha_j3, t_capacity, xpo_core
from .stats import clopper_pearson, loglog_slope  # noqa: F401  (re-exported)
from .classes import DPO_CORES, MLE_CORES, counts_core
from .oracle import (
    _draw_from_rows,
    adaptive_draws_core,
    bon_draws_core,
    bon_draws_literal_core,
    capacity,
    pair_draws_core,
    prompts_core,
)

__all__ = [
    "Problem",
    "TrialStats",
    "hard_problem",
    "random_problem",
    "j1_problem",
    "clopper_pearson",
    "run_trials",
    "empirical_sample_complexity",
    "theory_vs_simulation",
    "loglog_slope",
    "error_core",
    "sft_trial_core",
    "tabular_star_columns",
    "tabular_sft_error_core",
]

ALGORITHMS = ("bon", "sft", "adaptive", "dpo", "xpo")


# --------------------------------------------------------------------------- problems


@dataclass
class Problem:
    """An instance with the classes the experimenter provides to each learner.

    base: [X, Y] table or model (read only by the oracle cores and the exact evaluation).
    mu: [X]. classes: algorithm -> factory returning the class for that run:
      "sft": N -> class (realizable: contains bon_law(base, N), Assumption 4.1),
      "adaptive": mu_stop -> class (contains the adaptive-BoN law, Assumption D.1),
      "dpo": beta -> class (contains tilted(base, beta), Assumption 4.3),
      "xpo": () -> parametric class.
    info: instance facts (C_cov, margin, log|Pi|, ...).
    """

    name: str
    base: object
    mu: np.ndarray
    classes: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.logp = np.asarray(log_table_of(self.base, "base"))
        self.mu = mu_of(self.mu, self.base, self.logp.shape[0])
        with np.errstate(divide="ignore"):
            self.log_mu = np.log(self.mu)

    @property
    def X(self):
        return self.logp.shape[0]

    @property
    def Y(self):
        return self.logp.shape[1]

    def class_for(self, algorithm, *args):
        if algorithm not in self.classes:
            raise ValueError(f"problem {self.name!r} provides no class for algorithm {algorithm!r}")
        return self.classes[algorithm](*args)


def hard_problem(d: int, M: int, Delta: float, key=None, index=None) -> Problem:
    """The lower-bound family (SPEC 4.4) at one member pi^I (I ~ Unif([M]^d) from ``key``
    unless ``index`` is given), with the realizable product classes
    {bon_law(pi^I, N)} (SFT), {adaptive-BoN law of pi^I} (adaptive SFT), {tilted(pi^I, beta)}
    (DPO), all of size M^d (log|Pi| = d log M). The learners' random tie-breaks make them
    equivariant under relabelling, so one member is as good as another.
    """
    from .classes import ProductClass, SpikeProductClass, hard_bon_class, hard_family_class
    from .instances import hard_instance
    from .quantities import tilted

    inst = hard_instance(d, M, Delta)
    if index is None:
        index = inst.random_index(jax.random.key(0) if key is None else key)
    table = inst.table(np.asarray(index))

    def adaptive_cls(mu_stop):
        from .bounds import adaptive_stopping_exact

        _, fail = adaptive_stopping_exact(inst.response_law(1)[1:], mu_stop)
        X, Y = inst.X, inst.Y
        sup = np.zeros((X, Y), dtype=bool)
        sup[0, 0] = True
        sup[1:, 1:] = True
        hi, lo = np.zeros(X), np.full(X, -np.inf)
        hi[1:] = math.log1p(-fail)
        lo[1:] = math.log(fail / (M - 1)) if fail > 0 else -np.inf
        return SpikeProductClass(hi, lo, sup, sup.copy())

    def dpo_cls(beta):
        rows = np.zeros((inst.X, M, inst.Y))
        rows[0, :, 0] = 1.0
        valid = np.zeros((inst.X, M), dtype=bool)
        valid[0, 0] = True
        valid[1:] = True
        for j in range(1, M + 1):
            rows[1:, j - 1] = tilted(inst.response_law(j)[None], beta)[0]
        return ProductClass(rows, valid)

    from .quantities import coverage

    return Problem(
        f"hard(d={d}, M={M}, Delta={Delta:g})",
        table,
        inst.mu,
        {"sft": lambda N: hard_bon_class(inst, N), "adaptive": adaptive_cls, "dpo": dpo_cls,
         "misspecified": lambda *a: hard_family_class(inst)},
        {"instance": inst, "index": np.asarray(index), "log_class_size": inst.log_class_size,
         "C_cov": coverage(table, inst.mu)},
    )


def random_problem(key, X: int, Y: int, K: int = 16, alpha: float = 0.5) -> Problem:
    """A Dirichlet(alpha) random table with finite realizable classes of K members
    (:func:`sharpsim.classes.realizable_finite_class`): containing bon_law(base, N) for SFT,
    the exact adaptive-BoN law (:func:`sharpsim.classes.adaptive_bon_law`) for adaptive SFT and
    tilted(base, beta) for DPO (log|Pi| = log K). The classes are rebuilt for each N / mu_stop /
    beta with the same decoy key."""
    from .classes import realizable_finite_class
    from .generators import dirichlet_table
    from .quantities import coverage

    kb, kc = jax.random.split(key)
    base = dirichlet_table(kb, X, Y, alpha)
    return Problem(
        f"random(X={X}, Y={Y}, alpha={alpha:g}, K={K})",
        base,
        base.mu,
        {"sft": lambda N: realizable_finite_class(kc, base, N, K),
         "adaptive": lambda mu_stop: realizable_finite_class(kc, base, 1, K, target="adaptive", mu_stop=mu_stop),
         "dpo": lambda beta: realizable_finite_class(kc, base, 1, K, target="tilted", beta=beta)},
        {"log_class_size": math.log(K), "C_cov": coverage(base), "K": K},
    )


def j1_problem(key, d: int, size=None, delta: float = 0.1, B=None) -> Problem:
    """Example J.1 (SPEC 6.5) with the linear softmax class of radius B (default: the smallest
    B satisfying Theorem J.3's norm condition ||theta*|| <= gamma_margin B / (3 ln(2|Y|/delta)),
    times 1.01) for XPO / DPO, and the tabular class for SFT (Example J.1's SFT cost is
    about the MLE target bon_law, which the tabular class contains)."""
    from .classes import LinearSoftmaxClass, TabularClass
    from .instances import example_j1

    inst = example_j1(key, d, size)
    g = min(inst.gamma_margin, 1.0)
    if B is None:
        B = 1.01 * 3.0 * math.log(2 * inst.Y / delta) * float(np.linalg.norm(inst.theta_star)) / g
    lin = LinearSoftmaxClass(inst.phi, B)
    return Problem(
        f"j1(d={d}, |Y|={inst.Y})",
        inst.base,
        inst.base.mu,
        {"sft": lambda N: TabularClass(1, inst.Y), "xpo": lambda: lin, "dpo": lambda beta: lin},
        {"instance": inst, "C_cov": inst.C_cov, "gamma_margin": inst.gamma_margin, "B": B, "d": d,
         "log_class_size": math.inf},
    )


# --------------------------------------------------------------------------- trial cores


@jax.jit
def error_core(q, logp, delta, mu):
    """P_{x~mu}[ q(y*(x)|x) <= 1 - delta ] for a probability table q [X, Y] (non-strict event, D5)."""
    star = core.argmax_set(logp)
    mass = jnp.sum(jnp.where(star, q, 0.0), axis=-1)
    return jnp.sum(jnp.where(mass <= 1.0 - delta, mu, 0.0))


def sft_trial_core(key, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap):
    """One SFT-Sharpening trial: oracle core (bon_draws_core) -> counts -> class MLE core ->
    exact error. Key split (data, fit), as :func:`sharpsim.algorithms.sft_sharpening`."""
    kd, kf = jax.random.split(key)
    d = bon_draws_core(kd, logp, log_mu, n, N, n_cap)
    X, Y = logp.shape
    counts = counts_core(d.x, d.y, d.w, X, Y)
    q = MLE_CORES[kind](arrays, counts, kf)
    return error_core(q, logp, delta, mu), d.queries.astype(jnp.float64), jnp.float64(0)


# ---- the tabular fast path: learn-and-evaluate without [X, Y] tables per trial


def tabular_star_columns(logp):
    """Evaluation-side precomputation for the tabular fast path, once per problem.

    y*(x) = core.argmax_set(logp) (the exact evaluator's argmax set, SPEC 3.1). Returns
    (a, b, two): int [X] the first and last column of y*(x), bool [X] |y*(x)| = 2; or None
    when some |y*(x)| > 2 (then the fast path cannot reproduce the generic path's summation
    order of three or more rounded terms bit for bit, and :func:`run_trials` uses the generic
    path). This reads the table, so it belongs to the *evaluator*, never to the learner
    (DESIGN.md: evaluation is exact against the table; learning is only through the oracle).
    """
    star = np.asarray(core.argmax_set(jnp.asarray(logp)))
    size = star.sum(axis=-1)
    if size.max() > 2:
        return None
    Y = star.shape[1]
    a = np.argmax(star, axis=-1)
    b = Y - 1 - np.argmax(star[:, ::-1], axis=-1)
    return jnp.asarray(a), jnp.asarray(b), jnp.asarray(size == 2)


def tabular_sft_error_core(x, y, w, star_a, star_b, two, delta, mu, Y):
    """Exact sharpness error of the tabular MLE fitted to the oracle's (x, y, w), in O(n + X).

    The tabular MLE (:class:`sharpsim.classes.TabularClass`) is q(y|x) = c(x, y) / c(x) on
    seen prompts and 1 / Y on unseen ones; the evaluator only needs its mass on y*(x):
    q(y*(x)|x) = sum_{y in y*(x)} q(y|x). With |y*(x)| <= 2 (columns a(x), b(x), from
    :func:`tabular_star_columns`) that is fl(c(x, a)/c(x)) [+ fl(c(x, b)/c(x))] -- the same
    correctly rounded quotients, added in the only possible way, as :func:`error_core` on the
    full table from ``MLE_CORES["tabular"]``, so the error is bit-identical (tested).
    Learner part: the counts c(x), c(x, a), c(x, b) come only from the oracle's outputs;
    evaluator part: which columns are in y*(x) (star_a, star_b, two) comes from the table.
    err = sum_x mu(x) 1{q(y*(x)|x) <= 1 - delta} (non-strict event, D5).
    """
    X = mu.shape[0]
    in_a = y == star_a[x]
    in_b = two[x] & (y == star_b[x])
    cols = jnp.stack([w, jnp.where(in_a, w, 0.0), jnp.where(in_b, w, 0.0)], axis=-1)
    c = jnp.zeros((X, 3)).at[x].add(cols)
    tot, ca, cb = c[:, 0], c[:, 1], c[:, 2]
    live = tot > 0
    den = jax.lax.optimization_barrier(jnp.where(live, tot, 1.0))
    qa = jnp.where(live, ca / den, 1.0 / Y)
    qb = jnp.where(live, cb / den, 1.0 / Y)
    mass = qa + jnp.where(two, qb, 0.0)
    return jnp.sum(jnp.where(mass <= 1.0 - delta, mu, 0.0))


def _sft_tabular_chunk(keys, logp, log_mu, mu, n, N, delta, star, n_cap, literal):
    """One vmapped chunk of SFT-Sharpening trials with the tabular class, fast path (same key
    split and oracle cores as :func:`sft_trial_core`; the fit key is unused, as by the tabular MLE)."""
    Y = logp.shape[1]

    def one(key):
        kd, _ = jax.random.split(key)
        if literal:
            d = bon_draws_literal_core(kd, logp, log_mu, n, N, n_cap)
        else:
            d = bon_draws_core(kd, logp, log_mu, n, N, n_cap)
        err = tabular_sft_error_core(d.x, d.y, d.w, *star, delta, mu, Y)
        return err, d.queries.astype(jnp.float64), jnp.float64(0)

    return jax.vmap(one)(keys)


def _sft_tabular_map(keys, logp, log_mu, mu, n, N, delta, star, n_cap, per, literal):
    """G = len(keys) / per chunks of ``per`` vmapped trials, run by ``lax.map`` in one call: the
    oracle's per-problem work (the BoN law of the table, its CDF), which does not depend on the
    trial, is then computed once per call (hoisted out of the loop by XLA) rather than once per
    chunk, and the chunks stay small enough for the cache (about 1.5x here)."""
    ks = keys.reshape((-1, per) + keys.shape[1:])
    out = jax.lax.map(lambda k: _sft_tabular_chunk(k, logp, log_mu, mu, n, N, delta, star, n_cap, literal), ks)
    return tuple(o.reshape(-1) for o in out)


_sft_tabular_scan = jax.jit(partial(_sft_tabular_map, literal=False), static_argnames=("n_cap", "per"))
_sft_tabular_literal_scan = jax.jit(partial(_sft_tabular_map, literal=True), static_argnames=("n_cap", "per", "N"))


@partial(jax.jit, static_argnames=("kind", "n_cap"))
def _sft_batch(keys, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap):
    return jax.vmap(lambda k: sft_trial_core(k, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap))(keys)


@partial(jax.jit, static_argnames=("kind", "n_cap", "N"))
def _sft_literal_batch(keys, logp, log_mu, mu, n, N, delta, arrays, kind, n_cap):
    def one(key):
        kd, kf = jax.random.split(key)
        d = bon_draws_literal_core(kd, logp, log_mu, n, N, n_cap)
        counts = counts_core(d.x, d.y, d.w, logp.shape[0], logp.shape[1])
        q = MLE_CORES[kind](arrays, counts, kf)
        return error_core(q, logp, delta, mu), d.queries.astype(jnp.float64), jnp.float64(0)

    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnames=("kind", "n_cap"))
def _adaptive_batch(keys, logp, log_mu, mu, n, mu_stop, max_draws, delta, arrays, kind, n_cap):
    def one(key):
        kd, kf = jax.random.split(key)
        d = adaptive_draws_core(kd, logp, log_mu, n, mu_stop, max_draws, n_cap)
        counts = counts_core(d.x, d.y, d.w, logp.shape[0], logp.shape[1])
        q = MLE_CORES[kind](arrays, counts, kf)
        return error_core(q, logp, delta, mu), d.queries.astype(jnp.float64), jnp.float64(0)

    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnames=("kind", "n_cap"))
def _dpo_batch(keys, logp, log_mu, mu, n, beta, delta, arrays, kind, n_cap):
    def one(key):
        kd, kf = jax.random.split(key)
        x, y, y2, lp, lp2, w, queries = pair_draws_core(kd, logp, log_mu, n, n_cap)
        q = DPO_CORES[kind](arrays, (x, y, y2, lp, lp2, w), beta, kf)
        return error_core(q, logp, delta, mu), queries.astype(jnp.float64), jnp.float64(0)

    return jax.vmap(one)(keys)


@jax.jit
def _bon_batch(keys, logp, log_mu, N):
    """Inference-time BoN: per trial x ~ mu and one BoN answer; returns (fail 0/1, N, 0)."""
    star = core.argmax_set(logp)
    law = core.bon_law(logp, N)

    def one(key):
        kx, ky = jax.random.split(key)
        x = prompts_core(kx, log_mu, 8)[0]
        y = _draw_from_rows(ky, law, x[None])[0]
        return jnp.where(star[x, y], 0.0, 1.0), jnp.float64(N), jnp.float64(0)

    return jax.vmap(one)(keys)


@partial(jax.jit, static_argnames=("kind", "T_cap", "n_val", "inner_steps"))
def _xpo_batch(keys, logp, log_mu, mu, delta, arrays, params0, beta, alpha, weight, smooth, kind, T, n_val,
               inner_steps, T_cap):
    """T is traced (rounds t >= T are masked, see :func:`xpo_core`): one compilation per T_cap."""
    def one(key):
        q, qu, ex, _, _, _ = xpo_core(key, logp, log_mu, arrays, params0, beta, alpha, weight, smooth, kind, T,
                                      n_val, inner_steps, T_cap=T_cap)
        return error_core(q, logp, delta, mu), jnp.float64(qu), jnp.float64(ex)

    return jax.vmap(one)(keys)


# --------------------------------------------------------------------------- run_trials


@dataclass
class TrialStats:
    """Outcome of K trials at one size.

    errors: float [K] (sharpness error per trial; BoN: 1 = failure); success: bool [K];
    freq: success frequency; ci: Clopper-Pearson interval (conf); m: mean queries per trial
    (sample-and-evaluate; XPO: queries + extended_queries, D7); queries / extended: means;
    sizes: the sizes used (n, N, mu_stop, beta, T, ...).
    """

    errors: np.ndarray
    success: np.ndarray
    freq: float
    ci: tuple
    m: float
    queries: float
    extended: float
    sizes: dict

    @property
    def trials(self) -> int:
        return int(self.errors.shape[0])


def _progress(total, desc, progress):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)


def run_trials(problem: Problem, algorithm: str, key, trials: int, eps: float, delta: float, *,
               n=None, N=None, mu_stop=None, beta=None, T=None, cls=None, alpha=None, n_val: int = 16,
               inner_steps: int = 200, max_draws: int = 10**7, literal: bool = False, conf: float = 0.95,
               chunk=None, progress=None, rho: float = 0.1, fast: bool = True) -> TrialStats:
    """K = ``trials`` independent trials of ``algorithm`` on ``problem`` (see the module docstring).

    Sizes: sft: n, N; adaptive: n, mu_stop; dpo: n, beta; bon: N; xpo: T, beta (alpha: None ->
    Theorem J.3's alpha(T) with eps, delta, rho). ``cls`` overrides the problem's class.
    ``literal`` (sft only): draw the N responses literally instead of the exact shortcut.
    Trial keys are ``jax.random.split(key, trials)``: the results do not depend on ``chunk``.
    ``fast`` (sft with the tabular class): evaluate the trial's MLE from the draws in O(n + X)
    (:func:`tabular_sft_error_core`) instead of building [X, Y] tables; bit-identical errors.
    It applies when every |y*(x)| <= 2; otherwise (or with ``fast=False``) the generic path
    (counts -> ``MLE_CORES[kind]`` -> :func:`error_core`) runs.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {algorithm!r}")
    trials = check_int(trials, "trials")
    delta = check_open_unit(delta, "delta")
    eps = check_open_unit(eps, "eps")
    keys = jax.random.split(key, trials)
    logp, log_mu, mu = jnp.asarray(problem.logp), jnp.asarray(problem.log_mu), jnp.asarray(problem.mu)
    sizes = {}
    scanned = False
    if algorithm == "bon":
        N = check_int(N, "N")
        sizes = {"N": N}
        per = 1 << 14

        def fn(ks):
            return _bon_batch(ks, logp, log_mu, float(N))
    elif algorithm == "sft":
        n, N = check_int(n, "n"), check_int(N, "N")
        cls = problem.class_for("sft", N) if cls is None else cls
        n_cap = capacity(n)
        sizes = {"n": n, "N": N}
        per = max(1, min(128, (1 << 22) // (n_cap * (N if literal else 1))))
        star = tabular_star_columns(problem.logp) if (fast and cls.kind == "tabular") else None
        if star is not None:
            # no [X, Y] table per trial; chunks of `inner` vmapped trials, G chunks per call (lax.map)
            inner = int(chunk) if chunk else max(1, min(64, (1 << 22) // (n_cap * (N if literal else 1))))
            n_chunks = -(-trials // inner)
            G = -(-n_chunks // -(-n_chunks // 16))  # at most 16 chunks per call, balanced calls
            per, chunk, scanned = G * inner, None, True
            if literal:
                def fn(ks):
                    return _sft_tabular_literal_scan(ks, logp, log_mu, mu, n, N, delta, star, n_cap, inner)
            else:
                def fn(ks):
                    return _sft_tabular_scan(ks, logp, log_mu, mu, n, float(N), delta, star, n_cap, inner)
        elif literal:
            def fn(ks):
                return _sft_literal_batch(ks, logp, log_mu, mu, n, N, delta, cls.arrays, cls.kind, n_cap)
        else:
            def fn(ks):
                return _sft_batch(ks, logp, log_mu, mu, n, float(N), delta, cls.arrays, cls.kind, n_cap)
    elif algorithm == "adaptive":
        n = check_int(n, "n")
        mu_stop = math.log(2.0 / delta) if mu_stop is None else float(mu_stop)
        cls = problem.class_for("adaptive", mu_stop) if cls is None else cls
        n_cap = capacity(n)
        sizes = {"n": n, "mu_stop": mu_stop}
        per = max(1, (1 << 20) // n_cap)

        def fn(ks):
            return _adaptive_batch(ks, logp, log_mu, mu, n, mu_stop, max_draws, delta, cls.arrays, cls.kind, n_cap)
    elif algorithm == "dpo":
        n = check_int(n, "n")
        beta = float(beta)
        cls = problem.class_for("dpo", beta) if cls is None else cls
        n_cap = capacity(n)
        sizes = {"n": n, "N": 2, "beta": beta}
        per = max(1, (1 << 21) // n_cap)

        def fn(ks):
            return _dpo_batch(ks, logp, log_mu, mu, n, beta, delta, cls.arrays, cls.kind, n_cap)
    else:  # xpo
        T = check_int(T, "T")
        beta = float(beta)
        cls = problem.class_for("xpo") if cls is None else cls
        if alpha is None:
            alpha = alpha_j3(beta, getattr(cls, "B", getattr(cls, "R", 1.0)), cls.Y,
                             getattr(cls, "d", cls.X * cls.Y), T, eps, delta, rho)
        sizes = {"T": T, "beta": beta, "alpha": float(alpha), "n_val": n_val}
        per = 64
        smooth = float(getattr(cls, "L", 1.0))

        def fn(ks):
            return _xpo_batch(ks, logp, log_mu, mu, delta, cls.arrays, cls.init_params(), beta, float(alpha), 1.0,
                              smooth, cls.kind, T, n_val, inner_steps, t_capacity(T))
    per = int(chunk) if chunk else per
    bar = _progress(trials, f"{algorithm} {sizes}", progress)
    errs, qs, exts = [], [], []
    if not scanned:
        per = min(per, trials)
    for s in range(0, trials, per):
        ks = keys[s : s + per]
        live = ks.shape[0]
        if live < per:  # pad the last chunk to the same shape (no recompilation); padding is discarded
            ks = jnp.concatenate([ks, jnp.repeat(keys[:1], per - live, axis=0)])
        e, q, x = fn(ks)
        errs.append(np.asarray(e)[:live])
        qs.append(np.asarray(q)[:live])
        exts.append(np.asarray(x)[:live])
        if bar is not None:
            bar.update(live)
    if bar is not None:
        bar.close()
    errors = np.concatenate(errs)
    if algorithm == "bon":
        success = errors == 0.0
    else:
        success = errors <= eps
    k = int(success.sum())
    queries, extended = float(np.mean(np.concatenate(qs))), float(np.mean(np.concatenate(exts)))
    return TrialStats(errors, success, k / trials, clopper_pearson(k, trials, conf), queries + extended,
                      queries, extended, sizes)


# --------------------------------------------------------------------------- sample complexity


@dataclass
class SampleComplexity:
    """Empirical sample complexity along a path of sizes.

    m: mean queries at the smallest evaluated scale whose success frequency reached 1 - rho
    (None if none did); m_range: (largest m that fails significantly, smallest m that succeeds
    significantly) among the evaluated scales (None where no such point); points: every
    evaluated (scale, sizes, m, freq, ci).
    """

    m: float | None
    m_range: tuple
    scale: float | None
    points: list


def empirical_sample_complexity(evaluate: Callable[[float], TrialStats], rho: float, s0: float = 1.0,
                                factor: float = 2.0, max_doublings: int = 12, bisect_steps: int = 4,
                                s_min: float = 0.0) -> SampleComplexity:
    """Smallest m at which the success frequency reaches 1 - rho, along ``evaluate(scale)``.

    Doubling grid from s0 (down while it succeeds, up while it fails), then ``bisect_steps``
    bisections in log-scale between the last failing and first succeeding scale. Assumes
    success is (roughly) monotone in the scale; common trial keys across scales help.
    """
    target = 1.0 - check_open_unit(rho, "rho")
    cache = {}

    def ev(s):
        if s not in cache:
            cache[s] = evaluate(s)
        return cache[s]

    s = float(s0)
    st = ev(s)
    ok = st.freq >= target
    lo_fail, hi_ok = (None, s) if ok else (s, None)
    for _ in range(max_doublings):
        s = s / factor if ok else s * factor
        if s <= s_min:
            break
        st = ev(s)
        now_ok = st.freq >= target
        if ok and not now_ok:
            lo_fail = s
            break
        if not ok and now_ok:
            hi_ok = s
            break
        if ok:
            hi_ok = s
        else:
            lo_fail = s
    if lo_fail is not None and hi_ok is not None:
        for _ in range(bisect_steps):
            mid = math.sqrt(lo_fail * hi_ok)
            if ev(mid).freq >= target:
                hi_ok = mid
            else:
                lo_fail = mid
    points = sorted(((sc, r.sizes, r.m, r.freq, r.ci) for sc, r in cache.items()), key=lambda t: t[0])
    m = cache[hi_ok].m if hi_ok is not None else None
    fails = [r.m for r in cache.values() if r.ci[1] < target]
    oks = [r.m for r in cache.values() if r.ci[0] >= target]
    m_range = (max(fails) if fails else None, min(oks) if oks else None)
    return SampleComplexity(m, m_range, hi_ok, points)


# --------------------------------------------------------------------------- theory vs simulation


def _bound_for(problem, algorithm, eps, delta, rho, opts):
    from . import bounds
    from .quantities import adaptive_coverage, argmax_mass, concentrability, margin

    info = problem.info
    if algorithm == "bon":
        p_star = float(np.min(argmax_mass(problem.base if hasattr(problem.base, "log_table") else problem.base,
                                          problem.base)[problem.mu > 0]))
        return bounds.bon_inference(p_star, rho)
    if algorithm == "sft":
        L = info["log_class_size"]
        if not math.isfinite(L):
            raise ValueError(f"the SFT bound (F9) needs a finite class; problem {problem.name!r} has log|Pi| = inf")
        return bounds.sft_sample_complexity(info["C_cov"], L, eps, delta, rho)
    if algorithm == "adaptive":
        L = info["log_class_size"]
        return bounds.adaptive_sft_sample_complexity(adaptive_coverage(problem.base, problem.mu), L, eps, delta, rho)
    gm = margin(problem.base, problem.mu)
    if algorithm == "dpo":
        p0 = bounds.dpo_sample_complexity(1.0, float(problem.Y), info["log_class_size"] if math.isfinite(
            info["log_class_size"]) else 0.0, min(gm, 1.0), eps, delta, rho, constant=opts.get("constant", 1.0))
        beta = p0.params["beta"]
        cls = problem.class_for("dpo", beta)
        tabs = cls.tables() if hasattr(cls, "tables") else None
        if tabs is not None:
            C_conc = max(concentrability(t, problem.base, problem.mu) for t in tabs)
            C_loss = max(concentrability(problem.base, t, problem.mu, beta=beta) for t in tabs)
        else:
            C_conc, C_loss = info["C_cov"], float(problem.Y)
        C_conc = max(C_conc, info["C_cov"], 1.0)
        C_loss = max(C_loss, float(problem.Y))
        L = info["log_class_size"] if math.isfinite(info["log_class_size"]) else info.get("d", 1) * math.log(1e3)
        return bounds.dpo_sample_complexity(C_conc, C_loss, L, min(gm, 1.0), eps, delta, rho,
                                            constant=opts.get("constant", 1.0))
    # xpo
    inst = info.get("instance")
    if not hasattr(inst, "theta_star"):
        raise ValueError("verify --algorithm xpo needs a linear-softmax instance (--instance j1)")
    return bounds.linear_softmax_xpo(inst.d, max(info["B"], 1.0), problem.Y, min(gm, 1.0), eps, delta, rho,
                                     constant=opts.get("constant", 1.0))


def theory_vs_simulation(problem: Problem, algorithm: str, eps: float, delta: float, rho: float, key,
                         trials: int = 200, conf: float = 0.95, progress=None, bisect_steps: int = 3,
                         **opts) -> dict:
    """The bound's prescription next to simulation (SPEC 9, 12).

    Returns a dict with: theorem, bound_m (the bound's prescribed m), sizes (its n, N, T, ...),
    success_at_bound (frequency and CI at the prescribed sizes), held (CI upper end >= 1 - rho;
    None when the bound is order-only), empirical_m (smallest m reaching 1 - rho along the
    prescription's path: sft scales n and N together, adaptive / dpo scale n, bon scales N, xpo
    scales T), empirical_m_range, ratio = bound_m / empirical_m, order_only, points.
    For XPO, m counts queries + extended queries (D7), the bound's m = 2T does not count
    validation; for order-only bounds the constant is ``opts['constant']`` (default 1).
    """
    eps, delta, rho = (check_open_unit(v, k) for v, k in ((eps, "eps"), (delta, "delta"), (rho, "rho")))
    presc = _bound_for(problem, algorithm, eps, delta, rho, opts)
    n0 = N0 = T0 = 1
    run = partial(run_trials, problem, algorithm, key, trials, eps, delta, conf=conf, progress=progress, rho=rho)
    if algorithm == "bon":
        N0 = presc.N

        def at(s):
            return run(N=max(1, math.ceil(s * N0)))
        bound_m = float(N0)
    elif algorithm == "sft":
        n0, N0 = presc.n, presc.N

        def at(s):
            return run(n=max(1, math.ceil(s * n0)), N=max(1, math.ceil(s * N0)))
        bound_m = float(presc.m)
    elif algorithm == "adaptive":
        n0, mu_stop = presc.n, presc.params["mu_stop"]

        def at(s):
            return run(n=max(1, math.ceil(s * n0)), mu_stop=mu_stop)
        bound_m = float(presc.m)
    elif algorithm == "dpo":
        n0, beta = presc.n, presc.params["beta"]
        n0 = min(n0, opts.get("n_max", 1 << 12))

        def at(s):
            return run(n=max(1, math.ceil(s * n0)), beta=beta)
        bound_m = float(presc.m)
    else:
        beta = presc.params["beta"]
        T0 = min(presc.T, opts.get("T_max", 64))

        def at(s):
            return run(T=max(2, math.ceil(s * T0)), beta=beta, n_val=opts.get("n_val", 16))
        bound_m = float(presc.m)
    memo = {}

    def at_memo(sc_):
        if sc_ not in memo:
            memo[sc_] = at(sc_)
        return memo[sc_]

    st0 = at_memo(1.0)
    target = 1.0 - rho
    capped = (algorithm == "dpo" and n0 < presc.n) or (algorithm == "xpo" and T0 < presc.T)
    held = None if (presc.order_only or capped) else bool(st0.ci[1] >= target)
    # smallest scale: one prompt (sft / adaptive / dpo), one draw (bon), two rounds (xpo)
    base_size = {"bon": N0 if algorithm == "bon" else 1, "sft": max(n0, N0) if algorithm == "sft" else 1,
                 "adaptive": n0 if algorithm == "adaptive" else 1, "dpo": n0 if algorithm == "dpo" else 1,
                 "xpo": T0 / 2 if algorithm == "xpo" else 1}[algorithm]
    sc = empirical_sample_complexity(at_memo, rho, 1.0, bisect_steps=bisect_steps,
                                     max_doublings=opts.get("max_doublings", 30), s_min=0.5 / base_size)
    emp = sc.m
    return {
        "problem": problem.name,
        "algorithm": algorithm,
        "theorem": presc.theorem,
        "bound_m": bound_m,
        "bound_sizes": {k: v for k, v in (("n", presc.n), ("N", presc.N), ("T", presc.T)) if v is not None},
        "bound_error": presc.error_bound,
        "sizes_at_bound": st0.sizes,
        "m_at_bound": st0.m,
        "success_at_bound": st0.freq,
        "success_ci_at_bound": list(st0.ci),
        "held": held,
        "order_only": bool(presc.order_only),
        "capped": bool(capped),
        "search_reached_floor": bool(sc.scale is not None and sc.m_range[0] is None
                                     and min(p[0] for p in sc.points) == sc.scale),
        "empirical_m": emp,
        "empirical_m_range": list(sc.m_range),
        "ratio": (bound_m / emp) if emp else None,
        "target": target,
        "trials": trials,
        "eps": eps,
        "delta": delta,
        "rho": rho,
        "points": [{"scale": p[0], "sizes": p[1], "m": p[2], "freq": p[3], "ci": list(p[4])} for p in sc.points],
    }

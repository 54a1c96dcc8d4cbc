"""The Monte-Carlo engine: many independent trials of a registered algorithm, success
frequencies with intervals, and the empirical sample complexity (DESIGN.md "sim").

* :func:`run_trials`: K independent trials of an algorithm of :data:`sharpsim.algorithms.REGISTRY`
  on a problem (:class:`sharpsim.instances.problems.Problem` or anything with ``logp``,
  ``log_mu``, ``mu`` and ``class_for``), vectorized with ``jax.vmap`` (one key per trial:
  ``jax.random.split(key, K)``; same key, same bits), in chunks (a tqdm bar on stderr when it is
  a TTY). Each trial is the algorithm's own trial core (the learner's one implementation)
  followed by the exact evaluation (:mod:`sharpsim.evaluation`): err = P_{x~mu}[pi_hat(y*(x)|x)
  <= 1 - delta] (non-strict, D5). Success = err <= eps; inference-time BoN: the answer is in y*(x).
* :func:`empirical_sample_complexity`: the smallest m at which the success frequency reaches
  1 - rho along a path of sizes: a doubling grid, then bisection (in log scale); the uncertainty
  is the m-range between the largest size that fails *significantly* (CI upper end < 1 - rho) and
  the smallest that succeeds significantly (CI lower end >= 1 - rho).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from ._validate import check_int, check_open_unit
from .algorithms import get as get_algorithm
from .stats import clopper_pearson

__all__ = ["TrialStats", "SampleComplexity", "run_trials", "empirical_sample_complexity"]


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


def run_trials(problem, algorithm: str, key, trials: int, eps: float, delta: float, *, cls=None,
               conf: float = 0.95, progress=None, rho: float = 0.1, **sizes) -> TrialStats:
    """K = ``trials`` independent trials of ``algorithm`` on ``problem`` (see the module docstring).

    Sizes and options (keywords) come from the algorithm's registry entry
    (:data:`sharpsim.algorithms.REGISTRY`): sft: n, N (literal, fast, chunk); adaptive: n,
    mu_stop (max_draws); dpo: n, beta; bon: N; xpo: T, beta (alpha: None -> Theorem J.3's
    alpha(T) with eps, delta, rho; n_val, inner_steps). ``cls`` overrides the problem's class.
    ``chunk`` sets the trials per vmapped chunk: the results do not depend on it (trial keys are
    ``jax.random.split(key, trials)``). sft's ``literal`` draws the N responses one by one instead
    of the exact shortcut; ``fast`` (tabular class) evaluates the MLE from the draws in O(n + X),
    bit-identical to the generic path.
    """
    spec = get_algorithm(algorithm)
    allowed = set(spec.sizes) | set(spec.options)
    unknown = sorted(set(k for k, v in sizes.items() if v is not None) - allowed)
    if unknown:
        raise ValueError(f"run_trials({algorithm!r}) takes the sizes/options {sorted(allowed)}; got {unknown}")
    trials = check_int(trials, "trials")
    delta = check_open_unit(delta, "delta")
    eps = check_open_unit(eps, "eps")
    keys = jax.random.split(key, trials)
    opts = {k: v for k, v in sizes.items() if v is not None}
    batch = spec.batch(problem, cls, trials, delta, eps=eps, rho=rho, **opts)
    per = batch.per if batch.scanned else min(batch.per, trials)
    bar = _progress(trials, f"{algorithm} {batch.sizes}", progress)
    errs, qs, exts = [], [], []
    for s in range(0, trials, per):
        ks = keys[s : s + per]
        live = ks.shape[0]
        if live < per:  # pad the last chunk to the same shape (no recompilation); padding is discarded
            ks = jnp.concatenate([ks, jnp.repeat(keys[:1], per - live, axis=0)])
        e, q, x = batch.fn(ks)
        errs.append(np.asarray(e)[:live])
        qs.append(np.asarray(q)[:live])
        exts.append(np.asarray(x)[:live])
        if bar is not None:
            bar.update(live)
    if bar is not None:
        bar.close()
    errors = np.concatenate(errs)
    if spec.success == "answer":
        success = errors == 0.0
    else:
        success = errors <= eps
    k = int(success.sum())
    queries, extended = float(np.mean(np.concatenate(qs))), float(np.mean(np.concatenate(exts)))
    return TrialStats(errors, success, k / trials, clopper_pearson(k, trials, conf), queries + extended,
                      queries, extended, dict(batch.sizes))


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



"""The Monte-Carlo engine: many independent trials of a registered algorithm, success
frequencies with intervals, and the empirical sample complexity (DESIGN.md "sim").

* :func:`run_trials`: K independent trials of an algorithm of :data:`sharpsim.algorithms.REGISTRY`
  on a problem (:class:`sharpsim.instances.problems.Problem` or anything with ``logp``,
  ``log_mu``, ``mu`` and ``class_for``), vectorized with ``jax.vmap`` (one key per trial:
  ``jax.random.split(key, K)``; same key, same bits), in chunks (K below a chunk: one chunk of
  the next power of 2, padded, so nearby K share one program, or for the adaptive rule one such
  chunk per thread; a tqdm bar on stderr when it is a TTY), two chunk calls at a time on threads
  (:data:`sharpsim.algorithms.result.THREADS`). Each trial is the algorithm's own trial core (the
  learner's one implementation) followed by the exact evaluation (:mod:`sharpsim.evaluation`):
  err = P_{x~mu}[pi_hat(y*(x)|x) <= 1 - delta] (non-strict, D5). Success = err <= eps;
  inference-time BoN: the answer is in y*(x).
* :func:`empirical_sample_complexity`: the smallest m at which the success frequency reaches
  1 - rho along a path of sizes: a doubling grid, then bisection (in log scale); the uncertainty
  is the m-range between the largest size that fails *significantly* (CI upper end < 1 - rho) and
  the smallest that succeeds significantly (CI lower end >= 1 - rho).
"""

from __future__ import annotations

import math
import sys
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from . import aot
from ._validate import check_int, check_key, check_open_unit
from .algorithms import get as get_algorithm
from .algorithms import result as result_module
from .stats import clopper_pearson

__all__ = ["TrialStats", "SampleComplexity", "JointSampleComplexity", "Budget", "BudgetExceeded", "run_trials",
           "sequential_trials", "empirical_sample_complexity", "min_sample_complexity", "joint_search", "SEQUENTIAL_BATCH",
           "SEQUENTIAL_MAX_TRIALS"]


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
    verdict: str | None = None
    """Sequential runs (:func:`sequential_trials`): "above" / "below" when the interval of the success
    frequency lies wholly above / below 1 - rho, "undecided" when the trial budget ran out."""

    @property
    def trials(self) -> int:
        return int(self.errors.shape[0])

    def reached(self, target: float) -> bool:
        """Success reached ``target``: decided above, or undecided with the frequency >= target."""
        if self.verdict is not None:
            return self.verdict == "above" or (self.verdict == "undecided" and self.freq >= target)
        return self.freq >= target


def _progress(total, desc, progress):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, file=sys.stderr, leave=False)


@partial(aot.jit, static_argnames=("num",))
def _split_keys(key, num):
    """``jax.random.split(key, num)`` (the same bits) as a cached program: a warm process loads it
    instead of tracing the eager split for each new ``num``."""
    return jax.random.split(key, num)


def _call(fn, ks):
    """One chunk call, its outputs brought to the host (blocking): numpy (errors, queries, extended)."""
    return tuple(np.asarray(o) for o in fn(ks))


def _chunk(most: int, trials: int, split: bool = False) -> int:
    """Trials per call of a batch that is not scanned: at most ``most``; fewer trials run as one chunk
    of the next power of 2 (padded, the padding discarded), so that nearby sizes share one program.
    ``split`` (:attr:`sharpsim.algorithms.result.Batch.split`): the power of 2 of an even split over
    :data:`sharpsim.algorithms.result.THREADS` instead, so that the calls run side by side on the
    engine's threads (e.g. 65 to 128 trials: two calls of 64 on 2 threads). A trial's bits do not
    depend on its chunk (tested)."""
    share = -(-trials // max(1, int(result_module.THREADS))) if split else trials
    return min(most, 1 << (share - 1).bit_length())


def run_trials(problem, algorithm: str, key, trials: int, eps: float, delta: float, *, cls=None,
               conf: float = 0.95, progress=None, rho: float = 0.1, budget=None, **sizes) -> TrialStats:
    """K = ``trials`` independent trials of ``algorithm`` on ``problem`` (see the module docstring).

    Sizes and options (keywords) come from the algorithm's registry entry
    (:data:`sharpsim.algorithms.REGISTRY`): sft: n, N (literal, fast, counts, chunk); adaptive: n,
    mu_stop (max_draws); dpo: n, beta; bon: N; xpo: T, beta (alpha: None -> Theorem J.3's
    alpha(T) with eps, delta, rho; n_val, inner_steps). ``cls`` overrides the problem's class.
    ``chunk`` sets the trials per vmapped chunk: the results do not depend on it (trial keys are
    ``jax.random.split(key, trials)``). sft's ``literal`` draws the N responses one by one instead
    of the exact shortcut; ``fast`` (tabular class) evaluates the MLE from the draws in O(n + X),
    bit-identical to the generic path; ``counts=True`` (opt-in, tabular fast path) draws each trial's
    counts on y*(x) from their exact multinomial law in O(X), the same law with other bits. ``budget`` (a :class:`Budget`) is checked before every chunk
    (:class:`BudgetExceeded` when spent). Up to :data:`sharpsim.algorithms.result.THREADS` chunk calls
    run at once, on threads; the results do not depend on it.
    """
    spec = get_algorithm(algorithm)
    if not all(hasattr(problem, a) for a in ("logp", "log_mu", "mu", "class_for")):
        raise TypeError("problem must be a sharpsim.instances.problems.Problem (logp, log_mu, mu, class_for), "
                        f"got {type(problem).__name__}")
    check_key(key)
    allowed = set(spec.sizes) | set(spec.options)
    unknown = sorted(set(k for k, v in sizes.items() if v is not None) - allowed)
    if unknown:
        raise ValueError(f"run_trials({algorithm!r}) takes the sizes/options {sorted(allowed)}; got {unknown}")
    trials = check_int(trials, "trials")
    delta = check_open_unit(delta, "delta")
    eps = check_open_unit(eps, "eps")
    keys = _split_keys(key, trials)
    opts = {k: v for k, v in sizes.items() if v is not None}
    batch = spec.batch(problem, cls, trials, delta, eps=eps, rho=rho, **opts)
    per = batch.per if batch.scanned else _chunk(batch.per, trials, batch.split)
    bar = _progress(trials, f"{algorithm} {batch.sizes}", progress)
    errs, qs, exts = [], [], []
    threads = min(max(1, int(result_module.THREADS)), -(-trials // per))
    pool = ThreadPoolExecutor(threads) if threads > 1 else None
    pending = deque()  # (live, future or result) in trial order

    def collect():
        live, out = pending.popleft()
        e, q, x = out.result() if pool is not None else out
        errs.append(e[:live])
        qs.append(q[:live])
        exts.append(x[:live])
        if bar is not None:
            bar.update(live)

    try:
        for s in range(0, trials, per):
            if budget is not None:
                budget.check()
            ks = keys[s : s + per]
            live = ks.shape[0]
            if live < per:  # pad the last chunk to the same shape (no recompilation); padding is discarded
                ks = jnp.concatenate([ks, jnp.repeat(keys[:1], per - live, axis=0)])
            # up to `threads` calls in flight (each call's trials are the same bits on any thread)
            pending.append((live, pool.submit(_call, batch.fn, ks) if pool is not None else _call(batch.fn, ks)))
            while len(pending) >= threads:
                collect()
        while pending:
            collect()
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
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




# --------------------------------------------------------------------------- sequential trials


SEQUENTIAL_BATCH = 100
"""Trials per batch of :func:`sequential_trials`."""
SEQUENTIAL_MAX_TRIALS = 1600
"""Default trial budget of :func:`sequential_trials` at one size (16 batches)."""


class BudgetExceeded(RuntimeError):
    """Raised inside a search when its wall-clock budget is spent (the caller keeps what finished)."""


class Budget:
    """A wall-clock budget (``seconds`` None: unlimited) checked between trial batches."""

    def __init__(self, seconds=None):
        import time

        self._time = time.monotonic
        self.seconds = seconds
        self.start = self._time()

    @property
    def elapsed(self) -> float:
        return self._time() - self.start

    def check(self) -> None:
        if self.seconds is not None and self.elapsed > self.seconds:
            raise BudgetExceeded(f"the budget of {self.seconds:g} s is spent")


def sequential_trials(problem, algorithm: str, key, eps: float, delta: float, rho: float, *,
                      batch: int = SEQUENTIAL_BATCH, max_trials: int = SEQUENTIAL_MAX_TRIALS,
                      conf: float = 0.95, budget: Budget | None = None, **kwargs) -> TrialStats:
    """Trials in batches until the success frequency is decided against 1 - rho.

    Batch b runs ``batch`` trials of :func:`run_trials` with key ``jax.random.fold_in(key, b)``;
    after each batch the Clopper-Pearson interval of all trials so far is compared with
    1 - rho: wholly above -> verdict "above", wholly below -> "below"; after ``max_trials``
    trials -> "undecided". Each look uses level 1 - (1 - conf) / L with L = ceil(max_trials /
    batch) looks (Bonferroni), so a verdict holds with confidence ``conf`` overall. The returned
    :class:`TrialStats` has the interval at level ``conf`` of all trials run and the verdict.
    Same key, same bits (the batches' keys do not depend on when the run stops).
    """
    batch, max_trials = check_int(batch, "batch"), check_int(max_trials, "max_trials")
    target = 1.0 - check_open_unit(rho, "rho")
    looks = -(-max_trials // batch)
    conf_look = 1.0 - (1.0 - check_open_unit(conf, "conf")) / looks
    parts = []
    verdict = "undecided"
    for b in range(looks):
        if budget is not None:
            budget.check()
        parts.append(run_trials(problem, algorithm, jax.random.fold_in(key, b), min(batch, max_trials - b * batch),
                                eps, delta, conf=conf, rho=rho, budget=budget, **kwargs))
        succ = np.concatenate([p.success for p in parts])
        lo, hi = clopper_pearson(int(succ.sum()), succ.size, conf_look)
        if lo >= target:
            verdict = "above"
            break
        if hi < target:
            verdict = "below"
            break
    errors = np.concatenate([p.errors for p in parts])
    succ = np.concatenate([p.success for p in parts])
    n_tr = succ.size
    q = float(sum(p.queries * p.trials for p in parts) / n_tr)
    e = float(sum(p.extended * p.trials for p in parts) / n_tr)
    k = int(succ.sum())
    return TrialStats(errors, succ, k / n_tr, clopper_pearson(k, n_tr, conf), q + e, q, e, parts[0].sizes, verdict)


# --------------------------------------------------------------------------- the joint minimum


@dataclass
class JointSampleComplexity:
    """The empirical sample complexity as a minimum over the algorithm's sizes.

    m: min over the outer grid of m(g), the queries at the smallest inner size (n, N or T) at
    which success reaches 1 - rho with the outer sizes g fixed (None if no g reached it);
    sizes: the argmin sizes; m_interval: (largest m decided *below* 1 - rho, smallest m decided
    *above*) along the argmin's inner search (None where no such point); grid: per outer point,
    its sizes, the least inner size found, its m and verdict; points: every evaluated size with
    its m, frequency, interval, trials and verdict; complete: False when the budget ran out.
    """

    m: float | None
    sizes: dict | None
    m_interval: tuple
    grid: list
    points: list
    complete: bool = True


def _inner_search(evaluate, inner: str, fixed: dict, target: float, floor: int, cap: int, budget, cache,
                  start: int | None = None, rel_tol: float = 0.0, m_stop: float = math.inf):
    """Smallest integer ``inner`` >= floor with success reaching target: from ``start`` (default
    ``floor``) halve while it succeeds or double while it fails, then bisect until the bracket is
    one apart or within a factor 1 + rel_tol. Doubling stops (None) once a failing size costs more
    than ``m_stop`` queries (it cannot beat the best found) or reaches ``cap``.
    Returns (value or None, evaluator)."""

    def ev(v):
        sizes = dict(fixed, **{inner: int(v)})
        key = tuple(sorted(sizes.items()))
        if key not in cache:
            if budget is not None:
                budget.check()
            cache[key] = evaluate(sizes)
        return cache[key]

    lo, hi = floor - 1, None  # largest failing, smallest succeeding
    v = max(floor, int(start) if start else floor)
    if ev(v).reached(target):
        hi = v
        while hi > floor:
            v = max(floor, hi // 2)
            if ev(v).reached(target):
                hi = v
            else:
                lo = v
                break
    else:
        lo = v
        while v < cap and ev(v).m <= m_stop:
            v = min(cap, v * 2)
            if ev(v).reached(target):
                hi = v
                break
            lo = v
    if hi is None:
        return None, ev
    while hi - lo > 1 and hi > lo * (1.0 + rel_tol):
        mid = (lo + hi) // 2
        if ev(mid).reached(target):
            hi = mid
        else:
            lo = mid
    return hi, ev


def min_sample_complexity(evaluate: Callable[[dict], TrialStats], inner: str, outer: list, rho: float, *,
                          floor: int = 1, cap: int = 1 << 20, budget: Budget | None = None, progress=None,
                          center: int | None = None, start: int | None = None,
                          rel_tol: float = 0.0) -> JointSampleComplexity:
    """The smallest m over all sizes: for each outer point g (a dict of fixed sizes), the least
    inner size v (doubling from ``floor``, then bisection; success assumed monotone in v) with
    ``evaluate({**g, inner: v}).reached(1 - rho)``, m(g) its queries; m = min_g m(g).

    ``outer`` is walked from index ``center`` (default: its middle) outwards (it is ordered, e.g.
    N around N_pop) and a direction is abandoned after two outer points whose m(g) is above the
    best so far (m(g) is unimodal in N on every instance of the catalogue; the grid searched is
    reported). The inner search starts at ``start`` (then at the last point's answer) and stops
    bisecting within a factor 1 + ``rel_tol`` (0: the exact least integer). A spent ``budget``
    stops the search and the result is marked incomplete.
    """
    target = 1.0 - check_open_unit(rho, "rho")
    cache = {}
    grid, complete = [], True
    order = _middle_out(len(outer), center)
    hint = {-1: start, 0: start, 1: start}
    best = math.inf
    worse = {-1: 0, 1: 0}
    bar = _progress(len(outer), f"searching {inner} over {len(outer)} grid point(s)", progress)
    try:
        for idx, side in order:
            if side and worse[side] >= 2:
                continue
            g = outer[idx]
            v, ev = _inner_search(evaluate, inner, g, target, floor, cap, budget, cache, hint[side], rel_tol, best)
            if v is not None:
                hint[side] = v
                if side == 0:
                    hint[-1] = hint[1] = v
            st = ev(v) if v is not None else None
            m_g = st.m if st is not None else None
            grid.append({"sizes": dict(g), inner: v, "m": m_g, "verdict": st.verdict if st else None})
            if m_g is not None and m_g < best:
                best = m_g
                worse = {-1: 0, 1: 0}
            elif side and best < math.inf:  # before any success nothing is "worse" yet
                worse[side] += 1
            if bar is not None:
                bar.update(1)
    except BudgetExceeded:
        complete = False
    finally:
        if bar is not None:
            bar.close()
    found = [c for c in grid if c["m"] is not None]
    points = [{"sizes": dict(k), "m": r.m, "freq": r.freq, "ci": list(r.ci), "trials": r.trials,
               "verdict": r.verdict} for k, r in cache.items()]
    if not found:
        return JointSampleComplexity(None, None, (None, None), grid, points, complete)
    arg = min(found, key=lambda c: c["m"])
    sizes = dict(arg["sizes"], **{inner: arg[inner]})
    same = [p for p in points if all(p["sizes"].get(k) == v for k, v in arg["sizes"].items())]
    below = [p["m"] for p in same if p["verdict"] == "below" or (p["verdict"] is None and p["ci"][1] < target)]
    above = [p["m"] for p in same if p["verdict"] == "above" or (p["verdict"] is None and p["ci"][0] >= target)]
    interval = (max(below) if below else None, min(above) if above else None)
    return JointSampleComplexity(arg["m"], sizes, interval, grid, points, complete)


def _middle_out(n: int, center=None):
    """Indices of an ordered grid from ``center`` (default its middle) outwards, with the side
    (-1 down, +1 up, 0 the center)."""
    mid = n // 2 if center is None else int(center)
    out = [(mid, 0)]
    for k in range(1, n):
        if mid - k >= 0:
            out.append((mid - k, -1))
        if mid + k < n:
            out.append((mid + k, 1))
    return out


def joint_search(problem, algorithm: str, key, trials: int, eps: float, delta: float, rho: float, grid, *,
                 rel_tol: float = 0.0, start: int | None = None, sequential: bool = False,
                 max_trials: int = SEQUENTIAL_MAX_TRIALS, conf: float = 0.95, budget: Budget | None = None,
                 progress=False, cap: int | None = None, **fixed) -> JointSampleComplexity:
    """The empirical sample complexity of ``algorithm`` on ``problem``: :func:`min_sample_complexity`
    over ``grid`` (a :class:`sharpsim.algorithms.JointGrid`, from the registry entry's ``joint``),
    each size evaluated by ``trials`` trials of :func:`run_trials` (common keys across sizes) or,
    with ``sequential``, by :func:`sequential_trials` in batches of ``trials`` up to ``max_trials``.
    ``fixed``: options passed to every run (e.g. ``cls``); ``cap``: the largest inner size (default
    the grid's own cap)."""
    if sequential:
        def evaluate(sizes):
            return sequential_trials(problem, algorithm, key, eps, delta, rho, batch=trials, max_trials=max_trials,
                                     conf=conf, budget=budget, progress=False, **fixed, **sizes)
    else:
        def evaluate(sizes):
            return run_trials(problem, algorithm, key, trials, eps, delta, conf=conf, rho=rho, progress=False,
                              **fixed, **sizes)
    cap = getattr(grid, "cap", 1 << 20) if cap is None else cap
    return min_sample_complexity(evaluate, grid.inner, grid.outer, rho, floor=grid.floor, cap=cap, budget=budget,
                                 progress=progress, center=grid.center, start=start, rel_tol=rel_tol)

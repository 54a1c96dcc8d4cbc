"""Theory next to simulation (SPEC 9, 12): a bound's prescription beside the engine's measurement.

:func:`theory_vs_simulation` reads the algorithm's registry entry
(:data:`sharpsim.algorithms.REGISTRY`) and measures three things:

1. **At the bound.** Sequential trials (:func:`sharpsim.engine.sequential_trials`) at the sizes
   the bound prescribes decide whether the success frequency is above or below 1 - rho:
   ``held`` is True / False when decided (a statistical statement at level ``conf``), None when
   the trial budget left it undecided or the bound is order-only or was capped.
2. **The empirical sample complexity**: the minimum of the total query count m over the
   algorithm's size parameters (:func:`sharpsim.engine.min_sample_complexity` over the
   registry's :class:`sharpsim.algorithms.JointGrid`: for SFT, n searched at each N of a grid
   around N_pop), with its argmin sizes, its interval and the grid searched. ``ratio`` =
   bound_m / empirical_m.
3. **m on the bound's path** (``m_on_bound_path``): the smallest m reaching 1 - rho along the
   bound's own ray of sizes s * (n0, N0) (:func:`sharpsim.engine.empirical_sample_complexity`),
   which can be far above the empirical sample complexity (the ray fixes n0 / N0).

A run capped below the bound's sizes (DPO's ``n_max``, XPO's ``T_max``) reports the bound's m,
the largest m simulated and whether success was reached there; it has no ratio. A spent
``budget_s`` stops the searches: what finished is returned, marked ``partial``.
"""

from __future__ import annotations

import math
from functools import partial

from ._validate import check_open_unit
from .algorithms import get as get_algorithm
from .engine import (
    SEQUENTIAL_MAX_TRIALS,
    Budget,
    BudgetExceeded,
    empirical_sample_complexity,
    joint_search,
    run_trials,
    sequential_trials,
)

__all__ = ["theory_vs_simulation", "DEFAULT_BUDGET_S"]

DEFAULT_BUDGET_S = 180.0
"""Default wall-clock budget of one comparison (``sharpsim verify --budget-s``)."""


def theory_vs_simulation(problem, algorithm: str, eps: float, delta: float, rho: float, key,
                         trials: int = 100, conf: float = 0.95, progress=None, bisect_steps: int = 3,
                         max_trials: int = SEQUENTIAL_MAX_TRIALS, budget_s: float | None = None,
                         path: bool = True, **opts) -> dict:
    """The bound's prescription next to simulation (see the module docstring).

    ``trials``: trials per batch of the sequential runs (and per size on the bound's path);
    ``max_trials``: the sequential trial budget per size; ``conf``: the confidence of every
    verdict and interval; ``budget_s``: wall-clock budget (None: unlimited); ``path``: also
    measure m on the bound's path. For XPO, m counts queries + extended queries (D7); for
    order-only bounds the constant is ``opts['constant']`` (default 1).

    Returns a dict: problem, algorithm, theorem, bound_m, bound_sizes, bound_error, sizes_at_bound,
    m_at_bound, success_at_bound, success_ci_at_bound, trials_at_bound, verdict_at_bound, held,
    order_only, capped, empirical_m, empirical_sizes, empirical_m_interval, search (the grid),
    search_complete, ratio, m_on_bound_path, m_on_bound_path_range, largest_m_simulated,
    success_at_largest_m, partial, elapsed_s, points, target, trials, conf, eps, delta, rho.
    """
    eps, delta, rho = (check_open_unit(v, k) for v, k in ((eps, "eps"), (delta, "delta"), (rho, "rho")))
    spec = get_algorithm(algorithm)
    presc = spec.prescription(problem, eps, delta, rho, **{k: v for k, v in opts.items() if k == "constant"})
    bpath = spec.path(presc, opts)
    grid = spec.joint(problem, presc, eps, delta, opts)
    budget = Budget(budget_s)
    target = 1.0 - rho
    seq = partial(sequential_trials, problem, algorithm, key, eps, delta, rho, batch=trials, max_trials=max_trials,
                  conf=conf, budget=budget, progress=False)
    bound_m = float(presc.m)
    out = {
        "problem": problem.name, "algorithm": algorithm, "theorem": presc.theorem, "bound_m": bound_m,
        "bound_sizes": {k: v for k, v in (("n", presc.n), ("N", presc.N), ("T", presc.T)) if v is not None},
        "bound_error": presc.error_bound, "order_only": bool(presc.order_only), "capped": bool(bpath.capped),
        "target": target, "trials": trials, "max_trials": max_trials, "conf": conf, "eps": eps, "delta": delta,
        "rho": rho, "partial": False,
    }
    at_bound = None
    try:
        at_bound = seq(**bpath.sizes(1.0))
    except BudgetExceeded:
        out["partial"] = True
    if at_bound is not None:
        verdict = at_bound.verdict
        held = None
        if not (presc.order_only or bpath.capped) and verdict != "undecided":
            held = verdict == "above"
        out.update(sizes_at_bound=at_bound.sizes, m_at_bound=at_bound.m, success_at_bound=at_bound.freq,
                   success_ci_at_bound=list(at_bound.ci), trials_at_bound=at_bound.trials, verdict_at_bound=verdict,
                   held=held)
    else:
        out.update(sizes_at_bound=None, m_at_bound=None, success_at_bound=None, success_ci_at_bound=None,
                   trials_at_bound=None, verdict_at_bound=None, held=None)
    # the empirical sample complexity: the minimum of m over the sizes
    joint = joint_search(problem, algorithm, key, trials, eps, delta, rho, grid, sequential=True,
                         max_trials=max_trials, conf=conf, budget=budget, progress=progress)
    out["partial"] = out["partial"] or not joint.complete
    out.update(empirical_m=joint.m, empirical_sizes=joint.sizes, empirical_m_interval=list(joint.m_interval),
               search={"inner": grid.inner, "floor": grid.floor, "grid": joint.grid}, search_complete=joint.complete,
               points=joint.points)
    largest = max(joint.points, key=lambda p: p["m"], default=None)
    out["largest_m_simulated"] = largest["m"] if largest else None
    out["success_at_largest_m"] = largest["freq"] if largest else None
    out["ratio"] = (bound_m / joint.m) if (joint.m and not bpath.capped and math.isfinite(bound_m)) else None
    # m on the bound's own path (fixed trials per size, as before the joint search)
    out["m_on_bound_path"], out["m_on_bound_path_range"] = None, [None, None]
    if path and not out["partial"]:
        memo = {}

        def at(sc_):
            budget.check()
            if sc_ not in memo:
                memo[sc_] = run_trials(problem, algorithm, key, trials, eps, delta, conf=conf, progress=False, rho=rho,
                                       **bpath.sizes(sc_))
            return memo[sc_]

        try:
            sc = empirical_sample_complexity(at, rho, 1.0, bisect_steps=bisect_steps,
                                             max_doublings=opts.get("max_doublings", 30), s_min=bpath.floor)
            out["m_on_bound_path"], out["m_on_bound_path_range"] = sc.m, list(sc.m_range)
        except BudgetExceeded:
            out["partial"] = True
    out["elapsed_s"] = budget.elapsed
    return out

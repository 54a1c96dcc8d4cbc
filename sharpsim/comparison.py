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
import time

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
from .sweep import InlineExecutor, Task, run_tasks

__all__ = ["theory_vs_simulation", "verify_part", "VERIFY_PARTS", "DEFAULT_BUDGET_S"]

DEFAULT_BUDGET_S = 180.0
"""Default wall-clock budget of one comparison (``sharpsim verify --budget-s``)."""


VERIFY_PARTS = ("at_bound", "joint", "path")
"""The three independent tasks of one comparison (module docstring: 1, 2, 3)."""


def _setup(problem, algorithm, eps, delta, rho, opts):
    spec = get_algorithm(algorithm)
    presc = spec.prescription(problem, eps, delta, rho, **{k: v for k, v in opts.items() if k == "constant"})
    return presc, spec.path(presc, opts), spec.joint(problem, presc, eps, delta, opts)


def verify_part(part: str, problem, algorithm: str, eps: float, delta: float, rho: float, key, trials: int,
                conf: float, bisect_steps: int, max_trials: int, deadline: float | None, opts: dict,
                progress=None) -> dict:
    """One task of :func:`theory_vs_simulation` (``part`` in :data:`VERIFY_PARTS`), with the
    comparison's key (the parts share it: common random numbers) and wall-clock ``deadline``
    (``time.time()`` seconds; None: none). Returns a JSON-able dict; ``partial``: the deadline
    passed before it finished."""
    if part not in VERIFY_PARTS:
        raise ValueError(f"part must be one of {', '.join(VERIFY_PARTS)}; got {part!r}")
    presc, bpath, grid = _setup(problem, algorithm, eps, delta, rho, opts)
    budget = Budget(None if deadline is None else max(0.0, deadline - time.time()))
    if part == "at_bound":
        try:
            st = sequential_trials(problem, algorithm, key, eps, delta, rho, batch=trials, max_trials=max_trials,
                                   conf=conf, budget=budget, progress=False, **bpath.sizes(1.0))
        except BudgetExceeded:
            return {"partial": True, "stats": None}
        return {"partial": False, "stats": {"sizes": st.sizes, "m": st.m, "freq": st.freq, "ci": list(st.ci),
                                            "trials": st.trials, "verdict": st.verdict}}
    if part == "joint":
        js = joint_search(problem, algorithm, key, trials, eps, delta, rho, grid, sequential=True,
                          max_trials=max_trials, conf=conf, budget=budget, progress=progress)
        return {"partial": not js.complete, "m": js.m, "sizes": js.sizes, "m_interval": list(js.m_interval),
                "grid": js.grid, "points": js.points}
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
    except BudgetExceeded:
        return {"partial": True, "m": None, "m_range": [None, None]}
    return {"partial": False, "m": sc.m, "m_range": list(sc.m_range)}


def theory_vs_simulation(problem, algorithm: str, eps: float, delta: float, rho: float, key,
                         trials: int = 100, conf: float = 0.95, progress=None, bisect_steps: int = 3,
                         max_trials: int = SEQUENTIAL_MAX_TRIALS, budget_s: float | None = None,
                         path: bool = True, executor=None, cache_dir: str | None = None, **opts) -> dict:
    """The bound's prescription next to simulation (see the module docstring).

    ``trials``: trials per batch of the sequential runs (and per size on the bound's path);
    ``max_trials``: the sequential trial budget per size; ``conf``: the confidence of every
    verdict and interval; ``budget_s``: wall-clock budget (None: unlimited); ``path``: also
    measure m on the bound's path. For XPO, m counts queries + extended queries (D7); for
    order-only bounds the constant is ``opts['constant']`` (default 1).

    The three measurements are independent tasks (:func:`verify_part`, all with ``key``) run
    through ``executor`` (:mod:`sharpsim.sweep`; default in-process, one after the other, in the
    order above; another executor runs them at once and needs a picklable ``problem``, i.e. one
    with a ``recipe``). The result is the same on every executor unless the budget runs out.
    ``cache_dir``: the persistent compilation cache every worker uses (:func:`sharpsim.sweep.run_tasks`;
    None: whatever the worker process has, i.e. none in a fresh Dask or process-pool worker).

    Returns a dict: problem, algorithm, theorem, bound_m, bound_sizes, bound_error, sizes_at_bound,
    m_at_bound, success_at_bound, success_ci_at_bound, trials_at_bound, verdict_at_bound, held,
    order_only, capped, empirical_m, empirical_sizes, empirical_m_interval, search (the grid),
    search_complete, ratio, m_on_bound_path, m_on_bound_path_range, largest_m_simulated,
    success_at_largest_m, partial, elapsed_s, points, target, trials, conf, eps, delta, rho.
    """
    eps, delta, rho = (check_open_unit(v, k) for v, k in ((eps, "eps"), (delta, "delta"), (rho, "rho")))
    presc, bpath, grid = _setup(problem, algorithm, eps, delta, rho, opts)
    t0 = time.monotonic()
    deadline = None if budget_s is None else time.time() + budget_s
    inline = executor is None or isinstance(executor, InlineExecutor)
    parts = {}
    tasks = [Task("verify", (part,), verify_part,
                  (part, problem, algorithm, eps, delta, rho, key, trials, conf, bisect_steps, max_trials, deadline,
                   opts, progress if inline else None))
             for part in VERIFY_PARTS if path or part != "path"]

    def keep(t, res, sec):
        parts[t.tid[0]] = res

    if inline:  # one after the other; the path only when the other two finished within the budget
        run_tasks(tasks[:2], executor, on_result=keep, cache_dir=cache_dir)
        if path and not (parts["at_bound"]["partial"] or parts["joint"]["partial"]):
            run_tasks(tasks[2:], executor, on_result=keep, cache_dir=cache_dir)
    else:
        run_tasks(tasks, executor, on_result=keep, cache_dir=cache_dir)
    target = 1.0 - rho
    bound_m = float(presc.m)
    out = {
        "problem": problem.name, "algorithm": algorithm, "theorem": presc.theorem, "bound_m": bound_m,
        "bound_sizes": {k: v for k, v in (("n", presc.n), ("N", presc.N), ("T", presc.T)) if v is not None},
        "bound_error": presc.error_bound, "order_only": bool(presc.order_only), "capped": bool(bpath.capped),
        "target": target, "trials": trials, "max_trials": max_trials, "conf": conf, "eps": eps, "delta": delta,
        "rho": rho, "partial": parts["at_bound"]["partial"],
    }
    at_bound = parts["at_bound"]["stats"]
    if at_bound is not None:
        verdict = at_bound["verdict"]
        held = None
        if not (presc.order_only or bpath.capped) and verdict != "undecided":
            held = verdict == "above"
        out.update(sizes_at_bound=at_bound["sizes"], m_at_bound=at_bound["m"], success_at_bound=at_bound["freq"],
                   success_ci_at_bound=at_bound["ci"], trials_at_bound=at_bound["trials"], verdict_at_bound=verdict,
                   held=held)
    else:
        out.update(sizes_at_bound=None, m_at_bound=None, success_at_bound=None, success_ci_at_bound=None,
                   trials_at_bound=None, verdict_at_bound=None, held=None)
    # the empirical sample complexity: the minimum of m over the sizes
    joint = parts["joint"]
    out["partial"] = out["partial"] or joint["partial"]
    out.update(empirical_m=joint["m"], empirical_sizes=joint["sizes"], empirical_m_interval=joint["m_interval"],
               search={"inner": grid.inner, "floor": grid.floor, "grid": joint["grid"]},
               search_complete=not joint["partial"], points=joint["points"])
    largest = max(joint["points"], key=lambda p: p["m"], default=None)
    out["largest_m_simulated"] = largest["m"] if largest else None
    out["success_at_largest_m"] = largest["freq"] if largest else None
    out["ratio"] = (bound_m / joint["m"]) if (joint["m"] and not bpath.capped and math.isfinite(bound_m)) else None
    # m on the bound's own path (fixed trials per size, as before the joint search); reported only
    # when the other two finished within the budget
    out["m_on_bound_path"], out["m_on_bound_path_range"] = None, [None, None]
    if path and not out["partial"]:
        out["partial"] = parts["path"]["partial"]
        out["m_on_bound_path"], out["m_on_bound_path_range"] = parts["path"]["m"], parts["path"]["m_range"]
    out["elapsed_s"] = time.monotonic() - t0
    return out

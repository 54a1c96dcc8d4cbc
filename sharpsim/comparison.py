"""Theory next to simulation (SPEC 9, 12): a bound's prescription beside the engine's measurement.

:func:`theory_vs_simulation` reads the algorithm's registry entry
(:data:`sharpsim.algorithms.REGISTRY`): its prescription (the bound), the bound's path of sizes,
and runs :func:`sharpsim.engine.run_trials` along it.
"""

from __future__ import annotations

from functools import partial

from ._validate import check_open_unit
from .algorithms import get as get_algorithm
from .engine import empirical_sample_complexity, run_trials

__all__ = ["theory_vs_simulation"]


def theory_vs_simulation(problem, algorithm: str, eps: float, delta: float, rho: float, key,
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
    spec = get_algorithm(algorithm)
    presc = spec.prescription(problem, eps, delta, rho, **{k: v for k, v in opts.items() if k == "constant"})
    path = spec.path(presc, opts)
    run = partial(run_trials, problem, algorithm, key, trials, eps, delta, conf=conf, progress=progress, rho=rho)
    bound_m = float(presc.N) if algorithm == "bon" else float(presc.m)
    memo = {}

    def at_memo(sc_):
        if sc_ not in memo:
            memo[sc_] = run(**path.sizes(sc_))
        return memo[sc_]

    st0 = at_memo(1.0)
    target = 1.0 - rho
    capped = path.capped
    held = None if (presc.order_only or capped) else bool(st0.ci[1] >= target)
    sc = empirical_sample_complexity(at_memo, rho, 1.0, bisect_steps=bisect_steps,
                                     max_doublings=opts.get("max_doublings", 30), s_min=path.floor)
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

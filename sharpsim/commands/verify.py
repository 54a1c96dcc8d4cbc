"""``sharpsim verify``: a bound of the theory next to simulation (SPEC 9, 12).

Prints the bound's prescribed m, the empirical m (smallest m at which the success
frequency over --trials independent trials reaches 1 - rho) with its interval, their ratio
and whether the bound held at its prescribed sizes (success >= 1 - rho within the
Clopper-Pearson interval; "n/a" for order-only bounds). See :func:`sharpsim.sim.theory_vs_simulation`.

Instances: ``hard`` (the lower-bound family, SPEC 4.4: --d, --M, --Delta; default
Delta = 16 eps; classes: {bon_law(pi^I, N)} etc., log|Pi| = d log M), ``random``
(Dirichlet table, --X, --Y, --alpha, finite class of --K members containing the target:
bon_law for sft, the exact adaptive-BoN law for adaptive, tilted for dpo), ``j1``
(Example J.1, --d, --size; linear softmax class, for xpo / dpo).

Supported algorithm x instance combinations (:data:`SUPPORTED`; anything else exits 2 with
one line naming what is supported):

    hard:   bon, sft, adaptive, dpo      (xpo needs a linear-softmax class: use j1)
    random: bon, sft, adaptive, dpo      (idem)
    j1:     bon, dpo, xpo                (sft / adaptive: F9 / Theorem D.1 need a finite class)

Theorems 4.2 (DPO) and J.3 (XPO) are order-only, so ``held`` is null for them; their
prescribed sizes are usually astronomically large, so the simulation is capped at
--n-max prompts (dpo, default 4096) and --T-max rounds (xpo, default 64), reported as
``capped`` with the success frequency at the capped size. A bound whose T exceeds 1e300
has bound_m = inf, printed as null in --json.
"""

from __future__ import annotations

import json
import math

from ..algorithms import ALGORITHMS, REGISTRY

INSTANCES = ("hard", "random", "j1")
SUPPORTED = {inst: tuple(a for a in ALGORITHMS if inst in REGISTRY[a].supports) for inst in INSTANCES}
"""instance -> the algorithms ``sharpsim verify`` runs on it (from each algorithm's registry entry)."""


def check_supported(instance: str, algorithm: str) -> None:
    """ValueError (one line, naming what is supported) unless the combination is in SUPPORTED."""
    if algorithm not in SUPPORTED[instance]:
        where = [i for i in INSTANCES if algorithm in SUPPORTED[i]]
        raise ValueError(
            f"--algorithm {algorithm} is not supported on --instance {instance} "
            f"(it runs on --instance {'/'.join(where)}; --instance {instance} supports "
            f"{', '.join(SUPPORTED[instance])})")


def register(sub) -> None:
    p = sub.add_parser("verify", help="a bound's prescribed m next to the simulated sample complexity")
    p.add_argument("--instance", choices=INSTANCES, required=True)
    p.add_argument("--algorithm", choices=ALGORITHMS, required=True,
                   help="; ".join(f"{a}: {REGISTRY[a].summary} (instances: {'/'.join(REGISTRY[a].supports)})"
                                  for a in ALGORITHMS))
    p.add_argument("--eps", type=float, required=True)
    p.add_argument("--delta", type=float, required=True)
    p.add_argument("--rho", type=float, required=True)
    p.add_argument("--trials", type=int, default=100, help="independent trials per size (default 100)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--d", type=int, default=2, help="hard: coordinates; j1: dimension")
    p.add_argument("--M", type=int, default=16, help="hard: responses per coordinate")
    p.add_argument("--Delta", type=float, default=None, help="hard: mass of x_1..x_d (default 16 eps)")
    p.add_argument("--X", type=int, default=4, help="random: prompts")
    p.add_argument("--Y", type=int, default=20, help="random: responses")
    p.add_argument("--K", type=int, default=16, help="random: size of the finite class")
    p.add_argument("--alpha", type=float, default=0.5, help="random: Dirichlet concentration")
    p.add_argument("--size", type=int, default=None, help="j1: |Y| (default min(2^d, 256))")
    p.add_argument("--constant", type=float, default=1.0, help="constant for order-only bounds")
    p.add_argument("--n-max", type=int, default=4096, help="dpo: cap on the prompts simulated (default 4096)")
    p.add_argument("--T-max", type=int, default=64, help="xpo: cap on the rounds simulated (default 64)")
    p.add_argument("--progress", action="store_true", help="tqdm progress bars on stderr")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def build(args):
    import jax

    from ..instances.problems import hard_problem, j1_problem, random_problem

    key = jax.random.key(args.seed)
    if args.instance == "hard":
        Delta = args.Delta if args.Delta is not None else 16 * args.eps
        if not 0 < Delta < 1:
            raise ValueError(f"Delta = 16 eps = {Delta:g} is not in (0, 1): pass --Delta")
        return hard_problem(args.d, args.M, Delta, key)
    if args.instance == "random":
        return random_problem(key, args.X, args.Y, args.K, args.alpha)
    return j1_problem(key, args.d, args.size, delta=args.delta)


def run(args) -> int:
    import jax

    from .._validate import check_int, check_open_unit
    from ..comparison import theory_vs_simulation

    check_supported(args.instance, args.algorithm)
    for name in ("eps", "delta", "rho"):
        check_open_unit(getattr(args, name), name)
    check_int(args.trials, "trials")
    check_int(args.n_max, "n_max")
    check_int(args.T_max, "T_max", minimum=2)
    problem = build(args)
    res = theory_vs_simulation(problem, args.algorithm, args.eps, args.delta, args.rho,
                               jax.random.key(args.seed + 1), trials=args.trials,
                               progress=True if args.progress else None, constant=args.constant,
                               n_max=args.n_max, T_max=args.T_max)
    if args.json:
        print(json.dumps(_finite_or_null(res), default=_jsonable, allow_nan=False))
        return 0
    lo, hi = res["empirical_m_range"]
    held = "n/a (order-only)" if res["held"] is None else ("yes" if res["held"] else "NO (violated)")
    print(f"sharpsim verify: {res['problem']}, {args.algorithm}, eps={args.eps:g} delta={args.delta:g} "
          f"rho={args.rho:g}, {args.trials} trials per size")
    print(f"  bound ({res['theorem']}{', order-only, constant %g' % args.constant if res['order_only'] else ''}):"
          f" m = {res['bound_m']:.6g}  sizes {res['bound_sizes']}")
    ci = res["success_ci_at_bound"]
    where = "the bound's sizes" if not res["capped"] else f"capped sizes {res['sizes_at_bound']}"
    print(f"  success at {where}: {res['success_at_bound']:.3f}  CI [{ci[0]:.3f}, {ci[1]:.3f}]"
          f"  target >= {res['target']:.3f}  held: {held}")
    emp = res["empirical_m"]
    print(f"  empirical m: {'none reached the target' if emp is None else f'{emp:.6g}'}"
          f"  interval [{'-' if lo is None else f'{lo:.6g}'}, {'-' if hi is None else f'{hi:.6g}'}]")
    if res["search_reached_floor"]:
        print("  (the search reached its smallest size while still succeeding: empirical m is an upper bound)")
    if res["ratio"] is not None:
        print(f"  ratio bound / empirical: {res['ratio']:.4g}")
    return 0


def _finite_or_null(v):
    """Non-finite floats (an XPO bound beyond 1e300: inf) -> None, so the output is strict JSON."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _finite_or_null(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_finite_or_null(x) for x in v]
    return v


def _jsonable(v):
    import numpy as np

    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        f = float(v)
        return None if math.isnan(f) else f
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)

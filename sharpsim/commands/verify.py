"""``sharpsim verify``: a bound of the theory next to simulation (SPEC 9, 12).

Prints the bound's prescribed m, the empirical m (smallest m at which the success
frequency over --trials independent trials reaches 1 - rho) with its interval, their ratio
and whether the bound held at its prescribed sizes (success >= 1 - rho within the
Clopper-Pearson interval; "n/a" for order-only bounds). See :func:`sharpsim.comparison.theory_vs_simulation`.

Instances (the shared vocabulary of :mod:`sharpsim.commands.common`): ``hard`` (the lower-bound
family, SPEC 4.4: --d, --M, --Delta; classes: {bon_law(pi^I, N)} etc., log|Pi| = d log M),
``random`` (Dirichlet table, --X, --Y, --alpha, finite class of --K members containing the
target: bon_law for sft, the exact adaptive-BoN law for adaptive, tilted for dpo), ``j1``
(Example J.1, --d, --Y; linear softmax class, for xpo / dpo).

Supported algorithm x instance combinations (:data:`SUPPORTED`, read from each algorithm's
registry entry in :data:`sharpsim.algorithms.REGISTRY`; anything else exits 2 with one line
naming what is supported):

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

import argparse

from ..algorithms import ALGORITHMS, REGISTRY
from .common import (
    JSON_POLICY,
    add_executor_arguments,
    add_instance_arguments,
    build_problem,
    executor_from_args,
    to_json,
)
from .common import __doc__ as INSTANCE_DOC

INSTANCES = ("hard", "random", "j1")
"""The instances ``verify`` has problems (instance + classes) for."""
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
    p = sub.add_parser("verify", help="a bound's prescribed m next to the simulated sample complexity",
                       epilog=INSTANCE_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_instance_arguments(p, INSTANCES)
    p.add_argument("--algorithm", choices=ALGORITHMS, required=True,
                   help="; ".join(f"{a}: {REGISTRY[a].summary} (instances: {'/'.join(REGISTRY[a].supports)})"
                                  for a in ALGORITHMS))
    p.add_argument("--eps", type=float, required=True, help="target sharpness eps")
    p.add_argument("--delta", type=float, required=True, help="sharpness threshold delta")
    p.add_argument("--rho", type=float, required=True, help="failure probability rho")
    p.add_argument("--trials", type=int, default=100,
                   help="trials per batch of the sequential runs (default 100)")
    p.add_argument("--max-trials", type=int, default=1600,
                   help="trial budget per size: batches run until the success frequency is decided (default 1600)")
    p.add_argument("--budget-s", type=float, default=180.0,
                   help="wall-clock budget in seconds; a partial, marked result when it runs out (0: none; default 180)")
    p.add_argument("--K", type=int, default=16, help="random: size of the finite class (default 16)")
    p.add_argument("--constant", type=float, default=1.0, help="constant for order-only bounds (default 1)")
    p.add_argument("--n-max", type=int, default=4096, help="dpo: cap on the prompts simulated (default 4096)")
    p.add_argument("--T-max", type=int, default=64, help="xpo: cap on the rounds simulated (default 64)")
    p.add_argument("--progress", action="store_true", default=None,
                   help="progress bars on stderr (default: on when stderr is a terminal)")
    p.add_argument("--json", action="store_true", help=JSON_POLICY)
    add_executor_arguments(p)
    p.set_defaults(func=run)


def build(args):
    """The verify problem (:func:`sharpsim.commands.common.build_problem`)."""
    return build_problem(args, args.K)


def _m(v) -> str:
    return "-" if v is None else f"{v:.6g}"


def run(args) -> int:
    import jax

    from .._validate import check_int, check_open_unit, check_positive
    from ..comparison import theory_vs_simulation
    from ..sweep import compilation_cache_from_env

    check_supported(args.instance, args.algorithm)
    for name in ("eps", "delta", "rho"):
        check_open_unit(getattr(args, name), f"--{name}")
    check_int(args.trials, "--trials")
    check_int(args.max_trials, "--max-trials")
    check_int(args.n_max, "--n-max")
    check_int(args.T_max, "--T-max", minimum=2)
    budget = None if args.budget_s == 0 else check_positive(args.budget_s, "--budget-s")
    problem = build(args)
    cache = compilation_cache_from_env()  # here and in every worker, as in `sharpsim reproduce`
    executor = executor_from_args(args)
    try:
        res = theory_vs_simulation(problem, args.algorithm, args.eps, args.delta, args.rho,
                                   jax.random.key(args.seed + 1), trials=args.trials, max_trials=args.max_trials,
                                   progress=args.progress, constant=args.constant,
                                   n_max=args.n_max, T_max=args.T_max, budget_s=budget, executor=executor,
                                   cache_dir=cache)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    if args.json:
        print(to_json(res))
        return 0
    print(f"sharpsim verify: {res['problem']}, {args.algorithm}, eps={args.eps:g} delta={args.delta:g} "
          f"rho={args.rho:g}; sequential trials, batches of {args.trials} up to {args.max_trials} per size, "
          f"verdicts at {100 * res['conf']:g}% confidence")
    if res["partial"]:
        print(f"  PARTIAL RESULT: the budget of {args.budget_s:g} s ran out (--budget-s); what finished is below")
    order = f", order-only, constant {args.constant:g}" if res["order_only"] else ""
    print(f"  bound ({res['theorem']}{order}): m = {_m(res['bound_m'])}  sizes {res['bound_sizes']}")
    if res["success_at_bound"] is not None:
        ci = res["success_ci_at_bound"]
        where = "the bound's sizes" if not res["capped"] else f"the capped sizes {res['sizes_at_bound']}"
        verdict = {"above": "above the target", "below": "BELOW the target", "undecided": "undecided"}[
            res["verdict_at_bound"]]
        held = ("n/a (order-only)" if res["order_only"] else "n/a (capped)" if res["capped"] else
                "undecided" if res["held"] is None else "yes" if res["held"] else "NO (violated)")
        print(f"  success at {where}: {res['success_at_bound']:.3f}  CI [{ci[0]:.3f}, {ci[1]:.3f}]  "
              f"({res['trials_at_bound']} trials, {verdict} >= {res['target']:.3f})  held: {held}")
    emp, (lo, hi) = res["empirical_m"], res["empirical_m_interval"]
    if emp is None:
        print(f"  empirical m: no size searched reached the target (largest m simulated {_m(res['largest_m_simulated'])})")
    else:
        print(f"  empirical m (min of m over {res['search']['inner']} and the grid): {emp:.6g} at {res['empirical_sizes']}"
              f"  interval [{_m(lo)}, {_m(hi)}] (largest m decided below the target, smallest decided above;"
              f" '-': none)")
    if res["capped"]:
        succ = res["success_at_largest_m"]
        print(f"  capped: the bound's m = {_m(res['bound_m'])} is beyond the simulated sizes; largest m simulated "
              f"{_m(res['largest_m_simulated'])}, success there {'-' if succ is None else f'{succ:.3f}'}; no ratio")
    elif res["ratio"] is not None:
        print(f"  ratio bound / empirical: {res['ratio']:.4g}")
    if res["m_on_bound_path"] is not None:
        print(f"  m on the bound's own path s (n0, N0): {_m(res['m_on_bound_path'])}")
    return 0

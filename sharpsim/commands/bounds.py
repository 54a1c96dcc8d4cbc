"""``sharpsim bounds``: every bound of the paper for a built-in instance (SPEC 3-6).

Example: ``sharpsim bounds --instance hard --d 4 --M 64 --eps 0.05 --delta 0.25``.
"""

from __future__ import annotations

import json
import math

import jax

INSTANCES = ("hard", "random", "powerlaw", "j1", "e2")


def register(sub) -> None:
    p = sub.add_parser("bounds", help="every bound's (n, N, m) or T for a built-in instance, order-only ones marked")
    p.add_argument("--instance", choices=INSTANCES, default="hard")
    p.add_argument("--eps", type=float, default=0.05)
    p.add_argument("--delta", type=float, default=0.25)
    p.add_argument("--rho", type=float, default=0.1)
    p.add_argument("--beta", type=float, default=None, help="RLHF beta (default: F14 sufficient beta)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--d", type=int, default=4, help="hard: coordinates; j1: dimension")
    p.add_argument("--M", type=int, default=64, help="hard: responses y_1..y_M")
    p.add_argument("--Delta", type=float, default=None, help="hard: mass of x_1..x_d (default 16 eps)")
    p.add_argument("--X", type=int, default=8, help="random/powerlaw: prompts")
    p.add_argument("--Y", type=int, default=None, help="random/powerlaw: responses (default 50); j1: |Y| (default min(2^d, 256))")
    p.add_argument("--C", type=float, default=10.0, help="powerlaw: target C_cov")
    p.add_argument("--alpha", type=float, default=1.0, help="random: Dirichlet concentration")
    p.add_argument("--n-vocab", type=int, default=100, help="e2: vocabulary size n")
    p.add_argument("--log-class-size", type=float, default=None,
                   help="ln|Pi| of the class for non-hard instances (default ln 1000)")
    p.add_argument("--sec", type=float, default=None, help="SEC of the class (enables Thm 4.3 XPO)")
    p.add_argument("--constant", type=float, default=1.0, help="constant of the order-only results")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def build(args):
    from sharpsim.generators import dirichlet_table, power_law_table
    from sharpsim.instances import example_j1, hard_instance, prop_e2

    key = jax.random.key(args.seed)
    if args.instance == "hard":
        Delta = args.Delta
        if Delta is None:
            Delta = 16 * args.eps
            if not 0 < Delta < 1:
                raise ValueError(f"Delta = 16 eps = {Delta:g} is not in (0, 1): pass --Delta or eps < 1/16")
        return hard_instance(args.d, args.M, Delta)
    Y = 50 if args.Y is None else args.Y
    if args.instance == "random":
        return dirichlet_table(key, args.X, Y, args.alpha)
    if args.instance == "powerlaw":
        return power_law_table(key, args.X, Y, args.C)
    if args.instance == "j1":
        return example_j1(key, args.d, size=args.Y)
    return prop_e2(args.n_vocab)


def _jsonable(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj


def run(args) -> int:
    from sharpsim.report import bounds_report, format_bounds_report

    inst = build(args)
    rep = bounds_report(
        inst,
        args.eps,
        args.delta,
        args.rho,
        beta=args.beta,
        log_class_size=args.log_class_size,
        SEC=args.sec,
        constant=args.constant,
    )
    if args.json:
        print(json.dumps(_jsonable(rep), indent=2, allow_nan=False))
    else:
        print(format_bounds_report(rep))
    return 0

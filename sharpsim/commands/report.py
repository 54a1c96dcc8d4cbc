"""``sharpsim report``: the coverage quantities of a built-in instance, computed exactly."""

from __future__ import annotations

import json

import jax
import numpy as np

INSTANCES = ("power-law", "dirichlet", "autoregressive")


def register(sub) -> None:
    p = sub.add_parser("report", help="coverage, margin and best-of-N quantities of a built-in instance")
    p.add_argument("--instance", choices=INSTANCES, default="autoregressive")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--X", type=int, default=4, help="number of prompts")
    p.add_argument("--Y", type=int, default=50, help="responses (tabular instances)")
    p.add_argument("--V", type=int, default=3, help="vocabulary (autoregressive)")
    p.add_argument("--H", type=int, default=6, help="horizon (autoregressive)")
    p.add_argument("--C", type=float, default=10.0, help="target C_cov (power-law)")
    p.add_argument("--alpha", type=float, default=0.5, help="Dirichlet concentration")
    p.add_argument("--delta", type=float, default=0.25)
    p.add_argument("--beta", type=float, default=0.1)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def check_size(args) -> None:
    """Refuse at once (no allocation) an instance whose exact table exceeds sharpsim.MAX_ENUMERATION.

    The report enumerates the whole [X, Y] table (Y = V^H for the autoregressive instance, whose
    full-history conditionals hold about X V^H entries more), so the size is computed first in
    Python ints and a too-large request fails with its size, the limit and the options to change.
    """
    import sharpsim as s

    for name in ("X", "Y", "V", "H"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    limit = s.MAX_ENUMERATION
    if args.instance == "autoregressive":
        size = args.X * args.V**args.H if args.H * max(args.V, 2).bit_length() <= 4096 else float("inf")
        what = f"X * V^H = {args.X} * {args.V}^{args.H}"
        way_out = "use a smaller --H (or --V, --X)"
    else:
        size = args.X * args.Y
        what = f"X * Y = {args.X} * {args.Y}"
        way_out = "use a smaller --Y or --X"
    if size > limit:
        shown = f"{size:,}" if isinstance(size, int) else "more than 2^4096"
        raise ValueError(
            f"the {args.instance} instance has {what} = {shown} table entries, above the enumeration limit "
            f"sharpsim.MAX_ENUMERATION = {limit:,}; {way_out}"
        )


def build(args):
    import sharpsim as s

    check_size(args)
    key = jax.random.key(args.seed)
    if args.instance == "power-law":
        return s.power_law_table(key, args.X, args.Y, args.C)
    if args.instance == "dirichlet":
        return s.dirichlet_table(key, args.X, args.Y, args.alpha)
    return s.random_autoregressive(key, args.X, args.V, args.H, alpha=args.alpha)


def quantities(model, delta: float, beta: float) -> dict:
    import sharpsim as s

    table = model.log_table()
    out = {
        "instance": repr(model),
        "X": int(table.shape[0]),
        "Y": int(table.shape[1]),
        "C_cov": s.coverage(model),
        "C_cov_gamma_0.5": s.coverage(model, gamma=0.5),
        "C_bar_cov": s.adaptive_coverage(model),
        "gamma_margin": s.margin(model),
        "max_argmax_set_size": int(s.argmax_set(model).sum(axis=1).max()),
    }
    for N in (1, 10, 100):
        law = s.bon_law(model, N)
        out[f"BoN_{N}_argmax_mass_mean"] = float(np.dot(model.mu, s.argmax_mass(law, model)))
        out[f"BoN_{N}_sharpness_error_delta"] = s.sharpness_error(law, model, delta)
    tilt = s.tilted(model, beta)
    out["beta"] = beta
    out["tilted_argmax_mass_min"] = float(s.argmax_mass(tilt, model).min())
    out["C_pi*_beta"] = s.concentrability(tilt, model)
    out["delta"] = delta
    return out


def run(args) -> int:
    model = build(args)
    q = quantities(model, args.delta, args.beta)
    if args.json:
        print(json.dumps(q, indent=2))
        return 0
    print(f"sharpsim report: {q['instance']}  (exact, float64)")
    width = max(len(k) for k in q)
    for k, v in q.items():
        if k == "instance":
            continue
        print(f"  {k:<{width}}  {v:.6g}" if isinstance(v, float) else f"  {k:<{width}}  {v}")
    return 0

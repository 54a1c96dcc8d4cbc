"""``sharpsim report``: the coverage quantities of a built-in instance, computed exactly."""

from __future__ import annotations

import argparse

import numpy as np

from .common import INSTANCES, JSON_POLICY, TABLE_Y, add_instance_arguments, build_model, to_json
from .common import __doc__ as INSTANCE_DOC


def register(sub) -> None:
    p = sub.add_parser("report", help="coverage, margin and best-of-N quantities of a built-in instance",
                       epilog=INSTANCE_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_instance_arguments(p, INSTANCES, default="autoregressive")
    p.add_argument("--delta", type=float, default=0.25, help="delta of the sharpness error (default 0.25)")
    p.add_argument("--beta", type=float, default=0.1, help="beta of the tilted optimum (default 0.1)")
    p.add_argument("--eps", type=float, default=0.05, help="hard: sets the default --Delta = 16 eps")
    p.add_argument("--json", action="store_true", help=JSON_POLICY)
    p.set_defaults(func=run)


def check_size(args) -> None:
    """Refuse at once (no allocation) an instance whose exact table exceeds sharpsim.MAX_ENUMERATION.

    The report enumerates the whole [X, Y] table (Y = V^H for the autoregressive instance, whose
    full-history conditionals hold about X V^H entries more), so the size is computed first in
    Python ints and a too-large request fails with its size, the limit and the options to change.
    """
    import sharpsim as s

    Y = TABLE_Y if args.Y is None else args.Y
    for name, v in (("X", args.X), ("Y", Y), ("V", args.V), ("H", args.H)):
        if v < 1:
            raise ValueError(f"--{name} must be >= 1, got {v}")
    limit = s.MAX_ENUMERATION
    if args.instance not in ("autoregressive", "random", "powerlaw"):
        return
    if args.instance == "autoregressive":
        size = args.X * args.V**args.H if args.H * max(args.V, 2).bit_length() <= 4096 else float("inf")
        what = f"X * V^H = {args.X} * {args.V}^{args.H}"
        way_out = "use a smaller --H (or --V, --X)"
    else:
        size = args.X * Y
        what = f"X * Y = {args.X} * {Y}"
        way_out = "use a smaller --Y or --X"
    if size > limit:
        shown = f"{size:,}" if isinstance(size, int) else "more than 2^4096"
        raise ValueError(
            f"the {args.instance} instance has {what} = {shown} table entries, above the enumeration limit "
            f"sharpsim.MAX_ENUMERATION = {limit:,}; {way_out}"
        )


def build(args):
    """The exact model ``--instance`` names (:func:`sharpsim.commands.common.build_model`), after
    :func:`check_size` refused a table too large to enumerate."""
    check_size(args)
    return build_model(args)


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
        print(to_json(q))
        return 0
    print(f"sharpsim report: {q['instance']}  (exact, float64)")
    width = max(len(k) for k in q)
    for k, v in q.items():
        if k == "instance":
            continue
        print(f"  {k:<{width}}  {v:.6g}" if isinstance(v, float) else f"  {k:<{width}}  {v}")
    return 0

"""``sharpsim bounds``: every bound of the paper for a built-in instance (SPEC 3-6).

Example: ``sharpsim bounds --instance hard --d 4 --M 64 --eps 0.05 --delta 0.25``.
"""

from __future__ import annotations

import argparse

from .common import INSTANCES, JSON_POLICY, add_instance_arguments, build_instance, to_json
from .common import __doc__ as INSTANCE_DOC

BOUNDS_INSTANCES = tuple(i for i in INSTANCES if i != "autoregressive")


def register(sub) -> None:
    p = sub.add_parser("bounds", help="every bound's (n, N, m) or T for a built-in instance, order-only ones marked",
                       epilog=INSTANCE_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_instance_arguments(p, BOUNDS_INSTANCES, default="hard")
    p.add_argument("--eps", type=float, default=0.05, help="target sharpness eps (default 0.05)")
    p.add_argument("--delta", type=float, default=0.25, help="sharpness threshold delta (default 0.25)")
    p.add_argument("--rho", type=float, default=0.1, help="failure probability rho (default 0.1)")
    p.add_argument("--beta", type=float, default=None, help="RLHF beta (default: F14 sufficient beta)")
    p.add_argument("--log-class-size", type=float, default=None,
                   help="ln|Pi| of the class for non-hard instances (default ln 1000)")
    p.add_argument("--sec", type=float, default=None, help="SEC of the class (enables Thm 4.3 XPO)")
    p.add_argument("--constant", type=float, default=1.0, help="constant of the order-only results (default 1)")
    p.add_argument("--json", action="store_true", help=JSON_POLICY)
    p.set_defaults(func=run)


def build(args):
    """The instance ``--instance`` names (:func:`sharpsim.commands.common.build_instance`)."""
    from .._validate import check_open_unit

    check_open_unit(args.eps, "--eps")
    return build_instance(args)


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
        print(to_json(rep))
    else:
        print(format_bounds_report(rep))
    return 0

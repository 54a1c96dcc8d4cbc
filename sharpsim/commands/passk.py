"""``sharpsim passk``: exact pass@k of a base model and its sharpenings on a built-in task."""

from __future__ import annotations

import math

import jax
import numpy as np

from ..instances.toy import tabular_task

from .common import JSON_POLICY, to_json

INSTANCES = ("tabular", "autoregressive", "beta")

EPILOG = """\
Every number is exact (float64): pass@k = mu-average of 1 - (1 - pi(correct|x))^k; k* is the
smallest integer k at which the base's dataset pass@k reaches the sharpened model's
(sharpsim.passk_crossover), "inf" when it never does; pass@inf = mass of prompts with
pi(correct|x) > 0. The SFT-learned model is one run of SFT-Sharpening through the counting oracle
(tabular MLE) with the given --seed.

--json prints one strict JSON object (RFC 8259): infinite values (no crossover) are written as
null. Keys: instance, X, Y, k, models = [{name, pass_at_k [len(k)], pass_at_infinity,
crossover_k, crossover_root}] (crossover fields are null for the base and when there is none).
"""


def _int_list(text: str, name: str) -> list[int]:
    try:
        vals = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{name} must be a comma-separated list of integers, got {text!r}") from None
    if not vals or min(vals) < 1:
        raise ValueError(f"--{name} must hold integers >= 1, got {text!r}")
    return vals


def _float_list(text: str, name: str) -> list[float]:
    try:
        vals = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--{name} must be a comma-separated list of numbers, got {text!r}") from None
    if any(not (v > 0 and math.isfinite(v)) for v in vals):
        raise ValueError(f"--{name} must hold finite numbers > 0, got {text!r}")
    return vals


def register(sub) -> None:
    import argparse

    p = sub.add_parser(
        "passk",
        help="exact pass@k of a base model vs best-of-N, pi*_beta, argmax and SFT-learned; crossover k*",
        description="Exact pass@k of a base model and its sharpenings on a task with a verifier (issue 13).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--instance", choices=INSTANCES, default="tabular",
                   help="tabular: Dirichlet rows, the correct response is the mode except on a fraction of "
                        "prompts (--wrong-mode-rate) where it is the --rank-th; autoregressive: a perturbed toy "
                        "trap task (answer = last token); beta: Beta(a, b) difficulty at M Gauss-Jacobi prompts")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--X", type=int, default=64, help="prompts (tabular, autoregressive)")
    p.add_argument("--Y", type=int, default=256, help="responses (tabular)")
    p.add_argument("--alpha", type=float, default=0.05, help="Dirichlet concentration (tabular)")
    p.add_argument("--wrong-mode-rate", type=float, default=0.3, help="fraction of prompts whose mode is wrong (tabular)")
    p.add_argument("--rank", type=int, default=3, help="rank of the correct response on wrong-mode prompts (tabular)")
    p.add_argument("--V", type=int, default=4, help="vocabulary (autoregressive)")
    p.add_argument("--H", type=int, default=4, help="horizon (autoregressive)")
    p.add_argument("--sigma", type=float, default=1.0, help="model noise of the perturbed task (autoregressive)")
    p.add_argument("--tau", type=float, default=0.7, help="model temperature (autoregressive)")
    p.add_argument("--a", type=float, default=0.3, help="Beta(a, b) difficulty (beta)")
    p.add_argument("--b", type=float, default=1.5, help="Beta(a, b) difficulty (beta)")
    p.add_argument("--M", type=int, default=64, help="Gauss-Jacobi prompts (beta; exact for k <= 2M - 1)")
    p.add_argument("--N", default="4,16", help="best-of-N sizes, comma-separated (default 4,16)")
    p.add_argument("--beta", default="1", help="KL weights of pi*_beta, comma-separated (default 1)")
    p.add_argument("--no-argmax", action="store_true", help="leave out the argmax (beta -> 0)")
    p.add_argument("--sft", default="256,16",
                   help="SFT-learned model: 'n,N' (n prompts x best-of-N; default 256,16), or 'none'")
    p.add_argument("--k", default=",".join(str(2**j) for j in range(11)),
                   help="k grid, comma-separated integers >= 1 (default 1,2,4,...,1024)")
    p.add_argument("--json", action="store_true", help=JSON_POLICY)
    p.set_defaults(func=run)


def build(args):
    """(model, correct bool [X, Y], description)."""
    import sharpsim as s
    from sharpsim.instances.toy import answer_correct, perturb, toy_task

    key = jax.random.key(args.seed)
    if args.instance == "tabular":
        base, corr, _ = tabular_task(key, args.X, args.Y, args.wrong_mode_rate, args.alpha, args.rank)
        return base, corr, f"tabular task X={args.X} Y={args.Y} alpha={args.alpha:g} wrong-mode rate={args.wrong_mode_rate:g}"
    if args.instance == "autoregressive":
        conds, chains, _ = toy_task(key, args.X, args.V, args.H, 0.5, 0.2, 0.5, 0.9, 0.3)
        model = perturb(conds, jax.random.fold_in(key, 1), args.sigma, args.tau)
        return model, answer_correct(chains, args.V), f"{model!r}, toy trap task (answer = last token)"
    model, corr = s.beta_difficulty_task(args.a, args.b, args.M)
    return model, corr, f"Beta({args.a:g}, {args.b:g}) difficulty, {args.M} Gauss-Jacobi prompts"


def compute(args) -> dict:
    import sharpsim as s

    ks = _int_list(args.k, "k")
    Ns = _int_list(args.N, "N") if str(args.N).strip().lower() != "none" else []
    betas = _float_list(args.beta, "beta") if str(args.beta).strip().lower() != "none" else []
    sft = None
    if str(args.sft).strip().lower() != "none":
        sft = _int_list(args.sft, "sft")
        if len(sft) != 2:
            raise ValueError(f"--sft must be 'n,N' or 'none', got {args.sft!r}")
    model, corr, desc = build(args)
    table = np.asarray(model.log_table())
    karr = np.array(ks, dtype=np.float64)
    mods = [("base", model)]
    mods += [(f"BoN_{N}", s.bon_law(model, N)) for N in Ns]
    mods += [(f"pi*_beta (beta={b:g})", s.tilted(model, b)) for b in betas]
    if not args.no_argmax:
        mods.append(("argmax", s.argmax_policy(model)))
    if sft is not None:
        res = s.sft_learned(model, sft[0], sft[1], jax.random.fold_in(jax.random.key(args.seed), 7))
        mods.append((f"SFT-learned (n={sft[0]}, N={sft[1]})", res.policy))
    out = dict(instance=desc, X=int(table.shape[0]), Y=int(table.shape[1]), k=ks, models=[])
    mu = np.asarray(model.mu)
    for name, pol in mods:
        r = s.pass_at_k(pol, corr, karr, mu=mu)
        entry = dict(name=name, pass_at_k=[float(v) for v in r.dataset],
                     pass_at_infinity=float(s.pass_at_k(pol, corr, np.inf, mu=mu).dataset),
                     crossover_k=None, crossover_root=None)
        if name != "base":
            kc = s.passk_crossover(model, pol, corr, mu=mu)
            entry["crossover_k"] = int(kc) if math.isfinite(kc) else kc
            entry["crossover_root"] = s.passk_crossover(model, pol, corr, mu=mu, root=True) if math.isfinite(kc) else kc
        out["models"].append(entry)
    return out


def run(args) -> int:
    out = compute(args)
    if args.json:
        print(to_json(out))
        return 0
    print(f"sharpsim passk: {out['instance']}  (X={out['X']}, Y={out['Y']}; exact, float64)")
    heads = [f"pass@{k}" for k in out["k"]] + ["pass@inf", "k*", "root"]
    width = max(len(m["name"]) for m in out["models"])
    print(f"  {'model':<{width}}  " + "  ".join(f"{h:>9}" for h in heads))
    for m in out["models"]:
        cells = [f"{v:9.4f}" for v in m["pass_at_k"]] + [f"{m['pass_at_infinity']:9.4f}"]
        kc, rt = m["crossover_k"], m["crossover_root"]
        cells.append(f"{'-':>9}" if kc is None else f"{kc:9.0f}" if math.isfinite(kc) else f"{'inf':>9}")
        cells.append(f"{'-':>9}" if rt is None else f"{rt:9.3f}" if math.isfinite(rt) else f"{'inf':>9}")
        print(f"  {m['name']:<{width}}  " + "  ".join(cells))
    print("  k*: smallest k with pass_base@k >= pass_sharp@k (exact); root: real solution of the crossover equation")
    return 0

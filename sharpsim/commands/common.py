"""What ``report``, ``bounds``, ``verify`` and ``reproduce`` share: one instance vocabulary, one
builder, one JSON policy, one set of executor flags (``--executor``, ``--workers``, ``--scheduler``,
``--retries``; :mod:`sharpsim.sweep`).

Instances (``--instance``), with the same names and defaults in every command:

    hard            the lower-bound family (SPEC 4.4): --d 2, --M 16, --Delta (default 16 eps)
    random          a Dirichlet(--alpha 0.5) table: --X 4 prompts, --Y 50 responses
    powerlaw        power-law rows with C_cov = --C 10 exactly: --X, --Y
    autoregressive  a random autoregressive model: --X, --V 3 tokens, --H 6 steps, Dirichlet(--alpha)
    j1              Example J.1 (SPEC 6.5): --d, --Y |Y| (default min(2^d, 256))
    e2              Proposition E.2 (SPEC 7): --n-vocab 100

The old spellings ``dirichlet`` and ``power-law`` (of ``report``) are accepted for ``random`` and
``powerlaw``. JSON policy (``--json``): one strict JSON object; numpy scalars and arrays become
numbers and lists, and non-finite floats (an XPO bound beyond 1e300: inf; an undefined ratio: NaN)
are written as ``null``.
"""

from __future__ import annotations

import json
import math

from ..sweep import DEFAULT_RETRIES, EXECUTORS, make_executor

INSTANCES = ("hard", "random", "powerlaw", "autoregressive", "j1", "e2")
ALIASES = {"dirichlet": "random", "power-law": "powerlaw"}
JSON_POLICY = "--json prints one strict JSON object: inf and NaN are written as null"
DEFAULTS = {"seed": 0, "d": 2, "M": 16, "X": 4, "Y": None, "V": 3, "H": 6, "C": 10.0, "alpha": 0.5, "n_vocab": 100}
"""The one set of defaults (``--Y`` None: 50 for tables, min(2^d, 256) for j1)."""
TABLE_Y = 50


def instance_name(value: str) -> str:
    """argparse ``type`` for --instance: the canonical name (aliases resolved)."""
    return ALIASES.get(value, value)


def add_instance_arguments(p, instances=INSTANCES, default=None) -> None:
    """--instance and every instance parameter, with the shared names and defaults."""
    kw = {"default": default} if default is not None else {"required": True}
    p.add_argument("--instance", type=instance_name, choices=instances, metavar="{" + ",".join(instances) + "}",
                   help="built-in instance (see the descriptions below)", **kw)
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="seed of the instance's key (default 0)")
    p.add_argument("--d", type=int, default=DEFAULTS["d"], help="hard: coordinates; j1: dimension (default 2)")
    p.add_argument("--M", type=int, default=DEFAULTS["M"], help="hard: responses y_1..y_M per coordinate (default 16)")
    p.add_argument("--Delta", type=float, default=None, metavar="MASS",
                   help="hard: prompt mass Delta of x_1..x_d (default 16 eps)")
    p.add_argument("--X", type=int, default=DEFAULTS["X"], help="random/powerlaw/autoregressive: prompts (default 4)")
    p.add_argument("--Y", "--size", dest="Y", type=int, default=None,
                   help="random/powerlaw: responses (default 50); j1: |Y| (default min(2^d, 256))")
    p.add_argument("--V", type=int, default=DEFAULTS["V"], help="autoregressive: vocabulary (default 3)")
    p.add_argument("--H", type=int, default=DEFAULTS["H"], help="autoregressive: horizon (default 6)")
    p.add_argument("--C", type=float, default=DEFAULTS["C"], help="powerlaw: target C_cov (default 10)")
    p.add_argument("--alpha", type=float, default=DEFAULTS["alpha"],
                   help="random/autoregressive: Dirichlet concentration (default 0.5)")
    p.add_argument("--n-vocab", type=int, default=DEFAULTS["n_vocab"], help="e2: vocabulary size n (default 100)")


def hard_Delta(args) -> float:
    """--Delta, or 16 eps by default; ValueError naming the flag the user typed."""
    if args.Delta is not None:
        if not 0 < args.Delta < 1:
            raise ValueError(f"--Delta must lie in (0, 1), got {args.Delta:g}")
        return args.Delta
    Delta = 16 * args.eps
    if not 0 < Delta < 1:
        raise ValueError(f"--instance hard needs --Delta in (0, 1): its default 16 * --eps = {Delta:g} is not "
                         f"(pass --Delta, or --eps below 1/16)")
    return Delta


def build_instance(args):
    """The instance object ``--instance`` names: a :class:`sharpsim.instances.HardInstance`,
    :class:`sharpsim.instances.J1Instance`, or a model (what ``bounds`` and ``report`` take)."""
    import jax

    from ..generators import dirichlet_table, power_law_table, random_autoregressive
    from ..instances import example_j1, hard_instance, prop_e2

    key = jax.random.key(args.seed)
    Y = TABLE_Y if args.Y is None else args.Y
    if args.instance == "hard":
        return hard_instance(args.d, args.M, hard_Delta(args))
    if args.instance == "random":
        return dirichlet_table(key, args.X, Y, args.alpha)
    if args.instance == "powerlaw":
        return power_law_table(key, args.X, Y, args.C)
    if args.instance == "autoregressive":
        return random_autoregressive(key, args.X, args.V, args.H, alpha=args.alpha)
    if args.instance == "j1":
        return example_j1(key, args.d, size=args.Y)
    return prop_e2(args.n_vocab)


def build_model(args):
    """The exact model of the instance (the hard family: its member I = (1, .., 1); j1: its base)."""
    import numpy as np

    from ..instances import HardInstance, J1Instance

    inst = build_instance(args)
    if isinstance(inst, HardInstance):
        return inst.model(np.ones(inst.d, dtype=np.int64))
    if isinstance(inst, J1Instance):
        return inst.base
    return inst


def build_problem(args, K: int = 16):
    """The :class:`sharpsim.instances.problems.Problem` of ``verify`` (instance + the classes each
    learner is given): hard, random (a finite class of ``K`` members) or j1."""
    import jax

    from ..instances.problems import hard_problem, j1_problem, random_problem

    key = jax.random.key(args.seed)
    if args.instance == "hard":
        return hard_problem(args.d, args.M, hard_Delta(args), key)
    if args.instance == "random":
        return random_problem(key, args.X, TABLE_Y if args.Y is None else args.Y, K, args.alpha)
    if args.instance == "j1":
        return j1_problem(key, args.d, args.Y, delta=args.delta)
    raise ValueError(f"--instance {args.instance} has no problem for verify (use hard, random or j1)")


EXECUTOR_HELP = """where the tasks run (default inline: this process). processes: a pool of --workers local
processes. dask: Dask distributed (pip install "sharpsim[dask]"), either --scheduler tcp://HOST:8786
(a running cluster, e.g. started by dask-jobqueue on SLURM) or --workers K (a LocalCluster of K
processes). Results are the same bits on every executor."""


def add_executor_arguments(p) -> None:
    """--executor, --workers, --scheduler, --retries (shared by reproduce and verify)."""
    p.add_argument("--executor", choices=EXECUTORS, default="inline", help=EXECUTOR_HELP)
    p.add_argument("--workers", type=int, default=None, metavar="K",
                   help="processes: pool size (default 2); dask: start a LocalCluster of K workers")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="dask: address of a running scheduler (e.g. tcp://HOST:8786)")
    p.add_argument("--retries", type=int, default=DEFAULT_RETRIES,
                   help="processes: reruns of a task whose worker died; dask: reruns of a task that raised (the "
                        f"scheduler reruns a task whose worker died by itself) (default {DEFAULT_RETRIES})")


def executor_from_args(args):
    """The executor the flags ask for (ValueError naming the flag for a bad combination)."""
    if args.retries < 0:
        raise ValueError(f"--retries must be >= 0; got {args.retries}")
    if args.workers is not None and args.workers < 1:
        raise ValueError(f"--workers must be >= 1; got {args.workers}")
    if args.scheduler is not None and args.executor != "dask":
        raise ValueError(f"--scheduler needs --executor dask; got --executor {args.executor}")
    if args.scheduler is not None and args.workers is not None:
        raise ValueError("give --scheduler (a running cluster) or --workers (a local one), not both")
    if args.executor == "inline" and args.workers not in (None, 1):
        raise ValueError(f"--workers {args.workers} needs --executor processes or dask")
    try:
        return make_executor(args.executor, workers=args.workers, scheduler=args.scheduler, retries=args.retries)
    except ImportError as exc:
        raise ValueError(f"--executor dask: {exc}") from None
    except OSError as exc:  # includes TimeoutError: no scheduler answered at that address
        raise ValueError(f"--scheduler {args.scheduler}: cannot connect to a Dask scheduler there ({exc})") from None


def to_json(obj) -> str:
    """One strict JSON object (the JSON policy in the module docstring)."""
    return json.dumps(_plain(obj), indent=2, allow_nan=False)


def _plain(v):
    import numpy as np

    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.ndarray):
        return _plain(v.tolist())
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return f if math.isfinite(f) else None
    if v is None or isinstance(v, str):
        return v
    return str(v)

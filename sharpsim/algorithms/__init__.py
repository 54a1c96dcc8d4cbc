"""The paper's algorithms, run through the counting oracle (SPEC 5, 6), and their registry.

Every algorithm is one module here that owns one implementation:

* a pure, jit-able **trial core** (key and the oracle's arrays in, a :class:`Trial` out: the
  learned table, the queries, extended queries and prompts it cost);
* the **oracle-facing learner** (``sft_sharpening(oracle, cls, ...)`` etc.), which runs the core
  through :meth:`sharpsim.oracle.Oracle.run` (the oracle charges the queries);
* the engine's **batch** (the same core, vmapped, followed by the exact error), with any fast
  path beside its literal twin (tested bit for bit in ``tests/test_equivalence.py``);
* its **prescription**: the bound the simulation is compared with.

:data:`REGISTRY` maps each algorithm name to its :class:`AlgorithmSpec`. The engine
(:func:`sharpsim.engine.run_trials`), the theory-vs-simulation comparison
(:mod:`sharpsim.comparison`), ``sharpsim verify`` and its ``--help`` all read it. Adding an
algorithm is one new module plus one entry (docs/ARCHITECTURE.md).

Learners: :func:`inference_bon` (Prop. C.1, SPEC 5.4), :func:`sft_sharpening` (SPEC 5.1,
Theorem 4.1), :func:`adaptive_sft_sharpening` (Eq. 10, SPEC 5.5), :func:`dpo_sharpening`
(Eq. 8, SPEC 6.2), :func:`xpo_sharpening` (Algorithm 1, SPEC 6.4).

Also here, outside the registry (it is a sampler, not a learner with a bound):
:func:`mh_power_sampling`, Metropolis-Hastings power sampling (Karan and Du, arXiv 2510.14901)
through a :class:`PrefixOracle`, with its exact transition matrix (issue 14).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

from ..quantities import argmax_mass, population_N
from .adaptive import (
    adaptive_batch,
    adaptive_core,
    adaptive_prescription,
    adaptive_sft_sharpening,
)
from .bon import bon_batch, bon_core, bon_prescription, inference_bon
from .dpo import dpo_batch, dpo_core, dpo_prescription, dpo_sharpening
from .result import Batch, LearnerResult, Trial
from .sft import sft_batch, sft_core, sft_prescription, sft_sharpening
from .xpo import xpo_batch, xpo_prescription, xpo_sharpening, xpo_trial

__all__ = [
    "LearnerResult",
    "Trial",
    "Batch",
    "AlgorithmSpec",
    "BoundPath",
    "JointGrid",
    "REGISTRY",
    "ALGORITHMS",
    "get",
    "inference_bon",
    "sft_sharpening",
    "adaptive_sft_sharpening",
    "dpo_sharpening",
    "xpo_sharpening",
]


@dataclass(frozen=True)
class BoundPath:
    """The sizes along the bound's own path: ``sizes(s)`` at scale s (s = 1: the prescription,
    possibly capped); ``floor`` the scale below which the path reaches its smallest size
    (1 / base size); ``capped`` when s = 1 is below the prescription (simulation cap)."""

    sizes: Callable[[float], dict]
    floor: float
    capped: bool = False


@dataclass(frozen=True)
class AlgorithmSpec:
    """One algorithm, as every consumer sees it.

    name: registry key (``--algorithm``). summary: one line for ``--help``.
    learner: the oracle-facing learner. core: the pure trial core.
    batch: ``(problem, cls, trials, delta, **sizes_and_options) -> Batch`` (the engine's plan,
      validating the sizes and resolving the problem's class when ``cls`` is None).
    sizes: the size parameters of a run (``run_trials`` keywords); options: other keywords.
    search: the sizes the empirical sample complexity is minimised over.
    prescription: ``(problem, eps, delta, rho, **opts) -> Prescription`` (the bound).
    path: ``(prescription, opts) -> BoundPath`` (the bound's own ray, m_on_bound_path).
    success: "error" (success = err <= eps) or "answer" (success = the answer is in y*(x)).
    supports: the ``verify`` instances it runs on; needs: what the problem must provide.
    """

    name: str
    summary: str
    learner: Callable
    core: Callable
    batch: Callable
    sizes: tuple
    options: tuple
    search: tuple
    prescription: Callable
    path: Callable
    success: str
    supports: tuple
    needs: str
    joint: Callable = None
    """``(problem, prescription, eps, delta, opts) -> JointGrid``: where the empirical sample
    complexity is searched (the minimum of m over these sizes, :func:`sharpsim.engine.min_sample_complexity`)."""


@dataclass(frozen=True)
class JointGrid:
    """The search of the empirical sample complexity: the ``inner`` size searched by doubling and
    bisection from ``floor`` at each point of ``outer`` (dicts of the other sizes, ordered)."""

    inner: str
    outer: list
    floor: int = 1
    center: int | None = None
    """Index of ``outer`` the search starts from (None: the middle)."""
    cap: int = 1 << 20
    """Largest inner size simulated (the simulation cap: DPO's n_max, XPO's T_max)."""


def _geometric(center: float, lo_factor: float, hi_factor: float, step: float = 2.0 ** 0.5) -> list:
    """Distinct integers round(center * step^k) in [center / lo_factor, center * hi_factor], >= 1."""
    out = []
    k_lo = -int(math.ceil(math.log(lo_factor, step)))
    k_hi = int(math.ceil(math.log(hi_factor, step)))
    for k in range(k_lo, k_hi + 1):
        v = max(1, int(round(center * step**k)))
        if v not in out:
            out.append(v)
    return sorted(out)


def _sft_joint(problem, p, eps, delta, opts):
    """n searched at each N of a geometric grid (ratio sqrt 2) from N_pop / 16 to 8 N_pop, N_pop the
    least N whose population SFT error is <= eps (:func:`sharpsim.quantities.population_N`)."""
    p_star = argmax_mass(problem.base, problem.base)
    N_pop = population_N(p_star, problem.mu, delta, eps)
    Ns = _geometric(N_pop, 16.0, 8.0)
    return JointGrid("n", [{"N": N} for N in Ns], center=Ns.index(N_pop))


def _adaptive_joint(problem, p, eps, delta, opts):
    mu = p.params["mu_stop"]
    return JointGrid("n", [{"mu_stop": mu * f} for f in (0.25, 0.5, 1.0, 2.0, 4.0)], center=2)


def _bon_joint(problem, p, eps, delta, opts):
    return JointGrid("N", [{}])


def _dpo_joint(problem, p, eps, delta, opts):
    return JointGrid("n", [{"beta": p.params["beta"]}], cap=max(int(opts.get("n_max", 1 << 12)), 2))


def _xpo_joint(problem, p, eps, delta, opts):
    return JointGrid("T", [{"beta": p.params["beta"], "n_val": opts.get("n_val", 16)}], floor=2,
                     cap=max(int(opts.get("T_max", 64)), 2))


def _ceil(s, v, floor=1):
    return max(floor, math.ceil(s * v))


def _bon_path(p, opts):
    return BoundPath(lambda s: {"N": _ceil(s, p.N)}, 0.5 / p.N)


def _sft_path(p, opts):
    return BoundPath(lambda s: {"n": _ceil(s, p.n), "N": _ceil(s, p.N)}, 0.5 / max(p.n, p.N))


def _adaptive_path(p, opts):
    mu_stop = p.params["mu_stop"]
    return BoundPath(lambda s: {"n": _ceil(s, p.n), "mu_stop": mu_stop}, 0.5 / p.n)


def _dpo_path(p, opts):
    n0, beta = min(p.n, opts.get("n_max", 1 << 12)), p.params["beta"]
    return BoundPath(lambda s: {"n": _ceil(s, n0), "beta": beta}, 0.5 / n0, n0 < p.n)


def _xpo_path(p, opts):
    T0, beta, n_val = min(p.T, opts.get("T_max", 64)), p.params["beta"], opts.get("n_val", 16)
    return BoundPath(lambda s: {"T": _ceil(s, T0, 2), "beta": beta, "n_val": n_val}, 0.5 / (T0 / 2), T0 < p.T)


REGISTRY: dict[str, AlgorithmSpec] = {
    "bon": AlgorithmSpec(
        "bon", "inference-time best-of-N (Prop. C.1): N draws, keep the most likely",
        inference_bon, bon_core, bon_batch, ("N",), ("chunk",), ("N",), bon_prescription, _bon_path,
        "answer", ("hard", "random", "j1"), "a base table", _bon_joint),
    "sft": AlgorithmSpec(
        "sft", "SFT-Sharpening (Theorem 4.1): best-of-N on n prompts, then MLE",
        sft_sharpening, sft_core, sft_batch, ("n", "N"), ("literal", "fast", "counts", "chunk"), ("n", "N"),
        sft_prescription, _sft_path, "error", ("hard", "random"), "a finite class containing bon_law(base, N)",
        _sft_joint),
    "adaptive": AlgorithmSpec(
        "adaptive", "adaptive SFT-Sharpening (Theorem D.1): stopping rule Eq. (10), then MLE",
        adaptive_sft_sharpening, adaptive_core, adaptive_batch, ("n", "mu_stop"), ("max_draws", "chunk"), ("n",),
        adaptive_prescription, _adaptive_path, "error", ("hard", "random"),
        "a finite class containing the adaptive-BoN law", _adaptive_joint),
    "dpo": AlgorithmSpec(
        "dpo", "DPO-style RLHF-Sharpening (Theorem 4.2, order-only): squared loss Eq. (8), N = 2",
        dpo_sharpening, dpo_core, dpo_batch, ("n", "beta"), ("chunk",), ("n",), dpo_prescription, _dpo_path,
        "error", ("hard", "random", "j1"), "a class containing tilted(base, beta)", _dpo_joint),
    "xpo": AlgorithmSpec(
        "xpo", "XPO, online RLHF-Sharpening (Theorem J.3, order-only): Algorithm 1 with exploration",
        xpo_sharpening, xpo_trial, xpo_batch, ("T", "beta"), ("alpha", "n_val", "inner_steps", "chunk"), ("T",),
        xpo_prescription, _xpo_path, "error", ("j1",), "a linear-softmax class (Example J.1)", _xpo_joint),
}
"""name -> :class:`AlgorithmSpec`, in the order ``--help`` lists them."""

ALGORITHMS = tuple(REGISTRY)


def get(name: str) -> AlgorithmSpec:
    """The registry entry of ``name`` (ValueError naming the known algorithms otherwise)."""
    if name not in REGISTRY:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}, got {name!r}")
    return REGISTRY[name]


# Metropolis-Hastings power sampling (issue 14)
from .power_mcmc import (  # noqa: E402
    PowerMCMCResult,
    PrefixOracle,
    mh_power_sampling,
    power_mcmc_laws,
    power_mcmc_transition,
    spectral_gap,
)

__all__ += ["PrefixOracle", "PowerMCMCResult", "mh_power_sampling", "power_mcmc_transition", "power_mcmc_laws",
            "spectral_gap"]

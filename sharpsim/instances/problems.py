"""Problems: an instance of the paper together with the classes each learner is given (SPEC 9).

* :class:`Problem`: the base table, mu, algorithm -> class factory, instance facts; with
  :meth:`Problem.padded`, the one way to pad a problem's response space to a fixed shape.
* Builders: :func:`hard_problem` (the lower-bound family, SPEC 4.4, with realizable product
  classes) and :func:`hard_problem_padded` (the same on a padded response space, spike classes),
  :func:`random_problem` (Dirichlet tables with finite realizable classes), :func:`j1_problem`
  (Example J.1 with the linear softmax class) and :func:`j1_problem_padded`.

The engine (:mod:`sharpsim.engine`) runs learners on a problem; the evaluation reads the table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import numpy as np

from .._validate import check_int, log_table_of, mu_of
from ..bounds import adaptive_stopping_exact
from ..classes import (
    LinearSoftmaxClass,
    ProductClass,
    SpikeProductClass,
    TabularClass,
    realizable_finite_class,
)
from ..generators import dirichlet_table
from ..models import TabularLM
from ..quantities import bon_law, coverage, tilted
from .hard import hard_instance
from .separation import example_j1

__all__ = ["Problem", "hard_problem", "hard_problem_padded", "random_problem", "j1_problem", "j1_problem_padded"]


@dataclass
class Problem:
    """An instance with the classes the experimenter provides to each learner.

    base: [X, Y] table or model (read only by the oracle cores and the exact evaluation).
    mu: [X]. classes: algorithm -> factory returning the class for that run:
      "sft": N -> class (realizable: contains bon_law(base, N), Assumption 4.1),
      "adaptive": mu_stop -> class (contains the adaptive-BoN law, Assumption D.1),
      "dpo": beta -> class (contains tilted(base, beta), Assumption 4.3),
      "xpo": () -> parametric class.
    info: instance facts (C_cov, margin, log|Pi|, ...).
    """

    name: str
    base: object
    mu: np.ndarray
    classes: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    recipe: tuple | None = field(default=None, repr=False, compare=False)
    """(function, args, kwargs) that rebuilds this problem: how it is pickled (its class
    factories are closures), e.g. to run ``sharpsim verify`` on another process or machine."""

    def __post_init__(self):
        self.logp = np.asarray(log_table_of(self.base, "base"))
        self.mu = mu_of(self.mu, self.base, self.logp.shape[0])
        with np.errstate(divide="ignore"):
            self.log_mu = np.log(self.mu)

    @property
    def X(self):
        return self.logp.shape[0]

    @property
    def Y(self):
        return self.logp.shape[1]

    def padded(self, Y_pad: int, classes: dict, name: str | None = None, info: dict | None = None) -> "Problem":
        """The same problem with its response space padded by zero-probability responses to
        ``Y_pad`` columns (log pi_base = -inf there: never drawn, no mass in any class member),
        with ``classes`` built for the padded shape. Padding only fixes array shapes, so that a
        sweep over instances of different |Y| shares one jit compilation per capacity."""
        Y_pad = check_int(Y_pad, "Y_pad")
        if Y_pad < self.Y:
            raise ValueError(f"Y_pad must be >= |Y| = {self.Y}, got {Y_pad}")
        lt = np.full((self.X, Y_pad), -np.inf)
        lt[:, : self.Y] = self.logp
        return Problem(self.name if name is None else name, TabularLM.from_log_probs(lt), self.mu, classes,
                       self.info if info is None else info)

    def __reduce__(self):
        if self.recipe is None:
            raise TypeError(f"problem {self.name!r} cannot be pickled: it has no recipe (build it with hard_problem, "
                            "random_problem or j1_problem, or set Problem.recipe = (function, args, kwargs))")
        return _rebuild, self.recipe

    def class_for(self, algorithm, *args):
        if algorithm not in self.classes:
            raise ValueError(f"problem {self.name!r} provides no class for algorithm {algorithm!r}")
        return self.classes[algorithm](*args)


def _rebuild(fn, args, kwargs):
    return fn(*args, **kwargs)


def hard_problem(d: int, M: int, Delta: float, key=None, index=None, Y_pad: int | None = None) -> Problem:
    """One member pi^I of the lower-bound family (SPEC 4.4) (I ~ Unif([M]^d) from ``key`` unless
    ``index`` is given) with the realizable classes, all of size M^d (log|Pi| = d log M):

    * "sft": N -> {bon_law(pi^I, N) : I in [M]^d}   (realizable, Assumption 4.1),
    * "adaptive": mu_stop -> {adaptive-BoN law of pi^I : I}   (realizable, Assumption D.1),
    * "dpo": beta -> {tilted(pi^I, beta) : I}   (realizable, Assumption 4.3),
    * "misspecified": -> {pi^I : I}   (the family's own class, misspecified for SFT).

    ``Y_pad``: pad the response space with zero-probability responses to ``Y_pad`` columns (one
    jit compilation for every M <= Y_pad - 1): padded responses have pi_base = 0, are never drawn
    and carry no mass in any class member. The learners' random tie-breaks make them equivariant
    under relabelling, so one member is as good as another.
    """
    inst = hard_instance(d, M, Delta)
    Y_pad = inst.Y if Y_pad is None else check_int(Y_pad, "Y_pad")
    if Y_pad < inst.Y:
        raise ValueError(f"Y_pad must be >= M + 1 = {inst.Y}, got {Y_pad}")
    if index is None:
        index = inst.random_index(jax.random.key(0) if key is None else key)
    index = np.asarray(index)
    table = np.zeros((inst.X, Y_pad))  # padded in probability space: log 0 = -inf, as Problem.padded
    table[:, : inst.Y] = inst.table(index)
    sup = np.zeros((inst.X, Y_pad), dtype=bool)
    sup[0, 0] = True
    sup[1:, 1 : inst.Y] = True

    def spike(p_hi, p_lo):
        hi, lo = np.zeros(inst.X), np.full(inst.X, -np.inf)
        hi[1:] = math.log(p_hi)
        lo[1:] = math.log(p_lo) if p_lo > 0 else -np.inf
        return SpikeProductClass(hi, lo, sup, sup.copy())

    def sft_cls(N):
        law = np.asarray(bon_law(inst.table(np.ones(d, dtype=np.int64))[1:2], N))[0]
        return spike(law[1], law[2])

    def adaptive_cls(mu_stop):
        _, fail = adaptive_stopping_exact(inst.response_law(1)[1:], mu_stop)
        return spike(1.0 - fail, fail / (M - 1))

    def dpo_cls(beta):
        rows = np.zeros((inst.X, M, Y_pad))
        rows[0, :, 0] = 1.0
        valid = np.zeros((inst.X, M), dtype=bool)
        valid[0, 0] = True
        valid[1:] = True
        for j in range(1, M + 1):
            rows[1:, j - 1, : inst.Y] = tilted(inst.response_law(j)[None], beta)[0]
        return ProductClass(rows, valid)

    def family_cls(*_):
        row = inst.response_law(1)
        return spike(row[1], row[2])

    return Problem(
        f"hard(d={d}, M={M}, Delta={Delta:g})",
        table,
        inst.mu,
        {"sft": sft_cls, "adaptive": adaptive_cls, "dpo": dpo_cls, "misspecified": family_cls},
        {"instance": inst, "index": index, "log_class_size": inst.log_class_size,
         "C_cov": coverage(table, inst.mu), "M": M, "d": d, "Delta": Delta},
        recipe=(hard_problem, (d, M, Delta), {"index": index, "Y_pad": Y_pad}),
    )


def hard_problem_padded(d: int, M: int, Delta: float, Y_pad: int, key) -> Problem:
    """:func:`hard_problem` on a response space padded to ``Y_pad`` columns (the catalogue's
    hard-family experiments share one compilation per capacity this way)."""
    return hard_problem(d, M, Delta, key, Y_pad=Y_pad)


def random_problem(key, X: int, Y: int, K: int = 16, alpha: float = 0.5) -> Problem:
    """A Dirichlet(alpha) random table with finite realizable classes of K members
    (:func:`sharpsim.classes.realizable_finite_class`): containing bon_law(base, N) for SFT,
    the exact adaptive-BoN law (:func:`sharpsim.classes.adaptive_bon_law`) for adaptive SFT and
    tilted(base, beta) for DPO (log|Pi| = log K). The classes are rebuilt for each N / mu_stop /
    beta with the same decoy key."""
    kb, kc = jax.random.split(key)
    base = dirichlet_table(kb, X, Y, alpha)
    return Problem(
        f"random(X={X}, Y={Y}, alpha={alpha:g}, K={K})",
        base,
        base.mu,
        {"sft": lambda N: realizable_finite_class(kc, base, N, K),
         "adaptive": lambda mu_stop: realizable_finite_class(kc, base, 1, K, target="adaptive", mu_stop=mu_stop),
         "dpo": lambda beta: realizable_finite_class(kc, base, 1, K, target="tilted", beta=beta)},
        {"log_class_size": math.log(K), "C_cov": coverage(base), "K": K},
        recipe=(random_problem, (key, X, Y, K, alpha), {}),
    )


def j1_problem(key, d: int, size=None, delta: float = 0.1, B=None) -> Problem:
    """Example J.1 (SPEC 6.5) with the linear softmax class of radius B (default: the smallest
    B satisfying Theorem J.3's norm condition ||theta*|| <= gamma_margin B / (3 ln(2|Y|/delta)),
    times 1.01) for XPO / DPO, and the tabular class for SFT (Example J.1's SFT cost is
    about the MLE target bon_law, which the tabular class contains)."""

    inst = example_j1(key, d, size)
    g = min(inst.gamma_margin, 1.0)
    if B is None:
        B = 1.01 * 3.0 * math.log(2 * inst.Y / delta) * float(np.linalg.norm(inst.theta_star)) / g
    lin = LinearSoftmaxClass(inst.phi, B)
    return Problem(
        f"j1(d={d}, |Y|={inst.Y})",
        inst.base,
        inst.base.mu,
        {"sft": lambda N: TabularClass(1, inst.Y), "xpo": lambda: lin, "dpo": lambda beta: lin},
        {"instance": inst, "C_cov": inst.C_cov, "gamma_margin": inst.gamma_margin, "B": B, "d": d,
         "log_class_size": math.inf},
        recipe=(j1_problem, (key, d, size, delta, B), {}),
    )


def j1_problem_padded(problem: Problem, Ymax: int, dmax: int):
    """Example J.1's problem padded to ``Ymax`` responses and ``dmax`` features (zero-probability
    responses, zero features; :meth:`Problem.padded`) -> (padded problem, padded linear class), so
    a sweep over d shares one compilation."""
    inst = problem.info["instance"]
    Y, d = inst.Y, inst.d
    phi = np.zeros((1, Ymax, dmax))
    phi[0, :Y, :d] = inst.vectors
    lz = np.full((1, Ymax), -np.inf)
    lz[0, :Y] = -math.log(Y)
    cls = LinearSoftmaxClass(phi, problem.info["B"], log_pi_zero=lz)
    pp = problem.padded(Ymax, {"sft": lambda N: TabularClass(1, Ymax), "xpo": lambda: cls})
    return pp, cls

"""The lower-bound family of Theorem 3.1 / 3.1' (SPEC 4.4), built exactly.

X = {x_0, x_1, ..., x_d}, Y = {y_0, y_1, ..., y_M} (indices 0..d and 0..M).
mu = (1 - Delta) delta_{x_0} + (Delta / d) sum_i delta_{x_i}.
P_0 = delta_{y_0}; for i in [M]: P_i(y_i) = 1 / ((1 - gamma) M),
P_i(y_j) = (1/M) (1 - gamma / ((M - 1)(1 - gamma))) for j in [M] \\ {i}, P_i(y_0) = 0.
For an index I = (j_1..j_d) in [M]^d: pi^I(x_0) = P_0 and pi^I(x_i) = P_{j_i}.
Pi = {pi^I : I in [M]^d}, so log|Pi| = d log M (F6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from .._validate import check_gamma, check_int, check_open_unit, check_positive, check_real
from ..models import TabularLM

__all__ = ["HardInstance", "hard_instance", "hard_instance_from_eps"]


@dataclass(frozen=True)
class HardInstance:
    """The family {pi^I : I in [M]^d} of SPEC 4.4 (Lemma H.1-H.4).

    Attributes: d, M, Delta, gamma (= 1/2 in the paper).
    """

    d: int
    M: int
    Delta: float
    gamma: float = 0.5

    @property
    def X(self) -> int:
        return self.d + 1

    @property
    def Y(self) -> int:
        return self.M + 1

    @property
    def log_class_size(self) -> float:
        """log|Pi| = d log M."""
        return self.d * math.log(self.M)

    @property
    def mu(self) -> np.ndarray:
        mu = np.full(self.X, self.Delta / self.d)
        mu[0] = 1.0 - self.Delta
        return mu

    def response_law(self, j: int) -> np.ndarray:
        """P_j over Y = {y_0..y_M} for j in [M] (1-based, as in the paper); P_0 for j = 0."""
        row = np.zeros(self.Y)
        if j == 0:
            row[0] = 1.0
            return row
        M, g = self.M, self.gamma
        row[1:] = (1.0 / M) * (1.0 - g / ((M - 1) * (1.0 - g)))
        row[j] = 1.0 / ((1.0 - g) * M)
        return row

    def table(self, index) -> np.ndarray:
        """pi^I as an [X, Y] table for I = (j_1..j_d), each j_i in [M] (1-based)."""
        index = self._check_index(index)
        t = np.zeros((self.X, self.Y))
        t[0, 0] = 1.0
        M, g = self.M, self.gamma
        t[1:, 1:] = (1.0 / M) * (1.0 - g / ((M - 1) * (1.0 - g)))
        t[np.arange(1, self.X), index] = 1.0 / ((1.0 - g) * M)
        return t

    def model(self, index) -> TabularLM:
        """pi^I as a TabularLM with the family's mu."""
        return TabularLM(self.table(index), self.mu)

    def random_index(self, key) -> np.ndarray:
        """I ~ Unif([M]^d) (1-based entries), int [d]."""
        return np.asarray(jax.random.randint(key, (self.d,), 1, self.M + 1))

    def coverage(self) -> float:
        """C_cov of every member (p = 1, gamma = 0): (1 - Delta) + Delta (1 - gamma) M  (F11)."""
        return (1.0 - self.Delta) + self.Delta * (1.0 - self.gamma) * self.M

    def _check_index(self, index) -> np.ndarray:
        idx = np.asarray(index)
        if idx.shape != (self.d,) or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"index must be an integer array of shape [d]=[{self.d}], got {idx.shape} {idx.dtype}")
        if (idx < 1).any() or (idx > self.M).any():
            raise ValueError(f"index entries must lie in [1, M={self.M}] (1-based, as in the paper)")
        return idx


def hard_instance(d: int, M: int, Delta: float, gamma: float = 0.5) -> HardInstance:
    """Build the family from (d, M, Delta). Requires M >= 3 (so that P_i is a distribution
    with a strict argmax) and Delta in (0, 1)."""
    d = check_int(d, "d")
    M = check_int(M, "M", minimum=3)
    Delta = check_open_unit(Delta, "Delta")
    gamma = check_gamma(gamma)
    if gamma / ((M - 1) * (1 - gamma)) > 1:
        raise ValueError(f"gamma={gamma} is too large for M={M}: P_i(y_j) would be negative")
    return HardInstance(d, M, Delta, gamma)


def hard_instance_from_eps(d: int, eps: float, C: float, p: int = 1, gamma: float = 0.5) -> HardInstance:
    """The paper's parameter choice: Delta = 16 eps and M = round(1 + C eps^(-1/p)) (SPEC 4.4).

    Example (F11): eps = 0.01, C = 10 gives M = 1001, Delta = 0.16, C_cov ~ 80.9.
    """
    eps = check_open_unit(eps, "eps")
    if 16 * eps >= 1:
        raise ValueError(f"eps must be < 1/16 so that Delta = 16 eps < 1, got {eps}")
    C = check_positive(check_real(C, "C"), "C")
    p = check_int(p, "p")
    M = max(3, int(round(1 + C * eps ** (-1.0 / p))))
    return hard_instance(d, M, 16 * eps, gamma)

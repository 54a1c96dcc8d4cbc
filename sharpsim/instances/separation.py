"""Example J.1 (SPEC 6.5, F23, F24): the exponential SFT-vs-XPO separation on a linear softmax.

X = {x} (one prompt), Y = a set of unit vectors in R^d with pairwise distance >= 1/4 (a
1/4-packing of the sphere, |Y| = exp(Theta(d)) for a maximal one), phi(x, y) = y, pi_zero uniform,
theta* = y* for a fixed y* in Y, pi_base = pi_{theta*}.

* For y != y*: ||y - y*||^2 = 2 - 2<y, y*> >= 1/16, so <y, y*> <= 1 - 1/32 and
  pi_base(y*)/pi_base(y) = exp(<y* - y, y*>) >= e^(1/32): gamma_margin >= e^(1/32) - 1 ~ 0.032.
* <y* - y, y*> <= 2, so pi_base(y*) <= e^2 pi_base(y) for all y and C_cov = 1/pi_base(y*) >= |Y| / e^2:
  SFT-Sharpening pays exp(Omega(d)), XPO poly(d) (Theorem J.3).
For small d, sharpsim builds Y by a keyed greedy packing (random unit vectors, accepted when at
distance >= min_dist from every accepted one).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from .._validate import check_int, check_positive, check_real
from ..models import LinearSoftmax
from ..quantities import coverage, margin

__all__ = ["J1Instance", "unit_vector_packing", "example_j1", "J1_MARGIN_FLOOR"]

J1_MARGIN_FLOOR = math.exp(1.0 / 32.0) - 1.0
"""e^(1/32) - 1 ~ 0.0317: the margin guaranteed by exact 1/4-separation with theta* = y* (F24)."""


def unit_vector_packing(key, d: int, size: int, min_dist: float = 0.25, max_tries: int = 200_000, batch: int = 512) -> np.ndarray:
    """Keyed greedy packing: ``size`` unit vectors in R^d with pairwise Euclidean distance >= min_dist.

    Candidates are i.i.d. uniform on the sphere (normalised Gaussians from a numpy Generator
    seeded by ``jax.random.bits(key)``, in batches), scanned in order; a candidate is kept when it is at distance >= min_dist from every
    kept vector. Same key, same packing. Raises ValueError when ``size`` vectors are not reached
    within ``max_tries`` candidates (e.g. d = 1 admits only 2 unit vectors).

    Returns: float64 [size, d], rows of unit norm.
    """
    d = check_int(d, "d")
    size = check_int(size, "size")
    max_tries = check_int(max_tries, "max_tries")
    batch = check_int(batch, "batch")
    min_dist = check_positive(check_real(min_dist, "min_dist"), "min_dist")
    if min_dist > 2.0:
        raise ValueError(f"min_dist must be <= 2 (the diameter of the unit sphere), got {min_dist}")
    kept = np.empty((size, d))
    count = 0
    tried = 0
    thr = min_dist**2 * (1.0 - 1e-12)
    # a numpy Generator seeded by 128 bits of the jax key: same key, same packing, and a single
    # compiled jax op for every d (drawing jax normals of shape [batch, d] would compile per d)
    rng = np.random.default_rng([int(b) for b in np.asarray(jax.random.bits(key, (4,), dtype=np.uint32))])
    while count < size and tried < max_tries:
        g = rng.standard_normal((batch, d))
        norms = np.linalg.norm(g, axis=1)
        for v, nv in zip(g, norms):
            if tried >= max_tries or count >= size:
                break
            tried += 1
            if nv == 0:
                continue
            v = v / nv
            if count == 0 or np.min(np.sum((kept[:count] - v) ** 2, axis=1)) >= thr:
                kept[count] = v
                count += 1
    if count < size:
        raise ValueError(
            f"could not pack {size} unit vectors in R^{d} at distance >= {min_dist} within max_tries={max_tries} "
            f"candidates (reached {count}); lower size or raise max_tries"
        )
    return kept


@dataclass(frozen=True)
class J1Instance:
    """Example J.1: pi_base = pi_{theta*} over a 1/4-separated set of unit vectors (SPEC 6.5).

    Attributes:
      base: the :class:`LinearSoftmax` base model (X = 1, |Y| = len(vectors)).
      vectors: float [|Y|, d], the responses y in R^d.
      phi: float [1, |Y|, d], phi(x, y) = y.
      theta_star: float [d], theta_scale * y*.
      y_star: index of y* in ``vectors``.
      C_cov: exact coverage 1 / pi_base(y*) (sharpsim.coverage).
      gamma_margin: exact margin (sharpsim.margin).
    """

    base: LinearSoftmax
    vectors: np.ndarray
    phi: np.ndarray
    theta_star: np.ndarray
    y_star: int
    C_cov: float
    gamma_margin: float

    @property
    def d(self) -> int:
        return int(self.vectors.shape[1])

    @property
    def Y(self) -> int:
        return int(self.vectors.shape[0])


def example_j1(key, d: int, size=None, theta_scale: float = 1.0, y_star: int = 0, min_dist: float = 0.25, B=None) -> J1Instance:
    """Build Example J.1 in R^d (SPEC 6.5, F24).

    Args:
      key: PRNG key for the greedy packing (:func:`unit_vector_packing`).
      d: dimension >= 1.
      size: |Y|; default min(2^d, 256) (for d = 1 at most 2 unit vectors exist).
      theta_scale: theta* = theta_scale * y* (the paper: 1).
      y_star: which packed vector is y* (default the first).
      min_dist: the separation (paper: 1/4).
      B: optional norm bound passed to :class:`LinearSoftmax`.
    """

    d = check_int(d, "d")
    size = min(2**d, 256) if size is None else check_int(size, "size", minimum=2)
    theta_scale = check_positive(check_real(theta_scale, "theta_scale"), "theta_scale")
    y_star = check_int(y_star, "y_star", minimum=0)
    if y_star >= size:
        raise ValueError(f"y_star must be < size={size}, got {y_star}")
    vectors = unit_vector_packing(key, d, size, min_dist=min_dist)
    phi = vectors[None, :, :]
    theta = theta_scale * vectors[y_star]
    base = LinearSoftmax(phi, theta, B=B)
    return J1Instance(
        base=base,
        vectors=vectors,
        phi=phi,
        theta_star=theta,
        y_star=y_star,
        C_cov=coverage(base),
        gamma_margin=margin(base),
    )

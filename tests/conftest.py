"""Strict numerics for every test: float64 JAX, rank promotion errors, a fixed key fixture."""

import jax
import numpy as np
import pytest

import sharpsim  # noqa: F401  (enables jax_enable_x64)

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture
def key():
    return jax.random.key(20241202)


@pytest.fixture
def rng():
    return np.random.default_rng(20241202)

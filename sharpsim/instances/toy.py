"""Toy autoregressive "trap" tasks (SPEC 7, 8.2; the catalogue's toy_lift and amortization).

Each prompt x has a correct chain c(x) = (c_1, ..., c_H); the *answer* of a sequence is its last
token. On a "trap" prompt a wrong first token t_1 is individually more likely than c_1, but after
c_1 the continuation is near-deterministic, while after any other prefix it is diffuse: greedy
decoding takes t_1, while the sequence argmax is (usually) the correct chain (the SPEC 7 example).

* :func:`toy_task`: the log conditionals of a task, its correct chains and trap flags.
* :func:`perturb`: a "model" of the task: per-step log-softmax((log pi_h + sigma G_h) / tau).
* :func:`answer_correct`: the [X, V^H] verifier "the last token is the correct answer".
* :func:`tabular_task`: a tabular task where some prompts' mode is wrong (the pass@k experiments).

Random numbers come from fixed-size buffers (one compiled shape for every task and model); the
Dirichlet rows' log-gamma draws, the costly ones, from the first entries of such a buffer, drawn at
one of a few sizes (:data:`sharpsim.generators.LOGGAMMA_SIZES`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp

from .. import aot
from .._validate import check_int, check_positive, check_real
from ..generators import loggamma_first
from ..models import AutoregressiveLM, TabularLM, encode

__all__ = ["BUF", "uniform_buffer", "tabular_task", "toy_task", "perturb", "answer_correct"]

BUF = 2**17
"""Fixed size of the random buffers below: one compiled shape for every task and model."""


@aot.jit
def uniform_buffer(key):
    """BUF uniform(0, 1) float64 draws from ``key`` (one compiled shape)."""
    return jax.random.uniform(key, (BUF,), dtype=jnp.float64)


@aot.jit
def _normal_buf(key):
    return jax.random.normal(key, (BUF,), dtype=jnp.float64)


def _check_size(n: int) -> int:
    if n > BUF:
        raise ValueError(f"X * V^h = {n} exceeds the buffer size {BUF}: use fewer prompts or a smaller V^H")
    return n


def _take(buf, shape) -> np.ndarray:
    n = _check_size(int(np.prod(shape)))
    return np.asarray(buf)[:n].reshape(shape)


def _loggamma_take(key, alpha, shape) -> np.ndarray:
    """The first prod(shape) entries of a buffer of BUF log-gamma draws,
    ``generators.loggamma_draws(key, alpha, BUF)``, reshaped: drawn at a smaller size when that
    holds them, the same bits (:func:`sharpsim.generators.loggamma_first`)."""
    n = _check_size(int(np.prod(shape)))
    return loggamma_first(key, alpha, n, BUF).reshape(shape)


def toy_task(key, X: int, V: int, H: int, trap_rate: float, p_correct: float, p_trap: float, q: float,
             alpha_off: float) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Log conditionals of a trap task, the correct chains and the trap flags.

    Step 1: on a trap prompt (probability trap_rate) the wrong token t_1 has p_trap and c_1 has
    p_correct; otherwise c_1 has p_trap and t_1 has p_correct; the other V - 2 tokens share the
    rest equally. Step h >= 2: after the prefix c_<h the token c_h has probability q (the others
    (1 - q)/(V - 1) each); after any other prefix a Dirichlet(alpha_off) row.

    Returns:
      conds: list of H log-probability arrays [X, V^(h-1), V] (full history);
      correct: int [X, H] the correct chains c(x); trap: bool [X].
    """
    if not (p_correct < p_trap and p_correct + p_trap <= 1.0) or V < 3:
        raise ValueError("toy_task needs V >= 3, p_correct < p_trap and p_correct + p_trap <= 1")
    k_u, k_off = jax.random.split(key)
    u = _take(uniform_buffer(k_u), (3, X * H))
    correct = np.minimum((u[0] * V).astype(np.int64), V - 1).reshape(X, H)
    shift = 1 + np.minimum((u[1, :X] * (V - 1)).astype(np.int64), V - 2)
    other = (correct[:, 0] + shift) % V  # a first token different from c_1
    trap = u[2, :X] < trap_rate
    rows = np.arange(X)
    first = np.full((X, V), (1.0 - p_correct - p_trap) / (V - 2))
    first[rows, correct[:, 0]] = np.where(trap, p_correct, p_trap)
    first[rows, other] = np.where(trap, p_trap, p_correct)
    conds = [np.log(first)[:, None, :]]
    for h in range(2, H + 1):
        g = _loggamma_take(jax.random.fold_in(k_off, h), alpha_off, (X, V ** (h - 1), V))
        lp = g - logsumexp(g, axis=-1, keepdims=True)
        on_path = encode(correct[:, : h - 1], V)
        onp = np.full((X, V), np.log((1.0 - q) / (V - 1)))
        onp[rows, correct[:, h - 1]] = np.log(q)
        lp[rows, on_path] = onp
        conds.append(lp)
    return conds, correct, trap


def perturb(conds, key, sigma: float, tau: float) -> AutoregressiveLM:
    """A model of the task: per-step log-softmax((log pi_h + sigma G_h) / tau), G_h ~ N(0, 1) (keyed).

    Models built with the same key share G (same "weights", different temperature).
    """
    out = []
    for h, c in enumerate(conds):
        G = _take(_normal_buf(jax.random.fold_in(key, h)), c.shape)
        z = np.where(np.isneginf(c), -np.inf, (c + sigma * G) / tau)
        out.append(z - logsumexp(z, axis=-1, keepdims=True))
    return AutoregressiveLM(out, log=True)


def answer_correct(correct_chains, V: int) -> np.ndarray:
    """bool [X, V^H]: sequence y (code in :func:`sharpsim.encode` order, first token most
    significant) ends with the correct answer c_H(x), the last token of the correct chain."""
    ans = np.asarray(correct_chains)[:, -1]
    H = np.asarray(correct_chains).shape[1]
    return (np.arange(V ** H)[None, :] % V) == ans[:, None]


def tabular_task(key, X: int, Y: int, wrong_mode_rate: float, alpha: float = 1.0, rank: int = 2):
    """A small tabular task where some prompts' mode is wrong.

    Rows pi(.|x) ~ Dirichlet(alpha) over Y responses, drawn by inverse-CDF from one keyed buffer of
    uniforms (:func:`uniform_buffer`: G = F_Gamma(alpha)^-1(U), rows G / sum G;
    X (Y + 1) <= 2^17). On the prompts whose extra uniform is below ``wrong_mode_rate`` the correct
    response is the ``rank``-th most likely one (rank 2: the runner-up; ties: lowest index first),
    elsewhere it is the mode. Returns (TabularLM, correct bool [X, Y], mode_correct bool [X]).
    """
    from scipy.stats import gamma as gamma_dist

    X, Y = check_int(X, "X"), check_int(Y, "Y", minimum=2)
    rank = check_int(rank, "rank")
    if rank > Y:
        raise ValueError(f"rank must be <= Y = {Y}, got {rank}")
    r = check_real(wrong_mode_rate, "wrong_mode_rate")
    if not 0.0 <= r <= 1.0:
        raise ValueError(f"wrong_mode_rate must lie in [0, 1], got {r!r}")
    alpha = check_positive(alpha, "alpha")
    if X * (Y + 1) > BUF:
        raise ValueError(f"X (Y + 1) = {X * (Y + 1)} exceeds the uniform buffer of {BUF}: use fewer prompts or responses")
    u = np.asarray(uniform_buffer(key))
    g = gamma_dist.ppf(u[: X * Y], alpha).reshape(X, Y)
    dead = g.sum(axis=1) == 0  # every draw underflowed: keep the largest uniform
    g[dead, np.argmax(u[: X * Y].reshape(X, Y)[dead], axis=1)] = 1.0
    table = g / g.sum(axis=1, keepdims=True)
    order = np.argsort(-table, axis=1, kind="stable")
    mode_correct = u[X * Y : X * Y + X] >= r
    target = np.where(mode_correct, order[:, 0], order[:, rank - 1])
    correct = np.zeros((X, Y), dtype=bool)
    correct[np.arange(X), target] = True
    return TabularLM(table), correct, mode_correct

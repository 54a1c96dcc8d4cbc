"""Exact-probability toy language models (SPEC 3.1, 6.5, 7).

Every model yields its full table exactly: ``log_table()`` returns the
``[X, Y]`` log-probabilities (float64, ``-inf`` for zeros) and ``table()`` the
probabilities; ``mu`` is the prompt distribution ``[X]``. Models can be passed
anywhere :mod:`sharpsim.quantities` takes a table.

* :class:`TabularLM`: an explicit ``[X, Y]`` table.
* :class:`AutoregressiveLM`: Y = V^H with conditionals that depend on the last
  ``c_h`` tokens (full history: c_h = h - 1, a prefix tree; Markov order k:
  c_h = min(h - 1, k)). Sequences are indexed big-endian:
  index(y_1..y_H) = sum_h y_h V^(H-h).
* :class:`LinearSoftmax`: Definition J.3, pi_theta(y|x) proportional to
  pi_zero(y|x) exp(<phi(x, y), theta>), ||theta||_2 <= B.
* :class:`ARLinearSoftmax`: the multi-layer autoregressive linear softmax of
  Eq. (11) (SPEC 7).

Why one file of ~600 lines: the four model classes share the sequence indexing
(:func:`encode` / :func:`decode`), the enumeration limit and its size checks, and the
conversion every quantity relies on (``log_table``); AutoregressiveLM, most of the file, keeps
its enumeration, sampling, greedy decoding, exact sequence argmax and power/temperature
transforms together because each walks the same context layout.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import logsumexp as np_logsumexp

from . import aot
from ._validate import (
    MAX_ENUMERATION,
    as_float_array,
    as_real_array,
    check_int,
    check_key,
    check_log_table,
    check_positive,
    check_size,
    check_table,
    checked_log_table,
    mu_of,
    pow_size,
)
from .core import to_device

# MAX_ENUMERATION (defined in sharpsim._validate, exported as sharpsim.MAX_ENUMERATION): the
# largest X * V^H (number of table entries, 512 MiB in float64) that ``log_table`` enumerates, and
# the largest array any constructor, enumerator or sampler of this module allocates.

INT64_MAX = 2**63 - 1

__all__ = [
    "TabularLM",
    "AutoregressiveLM",
    "LinearSoftmax",
    "ARLinearSoftmax",
    "MAX_ENUMERATION",
    "encode",
    "decode",
]


def as_index_array(value, name: str) -> np.ndarray:
    """An int64 array of indices from ``value`` (integers, or floats with integer values).

    Raises ``TypeError`` for non-numeric input and ``ValueError`` for non-integer or non-finite
    values, naming the argument (never a silent truncation of 1.5 to 1).
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of integers, got {type(value).__name__}")
    arr = np.asarray(value)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_) or np.issubdtype(arr.dtype, np.floating)
    ):
        raise TypeError(f"{name} must be an array of integers, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.floating):
        if not np.isfinite(arr).all() or (arr != np.floor(arr)).any():
            raise ValueError(f"{name} must hold finite integers, got non-integer or non-finite values")
        if arr.size and np.abs(arr).max() > INT64_MAX:
            raise ValueError(f"{name} has values beyond the int64 range")
    return arr.astype(np.int64)


def check_prompt_indices(x, X: int, name: str = "x") -> np.ndarray:
    """Prompt indices (any shape) as int64, each in [0, X); ValueError naming ``name`` otherwise."""
    x = as_index_array(x, name)
    if x.size and ((x < 0).any() or (x >= X).any()):
        bad = x[(x < 0) | (x >= X)].ravel()[0]
        raise ValueError(f"prompt indices {name} must lie in [0, {X}), got {int(bad)}")
    return x


def _encode(tokens: np.ndarray, V: int) -> np.ndarray:
    idx = np.zeros(tokens.shape[:-1], dtype=np.int64)
    for h in range(tokens.shape[-1]):
        idx = idx * V + tokens[..., h]
    return idx


def encode(tokens, V: int) -> np.ndarray:
    """Big-endian sequence index of ``tokens`` [..., H] over a vocabulary of size V.

    index = sum_h y_h V^(H-h). Every token must lie in [0, V) and V^H must fit an int64
    (ValueError naming ``tokens`` / ``V`` otherwise: never a silently wrapped index).
    """
    V = check_int(V, "V")
    tokens = as_index_array(tokens, "tokens")
    if tokens.ndim < 1:
        raise ValueError(f"tokens must have shape [..., H] (at least 1-D), got a scalar {tokens!r}")
    H = tokens.shape[-1]
    if pow_size(V, H) > INT64_MAX + 1:
        raise ValueError(f"V^H = {V}^{H} sequences do not fit an int64 index (tokens has H = {H})")
    if tokens.size and ((tokens < 0).any() or (tokens >= V).any()):
        bad = tokens[(tokens < 0) | (tokens >= V)].ravel()[0]
        raise ValueError(f"tokens must lie in [0, V={V}), got {int(bad)}")
    return _encode(tokens, V)


def decode(index, V: int, H: int) -> np.ndarray:
    """Tokens [..., H] of big-endian sequence indices (inverse of :func:`encode`).

    Every index must lie in [0, V^H) (ValueError naming ``index`` otherwise: never a silent wrap
    of an out-of-range index); the output's size index.size * H is checked against
    :data:`MAX_ENUMERATION` before it is allocated.
    """
    V = check_int(V, "V")
    H = check_int(H, "H", minimum=0)
    index = as_index_array(index, "index")
    check_size(index.size * H, f"decode output index.size * H = {index.size} * {H}", "decode fewer indices at a time")
    Y = pow_size(V, H)
    if index.size and ((index < 0).any() or (index >= Y).any()):
        bad = index[(index < 0) | (index >= Y)].ravel()[0]
        raise ValueError(f"index must lie in [0, V^H) = [0, {V}^{H}) for V={V}, H={H}, got {int(bad)}")
    out = np.empty(index.shape + (H,), dtype=np.int64)
    rem = index.copy()
    for h in range(H - 1, -1, -1):
        out[..., h] = rem % V
        rem //= V
    return out


class _TableModel:
    """Shared helpers for models that expose ``log_table`` and ``mu``."""

    mu: np.ndarray

    def table(self) -> np.ndarray:
        """Probabilities pi(y|x), float64 [X, Y]."""
        return np.exp(np.asarray(self.log_table()))

    @property
    def num_prompts(self) -> int:
        return int(self.mu.shape[0])

    def sample(self, key, x, num: int = 1) -> jnp.ndarray:
        """Draw ``num`` responses for each prompt in ``x`` (int [B]) -> int [B, num] (response indices)."""
        check_key(key)
        num = check_int(num, "num")
        xs = np.atleast_1d(check_prompt_indices(x, self.num_prompts))
        if xs.ndim != 1:
            raise ValueError(f"x must be a 1-D array of prompt indices, got shape {xs.shape}")
        table = self.log_table()
        Y = int(np.shape(table)[1])
        check_size(xs.size * Y, f"the gathered rows len(x) * Y = {xs.size} * {Y}", "sample fewer prompts at a time")
        check_size(xs.size * num, f"the draws len(x) * num = {xs.size} * {num}", "draw fewer samples at a time")
        # the rows gathered in numpy (eager JAX indexing builds several XLA programs per batch shape)
        return _sample_rows(key, to_device(np.asarray(table)[xs]), num)

    def sample_prompts(self, key, n: int) -> jnp.ndarray:
        """n prompts x ~ mu, int [n]."""
        check_key(key)
        n = check_int(n, "n")
        check_size(n, f"n = {n} prompts", "draw fewer prompts at a time")
        return _choice_prompts(key, to_device(self.mu), n)


@partial(aot.jit, static_argnames=("n",))
def _choice_prompts(key, mu, n):
    """``jax.random.choice(key, X, shape=(n,), p=mu)`` in one cached program per (X, n) (eagerly,
    choice runs op by op, each op a program of its own); the same draws (tested)."""
    return jax.random.choice(key, mu.shape[0], shape=(n,), p=mu)


@partial(aot.jit, static_argnames=("num",))
def _sample_rows(key, logp_rows, num):
    """Inverse-CDF sampling: ``num`` draws from each row of ``logp_rows`` [B, Y] -> [B, num]
    (the uniforms drawn inside the program: one cached executable per shape, no eager draw)."""
    u = jax.random.uniform(key, (logp_rows.shape[0], num), dtype=jnp.float64)
    cdf = jnp.cumsum(jnp.exp(logp_rows), axis=-1)
    y = jax.vmap(lambda c, uu: jnp.searchsorted(c, uu * c[-1], side="right"))(cdf, u)
    return jnp.minimum(y, logp_rows.shape[-1] - 1)


class TabularLM(_TableModel):
    """A tabular language model: prompt weights mu [X] and an explicit table pi(y|x) [X, Y].

    Build from probabilities (``TabularLM(probs, mu)``), logits
    (``TabularLM.from_logits``) or log-probabilities (``TabularLM.from_log_probs``).

    >>> lm = TabularLM([[0.5, 0.5], [0.9, 0.1]])
    >>> lm.table().round(12).tolist(), lm.mu.tolist()
    ([[0.5, 0.5], [0.9, 0.1]], [0.5, 0.5])
    """

    def __init__(self, probs, mu=None):
        table = check_table(probs, "probs")
        with np.errstate(divide="ignore"):
            self._log = np.log(table)
        self.mu = mu_of(mu, None, table.shape[0])

    @classmethod
    def from_log_probs(cls, log_probs, mu=None) -> "TabularLM":
        obj = cls.__new__(cls)
        obj._log = check_log_table(log_probs, "log_probs")
        obj.mu = mu_of(mu, None, obj._log.shape[0])
        return obj

    @classmethod
    def from_logits(cls, logits, mu=None, temperature: float = 1.0) -> "TabularLM":
        """pi(y|x) = softmax(logits[x] / temperature); ``-inf`` logits give zero probability."""
        arr = as_float_array(logits, "logits")
        if arr.ndim != 2:
            raise ValueError(f"logits must be a 2-D [X, Y] array, got shape {arr.shape}")
        if np.isnan(arr).any() or np.isposinf(arr).any():
            raise ValueError("logits contain NaN or +inf")
        temperature = check_positive(temperature, "temperature")
        if np.isneginf(arr).all(axis=1).any():
            raise ValueError("logits has a row where every entry is -inf (no mass)")
        z = arr / temperature
        return cls.from_log_probs(z - np_logsumexp(z, axis=1, keepdims=True), mu)

    @property
    def X(self) -> int:
        return self._log.shape[0]

    @property
    def Y(self) -> int:
        return self._log.shape[1]

    def log_table(self) -> np.ndarray:
        """log pi(y|x), float64 [X, Y]."""
        return self._log

    def with_temperature(self, temperature: float) -> "TabularLM":
        """pi_tau(y|x) proportional to pi(y|x)^(1/tau)."""
        return TabularLM.from_logits(self._log, self.mu, temperature)

    def __repr__(self) -> str:
        return f"TabularLM(X={self.X}, Y={self.Y})"


class AutoregressiveLM(_TableModel):
    """Autoregressive model over Y = V^H with exact sequence probabilities (SPEC 3.1).

    pi(y_{1:H}|x) = prod_h pi_h(y_h | last c_h tokens of y_{1:h-1}, x).

    Args:
      conditionals: sequence of H arrays; entry h-1 has shape [X, V^{c_h}, V] and holds
        pi_h(. | context, x) where the context index is the big-endian index of the
        last c_h tokens. Requires c_1 = 0 and c_{h+1} <= c_h + 1 (c_h = h - 1 is the
        full-history prefix tree; c_h = min(h - 1, k) is Markov of order k).
      mu: [X] prompt distribution (uniform when None).
      log: True when ``conditionals`` are log-probabilities.
    """

    def __init__(self, conditionals: Sequence, mu=None, log: bool = False):
        if isinstance(conditionals, np.ndarray) or not isinstance(conditionals, Sequence):
            raise TypeError("conditionals must be a list of H arrays of shape [X, V^c_h, V]")
        if len(conditionals) < 1:
            raise ValueError("conditionals must hold at least one step (H >= 1)")
        total = sum(int(np.size(c)) for c in conditionals)
        check_size(
            total,
            f"conditionals (H = {len(conditionals)} steps) hold sum_h X * V^c_h * V",
            "use a Markov order (context lengths c_h = min(h - 1, k)) or a smaller H",
        )
        conds = []
        X = V = None
        ctx = []
        for h, c in enumerate(conditionals, start=1):
            arr = as_real_array(c, f"conditionals[{h - 1}]")  # no copy yet: the caller's array, only read
            if arr.ndim != 3:
                raise ValueError(f"conditionals[{h - 1}] must have shape [X, V^c_h, V], got {arr.shape}")
            if X is None:
                X, V = arr.shape[0], arr.shape[2]
                if V < 1:
                    raise ValueError("vocabulary size V must be >= 1")
            if arr.shape[0] != X or arr.shape[2] != V:
                raise ValueError(
                    f"conditionals[{h - 1}] has shape {arr.shape}, expected [X={X}, V^c, V={V}] (shape mismatch)"
                )
            c_h = _int_log(arr.shape[1], V)
            if c_h is None:
                raise ValueError(
                    f"conditionals[{h - 1}] has {arr.shape[1]} contexts, which is not a power of V={V}"
                )
            if h == 1 and c_h != 0:
                raise ValueError("conditionals[0] must have a single (empty) context: shape [X, 1, V]")
            if h > 1 and c_h > ctx[-1] + 1:
                raise ValueError(
                    f"conditionals[{h - 1}] uses the last {c_h} tokens but step {h - 1} used only "
                    f"{ctx[-1]}: context lengths must satisfy c_(h+1) <= c_h + 1"
                )
            ctx.append(c_h)
            name = f"conditionals[{h - 1}]"
            # float64 C-contiguous: read in place (flat is a view; nothing below writes to it), else
            # as_float_array's float64 copy, in its memory layout (row sums add in layout order)
            in_place = arr.dtype == np.float64 and arr.flags.c_contiguous
            flat = (arr if in_place else arr.astype(np.float64)).reshape(-1, V)
            if log:
                flat = check_log_table(flat, name)  # a fresh array
            elif in_place:  # check, normalise and log block by block into a fresh array (bit-identical)
                flat = checked_log_table(flat, name)
            else:  # our own copy: check_table normalises it in place, then its log in place
                flat = check_table(flat, name, copy=False)
                with np.errstate(divide="ignore"):
                    np.log(flat, out=flat)
            conds.append(flat.reshape(arr.shape))
        self._cond = conds
        self.context_lengths = tuple(ctx)
        self.V = int(V)
        self.H = len(conds)
        self.X = int(X)
        self.mu = mu_of(mu, None, self.X)

    # -- basic properties --------------------------------------------------------------
    @property
    def Y(self) -> int:
        """Number of sequences V^H."""
        return self.V**self.H

    @property
    def conditionals(self) -> list[np.ndarray]:
        """Log conditionals, list of H arrays [X, V^c_h, V]."""
        return list(self._cond)

    def __repr__(self) -> str:
        return f"AutoregressiveLM(X={self.X}, V={self.V}, H={self.H}, contexts={self.context_lengths})"

    def _ctx_index(self, tokens, h: int) -> np.ndarray:
        """Context index used at (1-based) step h for token arrays [..., >=h-1]."""
        c = self.context_lengths[h - 1]
        if c == 0:
            return np.zeros(tokens.shape[:-1], dtype=np.int64)
        return _encode(tokens[..., h - 1 - c : h - 1], self.V)

    # -- exact table ----------------------------------------------------------------------
    def log_table(self) -> np.ndarray:
        """Enumerate log pi(y_{1:H}|x) for all V^H sequences -> float64 [X, V^H] (big-endian index).

        Raises ValueError, before allocating anything, when X * V^H exceeds
        :data:`MAX_ENUMERATION` (a Markov order does not help here: the table has V^H columns).
        """
        size = pow_size(self.V, self.H, self.X)
        if size > MAX_ENUMERATION:
            shown = f"{size:,}" if isinstance(size, int) else "more than 2^4096"
            raise ValueError(
                f"the autoregressive table has X * V^H = {self.X} * {self.V}^{self.H} = {shown} entries, "
                f"above the enumeration limit of {MAX_ENUMERATION:,} (sharpsim.MAX_ENUMERATION); use a smaller H, "
                f"or sequence_log_prob, sample or sequence_argmax, which do not enumerate"
            )
        if getattr(self, "_table_cache", None) is None:
            # numpy broadcasting: bound by writing the X * V^H output once, and no host<->device
            # copies or compilation (benchmarks/RESULTS.md, ar_enumeration); same values as _enumerate
            table = _enumerate_impl(tuple(np.asarray(c) for c in self._cond), self.context_lengths, self.V)
            table = np.asarray(table, dtype=np.float64)
            table.flags.writeable = False  # shared cache: read-only, as the jax-backed table was
            self._table_cache = table
        return self._table_cache

    # -- per-sequence access ----------------------------------------------------------
    def sequence_log_prob(self, x, tokens) -> np.ndarray:
        """log pi(y_{1:H}|x) for prompts x [...] and tokens [..., H] (broadcast), in log space."""
        tokens = as_index_array(tokens, "tokens")
        if tokens.ndim < 1 or tokens.shape[-1] != self.H:
            raise ValueError(f"tokens must have last dimension H={self.H}, got {tokens.shape}")
        if (tokens < 0).any() or (tokens >= self.V).any():
            raise ValueError(f"tokens must lie in [0, V={self.V})")
        x = np.broadcast_to(check_prompt_indices(x, self.X), tokens.shape[:-1])
        total = np.zeros(tokens.shape[:-1])
        for h in range(1, self.H + 1):
            total = total + self._cond[h - 1][x, self._ctx_index(tokens, h), tokens[..., h - 1]]
        return total

    def sample_tokens(self, key, x, num: int = 1) -> np.ndarray:
        """Ancestral sampling: ``num`` sequences per prompt in x (int [B]) -> tokens int [B, num, H]."""
        check_key(key)
        num = check_int(num, "num")
        x = np.atleast_1d(check_prompt_indices(x, self.X))
        if x.ndim != 1:
            raise ValueError(f"x must be a 1-D array of prompt indices, got shape {x.shape}")
        check_size(
            x.shape[0] * num * max(self.H, self.V),
            f"the sampled tokens len(x) * num * max(H, V) = {x.shape[0]} * {num} * {max(self.H, self.V)}",
            "draw fewer samples at a time",
        )
        tokens = np.zeros((x.shape[0], num, self.H), dtype=np.int64)
        keys = jax.random.split(key, self.H)
        xb = np.broadcast_to(x[:, None], (x.shape[0], num))
        for h in range(1, self.H + 1):
            rows = self._cond[h - 1][xb, self._ctx_index(tokens, h)]  # [B, num, V]
            draw = jax.random.categorical(keys[h - 1], to_device(rows), axis=-1)
            tokens[..., h - 1] = np.asarray(draw)
        return tokens

    def sample(self, key, x, num: int = 1) -> np.ndarray:
        """Ancestral sampling returning sequence indices int [B, num] (no enumeration needed)."""
        return encode(self.sample_tokens(key, x, num), self.V)

    def greedy(self, x=None) -> np.ndarray:
        """Greedy decoding y_h = argmax pi_h(. | y_<h, x) -> tokens int [B, H] (ties: lowest token)."""
        x = np.arange(self.X) if x is None else np.atleast_1d(check_prompt_indices(x, self.X))
        check_size(x.shape[0] * self.H, f"the greedy tokens len(x) * H = {x.shape[0]} * {self.H}", "decode fewer prompts")
        tokens = np.zeros((x.shape[0], self.H), dtype=np.int64)
        for h in range(1, self.H + 1):
            rows = self._cond[h - 1][x, self._ctx_index(tokens, h)]
            tokens[:, h - 1] = np.argmax(rows, axis=-1)
        return tokens

    def sequence_argmax(self, x=None, method: str = "dp"):
        """Exact sequence-level argmax (Eq. 5) per prompt -> (tokens int [B, H], log-prob [B]).

        method="dp": max-product dynamic program over contexts (cost sum_h X V^(c_h+1),
        no enumeration); method="enumerate": argmax of ``log_table()``. Ties: the
        lowest sequence index (big-endian). The full argmax set is
        ``argmax_set(model)``.
        """
        x = np.arange(self.X) if x is None else np.atleast_1d(check_prompt_indices(x, self.X))
        if method == "enumerate":
            lt = self.log_table()[x]
            idx = np.argmax(lt, axis=-1)
            return decode(idx, self.V, self.H), lt[np.arange(x.shape[0]), idx]
        if method != "dp":
            raise ValueError(f"method must be 'dp' or 'enumerate', got {method!r}")
        V = self.V
        # backward pass: W[h] over contexts of step h (0-based h), best continuation value
        W_next = None
        choices = [None] * self.H
        for h in range(self.H, 0, -1):
            cond = self._cond[h - 1][x]  # [B, V^c_h, V]
            c_h = self.context_lengths[h - 1]
            if W_next is None:
                vals = cond
            else:
                c_next = self.context_lengths[h]
                # next context = last c_next tokens of (context, y_h)
                ctx = np.arange(V**c_h)
                nxt = (ctx[:, None] * V + np.arange(V)[None, :]) % (V**c_next)  # [V^c_h, V]
                vals = cond + W_next[:, nxt]
            # ties -> lowest token, which gives the lowest big-endian index
            choices[h - 1] = np.argmax(vals, axis=-1)
            W_next = np.max(vals, axis=-1)  # [B, V^c_h]
        best = W_next[:, 0]
        tokens = np.zeros((x.shape[0], self.H), dtype=np.int64)
        rows = np.arange(x.shape[0])
        for h in range(1, self.H + 1):
            tokens[:, h - 1] = choices[h - 1][rows, self._ctx_index(tokens, h)]
        return tokens, best

    def with_temperature(self, temperature: float) -> "AutoregressiveLM":
        """Per-step temperature: pi_h,tau(.|ctx) proportional to pi_h(.|ctx)^(1/tau)."""
        temperature = check_positive(temperature, "temperature")
        conds = []
        for c in self._cond:
            z = c / temperature
            conds.append(z - np_logsumexp(z, axis=-1, keepdims=True))
        return AutoregressiveLM(conds, self.mu, log=True)

    def power(self, alpha: float) -> "AutoregressiveLM":
        """The power distribution pi^alpha / Z as an autoregressive model with the same contexts:
        p_h(v|ctx) proportional to pi_h(v|ctx)^alpha zeta_h(next ctx), zeta from a backward
        recursion over contexts (no V^H enumeration; Ji et al., arXiv 2601.21590). Its table is
        ``sharpsim.power(self, alpha)``; ``with_temperature(1/alpha)`` drops zeta. See
        :func:`sharpsim.ar_power.power_conditionals`."""
        from .ar_power import power_conditionals

        return AutoregressiveLM(power_conditionals(self._cond, alpha).conditionals, self.mu, log=True)


def _log_of(table):
    with np.errstate(divide="ignore"):
        return np.log(table)


def _int_log(n: int, base: int):
    if base == 1:
        return 0 if n == 1 else None
    k = 0
    while base**k < n:
        k += 1
    return k if base**k == n else None


def _enumerate_impl(conds, ctx_lengths, V):
    """[X, V^H] sequence log-probabilities (big-endian index) from log conditionals [X, V^c_h, V].

    L_h[x, prefix * V + v] = L_{h-1}[x, prefix] + log pi_h(v | last c_h tokens of prefix).
    The context of step h is prefix mod V^c_h, so with the prefix written as (head, tail),
    tail < V^c_h, L_h[x, head, tail, v] = L_{h-1}[x, head, tail] + cond_h[x, tail, v] is a
    broadcast add: no gather. Works on jax arrays (jitted :data:`_enumerate`) and on numpy
    arrays (what :meth:`AutoregressiveLM.log_table` runs); both add in the same order, bit for bit.
    """
    X = conds[0].shape[0]
    L = conds[0][:, 0, :]  # [X, V]
    for h in range(2, len(conds) + 1):
        c = ctx_lengths[h - 1]
        prefixes = V ** (h - 1)
        head = prefixes // V**c
        L = (L.reshape(X, head, V**c, 1) + conds[h - 1][:, None, :, :]).reshape(X, prefixes * V)
    return L


_enumerate = aot.jit(_enumerate_impl, static_argnums=(1, 2))


class LinearSoftmax(_TableModel):
    """Single-layer linear softmax policy pi_theta (Definition J.3, SPEC 6.5).

    pi_theta(y|x) = pi_zero(y|x) exp(<phi(x, y), theta>) / Z(x), with pi_zero uniform
    unless ``log_pi_zero`` is given.

    Args:
      phi: features [X, Y, d] (the paper assumes ||phi(x, y)||_2 <= 1).
      theta: parameters [d].
      B: optional norm bound; ``||theta||_2 <= B`` is checked when given.
      mu: [X] prompt distribution.
      log_pi_zero: optional [X, Y] log reference policy.
    """

    def __init__(self, phi, theta, B=None, mu=None, log_pi_zero=None):
        phi = as_float_array(phi, "phi")
        theta = as_float_array(theta, "theta")
        if phi.ndim != 3:
            raise ValueError(f"phi must have shape [X, Y, d], got {phi.shape}")
        if theta.shape != (phi.shape[2],):
            raise ValueError(f"theta must have shape [d]=[{phi.shape[2]}], got {theta.shape} (shape mismatch)")
        if not np.isfinite(phi).all() or not np.isfinite(theta).all():
            raise ValueError("phi and theta must be finite")
        if B is not None:
            B = check_positive(B, "B")
            if np.linalg.norm(theta) > B * (1 + 1e-12):
                raise ValueError(f"||theta||_2 = {np.linalg.norm(theta):.6g} exceeds the norm bound B = {B:g}")
        self.phi, self.theta, self.B = phi, theta, B
        X, Y, _ = phi.shape
        if log_pi_zero is None:
            self.log_pi_zero = np.full((X, Y), -math.log(Y))
        else:
            self.log_pi_zero = check_log_table(log_pi_zero, "log_pi_zero")
            if self.log_pi_zero.shape != (X, Y):
                raise ValueError(f"log_pi_zero must have shape {(X, Y)}, got {self.log_pi_zero.shape}")
        self.mu = mu_of(mu, None, X)

    @property
    def d(self) -> int:
        return self.phi.shape[2]

    @property
    def X(self) -> int:
        return self.phi.shape[0]

    @property
    def Y(self) -> int:
        return self.phi.shape[1]

    def log_table(self) -> np.ndarray:
        z = self.log_pi_zero + self.phi @ self.theta
        return z - np_logsumexp(z, axis=1, keepdims=True)

    def with_theta(self, theta, B="keep") -> "LinearSoftmax":
        return LinearSoftmax(self.phi, theta, self.B if B == "keep" else B, self.mu, self.log_pi_zero)

    def with_temperature(self, temperature: float) -> "LinearSoftmax":
        """Temperature tau: theta -> theta / tau (the class is closed under this, SPEC 7). No norm check."""
        temperature = check_positive(temperature, "temperature")
        return LinearSoftmax(self.phi, self.theta / temperature, None, self.mu, self.log_pi_zero)

    def __repr__(self) -> str:
        return f"LinearSoftmax(X={self.phi.shape[0]}, Y={self.phi.shape[1]}, d={self.d})"


class ARLinearSoftmax(_TableModel):
    """Multi-layer autoregressive linear softmax, Eq. (11) (SPEC 7).

    pi_theta(y_{1:H}|x) = prod_h pi_{theta_h}(y_h | x, y_{1:h-1}),
    pi_{theta_h}(y_h | x, y_{<h}) proportional to exp(<phi_h(x, y_{1:h}), theta_h>).

    Args:
      phi: list of H arrays; phi[h-1] has shape [X, V^(h-1), V, d] (features of the
        prefix y_{1:h-1}, big-endian index, extended by y_h).
      thetas: [H, d].
      B: optional bound on each ||theta_h||_2.
    """

    def __init__(self, phi: Sequence, thetas, B=None, mu=None):
        if isinstance(phi, np.ndarray) or not isinstance(phi, Sequence) or len(phi) < 1:
            raise TypeError("phi must be a non-empty list of H arrays [X, V^(h-1), V, d]")
        self.phi = [as_float_array(p, f"phi[{i}]") for i, p in enumerate(phi)]
        self.thetas = as_float_array(thetas, "thetas")
        H = len(self.phi)
        X, _, V, d = self.phi[0].shape if self.phi[0].ndim == 4 else (None,) * 4
        if X is None:
            raise ValueError(f"phi[0] must have shape [X, 1, V, d], got {self.phi[0].shape}")
        for h, p in enumerate(self.phi, start=1):
            if p.shape != (X, V ** (h - 1), V, d):
                raise ValueError(f"phi[{h - 1}] must have shape {(X, V ** (h - 1), V, d)}, got {p.shape}")
        if self.thetas.shape != (H, d):
            raise ValueError(f"thetas must have shape [H, d]={[H, d]}, got {self.thetas.shape}")
        if B is not None:
            B = check_positive(B, "B")
            norms = np.linalg.norm(self.thetas, axis=1)
            if (norms > B * (1 + 1e-12)).any():
                raise ValueError(f"max_h ||theta_h||_2 = {norms.max():.6g} exceeds the norm bound B = {B:g}")
        self.B, self.V, self.H, self.X, self.d = B, V, H, X, d
        self.mu = mu_of(mu, None, X)
        self._ar = None

    def to_autoregressive(self) -> AutoregressiveLM:
        """The same model as a full-history :class:`AutoregressiveLM`."""
        if self._ar is None:
            conds = []
            for h in range(self.H):
                z = self.phi[h] @ self.thetas[h]  # [X, V^h, V]
                conds.append(z - np_logsumexp(z, axis=-1, keepdims=True))
            self._ar = AutoregressiveLM(conds, self.mu, log=True)
        return self._ar

    def log_table(self) -> np.ndarray:
        return self.to_autoregressive().log_table()

    def with_thetas(self, thetas, B="keep") -> "ARLinearSoftmax":
        return ARLinearSoftmax(self.phi, thetas, self.B if B == "keep" else B, self.mu)

    def with_temperature(self, temperature: float) -> "ARLinearSoftmax":
        """Scale every theta_h by 1/temperature (no norm check)."""
        temperature = check_positive(temperature, "temperature")
        return ARLinearSoftmax(self.phi, self.thetas / temperature, None, self.mu)

    def __repr__(self) -> str:
        return f"ARLinearSoftmax(X={self.X}, V={self.V}, H={self.H}, d={self.d})"

"""Input validation shared by the public API.

Every public function of sharpsim validates its inputs here, *before* any jitted
core runs, and raises ``TypeError`` / ``ValueError`` naming the argument and the
broken condition. The cores (``sharpsim.core``) do no validation so that they can
run under ``jit`` and ``vmap``.

Conventions
-----------
* A *table* is an ``[X, Y]`` array whose rows are probability distributions.
  Rows must be non-negative, free of NaN, and sum to 1 within ``ROW_SUM_TOL``
  (absolute, 1e-9). Rows are renormalised exactly after the check.
* Any object with a ``log_table()`` method (every sharpsim model) is accepted
  wherever a table is; its log-probabilities are used directly, so sequence
  probabilities far below the float64 range of ``exp`` stay exact.
* ``mu`` is an ``[X]`` distribution; ``None`` means the model's own prompt
  distribution when the argument is a model, else uniform.
* A ``key`` is a single ``jax.random`` key (:func:`check_key`); an int seed or None is a
  ``TypeError`` naming ``key``.
* Sizes: anything that allocates an array computes its number of entries first (Python ints)
  and refuses it above :data:`MAX_ENUMERATION` (:func:`check_size`), before allocating.
"""

from __future__ import annotations

import numbers
import operator

import numpy as np

ROW_SUM_TOL = 1e-9
"""Absolute tolerance on row sums of probability tables (and on ``sum(mu)``)."""

MAX_ENUMERATION = 2**26
"""Largest number of entries (float64: 512 MiB) any sharpsim array may have.

Enumerated tables (X * V^H of an autoregressive model, X * Y of a generated table), the
conditionals of an autoregressive model (sum_h X * V^(c_h + 1)) and the draws of the samplers
are all checked against it *before* anything is allocated (:func:`check_size`), so a request that
would exhaust memory fails at once with its size, this limit and the way out.
"""


def as_real_array(value, name: str) -> np.ndarray:
    """``np.asarray(value)`` with :func:`as_float_array`'s TypeErrors, *without* its float64 copy.

    For callers that only read the array (its shape, or a fast path that writes its results into a
    fresh array); the result may be ``value`` itself, so it must not be written to.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be an array of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - exotic inputs
        raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.floating)
        or np.issubdtype(arr.dtype, np.integer)
        or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    return arr


def as_float_array(value, name: str) -> np.ndarray:
    """A fresh float64 copy of ``value`` (the TypeErrors of :func:`as_real_array`)."""
    return as_real_array(value, name).astype(np.float64)


def is_model(obj) -> bool:
    """True for sharpsim models (anything exposing ``log_table()``)."""
    return hasattr(obj, "log_table") and callable(obj.log_table)


def row_sums(arr: np.ndarray) -> np.ndarray:
    """``arr.sum(axis=1)`` of a float64 [X, Y] array, bit for bit, fast for short rows.

    numpy adds a row shorter than 8 entries left to right (its pairwise summation starts at 8),
    which column-wise accumulation reproduces exactly while avoiding numpy's per-row reduction
    overhead (X = 4^9 rows of 4: ~15x faster); longer rows use ``arr.sum(axis=1)`` itself.
    """
    if arr.ndim != 2 or arr.shape[1] >= 8 or arr.shape[1] == 0:
        return arr.sum(axis=1)
    out = arr[:, 0].copy()
    for k in range(1, arr.shape[1]):
        out += arr[:, k]
    return out


def check_table(value, name: str, *, copy: bool = True) -> np.ndarray:
    """Validate a probability table and return it as a float64 ``[X, Y]`` array.

    ``copy=False`` (for callers passing a float64 array they own) normalises that array in place.
    """
    arr = as_float_array(value, name) if copy or not (isinstance(value, np.ndarray) and value.dtype == np.float64) \
        else value
    if arr.ndim == 1:
        raise ValueError(
            f"{name} must be a 2-D [X, Y] table of probabilities; got a 1-D array of "
            f"shape {arr.shape} (wrap a single distribution as table[None, :])"
        )
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [X, Y] table, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must have at least one prompt and one response, got shape {arr.shape}")
    # one vectorized gate (min and max: NaN fails both comparisons); the detailed checks, with
    # their messages, run only when it fails
    if not (arr.min() >= 0.0 and arr.max() < np.inf):
        if np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN")
        if not np.isfinite(arr).all():
            raise ValueError(f"{name} contains infinite values")
        if (arr < 0).any():
            x, y = np.argwhere(arr < 0)[0]
            raise ValueError(f"{name} has negative probability {float(arr[x, y])!r} at [{x}, {y}]")
    sums = row_sums(arr)
    bad = np.abs(sums - 1.0) > ROW_SUM_TOL
    if bad.any():
        x = int(np.argmax(bad))
        raise ValueError(
            f"rows of {name} must sum to 1 (tolerance {ROW_SUM_TOL:g}); row {x} sums to {float(sums[x])!r}"
        )
    # in place: arr is as_float_array's own copy or the caller's (copy=False); one allocation
    return np.divide(arr, sums[:, None], out=arr)


LOG_TABLE_CHUNK = 1 << 16
"""Entries per block in :func:`checked_log_table` (512 KiB of float64): small enough that a block's
passes (min, row sums, divide, log) re-read it from cache, large enough that the ~10 numpy calls per
block cost little (2^15 to 2^17 measured alike; 2^12 is 2x slower)."""


def checked_log_table(value, name: str) -> np.ndarray:
    """``log(check_table(value, name))`` bit for bit, with check_table's errors, in fewer passes.

    value: a probability table [X, Y] (anything :func:`check_table` takes; never modified).
    Returns a fresh float64 [X, Y] array log(p[x, y] / s[x]) with s[x] = ``row_sums(p)[x]``
    (``-inf`` where p is 0; no divide-by-zero warning), exactly ``np.log(check_table(value, name))``.

    A float64 C-contiguous input is read in place (no float64 copy first): block by block of
    :data:`LOG_TABLE_CHUNK` entries it checks min(p) >= 0 (NaN fails it) and that every row sum lies
    within ``ROW_SUM_TOL`` of 1 (min and max of the block's sums; an inf or NaN sum fails), then
    divides into the output and takes the log there while the block is in cache (a block whose rows
    all sum to exactly 1.0 skips the divide: p / 1.0 == p). A failed gate re-runs
    :func:`check_table` on ``value``, which raises its usual error (NaN, infinite, negative, row sum)
    with its warnings. Row sums as :func:`row_sums` (Y < 8: left to right; else numpy's
    pairwise ``sum(axis=1)`` per row), division and log as numpy's. Any other input (another dtype,
    another memory layout, whose ``sum(axis=1)`` may add in another order) takes check_table itself.
    """
    if not (isinstance(value, np.ndarray) and value.dtype == np.float64 and value.flags.c_contiguous
            and value.ndim == 2 and value.shape[0] >= 1 and value.shape[1] >= 1):
        return _log_in_place(check_table(value, name))  # also raises check_table's shape errors
    out = np.empty(value.shape)
    if not _normalised_log_into(value, out):
        return _log_in_place(check_table(value, name))  # a gate failed: raises check_table's error
    return out


def _log_in_place(table: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.log(table, out=table)


def _normalised_log_into(src: np.ndarray, out: np.ndarray) -> bool:
    """out = log(src / row_sums(src)[:, None]) for C-contiguous float64 [n, Y], block by block;
    False (``out`` partly written, ``src`` untouched) as soon as a check fails."""
    n, Y = src.shape
    rows = max(1, LOG_TABLE_CHUNK // Y)
    sums = np.empty(min(n, rows))
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        for a in range(0, n, rows):
            b = min(n, a + rows)
            blk, s, o = src[a:b], sums[: b - a], out[a:b]
            if not blk.min() >= 0.0:  # negative or NaN
                return False
            if Y >= 8:
                np.sum(blk, axis=1, out=s)  # row_sums: numpy's own (pairwise) sum for long rows
            elif Y == 1:
                np.copyto(s, blk[:, 0])
            else:
                np.add(blk[:, 0], blk[:, 1], out=s)  # row_sums: left to right for short rows
                for k in range(2, Y):
                    s += blk[:, k]
            # |s - 1| > tol for some row <=> max(s) - 1 > tol or min(s) - 1 < -tol (x -> x - 1 is monotone)
            hi, lo = s.max(), s.min()
            if not (hi - 1.0 <= ROW_SUM_TOL and lo - 1.0 >= -ROW_SUM_TOL):
                return False
            if hi == lo == 1.0:  # every row sums to exactly 1: p / 1.0 is p, bit for bit
                np.log(blk, out=o)
                continue
            if Y < 8:  # a contiguous divide by the repeated sums beats a broadcast with a short inner loop
                np.divide(blk.reshape(-1), np.repeat(s, Y), out=o.reshape(-1))
            else:
                np.divide(blk, s[:, None], out=o)
            np.log(o, out=o)
    return True


def check_log_table(value, name: str) -> np.ndarray:
    """Validate an ``[X, Y]`` table of log-probabilities (``-inf`` allowed)."""
    arr = as_float_array(value, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D [X, Y] table of log-probabilities, got shape {arr.shape}")
    if np.isnan(arr).any():
        raise ValueError(f"{name} contains NaN")
    if (arr > 1e-12).any() or np.isposinf(arr).any():
        raise ValueError(f"{name} has a log-probability above 0")
    mx = arr.max(axis=1)
    if np.isneginf(mx).any():
        raise ValueError(f"{name} has a row with no mass (all log-probabilities are -inf)")
    with np.errstate(under="ignore"):
        lse = mx + np.log(np.exp(arr - mx[:, None]).sum(axis=1))
    bad = np.abs(np.expm1(lse)) > ROW_SUM_TOL
    if bad.any():
        x = int(np.argmax(bad))
        raise ValueError(
            f"rows of {name} must sum to 1 (tolerance {ROW_SUM_TOL:g}); row {x} sums to {float(np.exp(lse[x]))!r}"
        )
    return arr - lse[:, None]


def log_table_of(obj, name: str) -> np.ndarray:
    """Log-probability table ``[X, Y]`` of a model or a probability table.

    A table is validated and logged by :func:`checked_log_table`: ``np.log(check_table(obj, name))``
    bit for bit, with check_table's errors, in fewer passes over the table."""
    if is_model(obj):
        return np.asarray(obj.log_table(), dtype=np.float64)
    return checked_log_table(obj, name)


def mu_of(mu, obj, num_prompts: int, name: str = "mu") -> np.ndarray:
    """Validate ``mu`` (or take the model's own / the uniform one when ``None``)."""
    if mu is None:
        model_mu = getattr(obj, "mu", None)
        if model_mu is not None:
            return np.asarray(model_mu, dtype=np.float64)
        return np.full(num_prompts, 1.0 / num_prompts)
    arr = as_float_array(mu, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D [X] distribution, got shape {arr.shape}")
    if arr.shape[0] != num_prompts:
        raise ValueError(
            f"{name} has {arr.shape[0]} entries but the table has {num_prompts} prompts (shape mismatch)"
        )
    if np.isnan(arr).any() or (arr < 0).any():
        raise ValueError(f"{name} must be non-negative and free of NaN")
    if abs(arr.sum() - 1.0) > ROW_SUM_TOL:
        raise ValueError(f"{name} must sum to 1 (tolerance {ROW_SUM_TOL:g}); it sums to {float(arr.sum())!r}")
    return arr / arr.sum()


def same_shape(a: np.ndarray, b: np.ndarray, name_a: str, name_b: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"{name_a} has shape {a.shape} but {name_b} has shape {b.shape} (shape mismatch)")


def check_open_unit(value, name: str) -> float:
    """A real number in the open interval (0, 1) (delta, rho, eps)."""
    v = check_real(value, name)
    if not (0.0 < v < 1.0):
        raise ValueError(f"{name} must lie in (0, 1), got {v!r}")
    return v


def check_gamma(value, name: str = "gamma") -> float:
    v = check_real(value, name)
    if not (0.0 <= v < 1.0):
        raise ValueError(f"{name} must lie in [0, 1), got {v!r}")
    return v


def check_positive(value, name: str) -> float:
    v = check_real(value, name)
    if not v > 0:
        raise ValueError(f"{name} must be > 0, got {v!r}")
    return v


def check_real(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        if isinstance(value, np.ndarray) and value.ndim == 0 and np.issubdtype(value.dtype, np.number):
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    v = float(value)
    if np.isnan(v):
        raise ValueError(f"{name} is NaN")
    return v


def check_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        elif _integer_scalar_array(value):
            value = operator.index(value)  # a 0-d integer numpy / jax array
        else:
            raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    v = int(value)
    if v < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {v}")
    return v


def _integer_scalar_array(value) -> bool:
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    try:
        return shape == () and np.issubdtype(dtype, np.integer)
    except TypeError:
        return False


def check_size(size: int, what: str, way_out: str, limit: int | None = None) -> int:
    """Refuse, before allocating, an array of ``size`` entries above :data:`MAX_ENUMERATION`.

    ``size`` is a Python int (exact, no overflow) or ``math.inf`` for sizes too large to write
    out (:func:`pow_size`). ``what`` names the arguments that make the
    size (e.g. "X * V^H = 4 * 3^40"), ``way_out`` says how to stay under the limit.
    """
    limit = MAX_ENUMERATION if limit is None else limit
    if size > limit:
        shown = f"{size:,}" if isinstance(size, int) else "more than 2^4096"
        raise ValueError(
            f"{what} = {shown} entries, above the limit sharpsim.MAX_ENUMERATION = {limit:,} "
            f"(float64: {limit * 8 // 2**20:,} MiB); {way_out}"
        )
    return size


def pow_size(base: int, exponent: int, factor: int = 1):
    """factor * base^exponent as an exact Python int, or ``math.inf`` when it has more than 4096
    bits (so that e.g. 10^(10^9) is never materialised; any such size is far above every limit)."""
    import math

    if base > 1 and exponent * math.log2(base) + math.log2(max(factor, 1)) > 4096:
        return math.inf
    return factor * base**exponent


def check_key(key, name: str = "key"):
    """A single ``jax.random`` key: a typed key array of shape () (``jax.random.key``) or a raw
    uint32 key (``jax.random.PRNGKey``, shape [2]). Returned unchanged (same key, same bits).

    Raises ``TypeError`` naming the argument for anything else (an int seed, None, a float array).
    Works on tracers (only ``dtype`` and ``shape`` are read).
    """
    import jax

    dtype = getattr(key, "dtype", None)
    shape = getattr(key, "shape", None)
    if dtype is None or shape is None or isinstance(key, (bool, int, float)):
        raise TypeError(
            f"{name} must be a jax.random key (e.g. jax.random.key(0)), got {type(key).__name__} {key!r}"
        )
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if tuple(shape) != ():
            raise ValueError(f"{name} must be a single jax.random key (shape ()), got a key array of shape {tuple(shape)}")
        return key
    if np.dtype(dtype) == np.uint32 and len(shape) == 1 and shape[0] in (2, 4):
        return key  # raw (legacy) key data from jax.random.PRNGKey
    raise TypeError(
        f"{name} must be a jax.random key (e.g. jax.random.key(0)), got an array of dtype {dtype} and shape {tuple(shape)}"
    )

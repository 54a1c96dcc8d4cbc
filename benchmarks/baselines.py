"""Plain numpy baselines, written independently of sharpsim's JAX code paths.

Each is the fastest vectorized numpy version we could write of the same computation
(same formula, same tie groups), so that the ratios in the benchmarks are fair.
"""

from __future__ import annotations

import numpy as np

TIE_RTOL = 1e-12  # sharpsim.core.TIE_RTOL (restated: the baseline must not import the code under test)


def _tie_tol(v):
    return TIE_RTOL * (1.0 + np.where(np.isfinite(v), np.abs(v), 0.0))


def _groups(asc):
    """Per sorted position of rows [X, Y]: (start, end) of its tie group (counts < and <= its level)."""
    X, Y = asc.shape
    with np.errstate(invalid="ignore"):
        gap = np.diff(asc, axis=-1)
        brk = np.ones((X, Y), dtype=bool)
        brk[:, 1:] = ~(gap <= _tie_tol(asc[:, 1:]))
    idx = np.broadcast_to(np.arange(Y), (X, Y))
    start = np.maximum.accumulate(np.where(brk, idx, 0), axis=-1)
    brk_next = np.ones((X, Y), dtype=bool)
    brk_next[:, :-1] = brk[:, 1:]
    end = np.minimum.accumulate(np.where(brk_next, idx + 1, Y)[:, ::-1], axis=-1)[:, ::-1]
    return start, end


def bon_law_numpy(logp: np.ndarray, N: float) -> np.ndarray:
    """Exact best-of-N law [X, Y] from log tables (SPEC 9 item 1), vectorized numpy.

    Sort each row once (argsort), find the tie groups (gap <= TIE_RTOL (1 + |v|)) as runs of
    the sorted row, take S_<=(v) and S_<(v) from cumulative sums at the group ends, and give
    each member of a level set (S_<=^N - S_<^N) / |level set|, each log S from the
    tail that avoids cancellation; scatter back with the inverse permutation.
    """
    logp = np.asarray(logp, dtype=np.float64)
    X, Y = logp.shape
    order = np.argsort(logp, axis=-1)
    asc = np.take_along_axis(logp, order, axis=-1)
    n_lt, n_le = _groups(asc)
    p = np.exp(asc)
    A = np.zeros((X, Y + 1))
    np.cumsum(p, axis=-1, out=A[:, 1:])
    D = np.zeros((X, Y + 1))
    np.cumsum(p[:, ::-1], axis=-1, out=D[:, 1:])
    total = D[:, Y:]
    rows = np.arange(X)[:, None]
    t_gt = D[rows, Y - n_le] / total
    t_ge = D[rows, Y - n_lt] / total
    s_le = A[rows, n_le] / total
    s_lt = A[rows, n_lt] / total
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s_le = np.where(t_gt < 0.5, np.log1p(-np.minimum(t_gt, 1.0)), np.log(s_le))
        log_s_lt = np.where(t_ge < 0.5, np.log1p(-np.minimum(t_ge, 1.0)), np.log(s_lt))
        a = N * log_s_le
        b = N * log_s_lt
        safe_a = np.where(np.isneginf(a), 0.0, a)
        level = np.where(np.isneginf(a), 0.0, np.exp(a) * -np.expm1(np.minimum(b - safe_a, 0.0)))
    law_asc = np.where(np.isneginf(asc), 0.0, level / (n_le - n_lt))
    out = np.empty_like(logp)
    np.put_along_axis(out, order, law_asc, axis=-1)
    return out


def snap_ties_numpy(logp: np.ndarray) -> np.ndarray:
    """Each entry of rows [X, Y] replaced by the largest value of its tie group (-inf stays)."""
    logp = np.asarray(logp, dtype=np.float64)
    order = np.argsort(logp, axis=-1)
    asc = np.take_along_axis(logp, order, axis=-1)
    _, end = _groups(asc)
    snapped = np.where(np.isneginf(asc), -np.inf, np.take_along_axis(asc, end - 1, axis=-1))
    out = np.empty_like(logp)
    np.put_along_axis(out, order, snapped, axis=-1)
    return out


def enumerate_ar_numpy(log_conds, context_lengths, V: int) -> np.ndarray:
    """[X, V^H] sequence log-probabilities (big-endian index) of an autoregressive model.

    log_conds[h-1]: [X, V^c_h, V]. Grows the prefix table one token at a time with
    broadcasting: L_h[x, prefix * V + v] = L_{h-1}[x, prefix] + log pi_h(v | last c_h tokens).
    """
    X = log_conds[0].shape[0]
    L = np.asarray(log_conds[0])[:, 0, :]
    for h in range(2, len(log_conds) + 1):
        c = context_lengths[h - 1]
        prefixes = V ** (h - 1)
        cond = np.asarray(log_conds[h - 1])
        if c == h - 1:  # full history: contexts are exactly the prefixes, no gather needed
            step = cond
        else:
            step = cond[:, np.arange(prefixes) % (V**c), :]
        L = (L[:, :, None] + step).reshape(X, prefixes * V)
    return L


def enumerate_ar_numpy_gather(log_conds, context_lengths, V: int) -> np.ndarray:
    """[X, V^H] by decoding every sequence index to tokens and summing fancy-indexed conditionals.

    The straightforward vectorized enumeration (no prefix sharing): H gathers of X * V^H entries.
    """
    X = log_conds[0].shape[0]
    H = len(log_conds)
    idx = np.arange(V**H)
    toks = np.stack([(idx // V ** (H - h)) % V for h in range(1, H + 1)], axis=-1)  # [V^H, H]
    out = np.zeros((X, V**H))
    for h in range(1, H + 1):
        c = context_lengths[h - 1]
        ctx = np.zeros(V**H, dtype=np.int64)
        for t in range(h - 1 - c, h - 1):
            ctx = ctx * V + toks[:, t]
        out += np.asarray(log_conds[h - 1])[:, ctx, toks[:, h - 1]]
    return out


def enumerate_ar_python(log_conds, context_lengths, V: int) -> np.ndarray:
    """Unvectorized reference (one sequence at a time); only for checking tiny cases."""
    import itertools

    X = log_conds[0].shape[0]
    H = len(log_conds)
    out = np.empty((X, V**H))
    for x in range(X):
        for i, toks in enumerate(itertools.product(range(V), repeat=H)):
            s = 0.0
            for h in range(1, H + 1):
                c = context_lengths[h - 1]
                ctx = 0
                for t in toks[h - 1 - c : h - 1]:
                    ctx = ctx * V + t
                s += log_conds[h - 1][x, ctx, toks[h - 1]]
            out[x, i] = s
    return out


def best_of_n_numpy(rng: np.random.Generator, logp: np.ndarray, x: np.ndarray, N: int) -> np.ndarray:
    """Literal best-of-N: N inverse-CDF draws per prompt, keep the most likely (uniform tie-break).

    Per-table work (CDF, tie-snapped scores) is done once on [X, Y]; the B * N draws use one
    global ``np.searchsorted`` over the row-offset CDFs (row k lives in [k, k + 1)).
    """
    X, Y = logp.shape
    B = x.shape[0]
    p = np.exp(logp)
    cdf = np.cumsum(p, axis=-1)
    cdf /= cdf[:, -1:]
    flat = (cdf + np.arange(X)[:, None]).ravel()
    u = rng.random((B, N))
    draws = np.searchsorted(flat, u + x[:, None], side="right") - x[:, None] * Y
    np.clip(draws, 0, Y - 1, out=draws)
    scores = snap_ties_numpy(logp)[x[:, None], draws]
    best = scores.max(axis=-1, keepdims=True)
    prio = rng.random((B, N))
    pick = np.argmax(np.where(scores == best, prio, -1.0), axis=-1)
    return draws[np.arange(B), pick]

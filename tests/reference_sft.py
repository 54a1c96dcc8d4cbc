"""Plain per-trial Python loop reference of SFT-Sharpening (SPEC 5.1), for tests.

Readable twin of the vectorized engine (sharpsim.engine): one trial at a time, the same key
derivation (trial keys = split(key, K); each trial key split into (data, fit)), the same
oracle core for the draws (the oracle's own correctness is tested separately), then plain
Python / numpy for everything the learner and the evaluator do:

* count the kept (prompt, response) pairs with a Python loop;
* tabular class: empirical frequencies, uniform row for unseen prompts;
* finite class: log-likelihood of each candidate by a Python loop, the first maximizer
  (within a 1e-9 relative tolerance) wins;
* sharpness error: sum of mu(x) over prompts whose learned mass on the base argmax set is
  <= 1 - delta.
"""

from __future__ import annotations

import math

import jax
import numpy as np

from sharpsim.oracle import bon_draws_core, capacity


def draws(key, logp, log_mu, n, N):
    """The oracle's SFT data for one trial: list of (x, y) kept pairs (live entries only)."""
    d = bon_draws_core(key, logp, log_mu, n, float(N), capacity(n))
    x, y = np.asarray(d.x)[:n], np.asarray(d.y)[:n]
    return [(int(a), int(b)) for a, b in zip(x, y)], int(d.queries)


def count(pairs, X, Y):
    c = [[0] * Y for _ in range(X)]
    for x, y in pairs:
        c[x][y] += 1
    return c


def mle_tabular(c):
    out = []
    for row in c:
        tot = sum(row)
        out.append([v / tot for v in row] if tot > 0 else [1.0 / len(row)] * len(row))
    return out


def mle_finite(c, tables):
    best, best_k = -math.inf, 0
    vals = []
    for t in tables:
        ll = 0.0
        for x, row in enumerate(c):
            for y, v in enumerate(row):
                if v > 0:
                    ll += v * (math.log(t[x][y]) if t[x][y] > 0 else -math.inf)
        vals.append(ll)
    best = max(vals)
    tol = 1e-9 * max(1.0, abs(best)) if math.isfinite(best) else 0.0
    for k, v in enumerate(vals):
        if v >= best - tol:
            best_k = k
            break
    return [list(r) for r in tables[best_k]]


def error(q, p, mu, delta):
    err = 0.0
    for x in range(len(p)):
        top = max(p[x])
        mass = sum(q[x][y] for y in range(len(p[x])) if p[x][y] == top)
        if mass <= 1.0 - delta:
            err += mu[x]
    return err


def sft_trials(key, base_table, mu, n, N, delta, trials, tables=None):
    """K trials of SFT-Sharpening, one at a time -> (errors [K], queries [K])."""
    p = np.asarray(base_table, dtype=np.float64)
    with np.errstate(divide="ignore"):
        logp, log_mu = np.log(p), np.log(np.asarray(mu, dtype=np.float64))
    X, Y = p.shape
    plist = p.tolist()
    errs, qs = [], []
    for k in jax.random.split(key, trials):
        kd, _ = jax.random.split(k)
        pairs, queries = draws(kd, logp, log_mu, n, N)
        c = count(pairs, X, Y)
        q = mle_tabular(c) if tables is None else mle_finite(c, [np.asarray(t).tolist() for t in tables])
        errs.append(error(q, plist, list(mu), delta))
        qs.append(queries)
    return np.array(errs), np.array(qs)

"""Issue 12 fast paths against their literal twins, bit for bit (fixed keys, tables with ties and zeros).

* sampling: the padded flat binary search == numpy.searchsorted(side="right") per row; the cached
  snapped table == vmap(core.snap_ties); best_of_n (two compiled calls, cached snap) ==
  best_of_n_table_core == a literal argmax version written here.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import sharpsim
from sharpsim import core, sampling


def _table_with_ties(rng, X, Y):
    g = rng.standard_exponential((X, Y))
    g[:, 1:4] = g[:, :1]  # exact ties
    g[:, 4:6] = g[:, 6:7] * (1 + 1e-14)  # near ties
    g[:, -3:] = 0.0  # zeros
    p = g / g.sum(axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        return np.log(p)


def _literal_bon(key, lp, x, N):
    """The literal sampler: per-row searchsorted, vmap(snap_ties), jnp.argmax (the replaced code)."""
    lp = jnp.asarray(lp)
    x = jnp.asarray(x)
    B, Y = x.shape[0], lp.shape[1]
    k1, k2 = jax.random.split(key)
    u = jax.random.uniform(k1, (B, N), dtype=jnp.float64)
    cdf = np.asarray(jnp.cumsum(jnp.exp(lp), axis=-1))
    q = np.asarray(u * jnp.asarray(cdf)[x, -1][:, None])
    xs = np.asarray(x)
    draws = np.stack([np.searchsorted(cdf[xs[b]], q[b], side="right") for b in range(B)])
    draws = np.minimum(draws, Y - 1)
    scores = np.asarray(jax.vmap(core.snap_ties)(lp))[xs[:, None], draws]
    best = scores.max(axis=-1, keepdims=True)
    prio = np.asarray(jax.random.uniform(k2, (B, N), dtype=jnp.float64))
    pick = np.argmax(np.where(scores == best, prio, -1.0), axis=-1)
    return draws[np.arange(B), pick], draws


@pytest.mark.parametrize("X, Y, N, B", [(3, 7, 5, 40), (5, 64, 16, 50), (4, 1000, 8, 30), (2, 1024, 3, 9)])
def test_best_of_n_fast_paths_equal_literal_twin(X, Y, N, B):
    rng = np.random.default_rng(X * 1000 + Y)
    lp = _table_with_ties(rng, X, Y)
    x = rng.integers(0, X, size=B)
    key = jax.random.PRNGKey(X + Y + N)
    y_lit, d_lit = _literal_bon(key, lp, x, N)
    y_tab, d_tab = sampling.best_of_n_table_core(key, jnp.asarray(lp), jnp.asarray(x), jnp.zeros(N))
    snapped = sampling.snapped_table(lp)
    y_fast, d_fast = sampling.best_of_n_snapped_core(key, jnp.asarray(lp), snapped, jnp.asarray(x), jnp.zeros(N))
    np.testing.assert_array_equal(np.asarray(d_tab), d_lit)
    np.testing.assert_array_equal(np.asarray(d_fast), d_lit)
    np.testing.assert_array_equal(np.asarray(y_tab), y_lit)
    np.testing.assert_array_equal(np.asarray(y_fast), y_lit)
    y_pub = sharpsim.best_of_n(key, sharpsim.TabularLM(np.exp(lp)), x, N).y
    np.testing.assert_array_equal(y_pub, np.asarray(
        sampling.best_of_n_table_core(key, jnp.asarray(sharpsim.TabularLM(np.exp(lp)).log_table()),
                                      jnp.asarray(x), jnp.zeros(N))[0]))


def test_snapped_table_cache_is_keyed_by_bits():
    rng = np.random.default_rng(7)
    lp = _table_with_ties(rng, 3, 50)
    ref = np.asarray(jax.vmap(core.snap_ties)(jnp.asarray(lp)))
    a = sampling.snapped_table(lp)
    assert sampling.snapped_table(lp.copy()) is a  # same bits: reused
    np.testing.assert_array_equal(np.asarray(a), ref)
    lp2 = lp.copy()
    lp2[0, 0] = np.nextafter(lp2[0, 0], 0.0)  # one ulp differs: recomputed
    b = sampling.snapped_table(lp2)
    assert b is not a
    np.testing.assert_array_equal(np.asarray(b), np.asarray(jax.vmap(core.snap_ties)(jnp.asarray(lp2))))

"""sharpsim.instances.toy: the trap tasks' structure."""

import jax
import numpy as np

import sharpsim as s


def test_toy_task_structure():
    from sharpsim.instances.toy import perturb, toy_task

    X, V, H, pc, pt, q = 30, 4, 3, 0.3, 0.45, 0.9
    conds, correct, trap = toy_task(jax.random.key(3), X, V, H, 0.5, pc, pt, q, 3.0)
    assert trap.any() and (~trap).any()
    clean = perturb(conds, jax.random.key(4), 0.0, 1.0)  # sigma = 0, tau = 1: the task itself
    lt = clean.log_table()
    idx = s.encode(correct, V)
    # hand formula: pi(c(x)) = p_first(c_1) q^(H-1)
    expect = np.where(trap, pc, pt) * q ** (H - 1)
    np.testing.assert_allclose(np.exp(lt[np.arange(X), idx]), expect, rtol=1e-12)
    g = clean.greedy()
    assert (g[trap, 0] != correct[trap, 0]).all()  # greedy takes the trap first token
    assert (g[~trap] == correct[~trap]).all()  # and follows the correct chain otherwise (q > 1/2)


def _bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def test_loggamma_draws_are_the_first_entries_of_the_whole_buffer():
    """toy_task's Dirichlet rows take the first X V^h entries of a buffer of BUF log-gamma draws; they
    are drawn at the smallest of generators.LOGGAMMA_SIZES that holds them: the same bits as the whole buffer's
    prefix, computed here by plain jax.random.loggamma over BUF entries (and with the whole buffer
    when threefry is not partitionable, where the prefix property does not hold)."""
    import jax.numpy as jnp
    from jax._src import config as jax_config

    from sharpsim import generators
    from sharpsim.instances import toy

    small = generators.LOGGAMMA_SIZES[0]
    for alpha, seed in ((0.3, 0), (3.0, 1)):
        key = jax.random.fold_in(jax.random.key(5), seed)
        whole = np.asarray(jax.random.loggamma(key, jnp.full((toy.BUF,), alpha, dtype=jnp.float64)))
        for shape in ((1,), (small,), (small + 1,), (4, 5, 3), (toy.BUF,)):
            n = int(np.prod(shape))
            got = toy._loggamma_take(key, alpha, shape)
            assert got.shape == shape
            np.testing.assert_array_equal(_bits(got).ravel(), _bits(whole[:n]), err_msg=f"{alpha} {shape}")
    with jax_config.threefry_partitionable(False):
        key = jax.random.key(6)
        whole = np.asarray(jax.random.loggamma(key, jnp.full((toy.BUF,), 0.5, dtype=jnp.float64)))
        np.testing.assert_array_equal(_bits(toy._loggamma_take(key, 0.5, (7, 3))).ravel(), _bits(whole[:21]))
    try:
        toy._loggamma_take(jax.random.key(0), 0.5, (toy.BUF + 1,))
    except ValueError as e:
        assert "exceeds the buffer size" in str(e)
    else:
        raise AssertionError("no ValueError beyond BUF")


def test_dirichlet_table_draws_are_eager_loggamma_of_its_shape(monkeypatch):
    """dirichlet_table draws its log-gamma variates flat at a bucketed size (generators.loggamma_first)
    and keeps the first X * Y: the same bits as the plain ``jax.random.loggamma(key, [X, Y] of alpha)``
    it replaced (normalised by logsumexp, eagerly, into TabularLM.from_log_probs, as before). The
    buckets are shrunk here (sizes 16, 64, then multiples of 64) so that a table within the first
    size and one beyond the last run at small sizes. Without partitionable threefry the exact shape
    is drawn."""
    import jax.numpy as jnp
    from jax._src import config as jax_config

    from sharpsim import generators

    def plain(key, X, Y, alpha):
        g = jax.random.loggamma(key, jnp.full((X, Y), alpha, dtype=jnp.float64))
        return s.TabularLM.from_log_probs(np.asarray(g - jax.scipy.special.logsumexp(g, axis=1, keepdims=True)))

    monkeypatch.setattr(generators, "LOGGAMMA_SIZES", (16, 64))
    monkeypatch.setattr(generators, "LOGGAMMA_STEP", 64)
    assert [generators.loggamma_size(n) for n in (1, 16, 17, 64, 65, 128, 129)] == [16, 16, 64, 64, 128, 128, 192]
    sizes = []
    draws = generators.loggamma_draws
    monkeypatch.setattr(generators, "loggamma_draws", lambda key, alpha, size: sizes.append(size) or draws(
        key, alpha, size))
    for (X, Y, alpha), seed in zip(((4, 4, 0.4), (13, 7, 2.5)), range(2)):  # (each size: one ~1.7 s compile)
        key = jax.random.fold_in(jax.random.key(11), seed)
        got = s.dirichlet_table(key, X, Y, alpha).log_table()
        want = plain(key, X, Y, alpha).log_table()
        np.testing.assert_array_equal(_bits(got), _bits(want), err_msg=f"{X} {Y} {alpha}")
    assert sizes == [16, 128]
    with jax_config.threefry_partitionable(False):
        key = jax.random.key(12)
        got = s.dirichlet_table(key, 3, 7, 0.7).log_table()
        np.testing.assert_array_equal(_bits(got), _bits(plain(key, 3, 7, 0.7).log_table()))
    assert sizes[-1] == 21

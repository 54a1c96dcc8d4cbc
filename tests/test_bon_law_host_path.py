"""The host path of the exact best-of-N law (issue 12: exact bon_law vs the numpy version).

``sharpsim.bon_law`` on the CPU backend runs :func:`sharpsim.core.bon_law_host` for tables of at
least ``core.HOST_PATH_MIN_SIZE`` entries: the permutation, the running sums and the tie-group
bookkeeping in numpy, every transcendental in XLA. It must give
the same float64 bits as the jitted :func:`sharpsim.core.bon_law` (compared as int64 views) on
tables with exact ties, near ties (1e-14 relative), zeros, -0.0, single columns, rows with one
nonzero entry, N = 1 and N up to the float64 range, and on row lengths around XLA's blocks of 16.
N = 3 matters: N log S is then inexact, so a multiply contracted into an add (FMA) would show.
"""

import sys

import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import weighted_rows  # tests/ is on sys.path (rootdir conftest, no package)

import sharpsim
from sharpsim import core
from sharpsim._validate import log_table_of

NS = (1.0, 2.0, 3.0, 7.0, 16.0, 1000003.0, 1e300, sys.float_info.max)


def _bits(a):
    return np.asarray(a, dtype=np.float64).view(np.int64)


def _assert_host_equals_jit(lp, Ns=NS):
    j = jnp.asarray(lp)
    for N in Ns:
        np.testing.assert_array_equal(_bits(core.bon_law_host(lp, N)), _bits(core.bon_law(j, N)), err_msg=f"N={N}")


def _table(rng, X, Y):
    """log of a random [X, Y] table with zeros, exact ties, near ties and tiny entries."""
    g = rng.standard_exponential((X, Y))
    g[g < 0.3] = 0.0  # zeros
    g[:, 0] += 0.1
    g[:, Y // 2:] = np.round(g[:, Y // 2:], 1)  # exact ties
    if Y > 6:
        g[:, 3] = 1e-300 * g[:, 3]  # tiny entries
    with np.errstate(divide="ignore"):
        lp = np.log(g / g.sum(axis=1, keepdims=True))
    if Y > 4:
        lp[:, 1] = lp[:, 2] * (1 + 1e-14)  # near ties: one above, one below
        lp[:, 4] = lp[:, 2] * (1 - 3e-15)
    return lp


SHAPES = [(1, 1), (3, 1), (2, 2), (4, 15), (3, 16), (3, 17), (2, 31), (5, 33), (1, 255), (2, 257), (7, 100), (1, 4097)]


@pytest.mark.parametrize("X,Y", SHAPES)
def test_host_path_equals_jit_bit_for_bit(X, Y):
    rng = np.random.default_rng(1000 * X + Y)
    _assert_host_equals_jit(_table(rng, X, Y))


def test_host_path_on_the_benchmark_tables():
    from benchmarks.bench_bon_law import make_table

    for X, Y in ((100, 100), (1, 10**4), (13, 777)):
        _assert_host_equals_jit(make_table(X, Y, seed=X), Ns=(3.0, 16.0))


def test_single_columns_one_nonzero_and_signed_zeros():
    inf = np.inf
    lp = np.array(
        [
            [-0.0, -inf, -inf, -inf],  # one nonzero entry (p = 1, log stored as -0.0)
            [-inf, 0.0, -inf, -inf],  # one nonzero entry (+0.0)
            [np.log(0.5), -inf, np.log(0.5), -inf],  # exact tie and zeros
            [np.log(0.25)] * 4,  # one level
        ]
    )
    _assert_host_equals_jit(lp)
    _assert_host_equals_jit(np.zeros((5, 1)))  # single column: law 1
    _assert_host_equals_jit(-np.zeros((2, 1)))
    assert np.array_equal(core.bon_law_host(lp, 3.0)[:2], [[1.0, 0, 0, 0], [0, 1.0, 0, 0]])


def test_ties_may_be_sorted_in_any_order():
    """The body on sorted rows does not depend on how a correct sort orders equal values.

    Equal floats are bitwise equal except -0.0 and +0.0, and every step treats those alike
    (exp, abs in the tie tolerance, the gap between them is 0): both orders give the same bits.
    """
    asc1 = np.array([[-np.inf, -2.0, -1.0, -1.0, -0.0, 0.0]])
    asc2 = np.array([[-np.inf, -2.0, -1.0, -1.0, 0.0, -0.0]])
    for N in (1.0, 3.0, 16.0):
        a = _bits(core.bon_law_sorted(jnp.asarray(asc1), N))
        b = _bits(core.bon_law_sorted(jnp.asarray(asc2), N))
        np.testing.assert_array_equal(a, b)
    lp = np.array([[0.0, -1.0, -0.0, -2.0, -np.inf, -1.0]])
    _assert_host_equals_jit(lp)
    # bon_law is bon_law_sorted put back in place, for any correct sort
    order = np.argsort(lp, axis=-1, kind="stable")
    law_sorted = np.asarray(core.bon_law_sorted(jnp.asarray(np.take_along_axis(lp, order, -1)), 3.0))
    back = np.empty_like(lp)
    np.put_along_axis(back, order, law_sorted, axis=-1)
    np.testing.assert_array_equal(_bits(back), _bits(core.bon_law(jnp.asarray(lp), 3.0)))


@pytest.mark.parametrize("min_size", [0, core.HOST_PATH_MIN_SIZE, 10**6])  # 10**6: the jitted path
def test_public_bon_law_takes_the_host_path_for_large_tables(monkeypatch, min_size):
    assert core.bon_law_prefers_host(core.HOST_PATH_MIN_SIZE)  # the test machines compute on the CPU
    assert not core.bon_law_prefers_host(core.HOST_PATH_MIN_SIZE - 1)
    monkeypatch.setattr(core, "HOST_PATH_MIN_SIZE", min_size)
    calls = []
    host = core.bon_law_host
    monkeypatch.setattr(core, "bon_law_host", lambda lp, N: calls.append(N) or host(lp, N))
    g = np.round(np.random.default_rng(7).standard_exponential((6, 40)), 1)  # exact ties and zeros
    g[:, 0] += 0.1
    p = g / g.sum(axis=1, keepdims=True)
    lp = log_table_of(p, "base")  # the log table sharpsim.bon_law computes from p
    for N in (1, 3, 16, 10**400):
        got = sharpsim.bon_law(p, N)
        want = core.bon_law(jnp.asarray(lp), sharpsim.quantities.bon_N_float(N))
        np.testing.assert_array_equal(_bits(got), _bits(want))
    assert len(calls) == (4 if p.size >= min_size else 0)


def test_cumsum_host_is_xla_cumsum_bit_for_bit():
    rng = np.random.default_rng(3)
    for n in list(range(1, 40)) + [255, 256, 257, 1000, 4095, 4096, 4097, 70_001]:
        for R in (1, 3):
            p = rng.standard_exponential((R, n)) * np.exp(rng.uniform(-40.0, 0.0, (R, n)))
            p[p < 1e-12] = 0.0
            got = core.cumsum_host(p)[:, :n]
            np.testing.assert_array_equal(_bits(got), _bits(core._xla_cumsum(p)), err_msg=f"{R}x{n}")
    assert core._cumsum_host_matches_xla()


def test_host_path_with_xla_running_sums_has_the_same_bits(monkeypatch):
    """The fallback when cumsum_host does not match XLA's order (another jax version)."""
    monkeypatch.setattr(core, "_cumsum_host_matches_xla", lambda: False)
    _assert_host_equals_jit(_table(np.random.default_rng(9), 3, 50), Ns=(3.0, 16.0))


def _sorted_ok(lp, order, asc):
    X, Y = lp.shape
    assert np.array_equal(asc, np.sort(lp, axis=-1))  # (== compares -0.0 and +0.0 as equal)
    assert np.array_equal(_bits(np.take(lp.ravel(), order).reshape(X, Y)), _bits(asc))
    assert np.array_equal(np.sort(order), np.arange(X * Y))
    assert np.array_equal(order.reshape(X, Y) // Y, np.broadcast_to(np.arange(X)[:, None], (X, Y)))


def test_sort_rows_host_is_a_correct_sort():
    rng = np.random.default_rng(11)
    near = np.log(rng.random((20, 100)))
    near[:, ::3] = near[:, :1] * (1 + 1e-15 * rng.random((20, 34)))  # runs of near ties to re-sort
    near[3] = -0.0
    near[4, ::2] = 0.0
    near[5] = -np.inf
    near[5, 7] = 0.0
    whole = np.log(rng.random((30, 500)))[:, :1] * (1 + 1e-13 * rng.random((30, 500)))  # argsort fallback
    part = np.log(rng.random((7, 4096)))
    part[:, 100:400] = part[:, 100:101] * (1 + 1e-13 * rng.random((7, 300)))
    for lp in (near, whole, part, np.array([[-1.0]]), -np.exp(rng.normal(0, 30, (3, 1000))), _table(rng, 9, 70)):
        _sorted_ok(lp, *core.sort_rows_host(lp))
    _assert_host_equals_jit(near[:6], Ns=(3.0,))
    _assert_host_equals_jit(whole[:2], Ns=(3.0,))


WEIGHTS = [0.0, 1e-300, 1e-200, 1e-20, 0.1, 0.5, 1.0, 1.0, 2.0, 3.0, 7.0]


@st.composite
def _weight_tables(draw):
    X, Y = draw(st.sampled_from([(3, 9), (2, 17)]))  # two shapes: two compilations of core.bon_law
    return weighted_rows(draw, X, Y, WEIGHTS)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_weight_tables(), st.sampled_from(NS))
def test_host_path_equals_jit_on_drawn_tables(table, N):
    with np.errstate(divide="ignore"):
        lp = np.log(table)
    _assert_host_equals_jit(lp, Ns=(N,))


@pytest.mark.parametrize("X, Y, threads", [(5, 33, 2), (7, 100, 3), (2, 257, 8), (40, 64, 3)])
def test_host_path_split_over_threads_equals_one_block_and_jit(monkeypatch, X, Y, threads):
    """Tables of at least HOST_SPLIT_MIN_SIZE entries are cut into row blocks computed on threads:
    the same bits as one block and as the jitted law (here forced on small tables)."""
    rng = np.random.default_rng(77 * X + Y)
    lp = _table(rng, X, Y)
    one = core._bon_law_host_rows(lp, 3.0)
    monkeypatch.setattr(core, "HOST_SPLIT_MIN_SIZE", 1)
    monkeypatch.setattr(core, "_host_threads", lambda: threads)
    calls = []
    rows = core._bon_law_host_rows
    monkeypatch.setattr(core, "_bon_law_host_rows", lambda a, N: calls.append(a.shape[0]) or rows(a, N))
    split = core.bon_law_host(lp, 3.0)
    assert sorted(calls) == sorted(X * (i + 1) // min(X, threads) - X * i // min(X, threads)
                                   for i in range(min(X, threads)))
    np.testing.assert_array_equal(_bits(split), _bits(one))
    np.testing.assert_array_equal(_bits(split), _bits(core.bon_law(jnp.asarray(lp), 3.0)))


def test_host_path_split_raises_a_block_error_in_the_caller(monkeypatch):
    monkeypatch.setattr(core, "HOST_SPLIT_MIN_SIZE", 1)
    monkeypatch.setattr(core, "_host_threads", lambda: 2)

    def boom(a, N):
        raise RuntimeError("block failed")

    monkeypatch.setattr(core, "_bon_law_host_rows", boom)
    with pytest.raises(RuntimeError, match="block failed"):
        core.bon_law_host(np.log(np.full((4, 3), 1 / 3)), 2.0)


def test_host_path_default_split_on_a_table_at_the_threshold(monkeypatch):
    X = 512
    Y = core.HOST_SPLIT_MIN_SIZE // X
    lp = _table(np.random.default_rng(5), X, Y)
    monkeypatch.setattr(core, "_host_threads", lambda: 2)  # as on CI's 2 cores, whatever this machine has
    calls = []
    rows = core._bon_law_host_rows
    monkeypatch.setattr(core, "_bon_law_host_rows", lambda a, N: calls.append(a.shape) or rows(a, N))
    got = core.bon_law_host(lp, 16.0)
    assert calls == [(X // 2, Y), (X // 2, Y)]
    np.testing.assert_array_equal(_bits(got), _bits(core.bon_law(jnp.asarray(lp), 16.0)))


def test_host_path_cuts_two_blocks_per_core_from_the_fine_size(monkeypatch):
    """From HOST_SPLIT_FINE_SIZE entries the table is cut into two row blocks per usable core (all on
    their own threads at once): the same bits as the jitted law; the rule at its thresholds."""
    monkeypatch.setattr(core, "_host_threads", lambda: 2)  # as on CI's 2 cores, whatever this machine has
    lo, fine = core.HOST_SPLIT_MIN_SIZE, core.HOST_SPLIT_FINE_SIZE
    assert [core.host_row_blocks(1000, s) for s in (lo - 1, lo, fine - 1, fine, 10**6)] == [1, 2, 2, 4, 4]
    assert core.host_row_blocks(3, 10**6) == 3 and core.host_row_blocks(1, 10**6) == 1
    X = 256
    Y = fine // X
    lp = _table(np.random.default_rng(6), X, Y)
    calls = []
    rows = core._bon_law_host_rows
    monkeypatch.setattr(core, "_bon_law_host_rows", lambda a, N: calls.append(a.shape) or rows(a, N))
    got = core.bon_law_host(lp, 16.0)
    assert sorted(calls) == [(X // 4, Y)] * 4
    np.testing.assert_array_equal(_bits(got), _bits(core.bon_law(jnp.asarray(lp), 16.0)))


@pytest.mark.parametrize("X, Y", [(1, 1), (3, 1), (2, 2), (3, 17), (5, 33), (1, 300), (40, 64)])
def test_flat_padded_steps_equal_the_shaped_kernels(monkeypatch, X, Y):
    """Small tables run the host path's XLA steps on flat copies padded to a power of two (one program
    per padded size); they give the bits of the shaped kernels that large tables use, and of jit."""
    lp = _table(np.random.default_rng(1000 * X + Y), X, Y)
    monkeypatch.setattr(core, "HOST_FLAT_MAX_SIZE", 0)  # every step on the shaped kernels
    shaped = [_bits(core.bon_law_host(lp, N)) for N in NS]
    monkeypatch.setattr(core, "HOST_FLAT_MAX_SIZE", 1 << 40)  # every step flat and padded
    flat = [_bits(core.bon_law_host(lp, N)) for N in NS]
    for N, a, b in zip(NS, shaped, flat):
        np.testing.assert_array_equal(a, b, err_msg=f"N={N}")
    _assert_host_equals_jit(lp)


def test_small_tables_of_other_shapes_share_the_flat_programs(traced):
    """Tables whose padded sizes agree reuse one compiled program per step: no tracing per shape."""
    rng = np.random.default_rng(5)
    core.bon_law_host(_table(rng, 2, 40), 3.0)  # every padded size 256: nothing new to trace after this
    shapes = ((3, 17), (1, 100), (4, 50), (6, 30), (10, 12))  # X (Y + 1) <= 256
    tables = [_table(rng, X, Y) for X, Y in shapes]
    traced.clear()
    got = [core.bon_law_host(lp, 3.0) for lp in tables]
    assert traced == [], f"the host path traced {traced} for new table shapes"
    for lp, g in zip(tables, got):
        np.testing.assert_array_equal(_bits(g), _bits(core.bon_law(jnp.asarray(lp), 3.0)))


@pytest.mark.parametrize("Y, segments", [(7, 2), (8, 4), (1000, 2), (1000, 3), (4099, 8)])
def test_sort_keys_in_pieces_on_threads_is_one_sort(Y, segments):
    """One row's keys sorted in pieces on threads, then merged by numpy's stable sort: the array one
    sort gives (the keys of a row are distinct), also with pieces of unequal lengths; several rows
    (and rows shorter than two entries per piece) take the plain sort."""
    rng = np.random.default_rng(Y + segments)
    key = rng.integers(-(2**62), 2**62, (1, Y))
    key[0, : Y // 3] = np.sort(key[0, : Y // 3])[::-1]  # a descending stretch across the cuts
    want = np.sort(key, axis=-1)
    got = key.copy()
    core._sort_keys(got, segments)
    np.testing.assert_array_equal(got, want)
    rows = rng.integers(-(2**62), 2**62, (3, Y))
    got = rows.copy()
    core._sort_keys(got, segments)
    np.testing.assert_array_equal(got, np.sort(rows, axis=-1))


def test_one_long_row_is_sorted_in_pieces_with_the_same_bits(monkeypatch):
    """A single row of at least HOST_SPLIT_MIN_SIZE entries (not cut into row blocks) has its keys
    sorted in one piece per usable core: a correct sort, and the law's bits of one sort and of jit
    (here with the threshold lowered and 3 threads, near-tie runs and ties across the cuts)."""
    rng = np.random.default_rng(8)
    lp = _table(rng, 1, 3000)
    lp[0, 900:1300] = lp[0, 0] * (1 + 1e-15 * rng.random(400))  # near ties to re-sort, across the cut at 1000
    lp[0, 2990:] = lp[0, 5]  # exact ties at both ends
    lp[0] -= np.log(np.sum(np.exp(lp[0])))
    one = core._bon_law_host_rows(lp, 3.0)
    monkeypatch.setattr(core, "HOST_SPLIT_MIN_SIZE", 1000)
    monkeypatch.setattr(core, "_host_threads", lambda: 3)
    assert [core.host_sort_segments(X, s) for X, s in ((1, 999), (1, 1000), (2, 6000))] == [1, 3, 1]
    seen = []
    sort_keys = core._sort_keys
    monkeypatch.setattr(core, "_sort_keys", lambda key, segments=1: seen.append(segments) or sort_keys(key, segments))
    _sorted_ok(lp, *core.sort_rows_host(lp, 3))
    got = core.bon_law_host(lp, 3.0)
    assert seen == [3, 3]
    np.testing.assert_array_equal(_bits(got), _bits(one))
    np.testing.assert_array_equal(_bits(got), _bits(core.bon_law(jnp.asarray(lp), 3.0)))

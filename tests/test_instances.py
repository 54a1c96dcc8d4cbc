"""The paper's instances: hard family (Lemma H.1, F6, F11), Example J.1 (F24), Prop E.1 (MAX-CUT vs
brute force), Prop E.2 (F22), the greedy-failure example (F21) and the random families."""

import itertools
import math

import jax
import numpy as np
import pytest

import sharpsim as s
from sharpsim.instances import (
    J1_MARGIN_FLOOR,
    cut_value,
    example_j1,
    greedy_failure,
    hard_instance,
    hard_instance_from_eps,
    max_cut_brute_force,
    maxcut_instance,
    power_law_family,
    power_law_margin,
    prop_e2,
    two_level_family,
    unit_vector_packing,
)


# -- hard family (SPEC 4.4) -----------------------------------------------------------------
def test_hard_family_every_member_singleton_argmax():
    fam = hard_instance(2, 4, 0.3)
    for I in itertools.product(range(1, 5), repeat=2):  # all M^d = 16 members
        lm = fam.model(np.array(I))
        for gamma in (0.0, 0.5):  # Lemma H.1: y*_gamma(x_i) = {y_{j_i}}, y*(x_0) = {y_0}
            star = s.argmax_set(lm, gamma=gamma)
            assert star.sum(axis=1).tolist() == [1, 1, 1]
            assert star[0, 0] and all(star[i, I[i - 1]] for i in (1, 2))
        assert s.coverage(lm) == pytest.approx(1 - 0.3 + 0.3 * 4 / 2, rel=1e-12)  # F11: 1 - Delta + Delta M / 2


def test_hard_family_f6_f11():
    for M, ratio in ((8, 2.33), (100, 2.02)):
        row = hard_instance(1, M, 0.5).response_law(1)
        assert row.sum() == pytest.approx(1.0, abs=1e-14)
        assert row[1] == pytest.approx(2 / M) and row[2] == pytest.approx((M - 2) / (M * (M - 1)))
        assert row[1] / row[2] == pytest.approx(ratio, abs=0.005)  # 2(M-1)/(M-2): 14/6, 198/98
    fam = hard_instance_from_eps(3, 0.01, 10.0)
    assert (fam.M, fam.Delta) == (1001, pytest.approx(0.16))
    # C_cov = 0.84 + 0.16 * 1001 / 2 = 0.84 + 80.08 = 80.92
    assert s.coverage(fam.model(np.ones(3, dtype=int))) == pytest.approx(80.92, abs=1e-9)
    assert fam.log_class_size == pytest.approx(3 * math.log(1001))
    assert hard_instance(2, 3, 0.5).log_class_size == pytest.approx(math.log(9))  # |Pi| = 3^2


# -- Example J.1 ----------------------------------------------------------------------------
def test_packing_distances_and_determinism():
    for d, size in ((2, 15), (3, 40), (5, 100)):
        v = unit_vector_packing(jax.random.key(d), d, size)
        assert v.shape == (size, d)
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-12)
        dist = np.linalg.norm(v[:, None] - v[None], axis=-1)
        assert dist[~np.eye(size, dtype=bool)].min() >= 0.25 - 1e-12
    a = unit_vector_packing(jax.random.key(1), 3, 10)
    assert np.array_equal(a, unit_vector_packing(jax.random.key(1), 3, 10))
    assert not np.array_equal(a, unit_vector_packing(jax.random.key(2), 3, 10))
    with pytest.raises(ValueError, match="could not pack"):
        unit_vector_packing(jax.random.key(0), 1, 3, max_tries=1000)  # only +1 and -1 exist in R^1
    with pytest.raises(ValueError, match="could not pack"):
        unit_vector_packing(jax.random.key(0), 2, 26, max_tries=20000)  # circle: at most 25 at angle 14.4 deg


def test_example_j1_f24():
    for d in (3, 5, 7):
        j1 = example_j1(jax.random.key(10 + d), d)
        V = j1.vectors
        # independent numpy: pi(y) = exp(<y, y*>) / sum
        logits = V @ V[j1.y_star]
        p = np.exp(logits - logits.max())
        p /= p.sum()
        np.testing.assert_allclose(j1.base.table()[0], p, rtol=1e-12)
        assert int(np.argmax(p)) == j1.y_star
        assert j1.C_cov == pytest.approx(1 / p[j1.y_star], rel=1e-12)
        assert j1.gamma_margin == pytest.approx(p.max() / np.sort(p)[-2] - 1, rel=1e-10)
        assert j1.gamma_margin >= J1_MARGIN_FLOOR - 1e-12  # e^{1/32} - 1 = 0.0317
        assert j1.Y / math.e**2 <= j1.C_cov <= j1.Y  # pi(y*) <= e^2 pi(y): C_cov grows like |Y|
    assert J1_MARGIN_FLOOR == pytest.approx(0.031743, abs=1e-6)


# -- Proposition E.2 / greedy failure ----------------------------------------------------------
def test_prop_e2_f22():
    m = prop_e2()
    t = m.table()[0].reshape(100, 100)  # [first token, second token], 0-based
    first = t.sum(axis=1)
    # pi(1) = pi(2) = 100 / (2*100 + 98) = 100/298 = 0.33557 (paper tokens 1, 2 = code 0, 1)
    assert first[0] == pytest.approx(100 / 298, rel=1e-12) and first[1] == pytest.approx(100 / 298, rel=1e-12)
    assert t[1, 0] == pytest.approx(100 / 298 * 100 / 199, rel=1e-12)  # 0.16863
    assert round(t[1, 0], 4) == 0.1686 and round(first[0], 4) == 0.3356
    assert round(np.sort(t.ravel())[-2], 5) == 0.00336  # runner-up 0.3356 / 100
    assert round(s.coverage(m), 2) == 5.93
    star = s.argmax_set(m)[0].reshape(100, 100)
    assert star.sum() == 1 and star[1, 0]
    # exact first-token tie, greedy picks code token 0 and misses the argmax (1, 0)
    c1 = m.to_autoregressive().conditionals[0][0, 0]
    assert c1[0] == c1[1]
    assert m.to_autoregressive().greedy()[0].tolist() != [1, 0]
    # no pi_theta in the class puts > 1/2 on (2, 1): pi_theta(1) = pi_theta(2) for every theta
    rng = np.random.default_rng(0)
    for _ in range(5):
        th = rng.normal(size=(2, 2)) * 5
        q = m.with_thetas(th, B=None).table()[0].reshape(100, 100)
        assert q[:, :].sum(axis=1)[0] == pytest.approx(q.sum(axis=1)[1], rel=1e-12)
        assert q[1, 0] <= 0.5


def test_greedy_failure_f21():
    g = greedy_failure()
    np.testing.assert_allclose(g.table()[0], [0.3, 0.3, 0.4, 0.0], atol=1e-15)
    assert g.sequence_argmax()[0][0].tolist() == [1, 0]  # ba, mass 0.4 <= 1/2
    assert g.greedy()[0][0] == 0  # greedy starts with a


# -- Proposition E.1: MAX-CUT -----------------------------------------------------------------
def _graph(n, edges):
    A = np.zeros((n, n), dtype=int)
    for i, j in edges:
        A[i, j] = A[j, i] = 1
    return A


GRAPHS = {
    "triangle": _graph(3, [(0, 1), (1, 2), (0, 2)]),
    "path3": _graph(4, [(0, 1), (1, 2), (2, 3)]),
    "K4-minus-edge": _graph(4, [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3)]),
    "C5": _graph(5, [(0, 1), (1, 2), (2, 3), (3, 4), (4, 0)]),
    "star+edge": _graph(5, [(0, 1), (0, 2), (0, 3), (0, 4), (1, 2), (3, 4), (1, 3)]),
}


def _random_odd_graph(seed, n):
    rng = np.random.default_rng(seed)
    while True:
        A = np.triu(rng.integers(0, 2, size=(n, n)), 1)
        if A.sum() % 2 == 1:
            return A + A.T


@pytest.mark.parametrize("name", list(GRAPHS) + ["random6a", "random6b"])
def test_maxcut_argmax_is_a_maximum_cut(name):
    A = GRAPHS.get(name)
    if A is None:
        A = _random_odd_graph(1 if name.endswith("a") else 2, 6)
    nv = A.shape[0]
    model = maxcut_instance(A)
    assert (model.H, model.V, model.d) == (nv + 2, 2, (nv + 2) + (nv + 2) ** 2 + (nv + 2) ** 3)
    star = np.flatnonzero(s.argmax_set(model)[0])
    tokens = s.decode(star, 2, nv + 2)
    best, maximisers = max_cut_brute_force(A)
    spins = 2 * tokens[:, :nv] - 1
    # every sequence argmax encodes a maximum cut, ends with (+1, +1), and every maximum cut appears
    assert all(cut_value(A, sp) == best for sp in spins)
    assert (tokens[:, nv:] == 1).all()
    assert {tuple(x) for x in spins.tolist()} == {tuple(x) for x in maximisers.tolist()}
    # the norm bound B = H holds (checked by the model) and cut_value agrees with the brute-force loop
    for sp in itertools.islice(itertools.product((-1, 1), repeat=nv), 8):
        loop = sum(A[i, j] for i in range(nv) for j in range(i + 1, nv) if sp[i] != sp[j])
        assert cut_value(A, np.array(sp)) == loop


def test_maxcut_even_edges_and_bad_input():
    A = _graph(4, [(0, 1), (1, 2), (2, 3), (3, 0)])  # C4: 4 edges (even)
    with pytest.raises(ValueError, match="odd number of edges"):
        maxcut_instance(A)
    model = maxcut_instance(A, allow_even=True)
    tokens = s.decode(np.flatnonzero(s.argmax_set(model)[0]), 2, 6)
    assert all(cut_value(A, 2 * t[:4] - 1) == 4 for t in tokens)
    with pytest.raises(ValueError, match="symmetric"):
        maxcut_instance(np.triu(np.ones((3, 3), dtype=int), 1))
    with pytest.raises(ValueError, match="at least one edge"):
        maxcut_instance(np.zeros((3, 3), dtype=int))


# -- random families --------------------------------------------------------------------------
@pytest.mark.parametrize("X, Y, C, g", [(4, 10, 4.0, 0.5), (3, 50, 20.0, 0.1), (2, 2, 2.5 / 1.5, 0.5), (5, 8, 3.0, 1.5)])
def test_two_level_family_exact(X, Y, C, g):
    lm = two_level_family(jax.random.key(3), X, Y, C, g)
    assert s.coverage(lm) == pytest.approx(C, rel=1e-12)
    assert s.adaptive_coverage(lm) == pytest.approx(C, rel=1e-12)
    assert s.margin(lm) == pytest.approx(g, rel=1e-9)
    assert (s.argmax_set(lm).sum(axis=1) == 1).all()
    t = lm.table()
    assert np.allclose(t.sum(axis=1), 1.0, atol=1e-12)


def test_two_level_family_infeasible():
    with pytest.raises(ValueError, match="C_cov must lie in"):
        two_level_family(jax.random.key(0), 2, 10, 20.0, 0.5)  # above (10 + 0.5)/1.5 = 7


def test_power_law_family_margin():
    lm = power_law_family(jax.random.key(0), 3, 20, 5.0)
    assert s.coverage(lm) == pytest.approx(5.0, rel=1e-9)
    assert s.margin(lm) == pytest.approx(power_law_margin(20, 5.0), rel=1e-9)

"""sharpsim.exact and quantities.population_N against brute-force enumeration."""

from __future__ import annotations

import itertools
import math

import jax
import numpy as np
import pytest

import sharpsim as s
from sharpsim import exact
from sharpsim.exact import bayes_curve, bayes_error_exact
from sharpsim.instances import problems
from sharpsim.quantities import population_N as n_pop


def _bayes_brute(M, k):
    """Bayes error after k draws by enumerating every draw sequence (star index 0)."""
    b = (M - 2) / (M * (M - 1))  # probability of each non-star response (F6)
    tot = 0.0
    for seq in itertools.product(range(M), repeat=k):
        if 0 in seq:
            continue  # y* drawn: its likelihood 2/M reveals j*, error 0
        tot += b ** k * (1.0 - 1.0 / (M - len(set(seq))))
    return tot


def _brute_success(p, n, N, delta):
    """P[count(y*)/n > 1 - delta] with count ~ Bin(n, q), q = P[best-of-N = y*] by enumerating the
    N draws over {y*, other} (y* is the unique argmax, so best-of-N = y* iff some draw is y*)."""
    q = 0.0
    for draws in itertools.product((0, 1), repeat=N):
        pr = math.prod(p if d else 1 - p for d in draws)
        q += pr if any(draws) else 0.0
    return sum(math.comb(n, k) * q**k * (1 - q) ** (n - k) for k in range(n + 1) if k / n > 1 - delta)


@pytest.mark.parametrize("M", [4, 5, 7])
def test_bayes_error_exact_matches_enumeration(M):
    b = bayes_error_exact(M, 5)
    for k in range(6):
        assert b[k] == pytest.approx(_bayes_brute(M, k), rel=1e-12, abs=1e-15)
    assert b[0] == pytest.approx(1 - 1 / M)
    # averaging over Bin(m, Delta/d): m = 0 gives b(0); p = 1 (d = 1, Delta -> 1) gives b(m)
    assert bayes_curve(M, 2, 0.5, [0])[0] == pytest.approx(b[0])


def test_n_pop_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(25):
        p = rng.uniform(0.01, 1.0, size=6)
        p[rng.integers(6)] = 1.0
        mu = rng.dirichlet(np.ones(6))
        delta, target = rng.uniform(0.05, 0.6), rng.uniform(0.0, 0.5)
        N = n_pop(p, mu, delta, target)
        err = lambda n: sum(w for q, w in zip(p, mu) if (1 - q) ** n >= delta)  # noqa: E731
        assert err(N) <= target + 1e-12
        assert N == 1 or err(N - 1) > target


@pytest.mark.parametrize("p,n,N,delta", [(0.3, 3, 2, 0.1), (0.2, 10, 5, 0.1), (0.5, 7, 3, 0.3), (0.05, 20, 8, 0.25)])
def test_exact_success_matches_enumeration(p, n, N, delta):
    assert exact.exact_success(p, n, N, delta) == pytest.approx(_brute_success(p, n, N, delta), abs=1e-12)


def test_population_N_is_least_sharp_N():
    problem = problems.j1_problem(jax.random.key(3), 4, delta=0.1)
    base = problem.info["instance"].base
    N_pop, disc = exact.population_N_checked(base, 0.1)
    star = int(np.argmax(base.table()[0]))
    law = [float(s.bon_law(base, N)[0, star]) for N in range(1, N_pop + 1)]
    assert law[-1] > 0.9 and all(v <= 0.9 for v in law[:-1])
    assert disc < 1e-12


def _path_m_loop(p_star, n0, N0, delta, rho, grid=4000):
    """exact_path_m written as a plain loop: one exact_success per grid point, first success wins."""
    for sc in np.geomspace(1e-4, 1.0, grid):
        n, N = max(1, math.ceil(sc * n0)), max(1, math.ceil(sc * N0))
        if exact.exact_success(p_star, n, N, delta) >= 1 - rho:
            return float(n * N)
    return float("nan")


def _optimum_loop(p_star, delta, rho, n_max=64):
    """exact_optimum written as a plain loop: per n, doubling then bisection, one exact_success each."""
    best = (math.inf, 0, 0)
    for n in range(1, n_max + 1):
        lo, hi = 0, 1
        while exact.exact_success(p_star, n, hi, delta) < 1 - rho:
            lo, hi = hi, 2 * hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if exact.exact_success(p_star, n, mid, delta) >= 1 - rho:
                hi = mid
            else:
                lo = mid
        if n * hi < best[0]:
            best = (float(n * hi), n, hi)
    return best


@pytest.mark.parametrize("p_star,delta,rho", [(0.3, 0.1, 0.1), (0.02, 0.25, 0.05), (0.9, 0.4, 0.2), (1e-4, 0.1, 0.3),
                                              (0.5, 0.5, 0.5)])
def test_vectorized_searches_equal_the_loops(p_star, delta, rho):
    """exact_path_m and exact_optimum evaluate their sizes with one vectorized binom.sf: the same
    results as one exact_success per size (the loops above), and the path's m is a grid size that
    succeeds, the size before it on the grid failing."""
    for n0, N0 in ((1, 1), (50, 7), (3000, 400), (10**6, 10**5)):
        got, ref = exact.exact_path_m(p_star, n0, N0, delta, rho), _path_m_loop(p_star, n0, N0, delta, rho)
        assert (math.isnan(got) and math.isnan(ref)) or got == ref, (n0, N0)
    for n_max in (1, 5, 64):
        assert exact.exact_optimum(p_star, delta, rho, n_max) == _optimum_loop(p_star, delta, rho, n_max)
    ns, Ns = [1, 7, 7, 300], [1, 1, 9, 10**9]
    many = exact._success_many(p_star, ns, Ns, delta)
    one = np.array([exact.exact_success(p_star, n, N, delta) for n, N in zip(ns, Ns)])
    np.testing.assert_array_equal(many.view(np.int64), one.view(np.int64))


def test_exact_optimum_beyond_the_doublings(monkeypatch):
    """An n whose N_min is beyond 2^_DOUBLINGS goes on doubling one at a time (as the loop does)."""
    monkeypatch.setattr(exact, "_DOUBLINGS", 2)  # N = 1, 2, 4 at once, then one at a time
    for p_star in (0.01, 0.3):
        assert exact.exact_optimum(p_star, 0.1, 0.1, 6) == _optimum_loop(p_star, 0.1, 0.1, 6)

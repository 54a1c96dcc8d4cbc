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

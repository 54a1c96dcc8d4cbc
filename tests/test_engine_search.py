"""The engine's searches: min_sample_complexity on synthetic success curves with a known answer,
its budget, and sequential_trials' verdicts (decided against a Clopper-Pearson interval)."""

import math

import jax
import numpy as np
import pytest

from sharpsim.engine import Budget, TrialStats, min_sample_complexity, sequential_trials
from sharpsim.instances.problems import hard_problem


def _fake(success, calls):
    """An evaluator whose success at sizes {n, N} is the given predicate; m = n N."""

    def evaluate(sizes):
        calls.append(dict(sizes))
        ok = success(sizes["n"], sizes["N"])
        k = 100 if ok else 0
        return TrialStats(np.zeros(100), np.full(100, ok), k / 100, (0.96, 1.0) if ok else (0.0, 0.04),
                          float(sizes["n"] * sizes["N"]), float(sizes["n"] * sizes["N"]), 0.0, dict(sizes),
                          "above" if ok else "below")

    return evaluate


def _brute(success, Ns, n_max=10_000):
    best = (math.inf, None)
    for N in Ns:
        n = next((n for n in range(1, n_max) if success(n, N)), None)
        if n is not None and n * N < best[0]:
            best = (n * N, (n, N))
    return best


@pytest.mark.parametrize("center", [0, 3, 7])
def test_joint_minimum_equals_brute_force(center):
    """success iff n N >= 100 and N >= 5: the least m over the grid is at N = 6, n = 17 (m = 102)."""
    Ns = [1, 2, 3, 4, 6, 8, 12, 16]
    success = lambda n, N: n * N >= 100 and N >= 5  # noqa: E731
    calls = []
    res = min_sample_complexity(_fake(success, calls), "n", [{"N": N} for N in Ns], 0.1, center=center,
                                start=3)
    m, (n, N) = _brute(success, Ns)
    assert (res.m, res.sizes) == (m, {"N": N, "n": n}) == (102.0, {"N": 6, "n": 17})
    lo, hi = res.m_interval
    assert hi == res.m and lo == 16 * 6  # the largest failing n at N = 6 is 16
    assert res.complete and len(res.points) == len({tuple(sorted(c.items())) for c in calls})


def test_joint_minimum_with_a_non_monotone_cost_in_N():
    """m(N) = N * ceil(c / sqrt(N)) is unimodal-ish; the search must agree with brute force."""
    Ns = [1, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64]
    success = lambda n, N: n * math.sqrt(N) >= 40 and N >= 3  # noqa: E731
    res = min_sample_complexity(_fake(success, []), "n", [{"N": N} for N in Ns], 0.1, center=6)
    assert res.m == _brute(success, Ns)[0]


def test_rel_tol_stops_bisection_within_the_factor():
    success = lambda n, N: n >= 1000  # noqa: E731
    res = min_sample_complexity(_fake(success, []), "n", [{"N": 1}], 0.1, rel_tol=0.1)
    assert 1000 <= res.m <= 1100


def test_budget_stops_the_search_and_marks_it_incomplete():
    res = min_sample_complexity(_fake(lambda n, N: n >= 50, []), "n", [{"N": 1}], 0.1, budget=Budget(0.0))
    assert not res.complete and res.m is None


def test_no_size_reaches_the_target_within_the_cap():
    res = min_sample_complexity(_fake(lambda n, N: False, []), "n", [{"N": 1}], 0.1, cap=64)
    assert res.m is None and res.grid[0]["n"] is None and max(p["sizes"]["n"] for p in res.points) == 64


def test_sequential_trials_decide_and_repeat_bit_for_bit():
    pb = hard_problem(2, 8, 0.5, jax.random.key(0))
    key = jax.random.key(7)
    easy = sequential_trials(pb, "sft", key, 0.3, 0.3, 0.1, batch=50, n=64, N=16)
    hard = sequential_trials(pb, "sft", key, 0.3, 0.3, 0.1, batch=50, n=1, N=1)
    assert easy.verdict == "above" and easy.ci[0] >= 0.9 and easy.trials % 50 == 0
    assert hard.verdict == "below" and hard.ci[1] < 0.9
    again = sequential_trials(pb, "sft", key, 0.3, 0.3, 0.1, batch=50, n=64, N=16)
    np.testing.assert_array_equal(easy.errors, again.errors)
    # a size near the threshold needs more batches, and the budget bounds them
    # (batches of 50 and n_cap = 8 as for `hard`: the same compiled program)
    mid = sequential_trials(pb, "sft", key, 0.3, 0.3, 0.1, batch=50, max_trials=150, n=4, N=4)
    assert mid.trials <= 150 and mid.verdict in ("above", "below", "undecided")

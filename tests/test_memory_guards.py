"""Memory is checked before it is spent: every constructor, enumerator and sampler computes the
size it would allocate (Python ints) and refuses at once, with the size, the limit
sharpsim.MAX_ENUMERATION and the way out, when it is above the limit.

Each refusal is timed (< 2 s; they take milliseconds) and must name the argument that makes the
size. Before these guards, random_autoregressive(key, X=1, V=10, H=12) allocated until the OOM
killer ended the process, and ``sharpsim report --H 16`` spent 47 s and 10.7 GB before failing.
"""

import time

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim.cli import main
from sharpsim.generators import autoregressive_size

KEY = jax.random.key(0)
LIMIT = "67,108,864"


def refuse(fn, *needles):
    """Call fn, expect a ValueError within 2 s whose message holds every needle; return it."""
    t0 = time.perf_counter()
    with pytest.raises(ValueError) as info:
        fn()
    took = time.perf_counter() - t0
    msg = str(info.value)
    assert took < 2.0, f"refusal took {took:.2f} s"
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"
    return msg


def lazy_full_history(X, V, H, p=None):
    """Full-history conditionals as zero-copy broadcast views (nothing allocated)."""
    p = 1.0 / V if p is None else p
    return [np.broadcast_to(np.float64(p), (X, V ** (h - 1), V)) for h in range(1, H + 1)]


def test_limit_value():
    assert ss.MAX_ENUMERATION == 2**26


def test_random_autoregressive_full_history_refused_at_once():
    # the case: 1.1e12 conditional entries
    refuse(lambda: ss.random_autoregressive(KEY, X=1, V=10, H=12), "H=12", "order=None", "1,111,111,111,110", LIMIT, "Markov order")
    refuse(lambda: ss.random_autoregressive(KEY, 4, 3, 40), "H=40", "order=None", LIMIT)
    refuse(lambda: ss.random_autoregressive(KEY, 4, 3, 16), "H=16", "258,280,320", LIMIT)
    # sizes too large to write out (10^(10^12)) are not materialised either
    refuse(lambda: ss.random_autoregressive(KEY, 1, 10, 10**12), "H=1000000000000", "more than 2^4096")


def test_random_autoregressive_markov_refused_when_too_long():
    refuse(lambda: ss.random_autoregressive(KEY, 1, 10, 10**9, order=5), "order=5", "H=1000000000", LIMIT)
    refuse(lambda: ss.random_autoregressive(KEY, 2, 64, 6, order=8), "order=8", "V=64", LIMIT)


def test_random_autoregressive_sizes_vs_brute_force():
    for X, V, H, order in [(1, 10, 12, None), (2, 3, 5, None), (2, 3, 5, 1), (3, 1, 4, None), (1, 2, 1, 0),
                           (4, 3, 7, 2), (2, 5, 3, 9), (1, 2, 6, 0)]:
        brute = sum(X * V ** ((h - 1 if order is None else min(h - 1, order)) + 1) for h in range(1, H + 1))
        assert autoregressive_size(X, V, H, order) == brute
    # the model it builds holds exactly that many conditional entries
    m = ss.random_autoregressive(KEY, 2, 3, 5, order=1)
    assert sum(c.size for c in m.conditionals) == autoregressive_size(2, 3, 5, 1)


def test_autoregressive_constructor_refuses_before_copying():
    # 4^1 + ... + 4^14 = 358 million entries, given as broadcast views (no memory): refused at once,
    # before the validated float64 copies would be made
    refuse(lambda: ss.AutoregressiveLM(lazy_full_history(1, 4, 14)), "conditionals", "H = 14", "357,913,940", LIMIT, "Markov order")


def test_log_table_refused_at_once_even_for_astronomical_sizes():
    markov = ss.AutoregressiveLM([np.full((1, 1, 2), 0.5)] + [np.full((1, 2, 2), 0.5)] * 39)  # V=2, H=40, order 1
    refuse(markov.log_table, "X * V^H = 1 * 2^40 = 1,099,511,627,776", LIMIT, "smaller H")
    refuse(lambda: ss.coverage(markov), "X * V^H", LIMIT)
    refuse(lambda: markov.sequence_argmax(method="enumerate"), "X * V^H", LIMIT)
    huge = ss.AutoregressiveLM([np.full((1, 1, 2), 0.5)] + [np.full((1, 2, 2), 0.5)] * 4999)  # 2^5000
    refuse(huge.log_table, "2^5000", "more than 2^4096", LIMIT)
    # the non-enumerating paths still work on such models
    toks, val = huge.sequence_argmax()
    assert toks.shape == (1, 5000) and np.isfinite(val).all()


def test_generators_refuse_large_tables():
    refuse(lambda: ss.dirichlet_table(KEY, 10**5, 10**5), "dirichlet_table", "X * Y = 100000 * 100000", LIMIT)
    refuse(lambda: ss.power_law_table(KEY, 10**4, 10**5, 3.0), "power_law_table", "X * Y = 10000 * 100000", LIMIT)


def test_samplers_refuse_large_draws():
    tab = ss.TabularLM([[0.5, 0.5], [0.2, 0.8]])
    refuse(lambda: tab.sample(KEY, [0, 1], 10**9), "num = 2 * 1000000000", LIMIT)
    refuse(lambda: tab.sample_prompts(KEY, 10**12), "n = 1000000000000", LIMIT)
    ar = ss.random_autoregressive(KEY, 1, 2, 3)
    refuse(lambda: ar.sample(KEY, [0], 10**8), "num * max(H, V) = 1 * 100000000 * 3", LIMIT)
    refuse(lambda: ss.best_of_n(KEY, tab, [0, 1], 10**8), "len(x) * N = 2 * 100000000", LIMIT, "best_of_n_exact")
    refuse(lambda: ss.decode(np.zeros(4, dtype=np.int64), 2, 10**8), "index.size * H = 4 * 100000000", LIMIT)
    # the exact-law sampler has no such limit: its cost does not depend on N
    assert ss.best_of_n_exact(KEY, tab, [0, 1], 10**8).y.shape == (2,)


@pytest.mark.parametrize("H, size", [(40, "48,630,661,836,227,715,204"), (16, "172,186,884")])
def test_report_command_refuses_at_once(capsys, H, size):
    t0 = time.perf_counter()
    rc = main(["report", "--H", str(H)])
    took = time.perf_counter() - t0
    err = capsys.readouterr().err
    assert rc == 2 and took < 2.0
    assert f"X * V^H = 4 * 3^{H} = {size}" in err and LIMIT in err and "--H" in err


def test_report_command_refuses_large_tabular(capsys):
    assert main(["report", "--instance", "dirichlet", "--X", "100000", "--Y", "100000"]) == 2
    err = capsys.readouterr().err
    assert "X * Y = 100000 * 100000" in err and "--Y" in err

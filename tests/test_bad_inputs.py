"""Bad inputs to the library API: each raises TypeError / ValueError naming the broken argument.

``CASES`` is a table: one ``pytest.param(fn, args, kwargs, exception type, substring, id=...)`` per
bad input. The substring must appear in the message and names the argument (or the broken
condition with the argument). Append rows for new layers (engine, command line) at the end; a
row's callable may be any zero-side-effect function of its args.
"""

import math
from argparse import Namespace

import jax
import numpy as np
import pytest

import sharpsim as ss
from sharpsim import stats
from sharpsim.commands import report as report_command
from sharpsim.cli import main
from sharpsim.comparison import theory_vs_simulation
from sharpsim.engine import run_trials, sequential_trials
from sharpsim.instances.problems import hard_problem
from sharpsim.report import bounds_report

GOOD = np.array([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8]])
PROB = hard_problem(2, 4, 0.5, jax.random.key(0))
VERIFY = ["verify", "--instance", "hard", "--algorithm", "sft", "--eps", "0.05", "--delta", "0.25", "--rho", "0.1"]


def _cli(argv):
    """Run the command line; exit status 2 (a refused input) becomes ValueError(stderr) for the table."""
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse's own refusals
            rc = exc.code
    if rc == 2:
        text = err.getvalue().strip()
        assert "\n" not in text.split("error:", 1)[-1].strip(), f"more than one line: {text!r}"
        raise ValueError(text)
    return rc
KEY = jax.random.key(0)
TAB = ss.TabularLM(GOOD)
AR = ss.AutoregressiveLM([np.full((1, 1, 2), 0.5), np.full((1, 2, 2), 0.5)])  # X=1, V=2, H=2


def row(fn, args, exc, match, id, **kwargs):
    return pytest.param(fn, args, kwargs, exc, match, id=id)


CASES = [
    # -- tables: shapes, values, row sums ----------------------------------------------------
    row(ss.coverage, ([0.5, 0.5],), ValueError, "base must be a 2-D", "table-1d"),
    row(ss.coverage, (np.ones((2, 2, 2)) / 2,), ValueError, "base must be a 2-D", "table-3d"),
    row(ss.coverage, (np.zeros((0, 3)),), ValueError, "base must have at least one prompt", "table-empty"),
    row(ss.margin, ([[0.6, -0.1, 0.5]],), ValueError, "base has negative probability", "table-negative"),
    row(ss.argmax_set, ([[np.nan, 0.5, 0.5]],), ValueError, "base contains NaN", "table-nan"),
    row(ss.bon_law, ([[np.inf, 0.5]], 2), ValueError, "base contains infinite", "table-inf"),
    row(ss.tilted, ([[0.5, 0.3, 0.1]], 1.0), ValueError, "rows of base must sum to 1", "table-rowsum"),
    row(ss.kl, ([[0.5, 0.6]], [[0.5, 0.5]]), ValueError, "rows of policy must sum to 1", "policy-rowsum"),
    row(ss.coverage, ("table",), TypeError, "base must be an array of numbers", "table-str"),
    row(ss.coverage, ([["a", "b"]],), TypeError, "base must be a real numeric array", "table-strings"),
    row(ss.TabularLM, ([[0.5, 0.6]],), ValueError, "rows of probs must sum to 1", "TabularLM-rowsum"),
    row(ss.TabularLM.from_log_probs, ([[0.0, 0.0]],), ValueError, "rows of log_probs must sum to 1", "from_log_probs-rowsum"),
    row(ss.TabularLM.from_log_probs, ([[1.0, -np.inf]],), ValueError, "log_probs has a log-probability above 0", "from_log_probs-positive"),
    row(ss.TabularLM.from_logits, ([[np.nan, 0.0]],), ValueError, "logits contain NaN", "from_logits-nan"),
    row(ss.kl, ([[0.5, 0.5]], GOOD), ValueError, "policy has shape (1, 2) but base has shape (2, 3)", "pair-shape"),
    # -- mu ---------------------------------------------------------------------------------
    row(ss.coverage, (GOOD,), ValueError, "mu has 3 entries", "mu-length", mu=[0.2, 0.3, 0.5]),
    row(ss.coverage, (GOOD,), ValueError, "mu must be non-negative", "mu-negative", mu=[1.5, -0.5]),
    row(ss.coverage, (GOOD,), ValueError, "mu must be non-negative and free of NaN", "mu-nan", mu=[np.nan, 1.0]),
    row(ss.coverage, (GOOD,), ValueError, "mu must sum to 1", "mu-sum", mu=[0.5, 0.6]),
    row(ss.TabularLM, (GOOD,), ValueError, "mu must be a 1-D", "TabularLM-mu-2d", mu=[[0.5, 0.5]]),
    # -- integers: N, n, num, p, k, X, Y, V, H, order ---------------------------------------
    row(ss.bon_law, (GOOD, 2.5), TypeError, "N must be an integer", "N-float"),
    row(ss.bon_law, (GOOD, "3"), TypeError, "N must be an integer", "N-str"),
    row(ss.bon_law, (GOOD, 0), ValueError, "N must be >= 1", "N-zero"),
    row(ss.bon_law, (GOOD, -3), ValueError, "N must be >= 1", "N-negative"),
    row(ss.bon_law, (GOOD, math.inf), TypeError, "N must be an integer", "N-inf"),
    row(ss.bon_law, (GOOD, True), TypeError, "N must be an integer", "N-bool"),
    row(ss.best_of_n_exact, (KEY, GOOD, [0], 0), ValueError, "N must be >= 1", "best_of_n_exact-N"),
    row(ss.coverage, (GOOD,), ValueError, "p must be >= 1", "coverage-p", p=0),
    row(TAB.sample_prompts, (KEY, 0), ValueError, "n must be >= 1", "sample_prompts-n"),
    row(TAB.sample_prompts, (KEY, 1.5), TypeError, "n must be an integer", "sample_prompts-n-float"),
    row(TAB.sample, (KEY, [0], 0), ValueError, "num must be >= 1", "sample-num"),
    row(AR.sample_tokens, (KEY, [0], -1), ValueError, "num must be >= 1", "sample_tokens-num"),
    row(ss.dirichlet_table, (KEY, 0, 3), ValueError, "X must be >= 1", "dirichlet-X"),
    row(ss.dirichlet_table, (KEY, 2, 2.5), TypeError, "Y must be an integer", "dirichlet-Y-float"),
    row(ss.power_law_table, (KEY, 2, 1, 3.0), ValueError, "Y must be >= 2", "power_law-Y"),
    row(ss.random_autoregressive, (KEY, 1, 0, 3), ValueError, "V must be >= 1", "random_ar-V"),
    row(ss.random_autoregressive, (KEY, 1, 2, 0), ValueError, "H must be >= 1", "random_ar-H"),
    row(ss.random_autoregressive, (KEY, 1, 2, 3), ValueError, "order must be >= 0", "random_ar-order", order=-1),
    row(stats.clopper_pearson, (2.5, 10), TypeError, "k must be an integer", "clopper_pearson-k-float"),
    row(stats.clopper_pearson, (11, 10), ValueError, "k must lie in [0, n=10]", "clopper_pearson-k-range"),
    row(stats.clopper_pearson, (1, 0), ValueError, "n must be >= 1", "clopper_pearson-n"),
    # -- reals in (0, 1), > 0, [0, 1) ---------------------------------------------------------
    row(ss.sharpness_error, (GOOD, GOOD, 0.0), ValueError, "delta must lie in (0, 1)", "delta-zero"),
    row(ss.sharpness_error, (GOOD, GOOD, 1.0), ValueError, "delta must lie in (0, 1)", "delta-one"),
    row(ss.sharpness_error, (GOOD, GOOD, math.nan), ValueError, "delta is NaN", "delta-nan"),
    row(ss.sharpness_error, (GOOD, GOOD), TypeError, "delta must be a real number", "delta-missing"),
    row(ss.sharpness_error, (GOOD, GOOD, 0.1), TypeError, "strict must be a bool", "strict-str", strict="yes"),
    row(ss.argmax_set, (GOOD, 1.0), ValueError, "gamma must lie in [0, 1)", "gamma-one"),
    row(ss.coverage, (GOOD,), ValueError, "gamma must lie in [0, 1)", "gamma-negative", gamma=-0.1),
    row(ss.tilted, (GOOD, 0.0), ValueError, "beta must be > 0", "beta-zero"),
    row(ss.log_tilted, (GOOD, -1.0), ValueError, "beta must be > 0", "log_tilted-beta-negative"),
    row(ss.tilted, (GOOD, math.nan), ValueError, "beta is NaN", "beta-nan"),
    row(ss.tilted, (GOOD, "1"), TypeError, "beta must be a real number", "beta-str"),
    row(ss.concentrability, (GOOD, GOOD), ValueError, "beta must be > 0", "concentrability-beta", beta=0.0),
    row(ss.regularized_value, (GOOD, GOOD), TypeError, "beta must be a real number", "regularized_value-beta-missing"),
    row(ss.dpo_residual, (GOOD, GOOD, -2.0), ValueError, "beta must be > 0", "dpo_residual-beta"),
    row(ss.adaptive_best_of_n, (KEY, GOOD, [0], 0.0), ValueError, "mu_stop must be > 0", "mu_stop-zero"),
    row(ss.adaptive_best_of_n, (KEY, GOOD, [0], math.inf), ValueError, "mu_stop must be finite", "mu_stop-inf"),
    row(ss.adaptive_best_of_n, (KEY, GOOD, [0], 1.0), ValueError, "max_draws must be >= 1", "max_draws-zero", max_draws=0),
    row(ss.adaptive_best_of_n, (KEY, GOOD, [0], 1.0), ValueError, "max_draws must be <= 2^62", "max_draws-huge", max_draws=10**30),
    row(ss.dirichlet_table, (KEY, 2, 3, 0.0), ValueError, "alpha must be > 0", "dirichlet-alpha"),
    row(ss.power_law_table, (KEY, 2, 5, 1.0), ValueError, "C (target coverage) must lie in (1, Y=5)", "power_law-C"),
    row(TAB.with_temperature, (0.0,), ValueError, "temperature must be > 0", "temperature-zero"),
    row(stats.clopper_pearson, (1, 10, 1.0), ValueError, "conf must lie in (0, 1)", "clopper_pearson-conf"),
    row(stats.mean_ci, (np.ones(3),), ValueError, "method must be 't' or 'z'", "mean_ci-method", method="x"),
    row(bounds_report, (GOOD, 0.0, 0.1, 0.1), ValueError, "eps must lie in (0, 1)", "bounds_report-eps"),
    row(bounds_report, (GOOD, 0.1, 0.1, 1.5), ValueError, "rho must lie in (0, 1)", "bounds_report-rho"),
    # -- keys ---------------------------------------------------------------------------------
    row(ss.best_of_n, (2, GOOD, [0], 2), TypeError, "key must be a jax.random key", "key-int-best_of_n"),
    row(ss.best_of_n_exact, (None, GOOD, [0], 2), TypeError, "key must be a jax.random key", "key-None-best_of_n_exact"),
    row(ss.adaptive_best_of_n, (2.0, GOOD, [0], 1.0), TypeError, "key must be a jax.random key", "key-float-adaptive"),
    row(ss.dirichlet_table, (None, 2, 3), TypeError, "key must be a jax.random key", "key-None-dirichlet"),
    row(ss.power_law_table, (7, 2, 3, 2.0), TypeError, "key must be a jax.random key", "key-int-power_law"),
    row(ss.random_autoregressive, (2, 1, 2, 3), TypeError, "key must be a jax.random key", "key-int-random_ar"),
    row(TAB.sample, (None, [0]), TypeError, "key must be a jax.random key", "key-None-sample"),
    row(TAB.sample_prompts, (np.zeros(2), 3), TypeError, "key must be a jax.random key", "key-float-array-sample_prompts"),
    row(AR.sample, (3, [0]), TypeError, "key must be a jax.random key", "key-int-ar-sample"),
    row(ss.best_of_n, (jax.random.split(KEY, 2), GOOD, [0], 2), ValueError, "key must be a single jax.random key", "key-batch"),
    # -- prompt indices, tokens, sequence indices -------------------------------------------
    row(ss.best_of_n, (KEY, GOOD, [2], 3), ValueError, "prompt indices x must lie in [0, 2)", "x-range"),
    row(ss.best_of_n, (KEY, GOOD, [0.5], 3), TypeError, "x must be integer", "x-float"),
    row(TAB.sample, (KEY, [5]), ValueError, "prompt indices x must lie in [0, 2)", "sample-x-range"),
    row(TAB.sample, (KEY, [-1]), ValueError, "prompt indices x must lie in [0, 2)", "sample-x-negative"),
    row(AR.sample_tokens, (KEY, [1]), ValueError, "prompt indices x must lie in [0, 1)", "sample_tokens-x-range"),
    row(AR.greedy, ([3],), ValueError, "prompt indices x must lie in [0, 1)", "greedy-x-range"),
    row(AR.sequence_argmax, ([1],), ValueError, "prompt indices x must lie in [0, 1)", "sequence_argmax-x-range"),
    row(AR.sequence_argmax, (), ValueError, "method must be 'dp' or 'enumerate'", "sequence_argmax-method", method="beam"),
    row(AR.sequence_log_prob, (2, [0, 1]), ValueError, "prompt indices x must lie in [0, 1)", "sequence_log_prob-x"),
    row(AR.sequence_log_prob, (0, [0, 2]), ValueError, "tokens must lie in [0, V=2)", "sequence_log_prob-tokens"),
    row(AR.sequence_log_prob, (0, [0, 1, 1]), ValueError, "tokens must have last dimension H=2", "sequence_log_prob-H"),
    row(ss.decode, (100, 2, 3), ValueError, "index must lie in [0, V^H)", "decode-index-range"),
    row(ss.decode, (-1, 2, 3), ValueError, "index must lie in [0, V^H)", "decode-index-negative"),
    row(ss.decode, (1.5, 2, 3), ValueError, "index must hold finite integers", "decode-index-float"),
    row(ss.decode, (0, 0, 3), ValueError, "V must be >= 1", "decode-V"),
    row(ss.encode, ([0, 5], 2), ValueError, "tokens must lie in [0, V=2)", "encode-token-range"),
    row(ss.encode, ([0, -1], 2), ValueError, "tokens must lie in [0, V=2)", "encode-token-negative"),
    row(ss.encode, ([0.5, 1], 2), ValueError, "tokens must hold finite integers", "encode-token-float"),
    row(ss.encode, (3, 4), ValueError, "tokens must have shape [..., H]", "encode-scalar"),
    row(ss.encode, ([1] * 64, 2), ValueError, "do not fit an int64 index", "encode-overflow"),
    row(ss.encode, (["a"], 2), TypeError, "tokens must be an array of integers", "encode-str"),
    # -- models -----------------------------------------------------------------------------
    row(ss.AutoregressiveLM, (np.full((1, 1, 2), 0.5),), TypeError, "conditionals must be a list", "ar-not-list"),
    row(ss.AutoregressiveLM, ([],), ValueError, "conditionals must hold at least one step", "ar-empty"),
    row(ss.AutoregressiveLM, ([np.full((1, 2, 2), 0.5)],), ValueError, "conditionals[0] must have a single (empty) context", "ar-first-context"),
    row(ss.AutoregressiveLM, ([np.array([[[1.5, -0.5]]])],), ValueError, "conditionals[0] has negative probability", "ar-negative"),
    # -- log tables for the pair quantities ---------------------------------------------------
    row(ss.concentrability, (GOOD, GOOD), ValueError, "pass either base or log_base, not both", "log_base-and-base", log_base=np.log(GOOD)),
    row(ss.concentrability, (), TypeError, "policy is required", "policy-missing", base=GOOD),
    row(ss.kl, (GOOD,), ValueError, "log_base has a log-probability above 0", "log_base-positive", log_base=[[0.1, -1.0, -2.0]] * 2),
    row(ss.kl, (), ValueError, "rows of log_policy must sum to 1", "log_policy-rowsum", log_policy=np.log(GOOD) - 1.0, base=GOOD),
    row(ss.kl, (GOOD,), ValueError, "but log_base has shape (1, 3)", "log_base-shape", log_base=np.log(GOOD[:1])),
    # -- statistics -------------------------------------------------------------------------
    row(stats.loglog_slope, ([1, 2, 3], [1.0, 0.0, 2.0]), ValueError, "y must be finite and > 0", "loglog-y-zero"),
    row(stats.loglog_slope, ([1, -2, 3], [1, 1, 2]), ValueError, "x must be finite and > 0", "loglog-x-negative"),
    row(stats.loglog_slope, ([1, 2, 3], [1, np.nan, 2]), ValueError, "y must be finite and > 0", "loglog-y-nan"),
    row(stats.loglog_slope, ([1, 2, 3], [1, 2]), ValueError, "x and y must have the same length", "loglog-length"),
    row(stats.loglog_slope, ([2, 2, 2], [1, 2, 3]), ValueError, "x must hold at least two distinct values", "loglog-constant-x"),
    row(stats.mean_ci, (np.array([1.0, np.nan, 2.0]),), ValueError, "a contains NaN", "mean_ci-nan"),
    row(stats.mean_ci, (np.ones(3),), ValueError, "axis 3 is out of range", "mean_ci-axis", axis=3),
    # -- added with the checks above: inf beta where it makes inf * 0, 2-D prompts, float V ----
    row(ss.concentrability, (GOOD, GOOD), ValueError, "beta must be finite", "concentrability-beta-inf", beta=math.inf),
    row(ss.regularized_value, (GOOD, GOOD, math.inf), ValueError, "beta must be finite", "regularized_value-beta-inf"),
    row(ss.dpo_residual, (GOOD, GOOD, math.inf), ValueError, "beta must be finite", "dpo_residual-beta-inf"),
    row(TAB.sample, (KEY, [[0, 1]]), ValueError, "x must be a 1-D array of prompt indices", "sample-x-2d"),
    row(ss.encode, ([0, 1], 2.5), TypeError, "V must be an integer", "encode-V-float"),
    # -- the report command's options (checked before anything is built) --------------------
    row(report_command.check_size, (Namespace(instance="dirichlet", X=0, Y=3, V=3, H=2),), ValueError, "--X must be >= 1", "report-X"),
    row(report_command.check_size, (Namespace(instance="autoregressive", X=2, Y=3, V=3, H=-1),), ValueError, "--H must be >= 1", "report-H"),
    # -- the engine (checked before any trial runs) -------------------------------------------
    row(run_trials, (None, "sft", KEY, 10, 0.1, 0.1), TypeError, "problem must be", "run_trials-problem-None", n=1, N=1),
    row(run_trials, (PROB, "dpo", KEY, 10, 0.1, 0.1), TypeError, "beta", "run_trials-dpo-no-beta", n=10),
    row(run_trials, (PROB, "sft", KEY, 10, 0.1, 0.1), ValueError, "n = 1000000000 needs", "run_trials-n-huge", n=10**9, N=2),
    row(run_trials, (PROB, "sft", KEY, 10, 0.1, 0.1), ValueError, "literal draws need", "run_trials-literal-huge",
        n=2, N=10**8, literal=True),
    row(run_trials, (PROB, "sft", 2, 10, 0.1, 0.1), TypeError, "key must be", "run_trials-key-int", n=1, N=1),
    row(run_trials, (PROB, "sft", None, 10, 0.1, 0.1), TypeError, "key must be", "run_trials-key-None", n=1, N=1),
    row(run_trials, (PROB, "foo", KEY, 10, 0.1, 0.1), ValueError, "algorithm must be one of", "run_trials-algorithm"),
    row(run_trials, (PROB, "sft", KEY, 0, 0.1, 0.1), ValueError, "trials must be >= 1", "run_trials-trials", n=1, N=1),
    row(run_trials, (PROB, "sft", KEY, 10, 1.5, 0.1), ValueError, "eps must lie in (0, 1)", "run_trials-eps", n=1, N=1),
    row(run_trials, (PROB, "sft", KEY, 10, 0.1, 0.1), ValueError, "takes the sizes/options", "run_trials-unknown-size",
        n=1, N=1, T=3),
    row(run_trials, (PROB, "sft", KEY, 10, 0.1, 0.1), TypeError, "N must be an integer", "run_trials-N-missing", n=1),
    row(sequential_trials, (PROB, "sft", KEY, 0.1, 0.1, 1.5), ValueError, "rho must lie in (0, 1)", "sequential-rho",
        n=1, N=1),
    row(theory_vs_simulation, (PROB, "xpo", 0.1, 0.1, 0.1, KEY), ValueError, "needs a linear-softmax instance",
        "comparison-xpo-hard"),
    # -- the command line: one line on stderr naming the flag the user typed, exit status 2 ----
    row(_cli, (["bounds", "--eps", "-1"],), ValueError, "--eps must lie in (0, 1), got -1", "cli-bounds-eps"),
    row(_cli, (["bounds", "--instance", "hard", "--eps", "0.1"],), ValueError, "16 * --eps = 1.6", "cli-bounds-Delta-default"),
    row(_cli, (VERIFY + ["--Delta", "5"],), ValueError, "--Delta must lie in (0, 1), got 5", "cli-verify-Delta"),
    row(_cli, (VERIFY + ["--trials", "0"],), ValueError, "--trials must be >= 1", "cli-verify-trials"),
    row(_cli, (VERIFY + ["--max-trials", "0"],), ValueError, "--max-trials must be >= 1", "cli-verify-max-trials"),
    row(_cli, (VERIFY + ["--budget-s", "-1"],), ValueError, "--budget-s must be > 0", "cli-verify-budget"),
    row(_cli, (["verify", "--instance", "random", "--algorithm", "xpo", "--eps", "0.1", "--delta", "0.1", "--rho",
                "0.1"],), ValueError, "--algorithm xpo is not supported on --instance random", "cli-verify-unsupported"),
    row(_cli, (["verify", "--instance", "foo", "--algorithm", "sft", "--eps", "0.1", "--delta", "0.1", "--rho",
                "0.1"],), ValueError, "argument --instance: invalid choice: 'foo'", "cli-verify-instance"),
    row(_cli, (["reproduce", "--out", "/proc/forbidden"],), ValueError, "--out /proc/forbidden", "cli-reproduce-out"),
    row(_cli, (["reproduce", "no_such_figure"],), ValueError, "unknown experiment 'no_such_figure'", "cli-reproduce-name"),
    row(_cli, (["report", "--H", "40"],), ValueError, "--H", "cli-report-H"),
    row(_cli, (["bounds", "--d", "four"],), ValueError, "argument --d: invalid int value: 'four'", "cli-bounds-d"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, match", CASES)
def test_bad_input_names_the_argument(fn, args, kwargs, exc, match):
    with pytest.raises(exc) as info:
        fn(*args, **kwargs)
    assert match in str(info.value), f"message {str(info.value)!r} lacks {match!r}"


def test_table_has_enough_distinct_cases():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) and len(ids) >= 40
    assert sum(i.startswith("cli-") for i in ids) >= 10 and sum(i.startswith("run_trials") for i in ids) >= 10


def test_good_inputs_of_the_same_callables_still_work():
    """The checks reject only bad inputs: a raw key, integer-valued floats and 0-d arrays pass."""
    raw = jax.random.PRNGKey(0)
    assert ss.best_of_n(raw, GOOD, [0, 1], 3).y.shape == (2,)
    assert ss.decode(np.float64(5.0), 2, 3).tolist() == [1, 0, 1]
    assert int(ss.encode(np.array([1.0, 0.0, 1.0]), 2)) == 5
    assert ss.encode([1] * 63, 2) == 2**63 - 1  # the largest index that fits an int64
    assert stats.clopper_pearson(np.int64(3), 10) == stats.clopper_pearson(3, 10)
    assert stats.clopper_pearson(jax.numpy.array(3), 10) == stats.clopper_pearson(3, 10)
    assert ss.bon_law(GOOD, 4.0).shape == GOOD.shape


def test_bon_law_for_N_beyond_float64_is_the_exact_limit():
    """N = 10^400 used to raise OverflowError. For N >= 1.8e308 the best-of-N law is, in float64,
    uniform on the argmax set: every lower level keeps mass <= (1 - 1/Y)^N = 0 in float64."""
    tables = [GOOD, np.array([[0.4, 0.4, 0.2], [0.25, 0.25, 0.5]]), np.array([[1 / 3, 1 / 3, 1 / 3, 0.0]])]
    for t in tables:
        star = ss.argmax_set(t)
        want = star / star.sum(axis=1, keepdims=True)
        for N in (10**400, 2**5000):
            assert np.array_equal(ss.bon_law(t, N), want)
        assert np.array_equal(ss.bon_law(t, 2**1000), want)  # a float N far in the limit: same law
    # N up to the float64 range keeps its former bits (float(N) as before)
    assert np.array_equal(ss.bon_law(GOOD, 10**300), ss.bon_law(GOOD, float(10**300)))
    y = ss.best_of_n_exact(KEY, GOOD, [0, 1, 1], 10**400).y
    assert y.tolist() == [0, 2, 2]  # the unique argmax of each prompt

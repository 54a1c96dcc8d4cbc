"""Catalogue experiment ``iterated``: the QUICK config (the session's catalogue run), its figure and
summary, and its key results against values computed here independently (closed forms, query formulas, martingale)."""

import jax
import numpy as np
import pytest

import sharpsim as s
from experiments import iterated as E


@pytest.fixture(scope="module")
def results(quick_results):
    """The QUICK results of the session's catalogue run (tests/conftest.py; the same code, not run a
    second time here)."""
    return quick_results("iterated")["results"]


def test_answer_task_traps():
    base, correct = E.answer_task(jax.random.key(0), 8, 12, 4, 1.5)
    p = base.table()
    mode = p.argmax(axis=1)
    assert correct[np.arange(8), mode].tolist() == [True, False] * 4  # traps on odd prompts
    assert (correct.sum(axis=1) == 3).all()  # 12 responses, 4 answers


def test_population_rounds(results):
    r, c = results, E.QUICK
    base, correct = E.task(c)
    for p in r["population"]:
        assert p["closed_form_err"] < 1e-12
        m = p["metrics"]
        assert np.allclose(m["accuracy"], m["accuracy"][0])  # every step keeps the order
        assert (np.diff(m["entropy"]) < 0).all() and m[f"pass@{c.k}"][-1] < m[f"pass@{c.k}"][0]
        assert (np.array(m[f"pass@{c.k}"]) >= np.array(m["pass@1"]) - 1e-12).all()
        if p["kind"] == "bon":  # pass@k from the closed form BoN_{N^t}, computed here
            for t in range(c.pop_rounds + 1):
                acc = (s.iterated_bon_law(base, p["N"], t) * correct).sum(axis=1)
                assert m[f"pass@{c.k}"][t] == pytest.approx(np.mean(1 - (1 - acc) ** c.k), rel=1e-10)
    assert r["sft_equals_bon"] == 0.0


def test_finite_rounds_query_counts(results):
    c = E.QUICK
    for f in results["finite"]:
        n_f = round(f["fresh"] * f["n"])
        assert f["queries_per_round"] == [c.X * (f["n"] - n_f) * c.N] * c.rounds
        assert f["fresh_per_round"] == [c.X * n_f] * c.rounds
        assert f["cost"] == c.rounds * c.X * ((f["n"] - n_f) * c.N + n_f)
        assert f["pass@1"]["mean"][0] == pytest.approx(results["population_ref"]["pass@1"][0], rel=1e-12)


def test_chains_and_simulation(results):
    c = E.QUICK
    zero = [ch for ch in results["chains"] if ch["fresh"] == 0]
    fresh = [ch for ch in results["chains"] if ch["fresh"] > 0]
    # the mode (response 0) is wrong: more data per round makes losing the correct response likelier;
    # if the mode were correct, more data would protect it
    assert all(b["eventual_loss"] > a["eventual_loss"] for a, b in zip(zero, zero[1:]))
    assert all(b["eventual_loss_if_mode_correct"] < a["eventual_loss_if_mode_correct"] for a, b in zip(zero, zero[1:]))
    for ch in zero:
        assert (np.diff(ch["lost"]) >= -1e-14).all() and ch["lost"][-1] <= ch["eventual_loss"] + 1e-12
        assert sum(ch["fixation"]) == pytest.approx(1.0, abs=1e-12)
    for a, b in zip(zero, fresh):
        assert b["stationary_loss"] < a["eventual_loss"]
    assert all(sm["outside_1e6"] == 0 for sm in results["chain_sims"])
    for sm in results["chain_sims"]:
        n_f = round(sm["fresh"] * sm["n"])
        assert sm["queries_per_round"] == [(sm["n"] - n_f) * c.N + n_f] * c.chain_rounds


def test_wright_fisher(results):
    wf = results["wright_fisher"]
    n = wf["n"]
    one = next(e for e in wf["exact"] if e["N"] == 1)
    np.testing.assert_allclose(one["fix"], np.array(wf["j"]) / n, atol=1e-12)  # the martingale
    for e in wf["exact"]:
        if e["N"] > 1:  # selection favours the current majority
            assert all(f < j / n for f, j in zip(e["fix"], wf["j"]) if 0 < j < n / 2)
            assert all(f > j / n for f, j in zip(e["fix"], wf["j"]) if n / 2 < j < n)
    for sm in wf["sims"]:
        assert all(p["inside_1e6"] for p in sm["points"])


def test_plot_and_summary(results, tmp_path):
    stem = str(tmp_path / "iterated")
    E.plot(results, stem)
    for ext in ("png", "pdf"):
        assert (tmp_path / f"iterated.{ext}").stat().st_size > 10_000
    rows = E.summary(results)
    assert rows and all({"measurement", "simulated", "theory", "note"} <= set(r) for r in rows)

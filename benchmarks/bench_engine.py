"""Benchmark 4: the Monte-Carlo engine, SFT-Sharpening trials per second vs the plain per-trial loop.

sharpsim.engine.run_trials (jitted, vmapped over trials, chunked) against tests/reference_sft.py
(one trial at a time: the same oracle core for the draws, then Python loops for counting,
the tabular MLE and the sharpness error). Both give identical errors for the same keys
(tests/test_sim.py); the agreement is re-checked here on the reference's trials.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from . import case, measure, measure_interleaved, register

ROOT = Path(__file__).resolve().parents[1]


def load_reference():
    """tests/reference_sft.py imported by path (the tests folder is not a package)."""
    spec = importlib.util.spec_from_file_location("reference_sft", ROOT / "tests" / "reference_sft.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _setup(X, Y, n, N, trials):
    import jax

    from sharpsim.classes import TabularClass
    from sharpsim.instances.problems import Problem
    from sharpsim.engine import run_trials
    from sharpsim.generators import dirichlet_table

    base = dirichlet_table(jax.random.PRNGKey(0), X, Y, 0.5)
    pb = Problem(f"dirichlet(X={X}, Y={Y})", base, base.mu)
    cls = TabularClass(X, Y)
    key = jax.random.PRNGKey(1)
    eps, delta = 0.3, 0.1

    def engine(k=trials, delta=delta):
        return run_trials(pb, "sft", key, k, eps, delta, n=n, N=N, cls=cls, progress=False).errors

    return pb, key, delta, engine


def _memory(quick: bool):
    X, Y, n, N, trials, _ = _sizes(quick)
    pb, key, delta, engine = _setup(X, Y, n, N, trials)
    ref = load_reference()

    def reference():
        return ref.sft_trials(key, np.exp(pb.logp), pb.mu, n, N, delta, 1)[0]

    return {"X": X, "Y": Y, "n": n, "N": N, "trials": trials}, {"sharpsim.run_trials": engine, "reference_loop": reference}


def _on_engine_threads(fn, ks):
    """A no-argument callable running ``fn`` over the keys ``ks`` cut into one equal part per engine
    thread (:data:`sharpsim.algorithms.result.THREADS`), the parts' calls at once on threads and each
    waited for in its thread, as the engine runs its chunk calls: a floor measured with the cores the
    engine uses (a single call would time one core's worth)."""
    from concurrent.futures import ThreadPoolExecutor

    import jax

    from sharpsim.algorithms import result

    t = max(1, int(result.THREADS))
    while ks.shape[0] % t:  # equal parts (one program); the key counts here are powers of 2
        t -= 1
    parts = [ks[i * ks.shape[0] // t:(i + 1) * ks.shape[0] // t] for i in range(t)]
    pool = ThreadPoolExecutor(t)

    def run():
        return [f.result() for f in [pool.submit(lambda p=p: jax.block_until_ready(fn(p))) for p in parts]]

    return run


def _sizes(quick):
    # X, Y, n, N, engine trials per timed call, reference trials per timed call; quick (the test suite's
    # smoke run): X = 4 prompts, so the counts mode's multinomial tree compiles 2 levels of binomial
    # samplers, not 5 (its compile was most of the quick run)
    return (4, 50, 200, 8, 64, 2) if quick else (100, 1000, 4000, 50, 256, 2)


@register(
    "mc_engine",
    description="SFT-Sharpening trials per second: sharpsim.engine.run_trials (tabular class) vs the plain "
                "per-trial Python loop of tests/reference_sft.py",
    target="speedup_vs_reference_loop >= 300 (trials/s of run_trials / trials/s of the loop)",
    memory=_memory,
)
def bench_engine(cfg):
    X, Y, n, N, trials, ref_trials = _sizes(cfg.quick)
    pb, key, delta, engine = _setup(X, Y, n, N, trials)
    ref = load_reference()
    p = np.exp(pb.logp)

    def reference():
        return ref.sft_trials(key, p, pb.mu, n, N, delta, ref_trials)[0]

    reps = max(2, cfg.repeats // 2)
    # the headline pair timed in turns (engine, loop, engine, loop, ...): a change of machine load
    # between the two would otherwise bias their ratio) with more rounds than the other figures: the
    # engine's two threads feel other load on this 2-core machine more than the one-thread loop does
    secs = measure_interleaved({"sharpsim.run_trials": engine, "reference_loop": reference},
                               cfg.repeats if cfg.quick else max(15, cfg.repeats))
    per_trial_engine = secs["sharpsim.run_trials"]["median_s"] / trials
    ratios = {}
    # where the reference's time goes: its draws (the same jitted oracle core) vs its Python loops
    from sharpsim.oracle import bon_draws_core, capacity
    import jax

    kd = jax.random.split(jax.random.split(key, ref_trials)[0])[0]
    secs["piece: reference draws (bon_draws_core, 1 trial)"] = measure(
        lambda: bon_draws_core(kd, pb.logp, pb.log_mu, n, float(N), capacity(n)), reps)
    # where the engine's time goes: the pieces of one trial, vmapped over one chunk of trials
    import jax.numpy as jnp

    from sharpsim import core

    chunk = min(128, trials)
    ks = jax.random.split(key, chunk)
    lpj, lmj, muj = jnp.asarray(pb.logp), jnp.asarray(pb.log_mu), jnp.asarray(pb.mu)
    n_cap = capacity(n)
    # tables passed as arguments (closing over them would make XLA constant-fold the sorts)
    draws_j = jax.jit(jax.vmap(lambda k, lp, lm: bon_draws_core(k, lp, lm, n, float(N), n_cap), in_axes=(0, None, None)))

    def draws_v(ks):
        return draws_j(ks, lpj, lmj)

    from sharpsim.algorithms.sft import star_hits_bounds
    from sharpsim.evaluation import tabular_sft_error_from_counts, tabular_star_columns
    from sharpsim.oracle import bon_hits_core

    star = tabular_star_columns(pb.logp)

    def law_and_preimages():  # once per problem and N, on the host (then cached by the engine)
        return star_hits_bounds(pb.logp, N, star)

    bounds = jnp.asarray(law_and_preimages())
    hits_j = jax.jit(jax.vmap(lambda k, lm, b: bon_hits_core(jax.random.split(k)[0], lm, b, n, float(N), n_cap),
                              in_axes=(0, None, None)))

    def hits_v(ks):
        return hits_j(ks, lmj, bounds)

    h = hits_v(ks)

    def counts_and_error(x, hits, w, m):
        two = star[2]
        cols3 = jnp.stack([w, jnp.where(hits[:, 0], w, 0.0), jnp.where(hits[:, 1], w, 0.0)], axis=-1)
        c = jnp.zeros((X, 3)).at[x].add(cols3)
        return tabular_sft_error_from_counts(c[:, 0], c[:, 1], c[:, 2], two, delta, m, Y)

    eval_j = jax.jit(jax.vmap(counts_and_error, in_axes=(0, 0, 0, None)))

    def generic():  # the generic path (counts -> MLE_CORES -> error_core), kept for comparison
        return run_trials(pb, "sft", key, trials, 0.3, delta, n=n, N=N, cls=TabularClass(X, Y), progress=False,
                          fast=False).errors

    from sharpsim.classes import TabularClass
    from sharpsim.engine import run_trials

    secs["run_trials(fast=False), generic [X, Y] path"] = measure(generic, reps)
    ratios["fast_path_vs_generic_path"] = secs["run_trials(fast=False), generic [X, Y] path"]["median_s"] / secs[
        "sharpsim.run_trials"]["median_s"]
    pieces = {
        f"piece: oracle draws as hits on y*(x), {chunk} trials (vmapped bon_hits_core)": lambda: hits_v(ks),
        f"piece: counts on y*(x) + exact error (fast path), {chunk} trials": lambda: eval_j(h[0], h[1], h[2], muj),
        "best-of-N law + search preimages on the host (once per problem and N; cached)": law_and_preimages,
        f"previous design: oracle draws with the binary search, {chunk} trials (vmapped bon_draws_core)":
            lambda: draws_v(ks),
        "previous design: core.bon_law in the program (once per call)": lambda: core.bon_law(lpj, float(N)),
    }
    # the floor of the default path: its bits fix the random numbers a trial consumes, 2 n_cap
    # threefry float64 uniforms (n_cap prompts by inverse CDF, n_cap best-of-N responses by inverse
    # CDF, keys split as in the engine); generating them alone, vmapped over the chunk, bounds the
    # engine's trials per second from above
    unif_j = jax.jit(jax.vmap(lambda k: _trial_uniforms(k, n_cap)))
    floor_key = f"floor: the threefry uniforms of the draws alone (2 n_cap = {2 * n_cap} a trial), {chunk} trials"
    # timed in turns with the engine again, so that the floor and the engine see the same load; two ways
    # (one call over the chunk, one call per engine thread at once), the faster is the floor
    threaded_key = floor_key + ", one call per engine thread at once"
    pair = measure_interleaved({floor_key: lambda: unif_j(ks), threaded_key: _on_engine_threads(unif_j, ks),
                                "engine, beside the floor": engine},
                               cfg.repeats if cfg.quick else max(15, cfg.repeats))
    secs[floor_key], secs[threaded_key] = pair[floor_key], pair[threaded_key]
    floor_per_trial = min(secs[floor_key]["median_s"], secs[threaded_key]["median_s"]) / chunk
    engine_beside_floor = pair["engine, beside the floor"]["median_s"] / trials
    for k, f in pieces.items():
        secs[k] = measure(f, reps)
    for k in pieces:
        per_call = "once per" in k  # amortized over the call's trials, else a chunk of trials
        share = secs[k]["median_s"] / (trials if per_call else chunk) / per_trial_engine
        if "cached" in k:
            ratios[f"{k}, over one call's trials / an engine trial"] = share
        elif k.startswith("piece: "):
            ratios[k.replace("piece: ", "share_of_engine_trial: ")] = share
        else:
            ratios[k.replace("previous design: ", "previous design, over an engine trial: ")] = share
    # identical errors on the reference's trials (same key split; up to the summation order of mu), at
    # a delta where they are not all 1 (at the timed delta = 0.1 no prompt's pi_hat(y*) reaches 0.9)
    delta_agree = agreement_delta(pb, N)
    e_ref = np.asarray(ref.sft_trials(key, p, pb.mu, n, N, delta_agree, ref_trials)[0])
    e_eng = np.asarray(engine(ref_trials, delta_agree))
    per_trial = {"sharpsim.run_trials": secs["sharpsim.run_trials"]["median_s"] / trials,
                 "reference_loop": secs["reference_loop"]["median_s"] / ref_trials}
    ratios.update({
        "speedup_vs_reference_loop": per_trial["reference_loop"] / per_trial["sharpsim.run_trials"],
        "reference_draws_share": secs["piece: reference draws (bon_draws_core, 1 trial)"]["median_s"]
        / per_trial["reference_loop"],
        "floor_speedup_vs_reference_loop": per_trial["reference_loop"] / floor_per_trial,
        "engine_x_floor": engine_beside_floor / floor_per_trial,
    })
    cases = [counts_case(cfg, pb, key, delta, X, Y, n, N, per_trial["reference_loop"])]
    return {
        "cases": [
            case(
                f"X={X}, Y={Y}, n={n}, N={N}, tabular class",
                {"X": X, "Y": Y, "n": n, "N": N, "engine_trials": trials, "reference_trials": ref_trials},
                secs,
                ratios,
                headline="speedup_vs_reference_loop",
                target=300.0,
                higher_is_better=True,
                trials_per_second={k: 1.0 / v for k, v in per_trial.items()},
                agreement={"delta": delta_agree, "errors_mean": float(e_eng.mean()),
                           "errors_max_abs_diff": float(np.max(np.abs(e_ref - e_eng))),
                           "errors_identical": bool(np.array_equal(e_ref, e_eng))},
            )
        ] + cases,
        "notes": (
            "Timed calls: run_trials with the engine's trial count (one compilation, then chunks of "
            "vmapped trials) and the reference loop with a few trials; ratios are per trial. The "
            "reference uses the same jitted oracle core for its draws, so its per-trial cost is "
            "mostly the Python counting / MLE / error loops over X * Y cells. The engine's tabular fast "
            "path computes q(y*(x)|x) from the draws (no [X, Y] table per trial) and runs chunks of 64 "
            "trials under lax.map. The BoN law and the exact preimage of each y*(x) column under the "
            "oracle's inverse-CDF search (sharpsim.oracle.search_preimages) are computed on the host once "
            "per problem and N (cached across calls, as in a search over n), and each draw is revealed as "
            "hits on y*(x) by one gather and two compares instead of "
            "a binary search (bon_hits_core: the same draws, the same errors bit for bit); the previous "
            "design's draws and in-program BoN law are timed beside it. The headline pair is timed in turns. "
            "Shares of the pieces are approximate (the pieces run as separate calls, the engine fuses "
            "them; the per-call pieces are spread over the call's trials). The counts-mode case "
            "(run_trials(..., counts=True), opt-in: the same law of the error, other bits) draws each "
            "trial's counts on y*(x) from their multinomial law in O(X), so its cost does not grow with n; "
            "it is timed with more trials per call (the BoN law of the table comes from the host, once per table "
            "and N) "
            "and at a 25x larger n beside the default path. Floors: the default path's bits fix the random "
            "numbers a trial consumes (2 n_cap threefry float64 uniforms: n_cap prompts and n_cap best-of-N "
            "responses by inverse CDF), so generating them alone bounds its speed-up (both floors are timed "
            "two ways, one call over all the trials and one call per engine thread at once as the engine runs "
            "its calls, and the faster is the floor) "
            "(floor_speedup_vs_reference_loop; engine_x_floor is how far the engine is from it, the two timed in "
            "turns: the rest is "
            "mostly the prompts' search, the hits' gathers and the count scatter). The counts mode's bits "
            "are free, but "
            "its draws (jax.random.binomial: a multinomial tree of ~X binomials and two vectors of X) are "
            "most of its trial (counts_binomial_draws_share); counts_floor_speedup_vs_reference_loop is "
            "its speed-up at those draws alone, the bound of this design without a faster exact binomial "
            "sampler. The agreement checks run at agreement_delta (1 - the median over prompts of the exact "
            "BoN mass on y*), where the trial errors vary (at the timed delta = 0.1 and the full sizes every error is 1)."
        ),
    }


def agreement_delta(pb, N):
    """A delta for the agreement checks at which the trial errors vary: 1 - the median over prompts
    of pi^BoN_N(y*(x)|x), the exact BoN mass on the argmax (so about half the prompts' MLE mass on
    y* falls on each side of 1 - delta)."""
    import jax.numpy as jnp

    from sharpsim import core
    from sharpsim.evaluation import tabular_star_columns

    star_a, star_b, two = (np.asarray(v) for v in tabular_star_columns(pb.logp))
    law = np.asarray(core.bon_law(jnp.asarray(pb.logp), float(N)))
    rows = np.arange(law.shape[0])
    q = law[rows, star_a] + np.where(two, law[rows, star_b], 0.0)
    return float(1.0 - np.median(q))


def _trial_uniforms(key, n_cap):
    """The uniforms one default-path trial draws, with the engine's key split (trial key -> data key
    -> prompt key, response key): [2, n_cap] float64."""
    import jax

    kd, _ = jax.random.split(key)
    k1, k2 = jax.random.split(kd)
    return jax.numpy.stack([jax.random.uniform(k, (n_cap,), dtype=jax.numpy.float64) for k in (k1, k2)])


def counts_case(cfg, pb, key, delta, X, Y, n, N, reference_per_trial):
    """The opt-in counts mode (same law, other bits) vs the per-trial loop, and vs the default path at
    the benchmark's n and at 25 n (where the draws path's O(n) per trial shows)."""
    from sharpsim.classes import TabularClass
    from sharpsim.engine import run_trials

    trials = 256 if cfg.quick else 2048
    cls = TabularClass(X, Y)
    secs, per = {}, {}
    for label, nn, counts in [("counts mode", n, True), ("default path", n, False),
                              ("counts mode, 25 n", 25 * n, True), ("default path, 25 n", 25 * n, False)]:
        k = trials if counts or "25 n" not in label else max(64, trials // 8)  # the draws path is O(n) a trial

        def go(nn=nn, counts=counts, k=k):
            return run_trials(pb, "sft", key, k, 0.3, delta, n=nn, N=N, cls=cls, progress=False,
                              counts=counts).errors

        secs[f"run_trials, {label} ({k} trials)"] = s = measure(go, max(3, cfg.repeats // 2))
        per[label] = s["median_s"] / k
    # what bounds the counts mode: its draws alone (a multinomial tree and two binomial vectors of
    # jax.random.binomial per trial), vmapped over the trials
    import jax
    import jax.numpy as jnp

    from sharpsim import core
    from sharpsim.evaluation import tabular_star_columns
    from sharpsim.oracle import bon_column_counts_core

    star_a, star_b, two = (jnp.asarray(v) for v in tabular_star_columns(pb.logp))
    law = core.bon_law(jnp.asarray(pb.logp), float(N))
    rows = jnp.arange(X)
    la, lb, muj = law[rows, star_a], law[rows, star_b], jnp.asarray(pb.mu)
    counts_j = jax.jit(jax.vmap(lambda k: bon_column_counts_core(k, muj, la, lb, two, float(n))))
    ks = jax.random.split(key, trials)
    draws_key = f"floor: the counts mode's binomial draws alone (bon_column_counts_core), {trials} trials"
    threaded_key = draws_key + ", one call per engine thread at once"
    secs.update(measure_interleaved({draws_key: lambda: counts_j(ks), threaded_key: _on_engine_threads(counts_j, ks)},
                                    max(3, cfg.repeats // 2)))
    per_draws = min(secs[draws_key]["median_s"], secs[threaded_key]["median_s"]) / trials  # the faster way
    # same law: the mean errors of the two modes on the same trials' count agree within 5 standard
    # errors, at a delta where the errors vary (agreement_delta)
    delta_agree = agreement_delta(pb, N)
    e_c = np.asarray(run_trials(pb, "sft", key, trials, 0.3, delta_agree, n=n, N=N, cls=cls, progress=False,
                                counts=True).errors)
    e_d = np.asarray(run_trials(pb, "sft", key, trials, 0.3, delta_agree, n=n, N=N, cls=cls,
                                progress=False).errors)
    se = float(np.sqrt((e_c.var() + e_d.var()) / trials))
    diff = float(abs(e_c.mean() - e_d.mean()))
    ratios = {
        "counts_speedup_vs_reference_loop": reference_per_trial / per["counts mode"],
        "counts_vs_default_path": per["default path"] / per["counts mode"],
        "counts_vs_default_path_at_25n": per["default path, 25 n"] / per["counts mode, 25 n"],
        "counts_floor_speedup_vs_reference_loop": reference_per_trial / per_draws,
        "counts_binomial_draws_share": per_draws / per["counts mode"],
    }
    return case(
        f"counts mode (opt-in), X={X}, Y={Y}, n={n} and {25 * n}, N={N}, tabular class",
        {"X": X, "Y": Y, "n": n, "N": N, "trials": trials},
        secs, ratios, headline="counts_speedup_vs_reference_loop", target=300.0, higher_is_better=True,
        trials_per_second={k: 1.0 / v for k, v in per.items()},
        agreement={"delta": delta_agree, "mean_error_counts": float(e_c.mean()),
                   "mean_error_default": float(e_d.mean()), "mean_error_abs_diff_counts_vs_default": diff,
                   "standard_error_of_diff": se,
                   "mean_errors_within_5_se": bool(diff <= 5 * se + 1e-12)},
    )

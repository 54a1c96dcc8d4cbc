"""Iterated self-improvement: many rounds of sharpening, exactly and with finite samples (issue 15).

Row 1, population rounds on a small answer task: 16 prompts, |Y| = 24 responses with
log-normal rows (softmax of sigma x Gaussian logits), the answer of response y is y mod 4 and the verifier marks the responses with the correct
answer; on every other prompt (a "trap") the correct answer is not the answer of the mode but the
most likely other answer:
(a) pass@1 and pass@k, (b) entropy, (c) C_cov per round, exact, for BoN_N (= the population limit
of SFT-Sharpening), and tilting pi ~ pi^alpha (= temperature 1/alpha). Every population step keeps
the order of the responses, so greedy accuracy never moves and pass@1 converges to it.

Row 2, finite-sample rounds (``sharpsim.self_train``): per round n best-of-N responses per prompt
from the current model through a counting oracle, tabular MLE refit, optional fresh base data
(fraction lambda); mean over independent replicates with 95% intervals: (d) pass@1 and pass@k,
(e) entropy, (f) pass@k against the measured cumulative number of oracle queries.

Row 3, the exact count chain of one prompt (``sharpsim.count_chain``): (g) P[the correct
response is lost by round t], exact against simulation (Clopper-Pearson 95% intervals),
(h) the collapse probability against n, (i) the Wright-Fisher martingale: with N = 1 a response
fixes with probability equal to its initial mass; with N > 1 self-reward selection favours the
current majority.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

import sharpsim as s
from sharpsim.stats import clopper_pearson, mean_ci

from . import style

NAME = "iterated"
DESCRIPTION = "many rounds of sharpening: population closed forms, finite-n self-training, exact collapse chains"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    # answer task: softmax(sigma G) rows, answer(y) = y mod answers, traps on odd prompts
    X: int = 16
    Y: int = 24
    answers: int = 4
    sigma: float = 1.5
    k: int = 8  # pass@k
    # population rounds
    pop_rounds: int = 10
    pop_N: tuple = (2, 4)
    tilt_alpha: float = 1.5
    # finite-sample rounds on the task
    N: int = 2
    n_grid: tuple = (4, 16, 64)
    fresh_grid: tuple = (0.0, 0.25)
    replicates: int = 32
    rounds: int = 10
    # exact chains: one prompt, response 1 correct, response 0 the (wrong) mode
    chain_p0: tuple = (0.45, 0.35, 0.20)
    chain_n: tuple = (4, 8, 16, 32, 64)
    chain_rounds: int = 20
    chain_sim_n: tuple = (4, 16)
    chain_sim_fresh: tuple = (0.0, 0.25)
    chain_sim_reps: int = 1500
    # Wright-Fisher panel: two responses, n counts, start (j, n - j)
    wf_n: int = 10
    wf_N: tuple = (1, 2, 4)
    wf_sim_N: tuple = (1, 2)
    wf_sim_reps: int = 500
    wf_rounds: int = 60


FULL = Config()
QUICK = Config(pop_rounds=4, n_grid=(8,), replicates=8, rounds=4, chain_n=(4, 8), chain_rounds=10,
               chain_sim_n=(4,), chain_sim_fresh=(0.0,), chain_sim_reps=400, wf_n=6, wf_N=(1, 2), wf_sim_N=(1,), wf_sim_reps=200,
               wf_rounds=30)


def answer_task(key, X: int, Y: int, answers: int, sigma: float):
    """(base, correct): base rows softmax(sigma G), G ~ N(0, I_Y) i.i.d. over prompts; answer(y) =
    y mod answers; on even prompts the correct answer is the answer of the mode, on odd prompts
    (traps) the most likely other answer. correct: bool [X, Y]."""
    base = s.TabularLM.from_logits(sigma * np.asarray(jax.random.normal(key, (X, Y), dtype=np.float64)))
    p = base.table()
    ans = np.arange(Y) % answers
    mass = np.stack([p[:, ans == a].sum(axis=1) for a in range(answers)], axis=1)  # [X, answers]
    mode_ans = ans[p.argmax(axis=1)]
    other = np.where(np.arange(answers)[None, :] == mode_ans[:, None], -1.0, mass).argmax(axis=1)
    target = np.where(np.arange(X) % 2 == 0, mode_ans, other)
    return base, ans[None, :] == target[:, None]


def task(c: Config):
    """The config's answer task: (base TabularLM [X, Y], correct bool [X, Y])."""
    return answer_task(jax.random.fold_in(jax.random.key(c.seed), 0), c.X, c.Y, c.answers, c.sigma)


def _lists(d):
    return {k: [float(v) for v in a] for k, a in d.items()}


def _pop_steps(c: Config):
    return [s.bon_step(N) for N in c.pop_N] + [s.tilt_step(alpha=c.tilt_alpha)]


def _population(c: Config, i: int) -> dict:
    """Population rounds of step i (BoN_N for pop_N[i], then tilting), with the closed-form error."""
    base, correct = task(c)
    st = _pop_steps(c)[i]
    traj = s.iterate(base, st, c.pop_rounds)
    m = s.round_metrics(traj, correct=correct, ks=(c.k,))
    rec = dict(label=st.label, kind=st.kind, N=st.N, alpha=st.alpha, metrics=_lists(m))
    lp0 = base.log_table()
    if st.kind == "bon":  # closed form: BoN_N t times = BoN_{N^t}
        rec["closed_form_err"] = max(float(np.max(np.abs(traj[t].table() - s.iterated_bon_law(base, st.N, t))))
                                     for t in range(c.pop_rounds + 1))
    else:  # tilting t times = p^(alpha^t) normalised
        err = 0.0
        for t in range(c.pop_rounds + 1):
            z = np.where(np.isneginf(lp0), -np.inf, st.alpha**t * lp0)
            ref = np.exp(z - np.max(z, axis=1, keepdims=True))
            ref /= ref.sum(axis=1, keepdims=True)
            err = max(err, float(np.max(np.abs(traj[t].table() - ref))))
        rec["closed_form_err"] = err
    return rec


def _sft_equals_bon(c: Config) -> float:
    base, _ = task(c)
    sft = s.iterate(base, s.sft_step(c.pop_N[-1]), c.pop_rounds)
    bon = s.iterate(base, s.bon_step(c.pop_N[-1]), c.pop_rounds)
    return max(float(np.max(np.abs(a.table() - b.table()))) for a, b in zip(sft, bon))


def _population_ref(c: Config) -> dict:
    base, correct = task(c)
    return _lists(s.round_metrics(s.iterate(base, s.bon_step(c.N), c.rounds), correct=correct, ks=(c.k,)))


def _finite(c: Config, i: int, j: int) -> dict:
    """Finite-sample self-training rounds at n = n_grid[i], fresh fraction fresh_grid[j]."""
    base, correct = task(c)
    key = jax.random.fold_in(jax.random.key(c.seed), 2)
    R, X = c.replicates, c.X
    stacked = s.TabularLM(np.tile(base.table(), (R, 1)))
    corr = np.tile(correct, (R, 1))
    n, lam = c.n_grid[i], c.fresh_grid[j]
    res = s.self_train(jax.random.fold_in(key, 100 * i + j), stacked, c.rounds, n, c.N, fresh=lam)
    per = res.metrics(correct=corr, ks=(c.k,), per_prompt=True)
    rec = dict(n=n, fresh=lam, n_fresh=res.config["n_fresh"])
    for name in ("pass@1", f"pass@{c.k}", "accuracy", "entropy", "coverage"):
        v = per[name].reshape(c.rounds + 1, R, X).mean(axis=2)  # per replicate: mean over prompts (mu uniform)
        mean, half = mean_ci(v, axis=1)
        rec[name] = dict(mean=[float(a) for a in mean], half=[float(a) for a in np.nan_to_num(half)])
    # oracle counts per copy of the task (X prompts): measured, not assumed
    rec["queries_per_round"] = [int(q) // R for q in res.queries]
    rec["fresh_per_round"] = [int(q) // R for q in res.fresh_queries]
    rec["cost"] = int(res.cost) // R
    return rec


_CHAIN_CORRECT = np.array([False, True, False])


def _chain(c: Config, n: int, lam: float) -> dict:
    """The exact count chain of one prompt at n responses per round, fresh fraction lam."""
    p0 = np.array(c.chain_p0)
    correct = _CHAIN_CORRECT
    ch = s.count_chain(p0, n, c.N, fresh=lam)
    rec = dict(n=n, fresh=lam, lost=[float(v) for v in ch.lost_probability(c.chain_rounds, correct)])
    mode_ok = np.array([True, False, False])  # the same chain when the mode is the correct response
    rec["lost_if_mode_correct"] = [float(v) for v in ch.lost_probability(c.chain_rounds, mode_ok)]
    if lam == 0.0:
        rec["eventual_loss"] = ch.eventual_loss_probability(correct)
        rec["eventual_loss_if_mode_correct"] = ch.eventual_loss_probability(mode_ok)
        rec["fixation"] = [float(v) for v in ch.fixation_probabilities()]
        rec["absorption_time"] = ch.absorption_time()
    else:
        rec["stationary_loss"] = float(ch.stationary() @ (ch.states[:, correct].sum(axis=1) == 0))
    return rec


def _chain_sim(c: Config, i: int, j: int) -> dict:
    """Simulated chains at n = chain_sim_n[i], fresh fraction chain_sim_fresh[j], against the exact chain."""
    key = jax.random.fold_in(jax.random.key(c.seed), 3)
    p0 = np.array(c.chain_p0)
    correct = _CHAIN_CORRECT
    n, lam = c.chain_sim_n[i], c.chain_sim_fresh[j]
    R = c.chain_sim_reps
    res = s.self_train(jax.random.fold_in(key, 1000 + 10 * i + j), s.TabularLM(np.tile(p0, (R, 1))),
                       c.chain_rounds, n, c.N, fresh=lam)
    ch = s.count_chain(p0, n, c.N, fresh=lam)
    ex = ch.lost_probability(c.chain_rounds, correct)
    k = [int((cnt[:, correct].sum(axis=1) == 0).sum()) for cnt in res.counts]
    ci95 = [clopper_pearson(v, R, 0.95) for v in k]
    ci6 = [clopper_pearson(v, R, 1 - 1e-6) for v in k]
    return dict(n=n, fresh=lam, R=R, k=k, lo=[a for a, _ in ci95], hi=[b for _, b in ci95],
                outside_95=int(sum(not (a <= e <= b) for (a, b), e in zip(ci95, ex))),
                outside_1e6=int(sum(not (a <= e <= b) for (a, b), e in zip(ci6, ex))),
                queries_per_round=[int(q) // R for q in res.total_queries])


def _wf_exact(c: Config, N: int) -> dict:
    n = c.wf_n
    js = list(range(n + 1))
    ch = s.count_chain(np.array([0.5, 0.5]), n, N)
    return dict(N=N, fix=[float(ch.fixation_probabilities((j, n - j))[0]) for j in js],
                time=[float(ch.absorption_time((j, n - j))) for j in js])


def _wf_sim(c: Config, i: int) -> dict:
    key = jax.random.fold_in(jax.random.key(c.seed), 4)
    n = c.wf_n
    js = list(range(n + 1))
    inner = js[1:-1]
    R = c.wf_sim_reps
    rows = np.repeat(np.array([[j / n, 1 - j / n] for j in inner]), R, axis=0)
    N = c.wf_sim_N[i]
    res = s.self_train(jax.random.fold_in(key, 5000 + i), s.TabularLM(rows), c.wf_rounds, n, N)
    last = res.counts[-1].reshape(len(inner), R, 2)
    ch = s.count_chain(np.array([0.5, 0.5]), n, N)
    pts = []
    for a, j in enumerate(inner):
        k = int((last[a, :, 0] == n).sum())
        lo, hi = clopper_pearson(k, R, 0.95)
        lo6, hi6 = clopper_pearson(k, R, 1 - 1e-6)
        law = ch.laws(c.wf_rounds, start=(j, n - j))[-1]
        by_T = float(law[ch.states[:, 0] == n].sum())
        pts.append(dict(j=j, freq=k / R, lo=lo, hi=hi, exact_by_T=by_T, inside_1e6=bool(lo6 <= by_T <= hi6),
                        unfixed=float((last[a].max(axis=1) < n).mean())))
    return dict(N=N, R=R, points=pts)


def tasks(c: Config) -> list[tuple]:
    """("population", i): population rounds of BoN_N for pop_N[i] (i = len(pop_N): tilting);
    ("sft_equals_bon",): SFT-Sharpening's population step against BoN; ("finite", i, j): self-training
    at n_grid[i], fresh_grid[j]; ("population_ref",): the population rounds of BoN_N (N = c.N);
    ("chain", a, b): the exact chain at chain_n[a], fresh_grid[b]; ("chain_sim", i, j): simulated chains
    at chain_sim_n[i], chain_sim_fresh[j]; ("wf", i): the exact Wright-Fisher chain at wf_N[i];
    ("wf_sim", i): simulated Wright-Fisher rounds at wf_sim_N[i]."""
    return ([("population", i) for i in range(len(c.pop_N) + 1)] + [("sft_equals_bon",)]
            + [("finite", i, j) for i in range(len(c.n_grid)) for j in range(len(c.fresh_grid))]
            + [("population_ref",)]
            + [("chain", a, b) for a in range(len(c.chain_n)) for b in range(len(c.fresh_grid))]
            + [("chain_sim", i, j) for i in range(len(c.chain_sim_n)) for j in range(len(c.chain_sim_fresh))]
            + [("wf", i) for i in range(len(c.wf_N))] + [("wf_sim", i) for i in range(len(c.wf_sim_N))])


def run_task(c: Config, tid: tuple):
    kind = tid[0]
    if kind == "population":
        return _population(c, tid[1])
    if kind == "sft_equals_bon":
        return dict(sft_equals_bon=_sft_equals_bon(c))
    if kind == "finite":
        return _finite(c, tid[1], tid[2])
    if kind == "population_ref":
        return _population_ref(c)
    if kind == "chain":
        return _chain(c, c.chain_n[tid[1]], c.fresh_grid[tid[2]])
    if kind == "chain_sim":
        return _chain_sim(c, tid[1], tid[2])
    if kind == "wf":
        return _wf_exact(c, c.wf_N[tid[1]])
    if kind == "wf_sim":
        return _wf_sim(c, tid[1])
    raise ValueError(f"unknown task {tid!r}")


def assemble(c: Config, parts: dict) -> dict:
    pop = [parts[("population", i)] for i in range(len(c.pop_N) + 1)]
    finite = [parts[("finite", i, j)] for i in range(len(c.n_grid)) for j in range(len(c.fresh_grid))]
    chains = [parts[("chain", a, b)] for a in range(len(c.chain_n)) for b in range(len(c.fresh_grid))]
    chain_sims = [parts[("chain_sim", i, j)] for i in range(len(c.chain_sim_n)) for j in range(len(c.chain_sim_fresh))]
    wf = dict(n=c.wf_n, j=list(range(c.wf_n + 1)), exact=[parts[("wf", i)] for i in range(len(c.wf_N))],
              sims=[parts[("wf_sim", i)] for i in range(len(c.wf_sim_N))])
    return dict(k=c.k, N=c.N, X=c.X, Y=int(c.Y), pop_rounds=c.pop_rounds, rounds=c.rounds,
                chain_rounds=c.chain_rounds, chain_p0=list(c.chain_p0), population=pop,
                sft_equals_bon=parts[("sft_equals_bon",)]["sft_equals_bon"], population_ref=parts[("population_ref",)],
                finite=finite, chains=chains, chain_sims=chain_sims, wright_fisher=wf, replicates=c.replicates)


# --------------------------------------------------------------------------- figure


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(3, 3, width=4.7, height=3.7)
    k = r["k"]
    pk = f"pass@{k}"
    T = np.arange(r["pop_rounds"] + 1)
    # (a)-(c) population
    ax = axes[0, 0]
    for i, p in enumerate(r["population"]):
        col = style.COLORS[i]
        ax.plot(T, p["metrics"]["pass@1"], color=col, **style.EXACT, label=f"{p['label']}: pass@1")
        ax.plot(T, p["metrics"][pk], color=col, linestyle="--", linewidth=1.4, label=f"{p['label']}: pass@{k}")
    ax.plot(T, r["population"][0]["metrics"]["accuracy"], color="k", linestyle=":", linewidth=1.4,
            label="greedy accuracy (every step)")
    ax.set_xlabel("round t")
    ax.set_ylabel("probability correct")
    ax.set_title(f"(a) population rounds: pass@1, pass@{k}")
    ax.legend(loc="center right", fontsize=7)
    ax = axes[0, 1]
    for i, p in enumerate(r["population"]):
        ax.plot(T, p["metrics"]["entropy"], color=style.COLORS[i], **style.EXACT, label=p["label"])
    ax.set_xlabel("round t")
    ax.set_ylabel("entropy E_x H(pi_t(.|x)) [nats]")
    ax.set_title("(b) population rounds: entropy")
    ax.legend(title=f"BoN_{r['population'][1]['N']} = SFT population limit", title_fontsize=7.5)
    ax = axes[0, 2]
    for i, p in enumerate(r["population"]):
        ax.plot(T, p["metrics"]["coverage"], color=style.COLORS[i], **style.EXACT, label=p["label"])
    ax.set_yscale("log")
    ax.set_xlabel("round t")
    ax.set_ylabel("C_cov(pi_t) = E_x 1/pi_t(mode)")
    ax.set_title("(c) population rounds: coverage -> 1")
    ax.legend()
    # (d)-(f) finite n
    Tf = np.arange(r["rounds"] + 1)
    ref = r["population_ref"]
    ns = sorted({f["n"] for f in r["finite"]})
    cols = {n: style.COLORS[i] for i, n in enumerate(ns)}
    for ax, name, ylabel, title in ((axes[1, 0], None, "probability correct", f"(d) finite n: pass@1 (o), pass@{k} (^)"),
                                    (axes[1, 1], "entropy", "entropy [nats]", "(e) finite n: entropy")):
        names = ["pass@1", pk] if name is None else [name]
        for nm, mk in zip(names, ("o", "^")):
            ax.plot(Tf, ref[nm], color="k", **style.EXACT,
                    label=f"population BoN_{r['N']} (n = inf)" if nm == names[0] else None)
            for f in r["finite"]:
                mean, half = np.array(f[nm]["mean"]), np.array(f[nm]["half"])
                ls = "-" if f["fresh"] == 0 else "--"
                ax.errorbar(Tf, mean, yerr=half, color=cols[f["n"]], linestyle=ls, marker=mk, markersize=3.5,
                            capsize=2, linewidth=1.1,
                            label=(f"n={f['n']}, lambda={f['fresh']:g}" if nm == names[0] else None))
        ax.set_xlabel("round t")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=6.5, ncol=1)
    ax = axes[1, 2]
    for f in r["finite"]:
        cum = np.concatenate([[0], np.cumsum(np.array(f["queries_per_round"]) + np.array(f["fresh_per_round"]))])
        ls = "-" if f["fresh"] == 0 else "--"
        ax.errorbar(np.maximum(cum, 1), f[pk]["mean"], yerr=f[pk]["half"], color=cols[f["n"]], linestyle=ls,
                    marker="o", markersize=3, capsize=2, linewidth=1.1, label=f"n={f['n']}, lambda={f['fresh']:g}")
    ax.set_xscale("log")
    ax.set_xlabel("cumulative queries per task copy (measured)")
    ax.set_ylabel(f"pass@{k}")
    ax.set_title(f"(f) cost of rounds: pass@{k} vs queries")
    ax.legend(fontsize=6.5)
    # (g) exact chain: P(lost by t)
    ax = axes[2, 0]
    Tc = np.arange(1, r["chain_rounds"] + 1)
    cn = sorted({ch["n"] for ch in r["chains"]})
    ccol = {n: style.COLORS[i] for i, n in enumerate(cn)}
    for ch in r["chains"]:
        ls = "-" if ch["fresh"] == 0 else "--"
        ax.plot(Tc, ch["lost"], color=ccol[ch["n"]], linestyle=ls, linewidth=1.6,
                label=f"n={ch['n']}" if ch["fresh"] == 0 else None)
    for i, sm in enumerate(r["chain_sims"]):
        kk = np.array(sm["k"]) / sm["R"]
        yerr = np.vstack([kk - np.array(sm["lo"]), np.array(sm["hi"]) - kk])
        ax.errorbar(Tc, kk, yerr=yerr, color=ccol[sm["n"]], **style.SIM,
                    label="simulated (95% CP)" if i == 0 else None)
    ax.plot([], [], color="gray", linestyle="--", label="lambda = 0.25 fresh")
    ax.set_xlabel("round t")
    ax.set_ylabel("P[correct response lost by round t]")
    p0 = r["chain_p0"]
    ax.set_title(f"(g) exact chain, pi_0 = {tuple(p0)}, N = {r['N']}", fontsize=9.5)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7, loc="lower right")
    # (h) collapse vs n
    ax = axes[2, 1]
    zero = [ch for ch in r["chains"] if ch["fresh"] == 0]
    fr = [ch for ch in r["chains"] if ch["fresh"] > 0]
    ax.plot([ch["n"] for ch in zero], [ch["eventual_loss"] for ch in zero], color="k", marker="s", markersize=8,
            linewidth=2.5, label="eventually (lambda = 0)")
    ax.plot([ch["n"] for ch in zero], [ch["eventual_loss_if_mode_correct"] for ch in zero], color="gray", marker="v",
            **style.EXACT, label="eventually, if the mode were correct")
    ax.plot([ch["n"] for ch in zero], [ch["lost"][-1] for ch in zero], color=style.COLORS[0], marker="o",
            **style.EXACT, label=f"by round {r['chain_rounds']}, lambda = 0")
    if fr:
        lam = fr[0]["fresh"]
        ax.plot([ch["n"] for ch in fr], [ch["lost"][-1] for ch in fr], color=style.COLORS[1], marker="o",
                linestyle="--", linewidth=1.6, label=f"by round {r['chain_rounds']}, lambda = {lam:g}")
        ax.plot([ch["n"] for ch in fr], [ch["stationary_loss"] for ch in fr], color=style.COLORS[1], marker="x",
                linestyle=":", linewidth=1.4, label=f"stationary, lambda = {lam:g}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("n (kept responses per round)")
    ax.set_ylabel("P[correct response lost]")
    ax.set_title("(h) collapse probability vs n (exact)")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    # (i) Wright-Fisher
    ax = axes[2, 2]
    wf = r["wright_fisher"]
    x = np.array(wf["j"]) / wf["n"]
    ax.plot([0, 1], [0, 1], color="gray", linewidth=0.8)
    for i, e in enumerate(wf["exact"]):
        ax.plot(x, e["fix"], color=style.COLORS[i], linestyle=("-", "--", ":")[i % 3], linewidth=1.8,
                label=f"exact, N = {e['N']}")
    for sm in wf["sims"]:
        i = [e["N"] for e in wf["exact"]].index(sm["N"])
        xs = np.array([p["j"] for p in sm["points"]]) / wf["n"]
        fq = np.array([p["freq"] for p in sm["points"]])
        yerr = np.vstack([fq - [p["lo"] for p in sm["points"]], np.array([p["hi"] for p in sm["points"]]) - fq])
        ax.errorbar(xs, fq, yerr=yerr, color=style.COLORS[i], **style.SIM,
                    label=f"simulated N = {sm['N']} (95% CP)")
    ax.set_xlabel(f"initial mass c_y / n of response y (n = {wf['n']})")
    ax.set_ylabel("P[y takes all the mass]")
    ax.set_title("(i) Wright-Fisher: N = 1 is a martingale")
    ax.legend(fontsize=7, loc="upper left")
    from matplotlib.ticker import MaxNLocator

    for ax in (axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0], axes[1, 1], axes[2, 0]):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    k = r["k"]
    rows = []
    for p in r["population"]:
        form = "BoN_{N^t}" if p["kind"] == "bon" else "p^(alpha^t)"
        rows.append(dict(measurement=f"population {p['label']}: max |pi_t - closed form| over t", simulated=p["closed_form_err"],
                         theory=0.0, note=f"closed form {form}"))
    rows.append(dict(measurement="SFT population limit vs BoN law", simulated=r["sft_equals_bon"], theory=0.0,
                     note="identical by construction (realizable tabular class, infinite data)"))
    for p in r["population"]:
        m = p["metrics"]
        rows.append(dict(measurement=f"population {p['label']}: pass@{k} round 0 -> {r['pop_rounds']}",
                         simulated=m[f"pass@{k}"][-1], theory=m[f"pass@{k}"][0],
                         note=f"pass@1 {m['pass@1'][0]:.3f} -> {m['pass@1'][-1]:.3f}; greedy accuracy {m['accuracy'][0]:.3f}"))
    for f in r["finite"]:
        rows.append(dict(measurement=f"finite n={f['n']}, lambda={f['fresh']:g}: pass@{k} after {r['rounds']} rounds",
                         simulated=f[f"pass@{k}"]["mean"][-1], theory=r["population_ref"][f"pass@{k}"][-1],
                         note=f"theory: population BoN_{r['N']}; measured cost {f['cost']} queries per task copy "
                              f"({f['queries_per_round'][0]} + {f['fresh_per_round'][0]} fresh per round); final greedy "
                              f"accuracy {f['accuracy']['mean'][-1]:.3f}, C_cov {f['coverage']['mean'][-1]:.3f}"))
    for ch in r["chains"]:
        if ch["fresh"] == 0:
            rows.append(dict(measurement=f"chain n={ch['n']}: P[correct lost] by round {r['chain_rounds']}",
                             simulated=ch["lost"][-1], theory=ch["eventual_loss"],
                             note=f"theory: eventual loss; E[fixation time] = {ch['absorption_time']:.2f} rounds"))
    out95 = sum(sm["outside_95"] for sm in r["chain_sims"])
    out6 = sum(sm["outside_1e6"] for sm in r["chain_sims"])
    tot = sum(len(sm["k"]) for sm in r["chain_sims"])
    rows.append(dict(measurement="simulation vs exact chain: points outside CP(1-1e-6)", simulated=out6, theory=0,
                     note=f"{out95} of {tot} outside the 95% interval"))
    wf = r["wright_fisher"]
    e1 = next((e for e in wf["exact"] if e["N"] == 1), None)
    if e1 is not None:
        err = max(abs(f - j / wf["n"]) for f, j in zip(e1["fix"], wf["j"]))
        rows.append(dict(measurement="Wright-Fisher N=1: max |P[fix] - c_y/n| (exact chain)", simulated=err, theory=0.0,
                         note="martingale identity"))
    for sm in wf["sims"]:
        inside = sum(p["inside_1e6"] for p in sm["points"])
        rows.append(dict(measurement=f"Wright-Fisher N={sm['N']} simulation inside CP(1-1e-6)",
                         simulated=inside, theory=len(sm["points"]), note=f"{sm['R']} replicates per start"))
    return rows

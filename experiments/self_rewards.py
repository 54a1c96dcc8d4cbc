"""Self-rewards compared exactly (issue 14): best-of-N, soft best-of-N, power, temperature,
majority vote, and Metropolis-Hastings power sampling.

On a toy "trap" task (``sharpsim.instances.toy``: a likely wrong first token leads to diffuse
continuations; the answer of a sequence is its last token) every selection rule's output law is
computed exactly:

(a) the frontier: task accuracy against KL(policy || base) for best-of-N (``bon_law``, N
    grid), soft best-of-N at N = 32 (``soft_bon_law``, lambda grid; arXiv 2505.03156), the
    sequence-level power distribution p^alpha = tilted(beta = 1/(alpha - 1)) (``power``) and
    token-level temperature 1/alpha (``AutoregressiveLM.with_temperature``);
(b) accuracy against N for best-of-N, soft best-of-N, majority vote (``majority_prob``,
    exact, ties uniform) and pass@N;
(c) exact KL(BoN_N || base) with ties against log N - (N - 1)/N (Beirami et al.,
    arXiv 2401.01879), on bases with and without ties;
(d) the exact win rate of BoN_N over a base draw (ties count half) against N/(N + 1);
(e) KL(power_alpha || temperature 1/alpha) as the horizon H grows, on trap tasks and on a
    model with independent tokens (where the two coincide);
(f) Karan and Du's MH power sampler (arXiv 2510.14901) on one trap prompt: the exact
    probability that the chain's state is the sequence argmax after k steps (from the exact
    transition matrix), simulated chains through the counting ``PrefixOracle`` (Clopper-Pearson
    95%), and best-of-N, against tokens generated;
(g) task accuracy of power against temperature as H grows (panel e's instances);
(h) the chain's exact total-variation distance to p_alpha after k steps, beside the slope of the
    spectral rate (1 - abs gap)^k (the bound 1/2 sqrt(chi2(base || p_alpha)) (1 - abs gap)^k is in
    the results and checked in the tests; with chi2 >> 1 it exceeds 1 over this range).

The summary adds the queries (tokens) each method needs for a delta-sharp output on every
prompt of a small model, and the sample size m = n N with which SFT-Sharpening learns an
(eps, delta)-sharpened tabular policy (simulated over seeds).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import jax
import numpy as np

import sharpsim as s
from sharpsim.algorithms import (
    PrefixOracle,
    mh_power_sampling,
    power_mcmc_laws,
    power_mcmc_transition,
    sft_sharpening,
    spectral_gap,
)
from sharpsim.classes import TabularClass
from sharpsim.instances.toy import answer_correct, toy_task
from sharpsim.stats import clopper_pearson

from . import style

NAME = "self_rewards"
DESCRIPTION = ("self-rewards exactly: BoN / soft BoN / power / temperature frontier, majority vote, "
               "BoN KL and win rate vs their formulas, power vs temperature, MH power sampler")


KL_Y = 1024
"""Responses of the padded table of panels (c, d)."""


@dataclass(frozen=True)
class Config:
    seed: int = 0
    # frontier task: (V, H, trap_rate, p_correct, p_trap, q, alpha_off), X prompts
    task: tuple = (4, 3, 0.6, 0.30, 0.45, 0.92, 3.0)
    X: int = 40
    N_grid: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    soft_N: int = 32
    lam_grid: tuple = (8.0, 4.0, 2.0, 1.0, 0.5, 0.25, 0.1, 0.05)
    majority_N: tuple = (1, 3, 5, 9, 17, 33, 65)
    alpha_grid: tuple = (1.0, 1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0, 16.0)
    # KL / win-rate bases
    kl_N: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1024)
    # power vs temperature: V = 3 trap tasks, horizons H
    pt_X: int = 30
    pt_H: tuple = (1, 2, 3, 4, 5, 6, 7)
    pt_alphas: tuple = (2.0, 4.0, 8.0)
    # MH power sampler: one trap prompt, V = 3
    mh_H: tuple = (3, 5)
    mh_alpha: float = 4.0
    mh_steps: int = 40
    mh_chains: int = 2000
    mh_sim_k: tuple = (0, 2, 5, 10, 20, 40)
    # queries to a delta-sharp output on a small model
    cost_X: int = 6
    cost_H: int = 4
    cost_delta: float = 0.1
    cost_alphas: tuple = (2.0, 4.0, 8.0, 16.0, 32.0)
    sft_eps: float = 0.2
    sft_n: tuple = (12, 24, 40, 64)  # one padded capacity (64): one compilation
    sft_seeds: int = 5


FULL = Config()
QUICK = Config(X=12, N_grid=(1, 4, 16, 64), lam_grid=(4.0, 1.0, 0.25, 0.05), majority_N=(1, 5, 17),
               alpha_grid=(1.0, 2.0, 4.0, 8.0), kl_N=(1, 4, 16, 64), pt_X=6, pt_H=(1, 2, 3, 4),
               pt_alphas=(4.0,), mh_H=(3,), mh_steps=10, mh_chains=400, mh_sim_k=(0, 5, 10),
               cost_X=3, cost_alphas=(4.0, 16.0), sft_n=(), sft_seeds=2)  # QUICK: no SFT runs


def _trap_model(key, X, V, H, trap_rate=1.0, p_correct=0.30, p_trap=0.45, q=0.92, alpha_off=3.0):
    conds, corr, trap = toy_task(key, X, V, H, trap_rate, p_correct, p_trap, q, alpha_off)
    return s.AutoregressiveLM(conds, log=True), answer_correct(corr, V), corr


def _frozen(*arrays):
    """Mark the arrays of a memoized builder's result read-only (the tasks of a process share them)."""
    for a in arrays:
        a.flags.writeable = False


def _acc(table, correct, mu):
    return float(np.sum(mu * np.where(correct, table, 0.0).sum(axis=1)))


def _keys(c: Config):
    """The five section keys: frontier, KL / win rate, power vs temperature, MCMC, costs."""
    return jax.random.split(jax.random.key(c.seed), 5)


@lru_cache(maxsize=8)
def _frontier_task(c: Config):
    """(model, correct, chains) of the frontier task; memoized: the frontier tasks of a process share it."""
    V, H, tr, pc, pt, q, ao = c.task
    model, correct, corr = _trap_model(_keys(c)[0], c.X, V, H, tr, pc, pt, q, ao)
    _frozen(correct, corr)
    return model, correct, corr


def _frontier_part(c: Config, tid: tuple) -> dict:
    V = c.task[0]
    model, correct, corr = _frontier_task(c)
    base = model.table()
    mu = model.mu
    if tid[0] == "frontier":
        argmax_ok = float(np.mean(model.sequence_argmax()[0][:, -1] == corr[:, -1]))
        return dict(acc_base=_acc(base, correct, mu), argmax_correct=argmax_ok)
    j = tid[1]
    if tid[0] == "bon":
        N = c.N_grid[j]
        law = s.bon_law(model, N)
        return dict(N=N, kl=s.kl(law, model), acc=_acc(law, correct, mu),
                    pass_n=float(np.sum(mu * (1 - (1 - np.where(correct, base, 0).sum(1)) ** N))))
    if tid[0] == "soft":
        lam = c.lam_grid[j]
        law = s.soft_bon_law(model, c.soft_N, lam)
        return dict(lam=lam, kl=s.kl(law, model), acc=_acc(law, correct, mu))
    if tid[0] == "power":
        a = c.alpha_grid[j]
        law = s.power(model, a)
        lt = model.with_temperature(1.0 / a).table()
        return dict(power=dict(alpha=a, kl=s.kl(law, model), acc=_acc(law, correct, mu)),
                    temperature=dict(alpha=a, kl=s.kl(lt, model), acc=_acc(lt, correct, mu)))
    N = c.majority_N[j]  # "majority"
    answers = np.arange(model.Y) % V
    acc_m = float(np.sum(mu * s.majority_prob(model, answers, N, corr[:, -1], num_answers=V)))
    law_b = s.bon_law(model, N)
    law_s = s.soft_bon_law(model, N, 0.5)
    return dict(N=N, acc_majority=acc_m, acc_bon=_acc(law_b, correct, mu), acc_soft=_acc(law_s, correct, mu),
                pass_n=float(np.sum(mu * (1 - (1 - np.where(correct, base, 0).sum(1)) ** N))))


def _frontier(c: Config, parts: dict) -> dict:
    V, H = c.task[0], c.task[1]
    head = parts[("frontier",)]
    out = dict(V=V, H=H, X=c.X, soft_N=c.soft_N, acc_base=head["acc_base"])
    pw = [parts[("power", j)] for j in range(len(c.alpha_grid))]
    out.update(bon=[parts[("bon", j)] for j in range(len(c.N_grid))],
               soft=[parts[("soft", j)] for j in range(len(c.lam_grid))],
               power=[p["power"] for p in pw], temperature=[p["temperature"] for p in pw],
               majority=[parts[("majority", j)] for j in range(len(c.majority_N))],
               argmax_correct=head["argmax_correct"])
    return out


def _kl_names(c: Config) -> list[str]:
    V, H = c.task[0], c.task[1]
    return [f"no ties, Y={KL_Y}", "no ties, Y=16", "4 tie levels, Y=64", f"trap task V={V} H={H} (ties)"]


@lru_cache(maxsize=8)
def _kl_bases(c: Config):
    """(table, mus): the bases padded with zero-mass responses to one [rows, KL_Y] table (one compilation
    of bon_law; zero mass changes no law); each base is selected by its prompt weights mu. Memoized: the
    ("kl", j) tasks of a process share it."""
    k1, k2, k3 = jax.random.split(_keys(c)[1], 3)
    rng = np.random.default_rng(int(jax.random.randint(k1, (), 0, 2**31 - 1)))
    V, H, tr, pc, pt, q, ao = c.task
    model, _, _ = _trap_model(k3, c.X, V, H, tr, pc, pt, q, ao)
    levels = rng.choice([1.0, 2.0, 4.0, 8.0], size=64)
    rows = [rng.dirichlet(np.ones(KL_Y)), rng.dirichlet(np.ones(16)), levels / levels.sum()]
    table = np.zeros((3 + c.X, KL_Y))
    for i, r in enumerate(rows):
        table[i, : r.size] = r
    table[3:, : model.Y] = model.table()
    table /= table.sum(axis=1, keepdims=True)
    mus = [np.eye(3 + c.X)[i] for i in range(3)] + [np.r_[np.zeros(3), np.full(c.X, 1.0 / c.X)]]
    _frozen(table, *mus)
    return table, tuple(mus)


def _kl_part(c: Config, j: int) -> dict:
    """BoN KL and win rate of every base of :func:`_kl_bases` at N = kl_N[j]."""
    table, mus = _kl_bases(c)
    N = c.kl_N[j]
    return dict(kl=[s.bon_kl(table, N, mu=mu) for mu in mus], win=[s.bon_win_rate(table, N, mu=mu) for mu in mus],
                bound=s.bon_kl_bound(N), win_continuous=s.bon_win_rate_continuous(N))


def _kl_winrate(c: Config, parts: dict) -> dict:
    pts = [parts[("kl", j)] for j in range(len(c.kl_N))]
    out = [dict(name=name, kl=[p["kl"][b] for p in pts], win=[p["win"][b] for p in pts])
           for b, name in enumerate(_kl_names(c))]
    return dict(N=list(c.kl_N), bound=[p["bound"] for p in pts], win_continuous=[p["win_continuous"] for p in pts],
                bases=out)


@lru_cache(maxsize=8)
def _power_temp_models(c: Config, H: int):
    """(trap model, correct, independent-token model) at horizon H; memoized: every alpha of a process shares them."""
    key = _keys(c)[2]
    model, correct, _ = _trap_model(jax.random.fold_in(key, H), c.pt_X, 3, H, 1.0)
    ind = s.random_autoregressive(jax.random.fold_in(key, 100 + H), c.pt_X, 3, H, order=0)
    _frozen(correct)
    return model, correct, ind


def _power_temp_part(c: Config, a: float, H: int) -> dict:
    model, correct, ind = _power_temp_models(c, H)
    r = s.power_vs_temperature(model, a, correct=correct)
    return dict(kl=r["kl_power_temp"], acc_power=r["acc_power"], acc_temp=r["acc_temp"],
                mode_power=r["mode_mass_power"], mode_temp=r["mode_mass_temp"],
                kl_independent=s.power_vs_temperature(ind, a)["kl_power_temp"])


def _power_temp(c: Config, parts: dict) -> dict:
    curves = []
    for i, a in enumerate(c.pt_alphas):
        pts = [parts[("power_temp", i, h)] for h in range(len(c.pt_H))]
        curves.append(dict(alpha=a, **{k: [p[k] for p in pts] for k in ("kl", "acc_power", "acc_temp", "mode_power",
                                                                          "mode_temp", "kl_independent")}))
    return dict(H=list(c.pt_H), X=c.pt_X, curves=curves)


def _star_mass(law, star):
    return float(np.where(star, law, 0.0).sum())


@lru_cache(maxsize=8)
def _mcmc_model(c: Config, H: int):
    """The one-prompt trap model of the MH panels at horizon H; memoized: ("mcmc", 0) and ("mcmc_sim",) share it."""
    return _trap_model(jax.random.fold_in(_keys(c)[3], 7), 1, 3, H)[0]


def _mcmc_part(c: Config, H: int) -> dict:
    model = _mcmc_model(c, H)
    star = s.argmax_set(model)[0]
    base = model.table()[0]
    P = power_mcmc_transition(model, c.mh_alpha)
    pw = s.power(model, c.mh_alpha)[0]
    gap = spectral_gap(P, pw)
    laws = power_mcmc_laws(model, c.mh_alpha, c.mh_steps)
    exact = [_star_mass(law, star) for law in laws]
    tv = [0.5 * float(np.abs(law - pw).sum()) for law in laws]
    live = pw > 0
    chi2 = max(float(np.sum(base[live] ** 2 / pw[live]) - 1.0), 0.0)
    bound = [0.5 * math.sqrt(chi2) * (1.0 - gap["abs_gap"]) ** k for k in range(c.mh_steps + 1)]
    return dict(H=H, Y=model.Y, p_star=float(np.exp(np.asarray(model.log_table())[0]).max()), tv_bound=bound,
                power_star=_star_mass(pw, star), gap=gap["gap"], abs_gap=gap["abs_gap"],
                exact=exact, tv=tv, tokens_expected=[H + k * (H + 1) / 2 for k in range(c.mh_steps + 1)],
                bon_N=list(range(1, 4 * c.mh_steps + 1)),
                # pi^BoN_N(y*) = 1 - (1 - pi_base(y*))^N (y* is the top level of bon_law, F2)
                bon=[1.0 - (1.0 - _star_mass(base, star)) ** N for N in range(1, 4 * c.mh_steps + 1)])


def _mcmc_sim_part(c: Config) -> dict:
    """Simulated chains on the first horizon (``exact`` is added by ``assemble``)."""
    model = _mcmc_model(c, c.mh_H[0])
    star = s.argmax_set(model)[0]
    oracle = PrefixOracle(model)
    res = mh_power_sampling(oracle, c.mh_alpha, c.mh_steps, jax.random.fold_in(_keys(c)[3], 99),
                            np.zeros(c.mh_chains, dtype=np.int64))
    sim = []
    for k in c.mh_sim_k:
        hits = int(star[res.trace[k]].sum())
        lo, hi = clopper_pearson(hits, c.mh_chains)
        lo6, hi6 = clopper_pearson(hits, c.mh_chains, 1 - 1e-6)
        sim.append(dict(k=k, freq=hits / c.mh_chains, lo=lo, hi=hi, lo6=lo6, hi6=hi6))
    return dict(sim=sim, queries=res.queries, tokens=res.tokens_generated, chains=c.mh_chains,
                accept_rate=float(res.accepted.mean() / max(c.mh_steps, 1)))


def _mcmc(c: Config, parts: dict) -> dict:
    out = []
    for i in range(len(c.mh_H)):
        rec = dict(parts[("mcmc", i)])
        if i == 0:
            sim = parts[("mcmc_sim",)]
            rec.update(sim=[dict(p, exact=rec["exact"][p["k"]]) for p in sim["sim"]],
                       **{k: v for k, v in sim.items() if k != "sim"})
        out.append(rec)
    return dict(alpha=c.mh_alpha, runs=out)


@lru_cache(maxsize=8)
def _costs_model(c: Config):
    """The small model of the costs section: (model, argmax set, argmax mass per prompt, N of SFT-Sharpening).
    Memoized: the costs tasks of a process share it."""
    model, _, _ = _trap_model(jax.random.fold_in(_keys(c)[4], 3), c.cost_X, 3, c.cost_H, 0.6)
    star = s.argmax_set(model)
    p_star = s.argmax_mass(model, model)
    # SFT-Sharpening: tabular MLE on best-of-N data; N with pi^BoN_N(y*|x) >= 1 - delta/4 on every prompt
    # (slack for the empirical frequencies), m = n N
    d = c.cost_delta
    N_sft = int(max(math.ceil(math.log(d / 4) / math.log1p(-p)) if p < 1 else 1 for p in p_star))
    _frozen(star, p_star)
    return model, star, p_star, N_sft


def _costs_part(c: Config, tid: tuple) -> dict:
    """Queries for a delta-sharp output on every prompt: best-of-N, MH (exact laws), SFT-Sharpening."""
    H, d = c.cost_H, c.cost_delta
    model, star, p_star, N_sft = _costs_model(c)
    if tid[0] == "costs":
        # best-of-N: smallest N with pi^BoN_N(y*|x) >= 1 - delta on every prompt
        N_bon = int(max(math.ceil(math.log(d) / math.log1p(-p)) if p < 1 else 1 for p in p_star))
        return dict(p_star_min=float(p_star.min()), N_bon=N_bon, N_sft=N_sft)
    if tid[0] == "costs_mh":
        a = c.cost_alphas[tid[1]]
        ks = []
        for x in range(c.cost_X):
            laws = power_mcmc_laws(model, a, 200, x)
            ok = np.flatnonzero(np.where(star[x], laws, 0.0).sum(axis=1) >= 1 - d)
            ks.append(int(ok[0]) if ok.size else None)
        k = None if any(v is None for v in ks) else max(ks)
        return dict(alpha=a, steps=k, queries=None if k is None else 1 + k,
                    tokens=None if k is None else H + k * (H + 1) / 2)
    _, i, seed = tid  # "costs_sft"
    n = c.sft_n[i]
    base_tab = s.TabularLM(model.table(), model.mu)
    o = s.Oracle(base_tab)
    key = _keys(c)[4]
    r = sft_sharpening(o, TabularClass(base_tab.X, base_tab.Y), n, N_sft, jax.random.fold_in(key, 1000 * n + seed))
    return dict(err=s.sharpness_error(r.policy, base_tab, d))


def _costs(c: Config, parts: dict) -> dict:
    head = parts[("costs",)]
    N_bon, N_sft = head["N_bon"], head["N_sft"]
    mh = [parts[("costs_mh", i)] for i in range(len(c.cost_alphas))]
    sft = []
    for i, n in enumerate(c.sft_n):
        errs = [parts[("costs_sft", i, seed)]["err"] for seed in range(c.sft_seeds)]
        sft.append(dict(n=n, m=n * N_sft, err_max=float(max(errs)), err_mean=float(np.mean(errs))))
    # the smallest m on the grid from which every larger grid point succeeds on every seed
    ok = []
    for r_ in reversed(sft):
        if r_["err_max"] > c.sft_eps:
            break
        ok.insert(0, r_)
    return dict(X=c.cost_X, H=c.cost_H, delta=c.cost_delta, p_star_min=head["p_star_min"], N_bon=N_bon,
                bon_tokens=N_bon * c.cost_H, mh=mh, sft=sft, sft_N=N_sft, sft_eps=c.sft_eps,
                sft_m=ok[0]["m"] if ok else None)


def tasks(c: Config) -> list[tuple]:
    """("frontier",): base accuracy and argmax correctness of the frontier task; ("bon", j): best-of-N at
    N_grid[j]; ("soft", j): soft best-of-N at lam_grid[j]; ("power", j): power and temperature at
    alpha_grid[j]; ("majority", j): majority vote / BoN / soft BoN at majority_N[j]; ("kl", j): BoN KL and
    win rate of every base at kl_N[j]; ("power_temp", i, h): pt_alphas[i] at horizon pt_H[h]; ("mcmc", i):
    the exact MH chain at horizon mh_H[i]; ("mcmc_sim",): the simulated chains at mh_H[0]; ("costs",): the
    best-of-N cost; ("costs_mh", i): MH steps at cost_alphas[i]; ("costs_sft", i, seed): one SFT-Sharpening
    run at sft_n[i]."""
    out = [("frontier",)]
    out += [("bon", j) for j in range(len(c.N_grid))] + [("soft", j) for j in range(len(c.lam_grid))]
    out += [("power", j) for j in range(len(c.alpha_grid))] + [("majority", j) for j in range(len(c.majority_N))]
    out += [("kl", j) for j in range(len(c.kl_N))]
    out += [("power_temp", i, h) for i in range(len(c.pt_alphas)) for h in range(len(c.pt_H))]
    for i in range(len(c.mh_H)):
        out += [("mcmc", i)] + ([("mcmc_sim",)] if i == 0 else [])
    out += [("costs",)] + [("costs_mh", i) for i in range(len(c.cost_alphas))]
    out += [("costs_sft", i, seed) for i in range(len(c.sft_n)) for seed in range(c.sft_seeds)]
    return out


def run_task(c: Config, tid: tuple) -> dict:
    kind = tid[0]
    if kind in ("frontier", "bon", "soft", "power", "majority"):
        return _frontier_part(c, tid)
    if kind == "kl":
        return _kl_part(c, tid[1])
    if kind == "power_temp":
        return _power_temp_part(c, c.pt_alphas[tid[1]], c.pt_H[tid[2]])
    if kind == "mcmc":
        return _mcmc_part(c, c.mh_H[tid[1]])
    if kind == "mcmc_sim":
        return _mcmc_sim_part(c)
    if kind in ("costs", "costs_mh", "costs_sft"):
        return _costs_part(c, tid)
    raise ValueError(f"unknown task {tid!r}")


def assemble(c: Config, parts: dict) -> dict:
    return dict(frontier=_frontier(c, parts), kl=_kl_winrate(c, parts), power_temp=_power_temp(c, parts),
                mcmc=_mcmc(c, parts), costs=_costs(c, parts))


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(2, 4, width=5.0, height=3.8)
    C = style.COLORS
    f = r["frontier"]
    # (a) frontier
    ax = axes[0, 0]
    for lab, key, col, mk in ((f"best-of-N (N={f['bon'][0]['N']}..{f['bon'][-1]['N']})", "bon", C[0], "o"),
                              (f"soft BoN-{f['soft_N']} (lambda {f['soft'][0]['lam']:g}..{f['soft'][-1]['lam']:g})", "soft", C[2], "s"),
                              ("power p^alpha = tilted", "power", C[1], "^"),
                              ("temperature 1/alpha (token level)", "temperature", C[3], "v")):
        pts = f[key]
        ax.plot([p["kl"] for p in pts], [p["acc"] for p in pts], marker=mk, color=col, markersize=4, label=lab,
                **style.EXACT)
    ax.axhline(f["argmax_correct"], color="k", **style.ORDER_ONLY, label="sequence argmax correct (N -> inf)")
    ax.set_xlabel("KL(policy || base) (nats, exact)")
    ax.set_ylabel("task accuracy (exact)")
    ax.set_title(f"(a) accuracy-KL frontier, trap task V={f['V']} H={f['H']}", fontsize=9.5)
    ax.legend(fontsize=7, loc="lower right")
    # (b) accuracy vs N
    ax = axes[0, 1]
    m = f["majority"]
    Ns = [p["N"] for p in m]
    for lab, key, col in (("best-of-N (log pi_base)", "acc_bon", C[0]), ("soft BoN, lambda = 0.5", "acc_soft", C[2]),
                          ("majority vote (exact)", "acc_majority", C[3]), ("pass@N (skyline)", "pass_n", C[4])):
        ax.plot(Ns, [p[key] for p in m], marker="o", markersize=4, color=col, label=lab, **style.EXACT)
    ax.axhline(f["acc_base"], color="gray", **style.ORDER_ONLY, label="sampling (N = 1)")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N (samples)")
    ax.set_ylabel("task accuracy (exact)")
    ax.set_title("(b) selection rules against N", fontsize=9.5)
    ax.legend(fontsize=7)
    # (c) BoN KL vs formula, (d) win rate
    kl = r["kl"]
    N = np.array(kl["N"])
    ax = axes[1, 0]
    ax.plot(N, kl["bound"], color="k", zorder=5, **style.BOUND, label="log N - (N-1)/N (upper bound)")
    for i, b in enumerate(kl["bases"]):
        ax.plot(N, b["kl"], marker="o", markersize=3.5, color=C[i], label=b["name"], **style.EXACT)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N")
    ax.set_ylabel("KL(BoN_N || base) (nats)")
    ax.set_title("(c) exact KL of best-of-N vs the formula", fontsize=9.5)
    ax.legend(fontsize=7)
    ax = axes[1, 1]
    ax.plot(N, kl["win_continuous"], color="k", zorder=5, **style.BOUND, label="N/(N+1) (continuous rewards)")
    for i, b in enumerate(kl["bases"]):
        ax.plot(N, b["win"], marker="o", markersize=3.5, color=C[i], label=b["name"], **style.EXACT)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("N")
    ax.set_ylabel("P[BoN beats a base draw] (ties 1/2)")
    ax.set_title("(d) exact win rate of best-of-N", fontsize=9.5)
    ax.legend(fontsize=7)
    # (e) power vs temperature
    pt = r["power_temp"]
    ax = axes[2, 0]
    for i, cv in enumerate(pt["curves"]):
        ax.plot(pt["H"], cv["kl"], marker="o", markersize=4, color=C[i], label=f"trap tasks, alpha = {cv['alpha']:g}",
                **style.EXACT)
        ax.plot(pt["H"], cv["kl_independent"], marker="x", markersize=4, color=C[i], linestyle=":",
                label=f"independent tokens, alpha = {cv['alpha']:g}")
    ax.set_xlabel(f"horizon H (V = 3; {r['power_temp'].get('X', '')} trap prompts per H)")
    ax.set_ylabel("KL(power_alpha || temperature 1/alpha)")
    ax.set_title("(e) sequence power vs token temperature", fontsize=9.5)
    top = max(max(cv["kl"]) for cv in pt["curves"])
    ax.set_ylim(-0.05 * top, 1.45 * top)
    ax.legend(fontsize=6.5, ncol=2, loc="upper left")
    # (f) MCMC
    mc = r["mcmc"]
    ax = axes[2, 1]
    for i, run in enumerate(mc["runs"]):
        ax.plot(run["tokens_expected"], run["exact"], color=C[i], **style.EXACT,
                label=f"MH alpha={mc['alpha']:g}, H={run['H']} (exact; gap {run['gap']:.3f})")
        toks = np.array(run["bon_N"]) * run["H"]
        keep = toks <= run["tokens_expected"][-1]
        ax.plot(toks[keep], np.array(run["bon"])[keep], color=C[i], **style.BOUND, label=f"best-of-N, H={run['H']} (exact)")
        ax.axhline(run["power_star"], color=C[i], **style.ORDER_ONLY)
        if "sim" in run:
            sm = run["sim"]
            xs = [run["tokens_expected"][p["k"]] for p in sm]
            y = np.array([p["freq"] for p in sm])
            err = np.vstack([y - [p["lo"] for p in sm], np.array([p["hi"] for p in sm]) - y])
            ax.errorbar(xs, y, yerr=err, color=C[i], **style.SIM, label=f"MH simulated ({run['chains']} chains, 95% CP)")
    ax.set_xlabel("tokens generated per output (MH: expected)")
    ax.set_ylabel("P[output is the sequence argmax]")
    ax.set_title("(f) MH power sampler vs best-of-N (dotted: p_alpha(y*))", fontsize=9.5)
    ax.legend(fontsize=6.5, loc="lower right")
    # (g) accuracy of power vs temperature against H
    ax = axes[3, 0]
    for i, cv in enumerate(pt["curves"]):
        ax.plot(pt["H"], cv["acc_power"], marker="o", markersize=4, color=C[i], label=f"power, alpha = {cv['alpha']:g}",
                **style.EXACT)
        ax.plot(pt["H"], cv["acc_temp"], marker="v", markersize=4, color=C[i], linestyle="--",
                label=f"temperature 1/{cv['alpha']:g}")
    ax.set_ylim(0, 1.08)
    ax.set_xlabel("horizon H (V = 3)")
    ax.set_ylabel("task accuracy (exact)")
    ax.set_title("(g) power keeps the correct chain, temperature takes the trap", fontsize=9.5)
    ax.legend(fontsize=6.5, ncol=2, loc="center right", bbox_to_anchor=(1.0, 0.64))
    # (h) exact mixing of the MH chain
    ax = axes[3, 1]
    for i, run in enumerate(mc["runs"]):
        k = np.arange(len(run["tv"]))
        ax.semilogy(k, np.maximum(run["tv"], 1e-17), color=C[i], **style.EXACT,
                    label=f"H={run['H']}: TV(law_k, p_alpha) (exact)")
        rate = run["tv"][-1] * (1.0 - run["abs_gap"]) ** (k - k[-1])
        ax.semilogy(k, rate, color=C[i], **style.ORDER_ONLY,
                    label=f"H={run['H']}: slope (1 - gap)^k, gap {run['abs_gap']:.3f} (through the last point)")
    ax.set_xlabel("MH steps k")
    ax.set_ylabel("total variation to p_alpha")
    ax.set_title(f"(h) MH mixing from the transition matrix (alpha = {mc['alpha']:g})", fontsize=9.5)
    ax.legend(fontsize=7)
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    f, kl, pt, mc, co = r["frontier"], r["kl"], r["power_temp"], r["mcmc"], r["costs"]
    gaps = [max(bb - a for a, bb in zip(b["kl"], kl["bound"])) for b in kl["bases"]]
    over = max(max(a - bb for a, bb in zip(b["kl"], kl["bound"])) for b in kl["bases"])
    top = pt["curves"][-1]
    best_power = max(p["acc"] for p in f["power"])
    best_temp = max(p["acc"] for p in f["temperature"])
    run0 = mc["runs"][0]
    sim_out = sum(not (p["lo6"] <= p["exact"] <= p["hi6"]) for p in run0["sim"])
    mh_best = [m for m in co["mh"] if m["tokens"] is not None]
    mh_best = min(mh_best, key=lambda m: m["tokens"]) if mh_best else None
    return [
        dict(measurement="max over N of KL(BoN_N||base) - (log N - (N-1)/N)", simulated=over, theory="<= 0",
             note="the formula is an upper bound (Beirami et al.)"),
        dict(measurement="largest gap below the formula, per base", simulated=max(gaps), theory=">= 0",
             note="; ".join(f"{b['name']}: {g:.3f}" for b, g in zip(kl["bases"], gaps))),
        dict(measurement=f"win rate at N={kl['N'][-1]}: {kl['bases'][0]['name']} vs N/(N+1)", simulated=kl["bases"][0]["win"][-1],
             theory=kl["win_continuous"][-1], note="ties count 1/2; a base with ties wins less"),
        dict(measurement=f"max KL(power||temperature), alpha={top['alpha']:g}, H={pt['H'][-1]}", simulated=max(top["kl"]),
             theory="> 0", note=f"independent tokens: {max(abs(v) for v in top['kl_independent']):.1e} (= 0 exactly)"),
        dict(measurement=f"trap tasks H={pt['H'][-1]}, alpha={top['alpha']:g}: accuracy power vs temperature",
             simulated=top["acc_power"][-1], theory="-",
             note=f"temperature {top['acc_temp'][-1]:.3f}; mass on the sequence argmax: power "
                  f"{top['mode_power'][-1]:.3f}, temperature {top['mode_temp'][-1]:.3f}"),
        dict(measurement="best accuracy: power / temperature / BoN / majority", simulated=best_power,
             theory="-", note=f"temperature {best_temp:.3f}, BoN {max(p['acc'] for p in f['bon']):.3f}, "
                              f"majority {max(p['acc_majority'] for p in f['majority']):.3f}; "
                              f"argmax correct on {f['argmax_correct']:.3f}"),
        dict(measurement=f"MH simulated P[y*] outside 1-1e-6 CP (H={run0['H']})", simulated=sim_out, theory=0,
             note=f"{len(run0['sim'])} checkpoints, accept rate {run0['accept_rate']:.2f}, "
                  f"{run0['queries']} queries / {run0['tokens']} tokens charged"),
        dict(measurement="MH spectral gap per H", simulated=run0["gap"], theory="-",
             note="; ".join(f"H={q['H']}: gap {q['gap']:.4f}, abs gap {q['abs_gap']:.4f}" for q in mc["runs"])),
        dict(measurement=f"tokens per {co['delta']:g}-sharp output, every prompt (X={co['X']}, H={co['H']})",
             simulated=co["bon_tokens"], theory="-",
             note=(f"best-of-N: N={co['N_bon']}; MH best: "
                   + (f"alpha={mh_best['alpha']:g}, {mh_best['steps']} steps, {mh_best['tokens']:.1f} tokens"
                      if mh_best else "none within 200 steps")
                   + f"; SFT-Sharpening (eps={co['sft_eps']:g}, N={co['sft_N']}, all seeds): m = "
                   + (f"{co['sft_m']} queries in total, then 0 per output" if co["sft_m"]
                      else ("not reached on the grid" if co["sft"] else "not run")))),
    ]

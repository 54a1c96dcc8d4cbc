"""Figure 3 of the catalogue: the lower-bound family (SPEC 4.4, Lemma H.2-H.3, F11, F12).

On one member pi^I of the hard family (X = {x_0..x_d}, Y = {y_0..y_M},
mu = (1 - Delta) delta_{x_0} + (Delta/d) sum_i delta_{x_i}, P_j(y_j) = 2/M and
P_j(y_k) = (M-2)/(M(M-1)) otherwise) we plot, against the number of sample-and-evaluate
queries m, the per-coordinate error rate

    err_coord = (1/d) sum_i 1{ pi_hat(y*(x_i)|x_i) <= 1/2 } = P_x[pi_hat(y*|x) <= 1/2] / Delta

(x_0 is never in error: every class below puts all of x_0's mass on y_0), for

* **SFT-Sharpening** with the realizable class {bon_law(pi^I, N) : I in [M]^d}
  (Assumption 4.1), at two per-prompt sizes: N_half, the smallest N whose best-of-N law
  puts more than 1/2 on y* (1 - (1 - 2/M)^N > 1/2), and F12's N = ceil((M/2) ln(2/delta))
  with delta = 1/2. m = n N, counted by the oracle (``sharpsim.sim.run_trials``);
* SFT-Sharpening with the family's own class {pi^I} (``hard_family_class``), which is
  **misspecified** for SFT: its members put only 2/M on y*, so it never sharpens
  (err_coord = 1 at every m);
* the **Bayes-optimal learner** of F12 (I ~ Unif([M]^d)), with one response per prompt
  (N = 1, so the number of draws landing on x_i is k_i ~ Bin(m, Delta/d)). The evaluation
  reveals pi_base(y|x_i) of each drawn y, so the learner knows j*_i as soon as y_{j*_i} is
  drawn; until then its posterior on j*_i is uniform over the indices not yet drawn at x_i,
  and it outputs a point mass on a uniformly random unseen index. Its exact error after k
  draws at x_i is

      b(k) = (1 - 2/M)^k E[ 1 - 1/(M - D_k) ],

  where, given that y_{j*} was missed, each draw is uniform over the M - 1 other indices
  and D_k is the number of distinct ones among k draws (occupancy recursion
  P[D_{k+1} = j] = P[D_k = j] j/(M-1) + P[D_k = j-1] (M-j)/(M-1)); the exact curve is
  E_{k ~ Bin(m, Delta/d)} b(k). The learner is also simulated through the oracle cores
  (points with 95% intervals over trials): it sees only drawn prompts, drawn responses and
  their log-likelihoods.

Marked: Lemma H.3's threshold m = d M / Delta (order-only, constant 1: below c d M/Delta
every learner has per-coordinate error >= 1/8) and the 1/8 level. The Bayes learner is
optimal for the uniform prior, so its error at m = c d M / Delta is the lemma's
quantity; the summary reports it at c = 1/4, 1/2, 1 against the >= 1/8 claim.

Shapes: the response space is padded with zero-probability responses to a common
``Y_pad`` (:func:`hard_problem_padded`), so the catalogue's hard-family experiments share
one jit compilation per capacity (the instance and its classes are unchanged: the padded
responses are never drawn and carry no mass in any class member).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from sharpsim import sim
from sharpsim.bounds import adaptive_stopping_exact, hard_instance_threshold
from sharpsim.classes import SpikeProductClass
from sharpsim.instances import hard_instance
from sharpsim.oracle import capacity, prompts_core, sample_rows_core
from sharpsim.quantities import bon_law, coverage

from . import style

NAME = "lower_bound"
DESCRIPTION = "hard family: per-coordinate error vs m for SFT (BoN / misspecified class) and the exact Bayes learner"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    d: int = 4
    M: int = 32
    Delta: float = 0.5
    Y_pad: int = 257
    n_grid: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256)
    sft_trials: int = 400
    bayes_m: tuple = (16, 32, 64, 128, 256, 512, 1024, 2048)
    bayes_trials: int = 1000
    c_marks: tuple = (0.25, 0.5, 1.0)


FULL = Config()
QUICK = Config(n_grid=(16, 32, 64), sft_trials=100, bayes_m=(32, 128, 512), bayes_trials=200, c_marks=(0.5, 1.0))


def total_steps(c: Config) -> int:
    return 3 * len(c.n_grid) + len(set(c.bayes_m) | {int(round(k * c.d * c.M / c.Delta)) for k in c.c_marks})


# --------------------------------------------------------------------------- shared helper


def hard_problem_padded(d: int, M: int, Delta: float, Y_pad: int, key) -> sim.Problem:
    """One member pi^I (I ~ Unif([M]^d) from ``key``) of the hard family (SPEC 4.4) with its
    response space padded by zero-probability responses to ``Y_pad`` columns, and the classes

    * "sft": N -> {bon_law(pi^I, N) : I in [M]^d}   (realizable, Assumption 4.1),
    * "adaptive": mu_stop -> {adaptive-BoN law of pi^I : I}   (realizable, Assumption D.1),
    * "misspecified": -> {pi^I : I}   (the family's own class),

    as :func:`sharpsim.sim.hard_problem` builds them, restricted to the live responses
    (``support``); log|Pi| = d log M. The padding only fixes the array shapes (one jit
    compilation for every M <= Y_pad - 1): padded responses have pi_base = 0, are never
    drawn, and carry no mass in any class member.
    """
    inst = hard_instance(d, M, Delta)
    if Y_pad < inst.Y:
        raise ValueError(f"Y_pad must be >= M + 1 = {inst.Y}, got {Y_pad}")
    index = np.asarray(inst.random_index(key))
    table = np.zeros((inst.X, Y_pad))
    table[:, : inst.Y] = inst.table(index)
    sup = np.zeros((inst.X, Y_pad), dtype=bool)
    sup[0, 0] = True
    sup[1:, 1 : inst.Y] = True

    def spike(p_hi, p_lo):
        hi, lo = np.zeros(inst.X), np.full(inst.X, -np.inf)
        hi[1:] = math.log(p_hi)
        lo[1:] = math.log(p_lo) if p_lo > 0 else -np.inf
        return SpikeProductClass(hi, lo, sup, sup.copy())

    def sft_cls(N):
        law = np.asarray(bon_law(inst.table(np.ones(d, dtype=np.int64))[1:2], N))[0]
        return spike(law[1], law[2])

    def adaptive_cls(mu_stop):
        _, fail = adaptive_stopping_exact(inst.response_law(1)[1:], mu_stop)
        return spike(1.0 - fail, fail / (M - 1))

    def family_cls(*_):
        row = inst.response_law(1)
        return spike(row[1], row[2])

    return sim.Problem(
        f"hard(d={d}, M={M}, Delta={Delta:g})",
        table,
        inst.mu,
        {"sft": sft_cls, "adaptive": adaptive_cls, "misspecified": family_cls},
        {"instance": inst, "index": index, "log_class_size": inst.log_class_size,
         "C_cov": coverage(table, inst.mu), "M": M, "d": d, "Delta": Delta},
    )


def n_pop(p_star: np.ndarray, mu: np.ndarray, delta: float, target: float) -> int:
    """Smallest N whose exact population SFT error P_x[(1 - p*(x))^N >= delta] (F7) is <= target.

    Prompt x stops counting once N > ln(delta)/ln(1 - p*(x)), i.e. from
    N_x = floor(ln delta / ln(1 - p*)) + 1 on (N_x = 1 when p* = 1). Exact.
    """
    p_star, mu = np.asarray(p_star, dtype=float), np.asarray(mu, dtype=float)
    with np.errstate(divide="ignore"):
        lq = np.log1p(-np.minimum(p_star, 1.0))
    Nx = np.where(p_star >= 1.0, 1, np.floor(math.log(delta) / np.where(lq < 0, lq, -1.0)) + 1).astype(np.int64)
    Nx = np.where(p_star >= 1.0, 1, Nx)
    for N in sorted(set(Nx.tolist()) | {1}):
        if float(np.sum(mu[Nx > N])) <= target:
            return int(N)
    return int(Nx.max())


# --------------------------------------------------------------------------- Bayes learner


def bayes_error_exact(M: int, k_max: int) -> np.ndarray:
    """b(k), k = 0..k_max: exact Bayes-optimal per-coordinate error after k draws at x_i.

    b(k) = (1 - 2/M)^k E[1 - 1/(M - D_k)], D_k = number of distinct indices among k uniform
    draws from the M - 1 non-argmax indices (occupancy recursion, see the module docstring).
    """
    K = M - 1
    occ = np.zeros(K + 1)
    occ[0] = 1.0
    a = 2.0 / M
    j = np.arange(K + 1)
    inner = 1.0 - 1.0 / (M - j)
    out = np.empty(k_max + 1)
    for k in range(k_max + 1):
        out[k] = (1.0 - a) ** k * float(occ @ inner)
        new = occ * j / K
        new[1:] += occ[:-1] * (K - j[1:] + 1) / K
        occ = new
    return out


def bayes_curve(M: int, d: int, Delta: float, m_values) -> np.ndarray:
    """Exact per-coordinate Bayes error E_{k ~ Bin(m, Delta/d)} b(k) at each m (N = 1 per prompt)."""
    m_values = np.asarray(m_values, dtype=np.int64)
    b = bayes_error_exact(M, int(m_values.max()))
    out = []
    for m in m_values:
        k = np.arange(m + 1)
        out.append(float(stats.binom.pmf(k, m, Delta / d) @ b[: m + 1]))
    return np.array(out)


@partial(jax.jit, static_argnames=("m_cap", "M"))
def _bayes_batch(keys, logp, log_mu, m, star_index, m_cap, M):
    """Per trial: m oracle draws (x ~ mu, one y ~ pi_base(.|x), log pi_base(y|x) revealed)
    -> the Bayes learner's j_hat_i -> the per-coordinate error fraction. ``star_index`` is used
    only to score the learner (never passed to it)."""
    X, Y = logp.shape
    thr = 0.5 * (math.log(2.0 / M) + math.log((M - 2) / (M * (M - 1))))  # known family levels

    def learner(x, y, lp, w, key):
        live = w > 0
        seen = jnp.zeros((X, Y), dtype=bool).at[x, y].max(live)
        star = jnp.zeros((X, Y), dtype=bool).at[x, y].max(live & (lp > thr))
        valid = (jnp.arange(Y) >= 1) & (jnp.arange(Y) <= M)
        cand = jnp.where(jnp.any(star, axis=1, keepdims=True), star, valid[None, :] & ~seen)
        prio = jax.random.uniform(key, (X, Y), dtype=jnp.float64)
        return jnp.argmax(jnp.where(cand, prio, -1.0), axis=1)

    def one(key):
        k1, k2, k3 = jax.random.split(key, 3)
        x = prompts_core(k1, log_mu, m_cap)                  # oracle: prompts
        y, lp = sample_rows_core(k2, logp, x)                 # oracle: draws and their log-likelihoods
        w = (jnp.arange(m_cap) < m).astype(jnp.float64)
        j_hat = learner(x, y, lp, w, k3)
        return jnp.mean((j_hat[1:] != star_index).astype(jnp.float64))

    return jax.vmap(one)(keys)


def simulate_bayes(problem: sim.Problem, key, m: int, trials: int, m_cap: int) -> np.ndarray:
    """Per-trial per-coordinate error fractions of the Bayes learner with m queries (N = 1)."""
    keys = jax.random.split(key, trials)
    star = jnp.asarray(problem.info["index"])
    per = max(1, min(trials, (1 << 22) // m_cap))
    out = []
    for s in range(0, trials, per):
        ks = keys[s : s + per]
        live = ks.shape[0]
        if live < per:
            ks = jnp.concatenate([ks, keys[: per - live]])
        e = _bayes_batch(ks, jnp.asarray(problem.logp), jnp.asarray(problem.log_mu), m, star, m_cap, problem.info["M"])
        out.append(np.asarray(e)[:live])
    return np.concatenate(out)


def _mean_ci(v: np.ndarray) -> tuple[float, float, float]:
    mean = float(np.mean(v))
    half = 1.96 * float(np.std(v, ddof=1)) / math.sqrt(len(v)) if len(v) > 1 else 0.0
    return mean, max(0.0, mean - half), min(1.0, mean + half)


# --------------------------------------------------------------------------- run


def run(c: Config, progress) -> dict:
    key = jax.random.key(c.seed)
    k_inst, k_sft, k_bayes = jax.random.split(key, 3)
    prob = hard_problem_padded(c.d, c.M, c.Delta, c.Y_pad, k_inst)
    mu = prob.mu
    M, d, Delta = c.M, c.d, c.Delta
    p_star = np.where(np.arange(prob.X) == 0, 1.0, 2.0 / M)
    N_half = n_pop(p_star, mu, 0.5, 0.0)  # BoN mass on y* > 1/2 at every prompt
    N_f12 = math.ceil((M / 2) * math.log(2.0 / 0.5))
    series = []
    for label, N, cls_name in (("sft_bon_Nhalf", N_half, "sft"), ("sft_bon_F12", N_f12, "sft"),
                               ("sft_misspecified", N_f12, "misspecified")):
        pts = []
        for j, n in enumerate(c.n_grid):
            cls = prob.class_for("sft", N) if cls_name == "sft" else prob.class_for("misspecified")
            st = sim.run_trials(prob, "sft", jax.random.fold_in(k_sft, j), c.sft_trials, 0.1, 0.5, n=n, N=N,
                                cls=cls, progress=False)
            mean, lo, hi = _mean_ci(st.errors / Delta)
            pts.append(dict(n=n, N=N, m=st.m, err_coord=mean, lo=lo, hi=hi))
            progress(1)
        series.append(dict(label=label, N=N, cls=cls_name, points=pts))
    thr = hard_instance_threshold(d, M, Delta).m
    marks = sorted({int(round(k * thr)) for k in c.c_marks})
    m_sim = sorted(set(int(v) for v in c.bayes_m) | set(marks))
    m_cap = capacity(max(m_sim))
    bayes_pts = []
    for j, m in enumerate(m_sim):
        e = simulate_bayes(prob, jax.random.fold_in(k_bayes, j), m, c.bayes_trials, m_cap)
        mean, lo, hi = _mean_ci(e)
        bayes_pts.append(dict(m=m, err_coord=mean, lo=lo, hi=hi, exact=float(bayes_curve(M, d, Delta, [m])[0])))
        progress(1)
    m_fine = np.unique(np.geomspace(1, 4 * max(m_sim + [s["points"][-1]["m"] for s in series]), 300).astype(int))
    return dict(
        d=d, M=M, Delta=Delta, C_cov=prob.info["C_cov"], log_class_size=prob.info["log_class_size"],
        threshold_m=thr, N_half=N_half, N_f12=N_f12, series=series, bayes=bayes_pts,
        m_fine=m_fine.tolist(), bayes_exact=bayes_curve(M, d, Delta, m_fine).tolist(),
        marks=[dict(c=k, m=int(round(k * thr)), exact=float(bayes_curve(M, d, Delta, [int(round(k * thr))])[0]),
                    sim=next(p for p in bayes_pts if p["m"] == int(round(k * thr)))) for k in c.c_marks],
        sft_trials=c.sft_trials, bayes_trials=c.bayes_trials,
    )


# --------------------------------------------------------------------------- plot / summary


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(1, 1, width=7.4, height=5.0)
    ax = axes[0, 0]
    mf = np.array(r["m_fine"])
    ax.plot(mf, r["bayes_exact"], color="k", **style.EXACT, label="Bayes-optimal learner, exact (N = 1)")
    b = r["bayes"]
    bm = np.array([p["m"] for p in b])
    be = np.array([p["err_coord"] for p in b])
    ax.errorbar(bm, be, yerr=np.vstack([be - [p["lo"] for p in b], np.array([p["hi"] for p in b]) - be]), color="k",
                **style.SIM, label=f"Bayes learner, simulated via oracle (95% CI, {r['bayes_trials']} trials)")
    names = {"sft_bon_Nhalf": f"SFT, realizable BoN class, N = {r['N_half']} (N_half)",
             "sft_bon_F12": f"SFT, realizable BoN class, N = {r['N_f12']} ((M/2) ln 4, F12)",
             "sft_misspecified": f"SFT, misspecified class {{pi^I}}, N = {r['N_f12']}"}
    for i, s_ in enumerate(r["series"]):
        col = style.COLORS[i]
        pm = np.array([p["m"] for p in s_["points"]])
        pe = np.array([p["err_coord"] for p in s_["points"]])
        yerr = np.vstack([pe - [p["lo"] for p in s_["points"]], np.array([p["hi"] for p in s_["points"]]) - pe])
        sim_style = dict(style.SIM)
        sim_style.update(linestyle="-", linewidth=0.8) if s_["cls"] == "sft" else sim_style.update(marker="s")
        ax.errorbar(pm, pe, yerr=yerr, color=col, **sim_style, label=names[s_["label"]])
    ax.axvline(r["threshold_m"], color="gray", **style.ORDER_ONLY,
               label=f"Lemma H.3: m = dM/Delta = {r['threshold_m']:.0f} (order-only, constant 1)")
    ax.axhline(0.125, color="gray", linewidth=1.0, linestyle="-.", label="Lemma H.3 level: error 1/8")
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("queries m = n N (oracle count)")
    ax.set_ylabel("per-coordinate error  (1/d) sum_i 1{pi_hat(y*|x_i) <= 1/2}")
    sec = ax.secondary_yaxis("right", functions=(lambda v: v * r["Delta"], lambda v: v / r["Delta"]))
    sec.set_ylabel("P_x[pi_hat(y*|x) <= 1/2]  (= Delta x per-coordinate)")
    ax.set_title(f"hard family: d = {r['d']}, M = {r['M']}, Delta = {r['Delta']:g}  "
                 f"(C_cov = {r['C_cov']:.2f}, log|Pi| = {r['log_class_size']:.1f})", fontsize=10)
    ax.legend(loc="lower left", fontsize=7.6)
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    rows = []
    for mk in r["marks"]:
        s_ = mk["sim"]
        rows.append(dict(measurement=f"Bayes per-coordinate error at m = {mk['c']:g} dM/Delta = {mk['m']}",
                         simulated=s_["err_coord"], theory=">= 0.125",
                         note=f"95% CI [{s_['lo']:.3f}, {s_['hi']:.3f}], exact {mk['exact']:.4f} (Lemma H.3, c = {mk['c']:g})"))
    worst = max(max(p["lo"] - p["exact"], p["exact"] - p["hi"], 0.0) for p in r["bayes"])
    rows.append(dict(measurement="Bayes exact curve outside the simulated 95% CI by", simulated=worst, theory=0.0,
                     note="95% CIs: about 1 point in 20 may fall outside by chance"))
    for s_ in r["series"]:
        first = next((p for p in s_["points"] if p["err_coord"] <= 0.125), None)
        rows.append(dict(measurement=f"{s_['label']}: smallest m with per-coordinate error <= 1/8",
                         simulated=None if first is None else first["m"], theory=f">~ c dM/Delta = c*{r['threshold_m']:.0f}",
                         note="never reached (class cannot sharpen)" if first is None else
                         f"ratio m / (dM/Delta) = {first['m'] / r['threshold_m']:.2f}"))
    return rows

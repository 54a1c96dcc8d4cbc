"""Figure 4 of the catalogue: adaptive against fixed-N SFT-Sharpening (SPEC 5.5; Theorem D.1 vs
Theorem 4.1; Lemma I.1, F19).

(a) Empirical m against eps on log-log axes, on the worst-case regime of the hard family
    (SPEC 4.4) at fixed C_cov: Delta = 3 eps, M = round(2 (C - 1 + Delta)/Delta), d coordinates
    of p* = 2/M and x_0 (mass 1 - Delta) with a deterministic response. This two-point p*
    distribution is where the Markov step of F7 is tight: fixed-N SFT must take
    N ~ (M/2) ln(1/delta) ~ C_cov/eps on *every* prompt, so m ~ 1/eps^2, while the adaptive rule
    of Eq. (10) (mu_stop = ln(2/delta)) stops after ~ ceil(mu_stop) draws on x_0 and ~ mu_stop M/2
    draws only on the rare hard prompts: E[draws per prompt] <= (1 + mu_stop) C_bar_cov stays
    bounded and m ~ 1/eps.
    Both learners use realizable product classes ({bon_law(pi^I, N)} and the adaptive-BoN laws,
    :func:`sharpsim.instances.problems.hard_problem_padded`) and run through the oracle
    (``sharpsim.engine.run_trials``; m is the oracle's query count, random for the adaptive rule).
    Empirical m (the package's one definition, ``engine.joint_search``): the minimum of m over the
    sizes -- fixed N: n at each N of a grid around N_pop (the least N whose exact population error is
    <= eps, F7); adaptive: n at each of mu_stop x {1/4, 1/2, 1, 2, 4}. Success = P[err <= eps] >= 1 - rho
    with err = P_x[pi_hat(y*|x) <= 1 - delta]. Overlaid: ``bounds.adaptive_sft_sample_complexity``
    (Theorem D.1 with the derived constant: m = n (1 + mu_stop) C_bar_cov, n = 23.3 ln(|Pi|/rho)/
    (delta eps)) and ``bounds.sft_sample_complexity`` (Theorem 4.1, derived constant); at the
    largest eps both learners are run at their bound's prescribed sizes (diamonds) to check that
    the bounds hold. Fitted slopes against the exponents -1 and -2.
(b) Lemma I.1 on single distributions: p_max x E[N_mu] against mu_stop for several
    distributions (a hard-family row, a Dirichlet(0.3) row over 50 responses, a two-level row, a
    row with two tied argmaxes). Exact curve from ``bounds.adaptive_stopping_exact``; simulated
    means of the draws the oracle charges (``Oracle.adaptive``, 95% intervals); Lemma I.1's bound
    mu_stop + 1/|y*| (dashed, derived from the paper's statement, no hidden constant).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

import sharpsim as s
from sharpsim import bounds, engine, stats
from sharpsim.algorithms import REGISTRY
from sharpsim.instances import two_level_family
from sharpsim.instances.problems import hard_problem_padded
from sharpsim.oracle import Oracle
from sharpsim.quantities import population_N

from . import style

NAME = "adaptive"
DESCRIPTION = "adaptive vs fixed-N SFT-Sharpening: m vs eps (1/eps vs 1/eps^2) with bounds; Lemma I.1 stopping times"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    d: int = 4
    Y_pad: int = 257
    rho: float = 0.1
    delta: float = 0.25
    C_target: float = 4.0
    Delta_per_eps: float = 3.0
    eps_grid: tuple = (0.16, 0.113, 0.08, 0.057, 0.04)
    trials_fixed: int = 200
    trials_adaptive: int = 100
    rel_tol: float = 0.1
    check_trials: int = 20  # at the largest eps, both learners at their bound's prescribed sizes (0: skip)
    check_n_max: int = 32768
    # simulated mu_stop values (ln 8 = ln(2/0.25)); chosen so that mu_stop / p_max is never an integer (the
    # oracle's log-space stopping test stops one draw late when k p_max = mu_stop exactly, see the report)
    stop_mus: tuple = (0.73, 1.37, 2.0794415416798357, 3.61)
    stop_mu_fine: int = 80
    stop_reps: int = 3000
    dirichlet_Y: int = 50
    hard_M: int = 32


FULL = Config()
QUICK = Config(eps_grid=(0.16, 0.08), trials_fixed=100, trials_adaptive=50, rel_tol=0.3, check_trials=0,
               stop_mus=(0.73, 3.61), stop_mu_fine=12, stop_reps=500)


def _search(c, prob, algorithm, eps, key, n0, trials, presc):
    """The empirical m: the minimum of the oracle's query count over the algorithm's sizes
    (:func:`sharpsim.engine.joint_search` over the registry's grid: n at each N around N_pop for
    fixed-N SFT, n at each multiple of Theorem D.1's mu_stop for the adaptive rule)."""
    grid = REGISTRY[algorithm].joint(prob, presc, eps, c.delta, {})
    js = engine.joint_search(prob, algorithm, key, trials, eps, c.delta, c.rho, grid, rel_tol=c.rel_tol, start=n0)
    n_emp = js.sizes["n"] if js.sizes else None
    per_prompt = js.m / n_emp if n_emp else None
    other = {k: v for k, v in (js.sizes or {}).items() if k != "n"}
    return dict(m=js.m, m_lo=js.m_interval[0], m_hi=js.m_interval[1], n=n_emp, draws_per_prompt=per_prompt, **other)


def _check(c, prob, algorithm, eps, key, n, **sizes):
    st = engine.run_trials(prob, algorithm, key, c.check_trials, eps, c.delta, n=n, progress=False, **sizes)
    return dict(n=n, m=st.m, freq=st.freq, ci=list(st.ci), held=bool(st.freq >= 1 - c.rho),
                not_refuted=bool(st.ci[1] >= 1 - c.rho), trials=st.trials, **sizes)


def tasks(c: Config) -> list[tuple]:
    """("fixed", i) / ("adaptive", i): the joint search for fixed-N / adaptive SFT at eps_grid[i];
    ("check", "fixed") / ("check", "adaptive"): at eps_grid[0], that learner run at its bound's prescribed sizes
    (only when check_trials > 0; check=None where the prescribed n exceeds check_n_max);
    ("stopping_exact",): panel (b)'s exact stopping-time curves; ("stopping_sim", j): panel (b)'s simulation at
    stop_mus[j] on every row."""
    out = []
    for i in range(len(c.eps_grid)):
        out += [("fixed", i), ("adaptive", i)]
        if i == 0 and c.check_trials > 0:
            out += [("check", "fixed"), ("check", "adaptive")]
    return out + [("stopping_exact",)] + [("stopping_sim", j) for j in range(len(c.stop_mus))]


def _instance(c: Config, i: int) -> tuple:
    """Point i of panel (a): its key, problem, the point's header fields, both bounds and the search's first n."""
    key = jax.random.key(c.seed)
    mu_stop = math.log(2.0 / c.delta)
    eps = c.eps_grid[i]
    k = jax.random.fold_in(key, 100 + i)
    Delta = c.Delta_per_eps * eps
    M = int(round(2 * (c.C_target - 1 + Delta) / Delta))
    prob = hard_problem_padded(c.d, M, Delta, c.Y_pad, jax.random.fold_in(k, 1))
    C_cov, L = prob.info["C_cov"], prob.info["log_class_size"]
    C_bar = float(s.adaptive_coverage(np.exp(prob.logp), prob.mu))  # C_bar_cov = C_cov here (unique argmax)
    p_star = np.where(np.arange(prob.X) == 0, 1.0, 2.0 / M)
    N = population_N(p_star, prob.mu, c.delta, eps)
    n0 = max(1, math.ceil(c.d / Delta))
    up_f = bounds.sft_sample_complexity(C_cov, L, eps, c.delta, c.rho)
    up_a = bounds.adaptive_sft_sample_complexity(C_bar, L, eps, c.delta, c.rho)
    head = dict(eps=eps, Delta=Delta, M=M, C_cov=C_cov, C_bar_cov=C_bar, log_class_size=L, N_pop=N)
    tail = dict(bound_fixed=up_f.m, bound_adaptive=up_a.m, bound_fixed_n=up_f.n, bound_adaptive_n=up_a.n,
                draws_bound=(1 + mu_stop) * C_bar)
    return k, prob, head, tail, up_f, up_a, n0


def run_task(c: Config, tid: tuple) -> dict:
    key = jax.random.key(c.seed)
    mu_stop = math.log(2.0 / c.delta)
    if tid[0] == "stopping_exact":
        return {"rows": _stopping_exact(c, jax.random.fold_in(key, 900))}
    if tid[0] == "stopping_sim":
        return {"rows": _stopping_sim(c, jax.random.fold_in(key, 900), tid[1])}
    if tid[0] == "check":
        k, prob, _, _, up_f, up_a, _ = _instance(c, 0)
        eps = c.eps_grid[0]
        if tid[1] == "fixed":
            chk = _check(c, prob, "sft", eps, jax.random.fold_in(k, 4), up_f.n, N=up_f.N) if up_f.n <= c.check_n_max \
                else None
        else:
            chk = (_check(c, prob, "adaptive", eps, jax.random.fold_in(k, 5), up_a.n, mu_stop=mu_stop)
                   if up_a.n <= c.check_n_max else None)
        return {"check": chk}
    name, i = tid
    k, prob, head, tail, up_f, up_a, n0 = _instance(c, i)
    eps = c.eps_grid[i]
    if name == "fixed":
        return {"head": head, "tail": tail,
                "search": _search(c, prob, "sft", eps, jax.random.fold_in(k, 2), n0, c.trials_fixed, up_f)}
    return {"search": _search(c, prob, "adaptive", eps, jax.random.fold_in(k, 3), n0, c.trials_adaptive, up_a)}


def assemble(c: Config, parts: dict) -> dict:
    mu_stop = math.log(2.0 / c.delta)
    pts = []
    for i in range(len(c.eps_grid)):
        fx = parts[("fixed", i)]
        checks = {}
        if i == 0 and c.check_trials > 0:
            for name in ("fixed", "adaptive"):
                if parts[("check", name)]["check"] is not None:
                    checks[name] = parts[("check", name)]["check"]
        pts.append(dict(**fx["head"], fixed=fx["search"], adaptive=parts[("adaptive", i)]["search"], **fx["tail"],
                        checks=checks))
    slopes = {}
    for name in ("fixed", "adaptive"):
        ok = [p for p in pts if p[name]["m"]]
        if len(ok) >= 2:
            sl, se = stats.loglog_slope([p["eps"] for p in ok], [p[name]["m"] for p in ok])
        else:
            sl, se = None, None
        bk = "bound_fixed" if name == "fixed" else "bound_adaptive"
        bound = stats.loglog_slope([p["eps"] for p in pts], [p[bk] for p in pts])[0] if len(pts) >= 2 else None
        slopes[name] = dict(empirical=sl, se=se, theory=-2.0 if name == "fixed" else -1.0, bound=bound)
    rows = parts[("stopping_exact",)]["rows"]
    for row in rows:
        row["sim"] = []
    for j in range(len(c.stop_mus)):
        for row, sim in zip(rows, parts[("stopping_sim", j)]["rows"]):
            row["sim"].append(sim)
    stopping = dict(rows=rows, reps=c.stop_reps)
    return dict(d=c.d, rho=c.rho, delta=c.delta, mu_stop=mu_stop, C_target=c.C_target, Delta_per_eps=c.Delta_per_eps,
                trials_fixed=c.trials_fixed, trials_adaptive=c.trials_adaptive, points=pts, slopes=slopes,
                stopping=stopping)


def _stopping_rows(c: Config, key) -> list[tuple[str, np.ndarray]]:
    hard = np.full(c.hard_M, (c.hard_M - 2) / (c.hard_M * (c.hard_M - 1)))
    hard[0] = 2.0 / c.hard_M
    k1, k2 = jax.random.split(key)
    rng = np.random.default_rng(np.asarray(jax.random.key_data(k1)).ravel().tolist())
    dirich = rng.dirichlet(np.full(c.dirichlet_Y, 0.3))
    two = np.asarray(two_level_family(k2, 1, 64, 10.0, 0.5).table())[0]
    tie = np.full(50, 0.7 / 48)
    tie[:2] = 0.15
    return [(f"hard-family row (M = {c.hard_M})", hard), (f"Dirichlet(0.3), |Y| = {c.dirichlet_Y}", dirich),
            ("two-level (C = 10, margin 0.5)", two), ("two tied argmaxes, |y*| = 2", tie)]


def _stopping_table(c: Config, key) -> tuple:
    rows = _stopping_rows(c, key)
    Y = max(len(r) for _, r in rows)
    table = np.zeros((len(rows), Y))
    for i, (_, r) in enumerate(rows):
        table[i, : len(r)] = r / r.sum()
    return rows, table


def _stopping_exact(c: Config, key) -> list[dict]:
    """Panel (b)'s rows with their exact curves (``sim`` filled by :func:`assemble`)."""
    rows, table = _stopping_table(c, key)
    fine = np.geomspace(0.3, 5.0, c.stop_mu_fine)
    out = []
    for i, (name, r) in enumerate(rows):
        p = table[i, : len(r)]
        p_max = float(p.max())
        ties = int(np.sum(p >= p_max * (1 - 1e-12)))
        exact = [bounds.adaptive_stopping_exact(p, float(m)) for m in fine]
        out.append(dict(name=name, p_max=p_max, argmax_size=ties, mu_fine=fine.tolist(),
                        exact_draws=[e[0] for e in exact], exact_fail=[e[1] for e in exact], sim=[]))
    return out


def _stopping_sim(c: Config, key, j: int) -> list[dict]:
    """The simulated stopping times at stop_mus[j], one dict per row."""
    rows, table = _stopping_table(c, key)
    oracle = Oracle(table)
    x = np.repeat(np.arange(len(rows)), c.stop_reps)
    star = np.asarray(s.argmax_set(table))
    m = c.stop_mus[j]
    oracle.reset()
    y, _, draws = oracle.adaptive(jax.random.fold_in(key, j), x, float(m))
    assert oracle.queries == int(draws.sum())
    out = []
    for i in range(len(rows)):
        p = table[i, : len(rows[i][1])]
        p_max = float(p.max())
        ties = int(np.sum(p >= p_max * (1 - 1e-12)))
        sel = x == i
        dr = draws[sel].astype(float)
        fails = int((~star[i, y[sel]]).sum())
        ex_d, ex_f = bounds.adaptive_stopping_exact(table[i, : len(rows[i][1])], float(m))
        out.append(dict(mu_stop=float(m), mean=float(dr.mean()), sem=float(dr.std(ddof=1) / math.sqrt(dr.size)),
                        fail=fails / dr.size, fail_ci=list(stats.clopper_pearson(fails, dr.size)),
                        exact=ex_d, exact_fail=ex_f,
                        bound=bounds.adaptive_expected_draws(p_max, ties, float(m)),
                        fail_bound=bounds.adaptive_failure_bound(ties, float(m))))
    return out


# --------------------------------------------------------------------------- plot / summary


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(2, 1, width=5.6, height=4.8)
    ax = axes[0, 0]
    P = r["points"]
    eps = np.array([p["eps"] for p in P])
    for k, (name, lab) in enumerate((("fixed", "fixed-N SFT (min over n, N)"), ("adaptive", "adaptive SFT (Eq. 10; min over n, mu_stop)"))):
        col = style.COLORS[k]
        ok = [p for p in P if p[name]["m"]]
        x = np.array([p["eps"] for p in ok])
        m = np.array([p[name]["m"] for p in ok])
        lo = np.array([p[name]["m_lo"] or p[name]["m"] for p in ok])
        hi = np.array([p[name]["m_hi"] or p[name]["m"] for p in ok])
        ax.errorbar(x, m, yerr=np.vstack([m - np.minimum(lo, m), np.maximum(hi, m) - m]), color=col, **style.SIM,
                    label=f"simulated {lab}")
        bk = "bound_fixed" if name == "fixed" else "bound_adaptive"
        thm = "Thm 4.1" if name == "fixed" else "Thm D.1"
        ax.plot(eps, [p[bk] for p in P], color=col, marker=".", **style.BOUND, label=f"{thm} bound, derived constant")
        chk = [p for p in P if name in p["checks"]]
        if chk:
            held = all(p["checks"][name]["held"] for p in chk)
            ax.plot([p["eps"] for p in chk], [p[bk] for p in chk], linestyle="none", marker="D", markersize=7,
                    markerfacecolor="none", markeredgecolor=col,
                    label=f"{thm} run at its sizes: {'held' if held else 'NOT held'}")
    txt = "\n".join(
        f"{n}: fitted slope {r['slopes'][n]['empirical']:.2f} +- {r['slopes'][n]['se']:.2f} (theory {r['slopes'][n]['theory']:g})"
        if r["slopes"][n]["empirical"] is not None and r["slopes"][n]["se"] == r["slopes"][n]["se"]
        else (f"{n}: fitted slope {r['slopes'][n]['empirical']:.2f} (theory {r['slopes'][n]['theory']:g})"
              if r["slopes"][n]["empirical"] is not None else f"{n}: too few points")
        for n in ("fixed", "adaptive"))
    ax.text(0.03, 0.5, txt, transform=ax.transAxes, fontsize=7.8, va="center",
            bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(eps, [f"{v:.3g}" for v in eps])
    ax.minorticks_off()
    ax.set_xlabel("eps (target error)")
    ax.set_ylabel("queries m (oracle count; adaptive: mean over trials)")
    ax.set_title(f"(a) hard family, Delta = {r['Delta_per_eps']:g} eps, C_cov ~ {r['C_target']:g}, d = {r['d']}, "
                 f"delta = {r['delta']:g}", fontsize=9.5)
    ymin = min(min(p["fixed"]["m"] or np.inf, p["adaptive"]["m"] or np.inf) for p in P) / 4
    ax.set_ylim(ymin, max(p["bound_fixed"] for p in P) * 40)
    ax.legend(loc="upper right", fontsize=7.3)
    ax = axes[0, 1]
    for i, row in enumerate(r["stopping"]["rows"]):
        col = style.COLORS[i + 2]
        mf = np.array(row["mu_fine"])
        ax.plot(mf, np.array(row["exact_draws"]) * row["p_max"], color=col, **style.EXACT,
                label=f"exact: {row['name']}")
        sm = row["sim"]
        x = np.array([p["mu_stop"] for p in sm])
        y = np.array([p["mean"] for p in sm]) * row["p_max"]
        e = 1.96 * np.array([p["sem"] for p in sm]) * row["p_max"]
        ax.errorbar(x, y, yerr=e, color=col, **style.SIM)
    mf = np.array(r["stopping"]["rows"][0]["mu_fine"])
    for k, ls in ((1, style.BOUND), (2, dict(linestyle="-.", linewidth=1.3))):
        ax.plot(mf, mf + 1.0 / k, color="k", **ls, label=f"Lemma I.1 bound mu + 1/|y*|, |y*| = {k}")
    ax.errorbar([], [], color="gray", **style.SIM, label=f"simulated via oracle (mean draws, 95% CI, {r['stopping']['reps']} reps)")
    ax.axvline(r["mu_stop"], color="gray", **style.ORDER_ONLY, label=f"mu_stop = ln(2/delta) = {r['mu_stop']:.2f}")
    ax.set_xlabel("stopping parameter mu_stop")
    ax.set_ylabel("p_max x E[draws per prompt]  (E[N_mu] max_y p(y))")
    ax.set_title("(b) Lemma I.1: stopping time of Eq. (10)", fontsize=9.5)
    ax.legend(loc="upper left", fontsize=7.3)
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    rows = []
    for name in ("fixed", "adaptive"):
        sl = r["slopes"][name]
        rows.append(dict(measurement=f"fitted slope of m vs eps, {name}", simulated=sl["empirical"], theory=sl["theory"],
                         note=f"+-{sl['se'] if sl['se'] is not None else float('nan'):.2f}; derived bound's own slope "
                              f"{sl['bound']:.2f}" if sl["bound"] is not None else ""))
    for name, bk in (("fixed", "bound_fixed"), ("adaptive", "bound_adaptive")):
        rat = [p[bk] / p[name]["m"] for p in r["points"] if p[name]["m"]]
        rows.append(dict(measurement=f"ratio bound_m / empirical_m, {name} (min)", simulated=min(rat) if rat else None,
                         theory=">= 1", note=f"max {max(rat):.3g}" if rat else ""))
    for name in ("fixed", "adaptive"):
        chk = [p["checks"][name] for p in r["points"] if name in p["checks"]]
        if chk:
            rows.append(dict(measurement=f"{'Thm 4.1' if name == 'fixed' else 'Thm D.1'} bound held at its sizes ({name})",
                             simulated=chk[0]["freq"], theory=f">= {1 - r['rho']:g}",
                             note=f"n = {chk[0]['n']}, {chk[0]['trials']} trials, CP {chk[0]['ci'][0]:.3f}-{chk[0]['ci'][1]:.3f}"))
    dpp = [(p["adaptive"]["draws_per_prompt"], p["draws_bound"]) for p in r["points"] if p["adaptive"]["draws_per_prompt"]]
    if dpp:
        rows.append(dict(measurement="adaptive: max draws per prompt / (1 + mu_stop) C_bar_cov", simulated=max(a / b for a, b in dpp),
                         theory="<= 1", note="Lemma I.1 summed over prompts (Theorem D.1's budget), mean over trials"))
    worst = max((p["mean"] - 1.96 * p["sem"]) / p["bound"] for row in r["stopping"]["rows"] for p in row["sim"])
    rows.append(dict(measurement="max (simulated E[N_mu] lower CI) / Lemma I.1 bound", simulated=worst, theory="<= 1",
                     note="over distributions and mu_stop"))
    ex = max(e * row["p_max"] - (m + 1.0 / row["argmax_size"]) for row in r["stopping"]["rows"]
             for e, m in zip(row["exact_draws"], row["mu_fine"]))
    rows.append(dict(measurement="max exact p_max E[N_mu] - (mu + 1/|y*|)", simulated=ex, theory="<= 0", note="exact curve vs Lemma I.1"))
    out = sum(abs(p["exact"] - p["mean"]) > 5 * p["sem"] + 1e-3 * p["exact"]
              for row in r["stopping"]["rows"] for p in row["sim"])
    rows.append(dict(measurement="exact E[N_mu] outside simulated mean +- 5 sem", simulated=out, theory=0, note=""))
    fb = max(p["fail_ci"][0] - p["fail_bound"] for row in r["stopping"]["rows"] for p in row["sim"])
    rows.append(dict(measurement="max (failure CP lower end - e^{-|y*| mu})", simulated=fb, theory="<= 0",
                     note="Lemma I.1 failure bound"))
    return rows

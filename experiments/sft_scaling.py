"""Figure 2 of the catalogue: SFT-Sharpening's sample complexity against C_cov, eps and delta
(SPEC 5.2-5.3, F9, F10; Theorem 4.1 upper bound, Theorem 3.1 lower bound).

Instances: the hard family of SPEC 4.4 (one member pi^I, d coordinates x_1..x_d of mass
Delta/d each with p*(x_i) = 2/M, and x_0 of mass 1 - Delta with a deterministic response),
with the realizable product class {bon_law(pi^I, N) : I in [M]^d} (Assumption 4.1,
log|Pi| = d log M); see :func:`sharpsim.instances.problems.hard_problem_padded`. Its two-point
p* distribution makes the coverage term of F7 bite: fixed N must reach ~ (M/2) ln(1/delta).

* (a) C_cov: fixed eps, Delta, delta; M varies, so C_cov = 1 - Delta + Delta M/2 (F11).
* (b) eps: fixed C_cov; the worst-case family of Theorem 3.1 at each eps: Delta = 3 eps and
  M = round(2 (C - 1 + Delta)/Delta), so C_cov stays ~ C while the eps-fraction of hard prompts
  shrinks (Theorem 3.1 uses Delta = 16 eps, M ~ C/eps; 3 instead of 16 keeps d small: with
  Delta/d = 0.75 eps, success allows exactly one wrong coordinate, no float-borderline case).
* (c) delta: fixed eps, Delta, M.

Empirical m (the package's one definition, :func:`sharpsim.engine.joint_search`): the minimum of
the **oracle's query count** m = n N over n and N. For each N of the registry's grid around N_pop
(``REGISTRY["sft"].joint``: the least N whose *exact* population error P_x[(1 - p*(x))^N >= delta]
(F7) is <= eps, times sqrt(2)^k, walked outwards until m(N) rises twice), the least n whose
success frequency P[err <= eps] over ``trials`` trials (common keys) reaches 1 - rho is found by
halving/doubling from n0 and bisection to within a factor 1 + ``rel_tol``; m = min over N of
n N. The bars are its bracket along the argmin's n search (largest significantly failing m,
smallest significantly succeeding m). err = P_x[pi_hat(y*|x) <= 1 - delta] (non-strict, D5).

Bounds: Theorem 4.1 with the derived constant (``bounds.sft_sample_complexity``, dashed):
m = n N with n = 2c ln(|Pi|/rho)/(delta eps), c = 23.3, N = ceil(2 C_cov/eps) ln(2/delta). It
must *hold*: at every point whose prescribed n is at most ``check_n_max`` the learner is run at
the prescribed (n, N) and the success frequency is compared with 1 - rho (diamonds on the
bound curve). Theorem 3.1's lower bound (``bounds.lower_bound_sample_complexity`` with
C = C_cov, order-only, constant 1, dotted; stated for the criterion pi_hat(y*) > 1/2, hence a
valid lower bound for every delta <= 1/2, with no delta dependence). Fitted log-log slopes
of the empirical m are printed next to the theorem's exponents (C_cov: 1, eps: -2,
delta: -1 up to the log factor ln(2/delta)).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

from sharpsim import bounds, engine, stats
from sharpsim.algorithms import REGISTRY
from sharpsim.instances.problems import hard_problem_padded
from sharpsim.quantities import population_N

from . import style

NAME = "sft_scaling"
DESCRIPTION = "SFT-Sharpening: empirical m vs C_cov, eps, delta (hard family) with Thm 4.1 (derived) and Thm 3.1 bounds"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    d: int = 4
    Y_pad: int = 257
    rho: float = 0.1
    trials: int = 200
    delta: float = 0.25  # panels (a), (b)
    eps_fixed: float = 0.15  # panels (a), (c)
    Delta_fixed: float = 0.45  # panels (a), (c)
    M_grid: tuple = (16, 32, 64, 128, 256)  # panel (a)
    C_target: float = 6.0  # panel (b)
    eps_grid: tuple = (0.16, 0.113, 0.08, 0.057, 0.04, 0.028, 0.02)  # panel (b)
    Delta_per_eps: float = 3.0  # panel (b)
    M_delta: int = 64  # panel (c)
    delta_grid: tuple = (0.5, 0.35, 0.25, 0.15, 0.08, 0.04, 0.02)  # panel (c)
    rel_tol: float = 0.1
    check_n_max: int = 32768
    check_trials: int = 50


FULL = Config()
QUICK = Config(trials=100, M_grid=(16, 64), eps_grid=(0.16, 0.08), delta_grid=(0.35, 0.08), rel_tol=0.3,
               check_n_max=20000, check_trials=20)


_PANELS = (("C_cov", 100), ("eps", 200), ("delta", 300))


def _params(c: Config, panel: str, i: int) -> tuple:
    """(M, Delta, eps, delta) of point i of a panel."""
    if panel == "C_cov":
        return c.M_grid[i], c.Delta_fixed, c.eps_fixed, c.delta
    if panel == "eps":
        eps = c.eps_grid[i]
        Delta = c.Delta_per_eps * eps
        return int(round(2 * (c.C_target - 1 + Delta) / Delta)), Delta, eps, c.delta
    return c.M_delta, c.Delta_fixed, c.eps_fixed, c.delta_grid[i]


def _grid(c: Config, panel: str) -> tuple:
    return {"C_cov": c.M_grid, "eps": c.eps_grid, "delta": c.delta_grid}[panel]


def tasks(c: Config) -> list[tuple]:
    """(panel, i, "search"): the joint search for the empirical m at point i of a panel ("C_cov": M_grid[i],
    "eps": eps_grid[i], "delta": delta_grid[i]); (panel, i, "check"): Theorem 4.1's bound run at its prescribed
    (n, N) at that point (a no-op returning check=None where the prescribed n exceeds check_n_max)."""
    return [(panel, i, part) for panel, _ in _PANELS for i in range(len(_grid(c, panel)))
            for part in ("search", "check")]


def run_task(c: Config, tid: tuple) -> dict:
    panel, i, part = tid
    key = jax.random.fold_in(jax.random.key(c.seed), dict(_PANELS)[panel] + i)
    M, Delta, eps, delta = _params(c, panel, i)
    d = c.d
    prob = hard_problem_padded(d, M, Delta, c.Y_pad, jax.random.fold_in(key, 1))
    C_cov, L = prob.info["C_cov"], prob.info["log_class_size"]
    up = bounds.sft_sample_complexity(C_cov, L, eps, delta, c.rho)
    if part == "check":
        check = None
        if up.n <= c.check_n_max:
            st = engine.run_trials(prob, "sft", jax.random.fold_in(key, 3), c.check_trials, eps, delta, n=up.n,
                                   N=up.N, progress=False)
            check = dict(n=up.n, N=up.N, m=st.m, freq=st.freq, ci=list(st.ci), held=bool(st.freq >= 1 - c.rho),
                         not_refuted=bool(st.ci[1] >= 1 - c.rho), max_err=float(st.errors.max()), trials=st.trials)
        return {"check": check}
    p_star = np.where(np.arange(prob.X) == 0, 1.0, 2.0 / M)
    N_pop = population_N(p_star, prob.mu, delta, eps)
    n0 = max(1, math.ceil(d / Delta))
    lo = bounds.lower_bound_sample_complexity(C_cov, L, eps)
    grid = REGISTRY["sft"].joint(prob, up, eps, delta, {})
    js = engine.joint_search(prob, "sft", jax.random.fold_in(key, 2), c.trials, eps, delta, c.rho, grid,
                             rel_tol=c.rel_tol, start=n0)
    return dict(M=M, Delta=Delta, eps=eps, delta=delta, C_cov=C_cov, log_class_size=L, N_pop=N_pop,
                m=js.m, m_lo=js.m_interval[0], m_hi=js.m_interval[1],
                n_emp=js.sizes["n"] if js.sizes else None, N_emp=js.sizes["N"] if js.sizes else None,
                grid=[dict(N=g["sizes"]["N"], n=g["n"], m=g["m"]) for g in js.grid],
                bound_m=up.m, bound_n=up.n, bound_N=up.N, bound_error=up.error_bound, lower_m=lo.m,
                ratio=(up.m / js.m) if js.m else None)


def _slope(xs, ys):
    pts = [(x, y) for x, y in zip(xs, ys) if y]
    if len(pts) < 2:
        return None, None
    return stats.loglog_slope([p[0] for p in pts], [p[1] for p in pts])


def assemble(c: Config, parts: dict) -> dict:
    panels = {}
    for panel, _ in _PANELS:
        panels[panel] = [dict(parts[(panel, i, "search")], check=parts[(panel, i, "check")]["check"])
                         for i in range(len(_grid(c, panel)))]
    slopes = {}
    for name, theory in (("C_cov", 1.0), ("eps", -2.0), ("delta", -1.0)):
        P = panels[name]
        xs = [p[name] for p in P]
        emp = _slope(xs, [p["m"] for p in P])
        slopes[name] = dict(theory=theory, empirical=emp[0], empirical_se=emp[1],
                            upper=_slope(xs, [p["bound_m"] for p in P])[0],
                            lower=_slope(xs, [p["lower_m"] for p in P])[0])
    return dict(d=c.d, rho=c.rho, trials=c.trials, delta=c.delta, eps_fixed=c.eps_fixed, Delta_fixed=c.Delta_fixed,
                C_target=c.C_target, Delta_per_eps=c.Delta_per_eps, M_delta=c.M_delta, check_n_max=c.check_n_max,
                panels=panels, slopes=slopes)


# --------------------------------------------------------------------------- plot / summary

_XLABEL = {"C_cov": "C_cov = 1 - Delta + Delta M/2", "eps": "eps (target error)", "delta": "delta (sharpness slack)"}
_EXP = {"C_cov": "1", "eps": "-2", "delta": "-1 (x log)"}


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(3, 1, width=4.9, height=4.6)
    titles = {
        "C_cov": f"(a) vs C_cov (eps = {r['eps_fixed']:g}, Delta = {r['Delta_fixed']:g}, delta = {r['delta']:g})",
        "eps": f"(b) vs eps (Delta = {r['Delta_per_eps']:g} eps, C_cov ~ {r['C_target']:g}, delta = {r['delta']:g})",
        "delta": f"(c) vs delta (eps = {r['eps_fixed']:g}, Delta = {r['Delta_fixed']:g}, M = {r['M_delta']})",
    }
    for k, name in enumerate(("C_cov", "eps", "delta")):
        ax = axes[0, k]
        P = r["panels"][name]
        x = np.array([p[name] for p in P])
        ok = [p for p in P if p["m"]]
        xe = np.array([p[name] for p in ok])
        me = np.array([p["m"] for p in ok])
        lo = np.array([p["m_lo"] if p["m_lo"] else p["m"] for p in ok])
        hi = np.array([p["m_hi"] if p["m_hi"] else p["m"] for p in ok])
        ax.errorbar(xe, me, yerr=np.vstack([me - np.minimum(lo, me), np.maximum(hi, me) - me]), color=style.COLORS[0],
                    **style.SIM, label=f"simulated SFT ({r['trials']} trials / size)")
        ax.plot(x, [p["bound_m"] for p in P], color=style.COLORS[1], marker=".", **style.BOUND,
                label="Thm 4.1 upper bound, derived constant 23.3")
        ax.plot(x, [p["lower_m"] for p in P], color=style.COLORS[2], marker=".", **style.ORDER_ONLY,
                label="Thm 3.1 lower bound, order-only (constant 1)")
        chk = [p for p in P if p["check"]]
        if chk:
            ax.plot([p[name] for p in chk], [p["bound_m"] for p in chk], linestyle="none", marker="D", markersize=6,
                    markerfacecolor="none", markeredgecolor=style.COLORS[1],
                    label="bound run at its (n, N): held (freq >= 1 - rho)" if all(p["check"]["held"] for p in chk)
                    else "bound run at its (n, N): NOT held somewhere")
        sl = r["slopes"][name]
        txt = (f"fitted slope (empirical): {sl['empirical']:.2f} +- {sl['empirical_se']:.2f}\n"
               f"Thm 4.1 exponent: {_EXP[name]}\n"
               f"slope of bound curves: upper {sl['upper']:.2f}, lower {sl['lower']:.2f}") if sl["empirical"] is not None \
            else "too few points for a slope"
        ax.text(0.03, 0.5, txt, transform=ax.transAxes, fontsize=7.5, va="center", ha="left",
                bbox=dict(boxstyle="round", facecolor="white", alpha=0.85, edgecolor="0.7"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(x, [f"{v:.3g}" for v in x], fontsize=7.5)
        ax.minorticks_off()
        ax.set_xlabel(_XLABEL[name])
        ax.set_ylabel("queries m = n N (oracle count)")
        ax.set_title(titles[name], fontsize=9)
        ymin = min(min(me) if len(me) else np.inf, min(p["lower_m"] for p in P)) / 5
        ymax = max(p["bound_m"] for p in P) * 30
        ax.set_ylim(ymin, ymax)
        ax.legend(loc="upper right" if name != "C_cov" else "upper left", fontsize=7)
    fig.suptitle(f"SFT-Sharpening on the hard family (d = {r['d']}, realizable BoN product class): smallest m with "
                 f"P[err <= eps] >= {1 - r['rho']:g}, minimized over (n, N)", fontsize=10)
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    rows = []
    for name in ("C_cov", "eps", "delta"):
        sl = r["slopes"][name]
        rows.append(dict(measurement=f"fitted log-log slope of empirical m vs {name}", simulated=sl["empirical"],
                         theory=sl["theory"], note=f"+-{sl['empirical_se'] or float('nan'):.2f}; derived bound's own "
                         f"slope {sl['upper']:.2f}, Thm 3.1 (order-only) {sl['lower']:.2f}"))
    ratios = [p["ratio"] for P in r["panels"].values() for p in P if p["ratio"]]
    rows.append(dict(measurement="ratio bound_m / empirical_m (min .. max)", simulated=min(ratios) if ratios else None,
                     theory=">= 1", note=f"max {max(ratios):.3g}" if ratios else "no empirical m"))
    lows = [p["m"] / p["lower_m"] for P in r["panels"].values() for p in P if p["m"]]
    rows.append(dict(measurement="ratio empirical_m / Thm 3.1 order-only m (min .. max)", simulated=min(lows) if lows else None,
                     theory="order-only", note=f"max {max(lows):.3g}; constant unknown" if lows else ""))
    chk = [p for P in r["panels"].values() for p in P if p["check"]]
    rows.append(dict(measurement="Thm 4.1 derived bound held at its prescribed (n, N)",
                     simulated=f"{sum(p['check']['held'] for p in chk)}/{len(chk)}", theory="all",
                     note="min success freq " + (f"{min(p['check']['freq'] for p in chk):.3f}" if chk else "-")
                     + f" vs 1 - rho = {1 - r['rho']:g} (points with n <= {r['check_n_max']})"))
    return rows

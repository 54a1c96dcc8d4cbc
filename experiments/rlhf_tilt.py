"""Figure 5 of the catalogue: the KL-regularized optimum is sharp under a margin (SPEC 6.1, 6.4; F13, F14).

With r_self = log pi_base the RLHF objective E_pi[r_self] - beta KL(pi || pi_base) is maximised by
pi*_beta proportional to pi_base^(1 + 1/beta) (F13; ``sharpsim.tilted``).

(a) pi*_beta(y*) against beta (log axis) for several margins gamma_margin, on the extremal
    instance of each margin: |Y| responses, one argmax of mass a and the other |Y| - 1 all at
    a/(1 + gamma_margin) (the margin of Assumption 4.2 is exactly gamma_margin). Exact curve
    (``tilted`` + ``argmax_mass``, solid); the sharper bound of F14,
    pi*_beta(y*) >= 1 - (|Y| - 1)(1 + gamma_margin)^-(1 + 1/beta) (dashed, drawn where positive;
    not order-only: it has no hidden constant); Theorem J.2's sufficient condition
    beta <= gamma_margin / (2 ln(2|Y|/delta)) marked per margin (vertical dotted line: the
    theorem's beta, after which pi*_beta(y*) >= 1 - delta/2 is guaranteed); the level
    1 - delta/2 marked.
(b) Simulation: responses drawn from the exact tilted model at a few betas; the empirical
    frequency of the argmax with Clopper-Pearson 95% intervals against the exact curve.

The summary also checks F14 (exact >= sharper bound) on random instances with the same exact
margin (``sharpsim.instances.two_level_family``), where the bound is not tight.

(c) DPO's empirical sample complexity (issue 5 item 5; SPEC 6.2-6.3, F25): the squared-loss DPO
    learner of Eq. (8) (``sharpsim.algorithms`` through ``sharpsim.engine.run_trials``, N = 2,
    m = 2n) on random instances with an exact margin (``two_level_family``), the tabular class
    (which contains pi*_beta, Assumption 4.3) and beta = gamma_margin delta eps (Theorem 4.2's
    beta <~ gamma_margin delta eps with constant 1). The smallest m at which the trial success
    frequency P[err <= eps] reaches 1 - rho (``sharpsim.engine.empirical_sample_complexity``,
    bracket = largest significantly failing m to smallest significantly succeeding m) against
    1/eps on log-log axes, beside Theorem 4.2's order-only rate m ~ 1/(gamma_margin^2 eps^2)
    (dotted, constant unknown: anchored at the first point). Theorem 4.2 is an upper bound and
    is not claimed tight, so a shallower fitted slope does not contradict it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import numpy as np

import sharpsim as s
from sharpsim.instances import two_level_coverage_range, two_level_family
from sharpsim.stats import clopper_pearson

from . import style

NAME = "rlhf_tilt"
DESCRIPTION = "pi*_beta(y*) vs beta for several margins: exact, F14 bound, Theorem J.2's beta; Monte-Carlo check"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    Y: int = 50
    delta: float = 0.1
    margins: tuple = (0.05, 0.3, 0.9)
    beta_min: float = 1e-3
    beta_max: float = 10.0
    beta_points: int = 81
    sim_betas: tuple = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    draws: int = 4000
    random_X: int = 64  # prompts of the random same-margin family (summary check of F14)
    dpo_X: int = 16
    dpo_Y: int = 16
    dpo_delta: float = 0.2
    dpo_rho: float = 0.1
    dpo_margins: tuple = (0.3, 0.9)
    dpo_eps: tuple = (0.4, 0.2, 0.1, 0.05)
    dpo_trials: int = 200
    dpo_n0: int = 64


FULL = Config()
QUICK = Config(beta_points=25, sim_betas=(0.01, 0.1, 1.0), draws=600, random_X=16, dpo_margins=(0.9,),
               dpo_eps=(0.4, 0.2), dpo_trials=100)


def extremal_instance(Y: int, gamma_margin: float) -> s.TabularLM:
    """One prompt: argmax (response 0) of mass a, the other Y - 1 responses at a/(1 + gamma_margin).

    a = 1 / (1 + (Y - 1)/(1 + gamma_margin)); the margin is exactly gamma_margin and every
    non-argmax response sits at the margin's cap, the worst case for pi*_beta(y*).
    """
    a = 1.0 / (1.0 + (Y - 1) / (1.0 + gamma_margin))
    row = np.full(Y, a / (1.0 + gamma_margin))
    row[0] = a
    return s.TabularLM(row[None, :])


def sharper_bound(Y: int, gamma_margin, beta) -> np.ndarray:
    """F14: pi*_beta(y*|x) >= 1 - (|Y| - 1)(1 + gamma_margin)^-(1 + 1/beta) (may be negative)."""
    beta = np.asarray(beta, dtype=np.float64)
    return 1.0 - (Y - 1) * np.exp(-(1.0 + 1.0 / beta) * np.log1p(gamma_margin))


def beta_j2(Y: int, gamma_margin: float, delta: float) -> float:
    """Theorem J.2's condition beta <= gamma_margin / (2 ln(2|Y|/delta)) (its largest admissible beta)."""
    return gamma_margin / (2.0 * math.log(2.0 * Y / delta))


def _tilted_mass(base, betas) -> tuple[np.ndarray, np.ndarray]:
    """Exact pi*_beta(y*(x)|x) and the deficiency pi*_beta(outside y*(x)|x), each [len(betas), X].

    The deficiency is summed over the non-argmax responses directly (not 1 - mass), so it stays
    accurate when pi*_beta(y*) rounds to 1.
    """
    star = s.argmax_set(base)
    mass, deficiency = [], []
    for b in betas:
        pol = s.tilted(base, float(b))
        mass.append(s.argmax_mass(pol, base))
        deficiency.append(np.where(star, 0.0, pol).sum(axis=1))
    return np.array(mass), np.array(deficiency)


def _max_log_ratio(deficiency, Y, g, betas) -> float:
    """max over beta and prompts of log(exact deficiency / F14's (|Y|-1)(1+g)^-(1+1/beta)); F14 says <= 0."""
    log_bound = math.log(Y - 1) - (1.0 + 1.0 / np.asarray(betas)) * math.log1p(g)
    with np.errstate(divide="ignore"):
        return float(np.max(np.log(deficiency) - log_bound[:, None]))


def tasks(c: Config) -> list[tuple]:
    """("curve", i): the exact curves of margins[i] (extremal instance and its random same-margin
    family); ("sim", i, j): the Monte-Carlo check of margins[i] at sim_betas[j]; ("dpo", i, j): DPO's
    empirical sample complexity at dpo_margins[i] and dpo_eps[j] (panel c)."""
    out = []
    for i in range(len(c.margins)):
        out += [("curve", i)] + [("sim", i, j) for j in range(len(c.sim_betas))]
    return out + [("dpo", i, j) for i in range(len(c.dpo_margins)) for j in range(len(c.dpo_eps))]


def run_task(c: Config, tid: tuple) -> dict:
    key = jax.random.key(c.seed)
    if tid[0] == "dpo":
        return _dpo_point(c, key, tid[1], tid[2])
    i = tid[1]
    g = c.margins[i]
    base = extremal_instance(c.Y, g)
    if tid[0] == "sim":
        j = tid[2]
        b = c.sim_betas[j]
        pol = s.TabularLM(s.tilted(base, float(b)))
        draws = np.asarray(pol.sample(jax.random.fold_in(jax.random.fold_in(key, i), j), np.array([0]), c.draws))
        k = int((draws == 0).sum())
        lo, hi = clopper_pearson(k, c.draws)
        lo6, hi6 = clopper_pearson(k, c.draws, 1 - 1e-6)
        return dict(beta=float(b), freq=k / c.draws, lo=lo, hi=hi, lo_1e6=lo6, hi_1e6=hi6,
                    exact=float(s.argmax_mass(pol, base)[0]))
    betas = np.geomspace(c.beta_min, c.beta_max, c.beta_points)
    exact_m, exact_d = _tilted_mass(base, betas)
    exact = exact_m[:, 0]
    bound = sharper_bound(c.Y, g, betas)
    bj2 = beta_j2(c.Y, g, c.delta)
    exact_j2 = float(s.argmax_mass(s.tilted(base, bj2), base)[0])
    # random instances with the same exact margin (bound not tight there)
    C_lo, C_hi = two_level_coverage_range(c.Y, g)
    fam = two_level_family(jax.random.fold_in(key, 100 + i), c.random_X, c.Y, 0.5 * (C_lo + C_hi), g)
    fam_exact, fam_d = _tilted_mass(fam, betas)  # [B, X]
    return dict(
        gamma_margin=g, margin_measured=s.margin(base), a=float(base.table()[0, 0]),
        exact=exact, bound=bound, beta_j2=bj2, exact_at_beta_j2=exact_j2,
        min_gap_extremal=float(np.min(exact - bound)),
        min_gap_random=float(np.min(fam_exact - bound[:, None])),
        max_log_ratio_extremal=_max_log_ratio(exact_d, c.Y, g, betas),
        max_log_ratio_random=_max_log_ratio(fam_d, c.Y, g, betas),
        margin_random=s.margin(fam),
    )


def assemble(c: Config, parts: dict) -> dict:
    from sharpsim import stats

    betas = np.geomspace(c.beta_min, c.beta_max, c.beta_points)
    curves = [dict(parts[("curve", i)], sim=[parts[("sim", i, j)] for j in range(len(c.sim_betas))])
              for i in range(len(c.margins))]
    rows = []
    for i, g in enumerate(c.dpo_margins):
        res = [parts[("dpo", i, j)] for j in range(len(c.dpo_eps))]
        pts = [p["point"] for p in res]
        ok = [p for p in pts if p["m"]]
        slope = stats.loglog_slope([1 / p["eps"] for p in ok], [p["m"] for p in ok]) if len(ok) >= 2 else (None, None)
        rows.append(dict(gamma_margin=g, margin_measured=res[0]["margin_measured"], C_cov=res[0]["C_cov"], points=pts,
                         slope_inv_eps=slope[0], slope_se=slope[1]))
    dpo = dict(delta=c.dpo_delta, rho=c.dpo_rho, X=c.dpo_X, Y=c.dpo_Y, trials=c.dpo_trials, rows=rows)
    return dict(Y=c.Y, delta=c.delta, betas=betas, curves=curves, dpo=dpo)


def _dpo_point(c: Config, key, i: int, j: int) -> dict:
    """Panel (c), one point: DPO's empirical m at dpo_margins[i], dpo_eps[j] (see the module docstring),
    with the margin and coverage of the instance."""
    from sharpsim import engine
    from sharpsim.classes import TabularClass
    from sharpsim.instances import problems

    g = c.dpo_margins[i]
    lo, hi = two_level_coverage_range(c.dpo_Y, g)
    base = two_level_family(jax.random.fold_in(key, 500 + i), c.dpo_X, c.dpo_Y, 0.5 * (lo + hi), g)
    problem = problems.Problem(f"two_level(gamma={g:g})", base, base.mu,
                               {"dpo": lambda beta: TabularClass(c.dpo_X, c.dpo_Y)},
                               {"log_class_size": math.inf, "C_cov": s.coverage(base)})
    eps = c.dpo_eps[j]
    beta = g * c.dpo_delta * eps
    k_trials = jax.random.fold_in(jax.random.fold_in(key, 600 + i), j)

    def evaluate(scale):
        return engine.run_trials(problem, "dpo", k_trials, c.dpo_trials, eps, c.dpo_delta,
                                 n=max(1, math.ceil(scale * c.dpo_n0)), beta=beta, progress=False)

    sc = engine.empirical_sample_complexity(evaluate, c.dpo_rho, 1.0, bisect_steps=2)
    point = dict(eps=eps, beta=beta, m=sc.m, m_lo=sc.m_range[0], m_hi=sc.m_range[1])
    return dict(point=point, margin_measured=s.margin(base), C_cov=s.coverage(base))


def plot(r: dict, path_stem: str) -> None:
    from matplotlib.lines import Line2D

    fig, axes = style.new_figure(3, 1, width=5.0, height=4.9)
    betas = np.array(r["betas"])
    fine = np.geomspace(betas.min(), betas.max(), 2000)
    Y, delta = r["Y"], r["delta"]
    for panel in (0, 1):
        ax = axes[0, panel]
        for i, cv in enumerate(r["curves"]):
            col = style.COLORS[i]
            g = cv["gamma_margin"]
            ax.plot(betas, cv["exact"], color=col, **style.EXACT)
            if panel == 0:
                bnd = sharper_bound(Y, g, fine)  # analytic formula, drawn where positive
                ax.plot(fine, np.where(bnd >= 0, bnd, np.nan), color=col, **style.BOUND)
                ax.axvline(cv["beta_j2"], color=col, linestyle=":", linewidth=1.3)
                ax.plot([cv["beta_j2"]], [cv["exact_at_beta_j2"]], marker="s", color=col, markersize=5, linestyle="none")
            else:
                sim = cv["sim"]
                b = np.array([p["beta"] for p in sim])
                f = np.array([p["freq"] for p in sim])
                yerr = np.vstack([f - np.array([p["lo"] for p in sim]), np.array([p["hi"] for p in sim]) - f])
                ax.errorbar(b, f, yerr=yerr, color=col, **style.SIM)
        ax.axhline(1 - delta / 2, color="gray", linewidth=0.9, linestyle="-.")
        ax.set_xscale("log")
        ax.set_xlim(betas.min(), betas.max())
        ax.set_ylim(-0.02, 1.04)
        ax.set_xlabel("beta (KL regularization)")
        ax.set_ylabel("pi*_beta(y*|x)")
    axes[0, 0].set_title(f"(a) tilted optimum on extremal instances (|Y| = {Y})")
    axes[0, 1].set_title("(b) simulation: argmax frequency under pi*_beta")
    handles = [Line2D([], [], color=style.COLORS[i], linewidth=6, alpha=0.8, label=f"gamma_margin = {cv['gamma_margin']:g}")
               for i, cv in enumerate(r["curves"])]
    handles += [
        Line2D([], [], color="k", **style.EXACT, label="exact pi*_beta(y*) (tilted, F13)"),
        Line2D([], [], color="k", **style.BOUND, label="F14 bound 1-(|Y|-1)(1+gamma)^-(1+1/beta) (not order-only)"),
        Line2D([], [], color="k", linestyle=":", linewidth=1.3, label="Thm J.2: beta = gamma/(2 ln(2|Y|/delta)), sufficient"),
        Line2D([], [], color="k", marker="s", markersize=5, linestyle="none", label="exact value at Thm J.2's beta"),
        Line2D([], [], color="gray", linestyle="-.", linewidth=0.9, label=f"level 1 - delta/2 (delta = {delta:g})"),
        Line2D([], [], color="k", **{k: v for k, v in style.SIM.items() if k not in ("capsize", "elinewidth")},
               label="simulated frequency, 95% CP (panel b)"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=8)
    _dpo_plot(axes[0, 2], r["dpo"], [cv["gamma_margin"] for cv in r["curves"]])
    style.save(fig, path_stem)


def _dpo_plot(ax, d: dict, panel_a_margins) -> None:
    anchor = None
    for i, row in enumerate(d["rows"]):
        g = row["gamma_margin"]
        k = panel_a_margins.index(g) if g in panel_a_margins else 3 + i
        col = style.COLORS[k % len(style.COLORS)]
        pts = [p for p in row["points"] if p["m"]]
        if not pts:
            continue
        inv = np.array([1 / p["eps"] for p in pts])
        m = np.array([p["m"] for p in pts])
        lo = np.array([p["m_lo"] if p["m_lo"] is not None else p["m"] for p in pts])
        hi = np.array([p["m_hi"] if p["m_hi"] is not None else p["m"] for p in pts])
        slope = row["slope_inv_eps"]
        ax.errorbar(inv, m, yerr=np.vstack([m - np.minimum(lo, m), np.maximum(hi, m) - m]), color=col, **style.SIM,
                    label=f"simulated DPO, gamma_margin = {g:g}" + (f" (slope {slope:.2f})" if slope is not None else ""))
        if anchor is None:
            anchor = m[0] * g**2 * (1 / inv[0]) ** 2  # C in C / (gamma^2 eps^2)
        fine = np.geomspace(inv.min(), inv.max(), 50)
        ax.plot(fine, anchor * fine**2 / g**2, color=col, **style.ORDER_ONLY,
                label="Thm 4.2: m ~ 1/(gamma^2 eps^2), ORDER-ONLY (anchored)" if i == 0 else None)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = sorted({1 / p["eps"] for row in d["rows"] for p in row["points"]})
    ax.set_xticks(ticks, [f"{v:g}" for v in ticks])
    ax.minorticks_off()
    ax.set_xlabel("1 / eps")
    ax.set_ylabel("empirical m = 2n (queries)")
    ax.set_title(f"(c) DPO: smallest m with P[err <= eps] >= {1 - d['rho']:g}\n"
                 f"|X| = {d['X']}, |Y| = {d['Y']}, delta = {d['delta']:g}, beta = gamma delta eps",
                 fontsize=9.5)
    ax.legend(loc="upper left", fontsize=7.5)


def summary(r: dict) -> list[dict]:
    rows = []
    gap_ext = min(cv["min_gap_extremal"] for cv in r["curves"])
    gap_rand = min(cv["min_gap_random"] for cv in r["curves"])
    lr = max(max(cv["max_log_ratio_extremal"], cv["max_log_ratio_random"]) for cv in r["curves"])
    rows.append(dict(measurement="min(exact - F14 sharper bound), extremal instances", simulated=gap_ext, theory=">= 0",
                     note="over beta and margins; >= -1e-15 is rounding of values near 1"))
    rows.append(dict(measurement="min(exact - F14 sharper bound), random same-margin", simulated=gap_rand, theory=">= 0",
                     note="two_level_family, over beta, margins, prompts"))
    rows.append(dict(measurement="max log(exact deficiency / F14 deficiency)", simulated=lr, theory="<= 0",
                     note="deficiency = pi*_beta(outside y*) summed directly; ~1e-13 is rounding "
                          "(the extremal instance attains the bound to first order)"))
    for cv in r["curves"]:
        rows.append(dict(measurement=f"pi*_beta(y*) at Thm J.2 beta={cv['beta_j2']:.3g} (gamma={cv['gamma_margin']:g})",
                         simulated=cv["exact_at_beta_j2"], theory=1 - r["delta"] / 2, note="exact value >= 1 - delta/2"))
    pts = [p for cv in r["curves"] for p in cv["sim"]]
    out95 = sum(not (p["lo"] <= p["exact"] <= p["hi"]) for p in pts)
    out6 = sum(not (p["lo_1e6"] <= p["exact"] <= p["hi_1e6"]) for p in pts)
    rows.append(dict(measurement="exact values outside the MC 95% CI", simulated=out95,
                     theory=f"~{0.05 * len(pts):.1f} of {len(pts)}", note="expected about 5% by chance"))
    rows.append(dict(measurement="exact values outside the MC 1-1e-6 CI", simulated=out6, theory=0,
                     note=f"of {len(pts)} points"))
    for row in r["dpo"]["rows"]:
        rows.append(dict(measurement=f"DPO fitted slope of m vs 1/eps (gamma={row['gamma_margin']:g})",
                         simulated=row["slope_inv_eps"], theory=2.0,
                         note="Thm 4.2 order-only upper bound (F25), not claimed tight"))
    return rows

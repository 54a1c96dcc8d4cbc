"""Figure 1 of the catalogue: best-of-N needs about C_cov draws (SPEC 5.4, Prop C.1, F4, F5).

(a) P[best-of-N returns an argmax response] against N for power-law instances of different
    C_cov: the exact curve E_x[1 - (1 - pi_base(y*|x))^N], Monte-Carlo points from the literal
    best-of-N sampler (Clopper-Pearson 95% intervals), and Prop C.1's N = ln(1/rho)/p* at which
    the failure probability drops below rho.
(b) The mean number of draws until the first argmax response against C_cov, over Dirichlet
    instances: simulation against the identity E[draws] = C_cov (F5).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

import sharpsim as s
from sharpsim.stats import clopper_pearson

from . import style

NAME = "bon_coverage"
DESCRIPTION = "P[best-of-N hits y*] vs N for several C_cov (exact, simulated, Prop C.1); E[draws to y*] = C_cov"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    X: int = 8
    Y: int = 256
    C_values: tuple = (4.0, 16.0, 64.0)
    N_grid: tuple = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    trials: int = 2000
    rho: float = 0.05
    alphas: tuple = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)
    wait_Y: int = 64
    wait_trials: int = 4000
    wait_cap: int = 4096


FULL = Config()
QUICK = Config(C_values=(4.0, 32.0), N_grid=(1, 4, 16, 64), trials=300, alphas=(0.1, 0.5), wait_trials=500)


def tasks(c: Config) -> list[tuple]:
    """("curve", i, j): C_values[i] at N_grid[j]; ("wait", i): alphas[i]."""
    return ([("curve", i, j) for i in range(len(c.C_values)) for j in range(len(c.N_grid))]
            + [("wait", i) for i in range(len(c.alphas))])


def run_task(c: Config, tid: tuple) -> dict:
    key = jax.random.key(c.seed)
    k_inst, k_sim, k_wait = jax.random.split(key, 3)
    if tid[0] == "curve":
        _, i, j = tid
        N = c.N_grid[j]
        base = s.power_law_table(jax.random.fold_in(k_inst, i), c.X, c.Y, c.C_values[i])
        star = s.argmax_set(base)
        p_star = s.argmax_mass(base, base)
        kk = jax.random.fold_in(jax.random.fold_in(k_sim, i), j)
        kx, kb = jax.random.split(kk)
        x = np.asarray(base.sample_prompts(kx, c.trials))
        res = s.best_of_n(kb, base, x, N)
        hits = int(star[x, res.y].sum())
        lo, hi = clopper_pearson(hits, c.trials)
        n_prop = float(np.log(1 / c.rho) / p_star.min())
        return dict(exact=float(np.mean(1 - (1 - p_star) ** N)), sim=hits / c.trials, lo=lo, hi=hi,
                    C_cov=s.coverage(base), N_prop_c1=n_prop,
                    exact_at_prop_c1=float(np.mean(1 - (1 - p_star) ** np.ceil(n_prop))))
    _, i = tid
    alpha = c.alphas[i]
    base = s.dirichlet_table(jax.random.fold_in(k_wait, 1000 + i), c.X, c.wait_Y, alpha)
    star = s.argmax_set(base)
    kx, ky = jax.random.split(jax.random.fold_in(k_wait, i))
    x = np.asarray(base.sample_prompts(kx, c.wait_trials))
    draws = np.asarray(base.sample(ky, x, c.wait_cap))  # [trials, cap]
    hit = star[x[:, None], draws]
    first = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, c.wait_cap)
    censored = int((~hit.any(axis=1)).sum())
    mean = float(first.mean())
    sem = float(first.std(ddof=1) / np.sqrt(len(first)))
    return dict(alpha=alpha, C_cov=s.coverage(base), mean=mean, sem=sem, censored=censored)


def assemble(c: Config, parts: dict) -> dict:
    curves = []
    for i in range(len(c.C_values)):
        pts = [parts[("curve", i, j)] for j in range(len(c.N_grid))]
        first = pts[0]
        curves.append(dict(C_cov=first["C_cov"], **{k: [p[k] for p in pts] for k in ("exact", "sim", "lo", "hi")},
                           N_prop_c1=first["N_prop_c1"], exact_at_prop_c1=first["exact_at_prop_c1"]))
    waits = [parts[("wait", i)] for i in range(len(c.alphas))]
    return dict(N_grid=list(c.N_grid), rho=c.rho, curves=curves, waits=waits)


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(2, 1, width=5.0, height=4.0)
    ax = axes[0, 0]
    N = np.array(r["N_grid"])
    Nf = np.geomspace(N.min(), N.max(), 200)
    for i, cv in enumerate(r["curves"]):
        col = style.COLORS[i]
        # exact curve on a fine grid: rebuild from p* implied by C_cov (all prompts share p*)
        p = 1.0 / cv["C_cov"]
        ax.plot(Nf, 1 - (1 - p) ** Nf, color=col, **style.EXACT, label=f"exact, C_cov = {cv['C_cov']:.0f}")
        sim = np.array(cv["sim"])
        yerr = np.vstack([sim - np.array(cv["lo"]), np.array(cv["hi"]) - sim])
        ax.errorbar(N, sim, yerr=yerr, color=col, **style.SIM, label="simulated (95% CI)" if i == 0 else None)
        ax.axvline(cv["N_prop_c1"], color=col, **style.BOUND, label=f"Prop C.1 N for rho={r['rho']}" if i == 0 else None)
    ax.axhline(1 - r["rho"], color="gray", linewidth=0.8, label=f"1 - rho = {1 - r['rho']:.2f}")
    ax.set_xscale("log")
    ax.set_xlabel("N (responses drawn per prompt)")
    ax.set_ylabel("P[best-of-N returns y*(x)]")
    ax.set_title("(a) best-of-N with self-reward log pi_base")
    ax.set_ylim(-0.02, 1.02)
    ax.legend(loc="lower right")
    ax = axes[0, 1]
    C = np.array([w["C_cov"] for w in r["waits"]])
    m = np.array([w["mean"] for w in r["waits"]])
    se = np.array([w["sem"] for w in r["waits"]])
    lim = np.array([1, max(C.max(), m.max()) * 1.3])
    ax.plot(lim, lim, color="k", **style.EXACT, label="exact: E[draws] = C_cov")
    ax.errorbar(C, m, yerr=1.96 * se, color=style.COLORS[1], **style.SIM, label="simulated mean (95% CI)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("C_cov (Dirichlet instances)")
    ax.set_ylabel("mean draws until the first argmax response")
    ax.set_title("(b) coverage is a waiting time (F5)")
    ax.legend(loc="upper left")
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    rows = []
    worst = 0.0
    for cv in r["curves"]:
        for e, lo, hi in zip(cv["exact"], cv["lo"], cv["hi"]):
            worst = max(worst, max(lo - e, e - hi, 0.0))
        rows.append(dict(measurement=f"BoN success at Prop C.1 N (C_cov={cv['C_cov']:.0f})",
                         simulated=cv["exact_at_prop_c1"], theory=1 - r["rho"], note="exact value >= 1 - rho"))
    rows.append(dict(measurement="max distance exact curve outside MC 95% CI", simulated=worst, theory=0.0,
                     note="0 = every exact value inside its interval"))
    for w in r["waits"]:
        rows.append(dict(measurement=f"mean draws to y* (alpha={w['alpha']})", simulated=w["mean"], theory=w["C_cov"],
                         note=f"+-{1.96 * w['sem']:.2g} (95%), censored {w['censored']}"))
    return rows

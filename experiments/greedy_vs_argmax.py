"""Figure 7 of the catalogue: greedy decoding against the sequence argmax (SPEC 3.7, 7; F20-F22).

Proposition 3.1: if an autoregressive model has a unique sequence argmax y*(x) with
pi(y*(x)|x) > 1/2, greedy decoding y_h = argmax pi_h(. | y_<h, x) returns exactly y*(x); below
1/2 there is no guarantee.

(a) Over many random autoregressive tables (Dirichlet(alpha) conditionals, full history, at
    several per-step temperatures tau, small V and H so the table is enumerated exactly), the
    fraction of prompts on which ``model.greedy()`` returns ``model.sequence_argmax()``, binned
    by pi(y*|x), with Clopper-Pearson 95% intervals (prompts whose argmax is not unique are
    dropped). The Prop 3.1 guarantee (1 on (1/2, 1], nothing below) is drawn dashed with the
    threshold 1/2 marked. Two exact instances are marked:
    * the SPEC §7 greedy-failure example (``sharpsim.instances.greedy_failure``; V = {a, b},
      H = 2, aa = ab = 0.3, ba = 0.4): pi(y*) = 0.4 and greedy fails (success 0, F21);
    * Proposition E.2 (``sharpsim.instances.prop_e2``, n = 100, B = ln n; F22): pi(y*) = 0.1686 and greedy
      faces an exact tie between tokens 1 and 2 at step 1. Under uniform tie-breaking greedy
      succeeds with probability exactly 1/2 (it succeeds iff it picks token 2); that value is
      plotted. ``AutoregressiveLM.greedy`` breaks ties towards the lowest token (paper token 1)
      and therefore fails; both numbers are in the results.
(b) Where the instances lie: the number of prompts per pi(y*) bin, split into greedy success
    and failure (log scale).
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import numpy as np

import sharpsim as s
from sharpsim.instances import greedy_failure, prop_e2
from sharpsim.stats import clopper_pearson

from . import style

NAME = "greedy_vs_argmax"
DESCRIPTION = "how often greedy decoding returns the sequence argmax vs pi(y*|x): always above 1/2 (Prop 3.1), E.2 instance"


@dataclass(frozen=True)
class Config:
    seed: int = 0
    X: int = 400  # prompts per random table (each prompt is an independent instance)
    shapes: tuple = ((2, 5), (3, 3), (4, 3), (6, 2))  # (V, H)
    alphas: tuple = (0.1, 0.3, 1.0, 3.0)
    temperatures: tuple = (0.5, 1.0, 2.0)
    bins: int = 20
    e2_n: int = 100


FULL = Config()
QUICK = Config(X=300, shapes=((4, 2),), alphas=(0.2, 1.0), temperatures=(0.5, 1.0), bins=10)


def greedy_success_uniform_ties(model: s.AutoregressiveLM, x, target, rtol: float = 1e-12) -> np.ndarray:
    """Exact probability that greedy decoding with uniform tie-breaking returns ``target``.

    Greedy returns target = (t_1..t_H) iff at every step h it picks t_h after the prefix
    t_<h; with T_h the set of tokens tied (up to ``rtol`` in log space) at the maximum of
    pi_h(. | t_<h, x), that probability is prod_h 1[t_h in T_h] / |T_h|.

    Args:
      model: AutoregressiveLM. x: int [B] prompts. target: int [B, H] tokens.
    Returns:
      float [B].
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.int64))
    target = np.asarray(target, dtype=np.int64).reshape(x.shape[0], model.H)
    prob = np.ones(x.shape[0])
    conds = model.conditionals
    for h in range(1, model.H + 1):
        c = model.context_lengths[h - 1]
        ctx = np.zeros(x.shape[0], dtype=np.int64) if c == 0 else s.encode(target[:, h - 1 - c : h - 1], model.V)
        rows = conds[h - 1][x, ctx]  # [B, V]
        top = rows.max(axis=-1, keepdims=True)
        tied = rows >= top - rtol * (1.0 + np.abs(top))
        hit = tied[np.arange(x.shape[0]), target[:, h - 1]]
        prob = prob * np.where(hit, 1.0 / tied.sum(axis=-1), 0.0)
    return prob


def _marked(model: s.AutoregressiveLM, name: str) -> dict:
    tokens, logp = model.sequence_argmax()
    unique = int(s.argmax_set(model)[0].sum()) == 1
    lowest = bool((model.greedy()[0] == tokens[0]).all())
    uniform = float(greedy_success_uniform_ties(model, [0], tokens)[0])
    return dict(name=name, p_star=float(np.exp(logp[0])), argmax_tokens=tokens[0].tolist(), unique=unique,
                greedy_lowest_token_success=lowest, greedy_uniform_tie_success=uniform,
                C_cov=s.coverage(model))


def tasks(c: Config) -> list[tuple]:
    """("family", a, b, t): the random tables of shapes[a] and alphas[b] at temperatures[t];
    ("marked", 0): the SPEC 7 greedy-failure example; ("marked", 1): the Prop E.2 instance."""
    return ([("family", a, b, t) for a in range(len(c.shapes)) for b in range(len(c.alphas))
             for t in range(len(c.temperatures))] + [("marked", 0), ("marked", 1)])


def run_task(c: Config, tid: tuple) -> dict:
    if tid[0] == "marked":
        if tid[1] == 0:
            return _marked(greedy_failure(), "SPEC 7 example (aa=ab=.3, ba=.4)")
        return _marked(prop_e2(c.e2_n).to_autoregressive(), f"Prop E.2 (n={c.e2_n}, B=ln n)")
    _, a, b, t = tid
    key = jax.random.key(c.seed)
    V, H = c.shapes[a]
    alpha, tau = c.alphas[b], c.temperatures[t]
    k = a * len(c.alphas) + b  # the family's index in (shapes x alphas)
    base = s.random_autoregressive(jax.random.fold_in(key, k), c.X, V, H, alpha=alpha)
    m = base.with_temperature(tau)
    star_set = s.argmax_set(m)
    unique = star_set.sum(axis=1) == 1
    p_star = s.argmax_mass(m, m)
    tok, _ = m.sequence_argmax()
    g = m.greedy()
    ok = (g == tok).all(axis=1)
    # greedy's lowest-token rule only matters at exact ties: count prompts where the
    # uniform-tie success probability is strictly between 0 and 1
    pu = greedy_success_uniform_ties(m, np.arange(c.X), tok)
    above = p_star[unique] > 0.5
    return dict(p=p_star[unique], ok=ok[unique], ties=int(((pu > 0) & (pu < 1))[unique].sum()),
                dropped=int((~unique).sum()),
                family=dict(V=V, H=H, alpha=alpha, tau=tau, n=int(unique.sum()),
                            n_above=int(above.sum()), ok_above=int(ok[unique][above].sum()),
                            n_below=int((~above).sum()), ok_below=int(ok[unique][~above].sum())))


def assemble(c: Config, parts: dict) -> dict:
    fams = [parts[("family", a, b, t)] for a in range(len(c.shapes)) for b in range(len(c.alphas))
            for t in range(len(c.temperatures))]
    p = np.concatenate([np.asarray(f["p"], dtype=np.float64) for f in fams])
    ok = np.concatenate([np.asarray(f["ok"], dtype=bool) for f in fams])
    ties_all = sum(f["ties"] for f in fams)
    n_dropped = sum(f["dropped"] for f in fams)
    per_family = [f["family"] for f in fams]
    edges = np.linspace(0.0, 1.0, c.bins + 1)
    if not np.isclose(edges, 0.5).any():
        raise ValueError("bins must be even so that 1/2 is a bin edge")
    idx = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, c.bins - 1)  # bins (e_i, e_{i+1}]
    bins = []
    for b in range(c.bins):
        sel = idx == b
        n_b, k_b = int(sel.sum()), int(ok[sel].sum())
        lo, hi = clopper_pearson(k_b, n_b) if n_b else (float("nan"), float("nan"))
        bins.append(dict(lo_edge=float(edges[b]), hi_edge=float(edges[b + 1]), n=n_b, k=k_b,
                         rate=k_b / n_b if n_b else None, ci_lo=lo if n_b else None, ci_hi=hi if n_b else None,
                         p_mean=float(p[sel].mean()) if n_b else None))
    above = p > 0.5
    marked = [parts[("marked", 0)], parts[("marked", 1)]]
    return dict(bins=bins, n_instances=int(p.size), n_dropped_nonunique=n_dropped, n_tie_instances=ties_all,
                n_above=int(above.sum()), ok_above=int(ok[above].sum()),
                n_below=int((~above).sum()), ok_below=int(ok[~above].sum()),
                max_p_star_failure=float(p[~ok].max()) if (~ok).any() else None,
                per_family=per_family, marked=marked)


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(2, 1, width=5.4, height=5.0)
    ax = axes[0, 0]
    bins = [b for b in r["bins"] if b["n"] > 0]
    xc = np.array([b["p_mean"] for b in bins])
    rate = np.array([b["rate"] for b in bins])
    yerr = np.vstack([rate - np.array([b["ci_lo"] for b in bins]), np.array([b["ci_hi"] for b in bins]) - rate])
    ax.axvspan(0.5, 1.0, color="#2ca02c", alpha=0.07, linewidth=0)
    ax.plot([0.5, 0.5, 1.0], [0.0, 1.0, 1.0], color="k", **style.BOUND,
            label="Prop 3.1 guarantee (exact, not order-only): success = 1 for pi(y*) > 1/2")
    ax.axvline(0.5, color="gray", linewidth=0.8)
    ax.text(0.515, 0.55, "threshold\npi(y*) = 1/2", color="dimgray", fontsize=8)
    ax.errorbar(xc, rate, yerr=yerr, color=style.COLORS[0], **style.SIM,
                label=f"simulated: random AR tables, binned ({r['n_instances']} prompts, 95% CP)")
    mk = {0: ("D", style.COLORS[1]), 1: ("*", style.COLORS[3])}
    for i, m in enumerate(r["marked"]):
        marker, col = mk[i]
        lab = (f"{m['name']}: {m['greedy_uniform_tie_success']:g}" +
               (" (exact tie, uniform tie-break)" if 0 < m["greedy_uniform_tie_success"] < 1 else ""))
        ax.plot([m["p_star"]], [m["greedy_uniform_tie_success"]], marker=marker, markersize=11 if marker == "*" else 8,
                color=col, linestyle="none", markeredgecolor="k", label=lab)
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.03, 1.12)
    ax.set_xlabel("pi(y*|x): mass of the unique sequence argmax")
    ax.set_ylabel("P[greedy decoding returns y*(x)]")
    ax.set_title("(a) greedy vs sequence argmax (Prop 3.1)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=7.5)
    ax = axes[0, 1]
    lo = np.array([b["lo_edge"] for b in r["bins"]])
    w = lo[1] - lo[0]
    n = np.array([b["n"] for b in r["bins"]])
    k = np.array([b["k"] for b in r["bins"]])
    ax.bar(lo, k, width=w, align="edge", color=style.COLORS[2], alpha=0.8, label="greedy = y*")
    ax.bar(lo, n - k, width=w, align="edge", bottom=k, color=style.COLORS[1], alpha=0.8, label="greedy != y*")
    ax.axvline(0.5, color="gray", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_ylim(0.8, max(n.max(), 1) * 3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("pi(y*|x)")
    ax.set_ylabel("number of prompts (log scale)")
    ax.set_title("(b) instances per bin")
    ax.legend(loc="upper right")
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    worst = r["max_p_star_failure"]
    worst = "none" if worst is None else f"{worst:.4f}"
    rows = [
        dict(measurement="greedy success rate, pi(y*) > 1/2", simulated=r["ok_above"] / max(r["n_above"], 1), theory=1.0,
             note=f"{r['ok_above']}/{r['n_above']} prompts (Prop 3.1, F20)"),
        dict(measurement="greedy success rate, pi(y*) <= 1/2", simulated=r["ok_below"] / max(r["n_below"], 1),
             theory="< 1 possible", note=f"{r['ok_below']}/{r['n_below']}; largest failing pi(y*) = {worst}"),
    ]
    e7, e2 = r["marked"]
    rows.append(dict(measurement="SPEC 7 example: greedy success", simulated=e7["greedy_uniform_tie_success"], theory=0.0,
                     note=f"pi(y*) = {e7['p_star']:.4g} (theory 0.4, F21)"))
    rows.append(dict(measurement="Prop E.2: pi_base(2,1)", simulated=e2["p_star"], theory=0.1686,
                     note=f"C_cov = {e2['C_cov']:.3g} (theory 5.93, F22)"))
    rows.append(dict(measurement="Prop E.2: greedy success (uniform ties)", simulated=e2["greedy_uniform_tie_success"],
                     theory=0.5, note=f"lowest-token greedy succeeds: {e2['greedy_lowest_token_success']}"))
    return rows

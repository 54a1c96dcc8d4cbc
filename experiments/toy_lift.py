"""Figure 8 of the catalogue: a toy analog of the paper's Figure 1a (SPEC 8.2, 8.3; D10).

Toy autoregressive "tasks" (V tokens, horizon H, full-history conditionals): each prompt x has a
correct chain c(x) = (c_1, ..., c_H) and the *answer* of a sequence is its last token, so the
correct answer is a*(x) = c_H and distinct sequences share answers. The tasks are built so that
the correct chain is (usually) the sequence argmax while greedy decoding often misses it, as in
the SPEC §7 example: on a "trap" prompt a wrong first token t_1 is individually more likely than
c_1 (p_trap > p_correct), but after c_1 the continuation is near-deterministic (each next token of
c(x) has probability q), while after any other prefix it is diffuse (a Dirichlet(alpha_off)
row). Greedy takes t_1 and ends on a diffuse, mostly wrong answer; pi(c(x)) = p_correct q^(H-1)
still beats every trap sequence. On the other prompts c_1 is also the most likely first token.

"Models" of several strengths perturb the task: per-step logits (log pi_h + sigma G) / tau with
G a fixed standard Gaussian draw (sigma: a "small" model is noisier) and tau a per-step sampling
temperature. For each (task, model) every accuracy is averaged over the task's prompts:

* greedy: exact (``model.greedy()``);
* sampling: exact, pi(a*|x) = sum over sequences with the correct last token;
* best-of-N (N = 50, self-reward log pi_base of the model itself): exact from
  ``sharpsim.bon_law``, and Monte Carlo from the literal sampler ``sharpsim.best_of_n``
  (Clopper-Pearson intervals) to show that they agree;
* majority vote over N = 50 samples: exact, from ``sharpsim.majority_prob`` (answer = last token,
  plurality, ties broken uniformly; dynamic programming over answer counts);
* pass@N: exact, 1 - (1 - pi(a*|x))^N.

Panels: (a) heatmap of the % lift of exact best-of-N over greedy,
100 (acc_BoN - acc_greedy)/acc_greedy (decision D10: the formula is presumed, the paper does not
state it; "n/a" where acc_greedy = 0); (b) the same lift for majority vote (exact);
(c) exact best-of-N accuracy against its Monte-Carlo estimate with 95% intervals;
(d) every method's accuracy per task, averaged over the models.
Signs of the lift are mixed, as in the paper: noisy or hot models and weak-signal tasks lose.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import jax
import numpy as np

import sharpsim as s
from sharpsim.instances.toy import perturb, toy_task
from sharpsim.stats import clopper_pearson, percent_lift

from . import style

NAME = "toy_lift"
DESCRIPTION = "toy Figure 1a: % lift of best-of-50 (log pi_base) over greedy, beside sampling, majority vote, pass@N"

# (name, V, H, trap_rate, p_correct, p_trap, q, alpha_off)
TASKS = (
    ("trap-heavy V4 H3", 4, 3, 0.6, 0.30, 0.45, 0.92, 3.0),
    ("long chain V4 H5", 4, 5, 0.5, 0.30, 0.40, 0.95, 3.0),
    ("wide vocab V8 H3", 8, 3, 0.5, 0.25, 0.35, 0.85, 2.0),
    ("mild trap V4 H3", 4, 3, 0.2, 0.30, 0.40, 0.90, 3.0),
    ("weak signal V5 H3", 5, 3, 0.5, 0.25, 0.30, 0.60, 1.0),
)
# (label, sigma, tau)
MODELS = (
    ("large tau=.7", 0.2, 0.7),
    ("large tau=1", 0.2, 1.0),
    ("large tau=1.5", 0.2, 1.5),
    ("small tau=.7", 1.0, 0.7),
    ("small tau=1", 1.0, 1.0),
    ("small tau=1.5", 1.0, 1.5),
)


@dataclass(frozen=True)
class Config:
    seed: int = 0
    X: int = 120  # prompts per task
    N: int = 50
    reps: int = 15  # Monte-Carlo repetitions per prompt (literal best-of-N)
    tasks: tuple = TASKS
    models: tuple = MODELS


FULL = Config()
QUICK = Config(X=40, reps=5, tasks=TASKS[:1] + TASKS[4:], models=MODELS[1:2] + MODELS[4:5])


def _cell(model: s.AutoregressiveLM, answer: np.ndarray, c: Config, key, Y_pad: int, V_pad: int) -> dict:
    """Every accuracy of one (task, model). Tables are padded with zero-probability responses
    (log -inf) to Y_pad sequences and V_pad answers so that the jitted samplers and bon_law
    compile once for all tasks; padding changes no law (zero mass is never drawn)."""
    V, X, N = model.V, model.X, c.N
    lt = np.full((X, Y_pad), -np.inf)
    lt[:, : model.Y] = model.log_table()
    padded = s.TabularLM.from_log_probs(lt)
    correct = np.zeros((X, Y_pad), dtype=bool)
    correct[:, : model.Y] = (np.arange(model.Y)[None, :] % V) == answer[:, None]  # last token = a*(x)
    p_ans = np.where(correct, np.exp(lt), 0.0).sum(axis=1)
    acc_greedy = float(np.mean(model.greedy()[:, -1] == answer))
    acc_sample = float(np.mean(p_ans))
    law = s.bon_law(padded, N)
    acc_bon = float(np.mean(np.where(correct, law, 0.0).sum(axis=1)))
    pass_n = float(np.mean(1.0 - (1.0 - p_ans) ** N))
    tok, _ = model.sequence_argmax()
    argmax_ok = float(np.mean(tok[:, -1] == answer))
    k_bon, _, _ = jax.random.split(key, 3)  # (the former majority-vote keys stay unused: same BoN bits)
    x = np.repeat(np.arange(X), c.reps)
    T = x.size
    y = s.best_of_n(k_bon, padded, x, N).y
    hits = int(correct[x, y].sum())
    bon_lo, bon_hi = clopper_pearson(hits, T)
    bon_lo6, bon_hi6 = clopper_pearson(hits, T, 1 - 1e-6)
    # majority vote depends on the N sampled sequences only through their answers (last tokens):
    # its exact law (plurality, uniform ties) by dynamic programming over answer counts
    acc_maj = float(np.mean(s.majority_prob(model, np.arange(model.Y) % V, N, answer, num_answers=V)))
    return dict(acc_greedy=acc_greedy, acc_sample=acc_sample, acc_bon=acc_bon, pass_n=pass_n, argmax_correct=argmax_ok,
                mc_bon=hits / T, mc_bon_lo=bon_lo, mc_bon_hi=bon_hi, mc_bon_lo_1e6=bon_lo6, mc_bon_hi_1e6=bon_hi6,
                acc_majority=acc_maj, trials=T,
                lift_bon=percent_lift(acc_bon, acc_greedy), lift_majority=percent_lift(acc_maj, acc_greedy),
                lift_sample=percent_lift(acc_sample, acc_greedy), lift_pass=percent_lift(pass_n, acc_greedy))


def tasks(c: Config) -> list[tuple]:
    """("cell", i, j): every accuracy of task c.tasks[i] under model c.models[j]."""
    return [("cell", i, j) for i in range(len(c.tasks)) for j in range(len(c.models))]


@lru_cache(maxsize=8)
def _task(c: Config, i: int):
    """(conds, correct chains, trap flags) of task c.tasks[i]; memoized: its cells (one per model) in a
    process share it (read-only: ``perturb`` and ``_cell`` only read it)."""
    key = jax.random.key(c.seed)
    V, H, trap_rate, pc, pt, q, a_off = c.tasks[i][1:]
    conds, corr, trap = toy_task(jax.random.fold_in(key, i), c.X, V, H, trap_rate, pc, pt, q, a_off)
    for a in (*conds, corr, trap):
        a.flags.writeable = False
    return tuple(conds), corr, trap


def run_task(c: Config, tid: tuple) -> dict:
    _, i, j = tid
    key = jax.random.key(c.seed)
    Y_pad = max(t[1] ** t[2] for t in c.tasks)
    V_pad = max(t[1] for t in c.tasks)
    conds, corr, trap = _task(c, i)
    sigma, tau = c.models[j][1:]
    model = perturb(conds, jax.random.fold_in(jax.random.fold_in(key, 1000 + i), int(sigma * 1000)), sigma, tau)
    cell = _cell(model, corr[:, -1], c, jax.random.fold_in(jax.random.fold_in(key, 2000 + i), j), Y_pad, V_pad)
    cell["trap_fraction"] = float(trap.mean())
    return cell


def assemble(c: Config, parts: dict) -> dict:
    cells = [[parts[("cell", i, j)] for j in range(len(c.models))] for i in range(len(c.tasks))]
    return dict(tasks=[t[0] for t in c.tasks], models=[m[0] for m in c.models], N=c.N, cells=cells)


def _heatmap(ax, fig, names_r, names_c, vals, title):
    arr = np.array([[np.nan if v is None else v for v in row] for row in vals], dtype=float)
    finite = arr[np.isfinite(arr)]
    vmax = max(10.0, float(np.abs(finite).max())) if finite.size else 10.0
    cmap = style.plt.get_cmap("RdBu").with_extremes(bad="#d9d9d9")
    im = ax.imshow(np.ma.masked_invalid(arr), cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto")
    for r in range(arr.shape[0]):
        for k in range(arr.shape[1]):
            v = arr[r, k]
            txt = "n/a" if not np.isfinite(v) else f"{v:+.0f}%"
            dark = np.isfinite(v) and abs(v) > 0.6 * vmax
            ax.text(k, r, txt, ha="center", va="center", fontsize=8, color="white" if dark else "black")
    ax.set_xticks(range(len(names_c)), names_c, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(len(names_r)), names_r, fontsize=8)
    ax.grid(False)
    ax.set_title(title, fontsize=9.5)
    fig.colorbar(im, ax=ax, shrink=0.85, label="% lift over greedy")


def plot(r: dict, path_stem: str) -> None:
    fig, axes = style.new_figure(2, 2, width=6.3, height=4.6)
    tasks, models, cells = r["tasks"], r["models"], r["cells"]
    N = r["N"]
    _heatmap(axes[0, 0], fig, tasks, models, [[c["lift_bon"] for c in row] for row in cells],
             f"(a) best-of-{N} (self-reward log pi_base, exact) vs greedy\n"
             "lift = 100 (acc_BoN - acc_greedy)/acc_greedy (formula presumed, D10)")
    _heatmap(axes[0, 1], fig, tasks, models, [[c["lift_majority"] for c in row] for row in cells],
             f"(b) majority vote over {N} samples (exact) vs greedy\nsame lift formula; n/a: greedy accuracy 0")
    ax = axes[1, 0]
    flat = [c for row in cells for c in row]
    ex = np.array([c["acc_bon"] for c in flat])
    mc = np.array([c["mc_bon"] for c in flat])
    yerr = np.vstack([mc - np.array([c["mc_bon_lo"] for c in flat]), np.array([c["mc_bon_hi"] for c in flat]) - mc])
    ax.plot([0, 1], [0, 1], color="k", **style.EXACT, label="exact = simulated")
    ax.errorbar(ex, mc, yerr=yerr, color=style.COLORS[0], **style.SIM,
                label=f"simulated best-of-{N} (literal sampler, 95% CP)")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(f"exact best-of-{N} accuracy (bon_law)")
    ax.set_ylabel(f"simulated best-of-{N} accuracy")
    ax.set_title("(c) exact law vs simulation, every (task, model)", fontsize=9.5)
    ax.legend(loc="upper left")
    ax = axes[1, 1]
    methods = [("greedy (exact)", "acc_greedy"), ("sampling (exact)", "acc_sample"), (f"BoN-{N} (exact)", "acc_bon"),
               (f"majority-{N} (exact)", "acc_majority"), (f"pass@{N} (exact, skyline)", "pass_n")]
    w = 0.8 / len(methods)
    xs = np.arange(len(tasks))
    for k, (lab, key) in enumerate(methods):
        vals = [np.mean([c[key] for c in row]) for row in cells]
        ax.bar(xs + (k - (len(methods) - 1) / 2) * w, vals, width=w, color=style.COLORS[k], label=lab)
    ax.set_xticks(xs, tasks, rotation=20, ha="right", fontsize=8)
    ax.set_ylim(0, 1.25)
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_ylabel(f"accuracy (mean over {len(models)} models)")
    ax.set_title("(d) self-rewards and baselines per task", fontsize=9.5)
    ax.legend(loc="upper center", ncol=3, fontsize=7.5)
    style.save(fig, path_stem)


def summary(r: dict) -> list[dict]:
    flat = [c for row in r["cells"] for c in row]
    N = r["N"]
    lifts = [c["lift_bon"] for c in flat if c["lift_bon"] is not None]
    out95 = sum(not (c["mc_bon_lo"] <= c["acc_bon"] <= c["mc_bon_hi"]) for c in flat)
    out6 = sum(not (c["mc_bon_lo_1e6"] <= c["acc_bon"] <= c["mc_bon_hi_1e6"]) for c in flat)
    gap = min(c["pass_n"] - c["acc_bon"] for c in flat)
    return [
        dict(measurement=f"% lift of BoN-{N} over greedy: median [min, max]",
             simulated=float(np.median(lifts)) if lifts else None,
             theory="mixed signs", note=(f"[{min(lifts):+.1f}, {max(lifts):+.1f}] over {len(lifts)} cells, "
                                         f"{len(flat) - len(lifts)} n/a") if lifts else "all n/a"),
        dict(measurement="cells where BoN beats greedy", simulated=sum(v > 0 for v in lifts), theory=f"of {len(lifts)}",
             note="D10 lift formula presumed"),
        dict(measurement="exact BoN accuracy outside MC 95% CI", simulated=out95,
             theory=f"~{0.05 * len(flat):.1f} of {len(flat)}", note="expected about 5% by chance"),
        dict(measurement="exact BoN accuracy outside MC 1-1e-6 CI", simulated=out6, theory=0, note=f"of {len(flat)} cells"),
        dict(measurement="min(pass@N - acc_BoN), both exact", simulated=gap, theory=">= 0",
             note="pass@N is a skyline: BoN returns one of the N samples"),
        dict(measurement="fraction of prompts whose sequence argmax is correct",
             simulated=float(np.mean([c["argmax_correct"] for c in flat])), theory="-",
             note=f"BoN's N -> inf limit; range [{min(c['argmax_correct'] for c in flat):.2f}, "
                  f"{max(c['argmax_correct'] for c in flat):.2f}] over cells"),
    ]

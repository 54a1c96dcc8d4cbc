# %% [markdown]
# # Coverage and sharpening, computed exactly
#
# This tutorial explains the central quantity of *"Self-Improvement in Language Models: The
# Sharpening Mechanism"* (Huang et al., arXiv 2412.01951): the **coverage coefficient**
# $C_{cov}$. You need probability, not the paper. By the end you can say
#
# 1. what $C_{cov}$ is,
# 2. why best-of-$N$ needs about $C_{cov}$ draws,
# 3. why SFT-Sharpening inherits that cost, and
# 4. why RLHF-Sharpening with exploration can avoid it.
#
# Everything below is computed with the public API of `sharpsim`, on models small enough to
# print. Every claim in the text is checked by an `assert` in the cell that makes it.
#
# *Source of truth:* this notebook is generated from `docs/coverage_tutorial.py`
# (`python docs/build_tutorial.py`); edit that file, not the `.ipynb`.

# %%
import jax
import matplotlib.pyplot as plt
import numpy as np

import sharpsim as s
from sharpsim import bounds
from sharpsim.instances import example_j1

np.set_printoptions(precision=4, suppress=True)
try:  # sliders when a live kernel with ipywidgets is present; static figures otherwise
    import ipywidgets as widgets

    HAVE_WIDGETS = True
except ImportError:  # pragma: no cover
    HAVE_WIDGETS = False

# %% [markdown]
# ## 1. A model small enough to print
#
# A language model here is a table: for each prompt $x$ a distribution $\pi_{base}(y\mid x)$
# over responses $y$. Three prompts, four responses, prompts equally likely ($\mu$ uniform):

# %%
table = np.array(
    [
        [0.50, 0.20, 0.20, 0.10],  # x0
        [0.25, 0.25, 0.40, 0.10],  # x1
        [0.10, 0.30, 0.30, 0.30],  # x2: a three-way tie for the mode
    ]
)
base = s.TabularLM(table)
print(base.table())

# %% [markdown]
# **Sharpening** (maximum-likelihood self-reward, Eq. 2) means moving mass onto the model's own
# most likely responses, the argmax set $y^*(x) = \arg\max_y \pi_{base}(y\mid x)$ (a *set*: ties
# are kept). By hand: $y^*(x_0)=\{y_0\}$, $y^*(x_1)=\{y_2\}$, $y^*(x_2)=\{y_1,y_2,y_3\}$.
#
# The **coverage coefficient** (Eq. 6) is
# $$C_{cov} = \mathbb{E}_{x\sim\mu}\left[\frac{1}{\pi_{base}(y^*(x)\mid x)}\right].$$
# By hand: $1/0.5 = 2$, $1/0.4 = 2.5$, $1/0.9 = 1.111$; the mean is $5.6111/3 = 1.8704$.
#
# The **margin** $\gamma_{margin}$ (Assumption 4.2) is the multiplicative gap between the mode and
# the best non-mode response: $0.5/0.2-1 = 1.5$, $0.4/0.25-1 = 0.6$, $0.3/0.1-1 = 2$; the
# assumption must hold at every prompt, so $\gamma_{margin} = 0.6$.

# %%
print("argmax sets:\n", s.argmax_set(base).astype(int))
print("C_cov       =", s.coverage(base))
print("gamma_margin=", s.margin(base))
assert s.argmax_set(base).astype(int).tolist() == [[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 1, 1]]
assert abs(s.coverage(base) - (2 + 2.5 + 1 / 0.9) / 3) < 1e-12
assert abs(s.margin(base) - 0.6) < 1e-12

# %% [markdown]
# Why "coverage"? $1/\pi_{base}(y^*(x)\mid x)$ is the expected number of independent draws from
# $\pi_{base}(\cdot\mid x)$ until the first argmax response (a geometric waiting time). So
# $C_{cov}$ is the prompt-averaged waiting time for the model to *produce* its own best answer.
# Let us measure it by sampling:

# %%
key = jax.random.key(0)
kx, ky = jax.random.split(key)
x = np.asarray(base.sample_prompts(kx, 20000))
draws = np.asarray(base.sample(ky, x, 200))  # 200 draws per sampled prompt
hit = s.argmax_set(base)[x[:, None], draws]
waiting = hit.argmax(axis=1) + 1  # index of the first argmax draw (1-based)
se = waiting.std() / np.sqrt(len(waiting))
print(f"mean waiting time {waiting.mean():.4f} +- {1.96 * se:.4f}   vs   C_cov = {s.coverage(base):.4f}")
assert hit.any(axis=1).all()
assert abs(waiting.mean() - s.coverage(base)) < 5 * se

# %% [markdown]
# ## 2. Best-of-N: judging is easier than generating
#
# Best-of-$N$ with self-reward $\log\pi_{base}$ draws $N$ responses and keeps the most likely.
# It returns a mode exactly when one of the $N$ draws is a mode, so
# $$P[\text{BoN}_N(x)\in y^*(x)] = 1-(1-\pi_{base}(y^*(x)\mid x))^N .$$
# Proposition C.1: $N \ge \ln(1/\rho)/\pi_{base}(y^*(x)\mid x)$ draws make the failure
# probability at most $\rho$, about *the waiting time times* $\ln(1/\rho)$.
#
# sharpsim computes the whole law of the best-of-$N$ output exactly (`bon_law`), and simulates it
# (`best_of_n`, which draws all $N$ responses and counts the queries):

# %%
N = 4
law = s.bon_law(base, N)
print("exact best-of-4 law:\n", law)
res = s.best_of_n(jax.random.key(1), base, np.repeat(np.arange(3), 20000), N)
freq = np.stack([np.bincount(res.y[i * 20000 : (i + 1) * 20000], minlength=4) / 20000 for i in range(3)])
print("simulated (20000 runs per prompt):\n", freq)
print("queries used:", res.queries.sum())
p_star = s.argmax_mass(base, base)
assert np.allclose(s.argmax_mass(law, base), 1 - (1 - p_star) ** N)
assert np.abs(freq - law).max() < 5 * np.sqrt(0.25 / 20000)
rho = 0.05
N_c1 = np.ceil(np.log(1 / rho) / p_star)
print("Prop C.1 N per prompt for rho=0.05:", N_c1, " failure there:", (1 - p_star) ** N_c1)
assert ((1 - p_star) ** N_c1 <= rho).all()


# %%
def show_bon(N):
    fig, axes = plt.subplots(1, 3, figsize=(10, 2.6), sharey=True)
    law = s.bon_law(base, N)
    for i, ax in enumerate(axes):
        ax.bar(np.arange(4) - 0.2, base.table()[i], width=0.4, label="pi_base")
        ax.bar(np.arange(4) + 0.2, law[i], width=0.4, label=f"best-of-{N}")
        ax.set_title(f"x{i}: P[BoN in y*] = {s.argmax_mass(law, base)[i]:.3f}")
        ax.set_xticks(range(4))
        ax.set_xlabel("response y")
    axes[0].set_ylabel("probability")
    axes[0].legend()
    plt.show()


if HAVE_WIDGETS:
    widgets.interact(show_bon, N=widgets.IntSlider(value=4, min=1, max=40, description="N"))
for N in (1, 4, 16):  # static fallback: the same view at a few N
    show_bon(N)

# %% [markdown]
# ## 3. Autoregressive models: the *sequence* mode, and greedy decoding
#
# For a language model $y = (y_1,\dots,y_H)$ and the mode is the most likely *whole sequence*,
# not the token-by-token greedy choice. A two-token example ($V=\{a,b\}$, SPEC §7): the first
# token is $a$ with probability 0.6, then $a$ or $b$ with 0.5 each; or it is $b$ (0.4), then
# always $a$. So $P(aa)=P(ab)=0.3$ and $P(ba)=0.4$: the mode is $ba$, but greedy decoding picks
# $a$ first and can never reach it.

# %%
toy = s.AutoregressiveLM(
    [
        np.array([[[0.6, 0.4]]]),  # step 1: [X=1, one (empty) context, V=2]
        np.array([[[0.5, 0.5], [1.0, 0.0]]]),  # step 2: context = first token
    ]
)
print("sequence table (aa, ab, ba, bb):", toy.table()[0])
print("greedy:", toy.greedy()[0], "  sequence argmax:", toy.sequence_argmax()[0][0])
assert toy.greedy()[0].tolist()[0] == 0 and toy.sequence_argmax()[0][0].tolist() == [1, 0]

# %% [markdown]
# Proposition 3.1: once a model puts **more than 1/2** on a unique sequence mode, greedy decoding
# returns it (every prefix of the mode keeps conditional probability $>1/2$). Sharpening at the
# sequence level does that. Take the KL-regularized optimum $\pi^*_\beta\propto\pi^{1+1/\beta}$
# (Section 5 below) of the toy model, rebuild its next-token conditionals, and decode greedily:

# %%
for beta in (2.0, 0.5):
    sharp = s.tilted(toy, beta)[0].reshape(2, 2)  # [y1, y2]
    first = sharp.sum(axis=1)
    second = sharp / first[:, None]
    sharp_lm = s.AutoregressiveLM([first[None, None, :], second[None, :, :]])
    mode_mass = sharp[1, 0]
    print(f"beta={beta}: pi*(ba) = {mode_mass:.3f}, greedy -> {sharp_lm.greedy()[0]}")
    if mode_mass > 0.5:
        assert sharp_lm.greedy()[0].tolist() == [1, 0]

# %% [markdown]
# ## 4. Coverage grows with the horizon, and SFT-Sharpening pays for it
#
# Take a model whose $H$ tokens are independent, each with largest probability $q$. Its sequence
# mode has probability $q^H$, so $C_{cov} = q^{-H}$: **exponential in the horizon**. Random
# autoregressive tables behave the same way:

# %%
q = np.array([0.5, 0.3, 0.2])
Hs = np.arange(1, 9)
cov_iid = []
for H in Hs:
    iid = s.AutoregressiveLM([np.tile(q, (1, 3 ** min(h, 1), 1)) for h in range(H)])
    cov_iid.append(s.coverage(iid))
assert np.allclose(cov_iid, q.max() ** -Hs.astype(float))
cov_rand = [s.coverage(s.random_autoregressive(jax.random.key(int(H)), 8, 3, int(H), order=1, alpha=1.0)) for H in Hs]
plt.figure(figsize=(5, 3.2))
plt.semilogy(Hs, cov_iid, "o-", label="independent tokens: exact 0.5^-H")
plt.semilogy(Hs, cov_rand, "s-", label="random Markov tables (V=3)")
plt.xlabel("horizon H")
plt.ylabel("C_cov")
plt.legend()
plt.show()

# %% [markdown]
# **SFT-Sharpening** draws $N$ responses per prompt, keeps the best (best-of-$N$), and fine-tunes
# on it by maximum likelihood. With enough data it learns the best-of-$N$ law itself, which is
# sharp only on prompts where $N$ exceeds the waiting time. Exactly: the population error
# $\varepsilon(N)=P_x[\pi^{BoN}_N(y^*\mid x) < 1-\delta]$, against the horizon at a fixed $N$:

# %%
delta, N = 0.25, 64
pop_err = [s.sharpness_error(s.bon_law(m, N), m, delta) for m in
           (s.random_autoregressive(jax.random.key(int(H)), 8, 3, int(H), order=1, alpha=1.0) for H in Hs)]
print("population SFT error at N=64:", np.round(pop_err, 3))
# the paper's sample complexity (Theorem 4.1, derived constant of SPEC F9) grows linearly in C_cov
presc = [bounds.sft_sample_complexity(C, np.log(1000.0), eps=0.1, delta=delta, rho=0.1) for C in cov_rand]
print("prescribed m = n N:", [f"{p.m:.3g}" for p in presc])
ms = np.array([p.m for p in presc], dtype=float)
assert np.all(np.diff(ms)[np.diff(cov_rand) > 0] > 0)  # more coverage cost -> more queries

# %% [markdown]
# No sample-and-evaluate algorithm can do fundamentally better on worst-case model classes
# (Theorem 3.1): the learner only learns where the mode is by *drawing* it, and a mode of
# probability $1/C$ is first drawn after about $C$ tries.
#
# ## 5. RLHF-Sharpening: the tilted optimum needs a margin, not coverage
#
# RLHF-Sharpening maximizes $\mathbb{E}_\pi[\log\pi_{base}] - \beta\,\mathrm{KL}(\pi\|\pi_{base})$,
# whose optimum is $\pi^*_\beta \propto \pi_{base}^{1+1/\beta}$: the base model at temperature
# $\beta/(1+\beta)$. How much of its mass sits on the mode depends on the **margin**: a mode that is
# $(1+\gamma)$ times more likely than every rival gains a factor $(1+\gamma)^{1+1/\beta}$.
# Two instances with the same margin ($\gamma=0.5$) and very different coverage:

# %%
def two_level(Y, gamma):
    """One mode with probability a, the other Y-1 responses at a/(1+gamma)."""
    a = 1.0 / (1.0 + (Y - 1) / (1.0 + gamma))
    row = np.full(Y, a / (1.0 + gamma))
    row[0] = a
    return s.TabularLM(row[None, :])


small, large = two_level(8, 0.5), two_level(512, 0.5)
for name, m in (("|Y|=8", small), ("|Y|=512", large)):
    beta_ok = bounds.tilted_beta_sufficient(s.margin(m), m.Y, delta)
    mass = s.argmax_mass(s.tilted(m, beta_ok), m)[0]
    print(f"{name}: C_cov={s.coverage(m):7.1f}  margin={s.margin(m):.2f}  "
          f"beta from Thm J.2={beta_ok:.4f}  pi*_beta(y*)={mass:.4f}")
    assert mass >= 1 - delta / 2
# %% [markdown]
# The prescribed $\beta = \gamma_{margin}/(2\ln(2|Y|/\delta))$ depends on $|Y|$ only through a
# logarithm, while $C_{cov}$ grew 64-fold. The catch: *learning* $\pi^*_\beta$ from samples of
# $\pi_{base}$ alone (offline DPO) again needs coverage-type conditions. Online exploration (XPO)
# samples from its *current* model and asks the base model for the likelihood of those samples,
# so it can find the mode without ever having drawn it from $\pi_{base}$.

# %%
betas = np.geomspace(0.01, 3, 60)


def show_tilt(gamma=0.5):
    m = two_level(64, gamma)
    mass = [s.argmax_mass(s.tilted(m, b), m)[0] for b in betas]
    plt.figure(figsize=(5, 3))
    plt.semilogx(betas, mass, label=f"exact pi*_beta(y*), gamma={gamma}")
    plt.axvline(bounds.tilted_beta_sufficient(gamma, 64, delta), ls="--", c="k", label="Thm J.2 beta")
    plt.axhline(1 - delta / 2, c="gray", lw=0.8)
    plt.xlabel("beta")
    plt.ylabel("mass on the mode")
    plt.legend()
    plt.show()


if HAVE_WIDGETS:
    widgets.interact(show_tilt, gamma=widgets.FloatLogSlider(value=0.5, base=10, min=-2, max=1, description="margin"))
for g in (0.1, 1.0):  # static fallback
    show_tilt(g)

# %% [markdown]
# ## 6. Example J.1: an exponential separation, measured
#
# Responses are unit vectors $y\in\mathbb{R}^d$ at pairwise distance $\ge 1/4$ and
# $\pi_{base}(y)\propto\exp\langle y, y^*\rangle$. Every response is within a factor $e^2$ of the
# mode, so $C_{cov}\approx|Y|$, which grows exponentially in $d$, while the margin stays a constant
# (at least $e^{1/32}-1\approx 0.032$). The best-of-$N$ target of SFT-Sharpening is sharp only once
# $N \gtrsim C_{cov}\ln(1/\delta)$, whereas the tilted optimum that XPO learns stays sharp with a
# $\beta$ that shrinks only like $1/\log|Y|$:

# %%
rows = []
for d in (2, 4, 6, 8):
    inst = example_j1(jax.random.key(d), d)
    m = inst.base
    p_star = s.argmax_mass(m, m)[0]
    # one prompt: SFT-Sharpening with n = 1 fits a point mass on one best-of-N output, so it succeeds
    # exactly when that output is the mode; the least N making this happen with probability 0.9:
    N_sft = int(np.ceil(np.log(0.1) / np.log1p(-p_star)))
    assert s.argmax_mass(s.bon_law(m, N_sft), m)[0] >= 0.9 > s.argmax_mass(s.bon_law(m, N_sft - 1), m)[0]
    beta_ok = bounds.tilted_beta_sufficient(inst.gamma_margin, m.Y, delta)
    tilt_mass = s.argmax_mass(s.tilted(m, beta_ok), m)[0]
    rows.append((d, m.Y, inst.C_cov, inst.gamma_margin, N_sft, tilt_mass))
    print(f"d={d} |Y|={m.Y:4d} C_cov={inst.C_cov:7.1f} margin={inst.gamma_margin:.3f} "
          f"N for P[BoN = y*] >= 0.9: {N_sft:5d}  pi*_beta(y*) at Thm J.2 beta={tilt_mass:.3f}")
    assert inst.gamma_margin >= np.exp(1 / 32) - 1 - 1e-12
    assert tilt_mass >= 1 - delta / 2
assert rows[-1][4] > 20 * rows[0][4]  # the SFT target's N grows with |Y| ~ 2^d

# %% [markdown]
# Now run both learners through the counting oracle (`sharpsim.engine`), asking for success with
# probability about 0.9. SFT-Sharpening gets one prompt and the $N$ above. XPO (Algorithm 1) samples from its current model,
# asks the base model for the likelihood of those samples (the extended access, counted
# separately), and is charged for its validation samples too. We give XPO $T = 8$ rounds:

# %%
from sharpsim import engine
from sharpsim.instances import problems

for d in (4, 8):
    problem = problems.j1_problem(jax.random.key(d), d)
    inst = problem.info["instance"]
    beta = inst.gamma_margin / (2 * np.log(2 * inst.Y / delta))  # Theorem J.3's beta
    xpo = engine.run_trials(problem, "xpo", jax.random.key(100 + d), trials=64, eps=0.1, delta=delta, T=8, beta=beta,
                         progress=False)
    N_sft = rows[[r[0] for r in rows].index(d)][4]
    sft = engine.run_trials(problem, "sft", jax.random.key(200 + d), trials=64, eps=0.1, delta=delta, n=1, N=N_sft,
                         progress=False)
    print(f"d={d}: XPO success {xpo.freq:.2f} CI=({xpo.ci[0]:.2f}, {xpo.ci[1]:.2f}) with m={xpo.m:.0f} queries; "
          f"SFT (n=1, N={N_sft}) success {sft.freq:.2f} with m={sft.m:.0f}")
    assert sft.ci[0] <= 0.9 <= sft.ci[1]  # exactly the best-of-N success probability
    assert xpo.ci[1] >= 0.9

# %% [markdown]
# XPO's query count (144 here: 8 rounds of one prompt, two responses and 16 validation samples)
# stays flat in $d$ while SFT's grows with $|Y| = 2^d$; at $d = 8$ XPO is already the cheaper of the
# two, and the gap doubles with every dimension. The catalogue figure
# `separation` (`sharpsim reproduce separation`) sweeps $d$ from 2 to 8 and searches each learner's
# smallest $m$.
#
# ## 7. Exercises (answers checked below)
#
# **E1.** A prompt has $\pi_{base}(y^*\mid x)=0.02$. What is the smallest $N$ for which best-of-$N$
# returns the mode with probability at least 0.99?
#
# **E2.** Compute $C_{cov}$ and $\bar C_{cov}=\mathbb{E}_x[1/\max_y\pi_{base}(y\mid x)]$ for the
# table of Section 1. Which is larger, and why?
#
# **E3.** For the two-level model with $|Y|=8$ and margin 0.5, for which $\beta$ does
# $\pi^*_\beta$ put exactly $0.9$ on the mode?

# %%
# E1: (1 - 0.02)^N <= 0.01  <=>  N >= ln(0.01) / ln(0.98)
N_e1 = int(np.ceil(np.log(0.01) / np.log(0.98)))
assert (1 - 0.02) ** N_e1 <= 0.01 < (1 - 0.02) ** (N_e1 - 1)
row = [[0.02] + [0.01] * 98]  # a prompt whose mode has probability 0.02
assert abs(s.argmax_mass(s.bon_law(row, N_e1), row)[0] - (1 - 0.98**N_e1)) < 1e-12
print("E1: N =", N_e1)
# E2: C_bar replaces pi(y*) = 0.9 at x2 by the single largest probability 0.3 (ties count once)
C_bar = (2 + 2.5 + 1 / 0.3) / 3
assert abs(s.adaptive_coverage(base) - C_bar) < 1e-12 and C_bar > s.coverage(base)
print(f"E2: C_cov = {s.coverage(base):.4f} < C_bar = {C_bar:.4f}")
# E3: mass = 1 / (1 + 7 (1+g)^-(1+1/beta)) = 0.9  <=>  (1+1/beta) ln 1.5 = ln 63
beta_e3 = 1.0 / (np.log(63) / np.log(1.5) - 1.0)
assert abs(s.argmax_mass(s.tilted(small, beta_e3), small)[0] - 0.9) < 1e-12
print(f"E3: beta = {beta_e3:.4f}")

# %% [markdown]
# ## 8. Many rounds: sharpen, retrain on your own outputs, repeat
#
# Self-improvement is usually run in rounds. `s.iterate(model, step, rounds)` applies a
# population step again and again. Best-of-$N$ keeps the order of the responses (a more likely
# response stays more likely, ties stay tied), and its cumulative mass below a level $v$ is
# $S_{\le}(v)^N$; so $t$ rounds of best-of-$N$ are exactly one round of best-of-$N^t$. Tilting
# $\pi \propto \pi^{\alpha}$ $t$ times is $\pi_{base}^{\alpha^t}$. Take one prompt whose mode is
# *wrong* and whose runner-up is correct:

# %%
row = [[0.45, 0.35, 0.20]]
correct = np.array([[False, True, False]])
traj = s.iterate(row, s.bon_step(2), 4)
assert np.allclose(traj[3].table(), s.bon_law(row, 2**3), atol=1e-15)  # BoN_2 three times = BoN_8
m = s.round_metrics(traj, correct=correct, ks=(4,))
for t in range(5):
    print(f"round {t}: pi_t = {traj[t].table()[0]}, pass@1 = {m['pass@1'][t]:.3f}, "
          f"pass@4 = {m['pass@4'][t]:.3f}, entropy = {m['entropy'][t]:.3f}")
assert m["pass@1"][-1] < 0.01 and (np.diff(m["pass@4"]) < 0).all()

# %% [markdown]
# In the population the correct answer simply drains away: the model converges to its own
# argmax. With finite data the rounds are random. If each round keeps $n$ best-of-$N$ responses
# and refits the table, the count vector $c$ is a Markov chain: the next counts are
# Multinomial$(n, \mathrm{BoN}_N(c/n))$. `s.count_chain` builds its transition matrix over all
# count vectors and answers questions exactly: with $N = 1$ (no selection) a response takes all
# the mass with probability equal to its initial share (the Wright-Fisher martingale); with
# $N = 2$ the correct response survives only by luck, less often when $n$ is larger.

# %%
for N in (1, 2):
    ch = s.count_chain(row[0], n=8, N=N)
    fix = ch.fixation_probabilities()
    print(f"N={N}: P[each response takes all the mass] = {fix}, E[rounds until one does] = {ch.absorption_time():.2f}")
assert np.allclose(s.count_chain(row[0], n=8, N=1).fixation_probabilities(), row[0], atol=1e-12)
lost = {n: s.count_chain(row[0], n=n, N=2).eventual_loss_probability([False, True, False]) for n in (4, 8, 16)}
print("P[correct response eventually lost] by n:", {n: round(v, 4) for n, v in lost.items()})
assert lost[4] < lost[8] < lost[16]

# %% [markdown]
# Mixing a quarter of fresh draws from the original model into every round keeps the correct
# response alive (the chain no longer has absorbing states; `stationary()` gives its long-run
# law), and `s.self_train` runs the same rounds by simulation through the counting oracle, so the
# cost of $T$ rounds is a measured number of queries. The catalogue figure `iterated`
# (`sharpsim reproduce iterated`) shows all of this on a 16-prompt task.

# %%
ch = s.count_chain(row[0], n=8, N=2, fresh=0.25)
p_lost = ch.stationary() @ (ch.states[:, 1] == 0)
print(f"with 25% fresh data: long-run P[correct response absent] = {p_lost:.3f} (vs {lost[8]:.3f} without)")
assert p_lost < lost[8]
res = s.self_train(jax.random.key(0), s.TabularLM(np.tile(row[0], (500, 1))), rounds=5, n=8, N=2)
print("queries per round:", res.queries, "-> cost of 5 rounds:", res.cost)
assert res.cost == 5 * 500 * 8 * 2

# ## 9. Sharpening versus discovery: pass@k, exactly
#
# Add a verifier to a model: a boolean table `correct[x, y]`. Sharpening never looks at it (the
# self-reward is $\log\pi_{base}$); it only scores. With $p(x)=\pi(\text{correct}\mid x)$,
# $\text{pass@}k(x) = 1-(1-p(x))^k$, and the dataset value is its $\mu$-average
# (`s.pass_at_k`, computed in log space). Take three prompts where response 0 is correct: on two
# of them it is the mode ($p = 0.6$), on the third it is not ($p = 0.3$). Best-of-4 returns the
# mode with probability $1-0.4^4$ and the minority response only when all four draws are it,
# $0.3^4$:

# %%
base3 = np.array([[0.6, 0.4], [0.6, 0.4], [0.3, 0.7]])
corr3 = np.array([[True, False], [True, False], [True, False]])
bon4 = s.bon_law(base3, 4)
ks = np.array([1, 2, 4, 16, 64])
pb, pbon = s.pass_at_k(base3, corr3, ks).dataset, s.pass_at_k(bon4, corr3, ks).dataset
assert abs(pbon[0] - (2 * (1 - 0.4**4) + 0.3**4) / 3) < 1e-12
for k, a, b in zip(ks, pb, pbon):
    print(f"pass@{k:<3d} base {a:.4f}   BoN_4 {b:.4f}")
k_star = s.passk_crossover(base3, bon4, corr3)
# the crossover equation D(k) = sum_x mu(x) [(1 - p_BoN(x))^k - (1 - p_base(x))^k] changes sign at k*
D = lambda k: (2 * (0.4**4) ** k - 2 * 0.4**k + (1 - 0.3**4) ** k - 0.7**k) / 3  # noqa: E731
assert D(k_star - 1) < 0 <= D(k_star) and abs(s.passk_gap(base3, bon4, corr3, k_star) - D(k_star)) < 1e-12
print("crossover k* =", k_star, " real root", round(s.passk_crossover(base3, bon4, corr3, root=True), 4))

# %% [markdown]
# On each prompt alone the two models never cross: pass@k is increasing in $p(x)$ for every $k$.
# The dataset crossover is a mixture effect: sharpening raised $p$ where the mode is correct and
# lowered it where it is not. Finite $N$ (and finite $\beta$) keep the support, so as
# $k\to\infty$ best-of-N catches up with the base (both reach 1); the argmax does not.
#
# Seeing the crossover from samples is another matter. The unbiased estimator
# $1-\binom{n-c}{k}/\binom{n}{k}$ from $c$ correct of $n$ samples has an exact variance
# (`s.pass_at_k_estimator_variance`), so one can ask how many samples per prompt resolve the sign
# of pass$_{base}$@k - pass$_{BoN}$@k at 95%:

# %%
need = s.passk_samples_to_resolve(base3, bon4, corr3, np.array([1, 4, 16]))
print("samples per prompt to resolve the sign at k = 1, 4, 16:", need)
assert np.all(need >= [1, 4, 16])
v = s.pass_at_k_estimator_variance(0.3, 16, 4)  # one prompt, n = 16 samples, k = 4
print(f"Var[pass@4 estimate | p = 0.3, n = 16] = {v:.5f}")

# %% [markdown]
# The model SFT-Sharpening *learns* (tabular MLE on $n$ best-of-$N$ outputs) can lose support: a
# correct response never kept gets mass 0 on that prompt. `s.sft_support` gives the expected
# pass@$\infty$ in closed form. Finally, when difficulty is heavy-tailed, $p\sim\mathrm{Beta}(a,b)$,
# $1-\text{pass@}k = B(a,b+k)/B(a,b)\sim \frac{\Gamma(a+b)}{\Gamma(b)}k^{-a}$, a power law
# (Schaeffer et al. 2025); a finite mixture of $M$ Gauss-Jacobi prompts reproduces it exactly for
# $k\le 2M-1$:

# %%
from math import gamma

sup = s.sft_support(base3, corr3, n=6, N=4)
print(f"E pass@inf of the SFT-learned model (n = 6, N = 4): {sup.pass_at_infinity:.4f} (base: {sup.base_pass_at_infinity:.0f})")
model_b, corr_b = s.beta_difficulty_task(0.5, 1.0, M=8)
kb = np.arange(1, 16)
assert np.allclose(s.pass_at_k(model_b, corr_b, kb).dataset, s.beta_difficulty_pass_at_k(0.5, 1.0, kb).pass_at_k, rtol=1e-10)
print("Beta(0.5, 1) difficulty: -log pass@k at k = 1e6 is", f"{s.beta_difficulty_pass_at_k(0.5, 1.0, 1e6).neg_log_pass:.3e}",
      "~ Gamma(1.5)/Gamma(1) k^-0.5 =", f"{gamma(1.5) * 1e6 ** -0.5:.3e}")
# The catalogue figure `passk` (`sharpsim reproduce passk`) and `sharpsim passk` on the command line do this at scale.

"""Iterated self-improvement: many rounds of sharpening, exactly and with finite samples (issue 15).

Self-improvement is run in rounds: sharpen, retrain on your own outputs, repeat. The paper
(Huang et al., arXiv 2412.01951, SPEC 5-6) analyses one round; this module makes many rounds
computable in three ways.

**Population rounds** (:func:`iterate`). A *step* maps the current model pi_t to pi_{t+1}:

* :func:`bon_step` -- the exact best-of-N law pi_{t+1} = BoN_N(pi_t) (:func:`sharpsim.bon_law`,
  self-reward log pi_t, uniform tie-breaking, SPEC 9 item 1);
* :func:`sft_step` -- the population limit of SFT-Sharpening (SPEC 5.1). With a realizable
  tabular class and infinite data the maximum-likelihood fit of the best-of-N data *is* its law,
  so the step returns BoN_N(pi_t) itself (the same numbers as :func:`bon_step`; kept as its own
  name so that a trajectory says which algorithm it models);
* :func:`tilt_step` -- the KL-regularised optimum pi*_beta proportional to pi_t^alpha,
  alpha = 1 + 1/beta (:func:`sharpsim.tilted`, SPEC 6.1);
* :func:`temperature_step` -- pi_t^(1/tau) normalised (tilting with alpha is temperature 1/alpha).

Closed forms (tested in ``tests/test_iterate.py``): tilting t times gives p^(alpha^t) normalised.
BoN_N preserves the order of the responses by probability, strictly, keeps ties tied and keeps
the support: with levels v_1 < ... < v_L of p (multiplicities m_j) and S_j = sum_{i<=j} m_i v_i,
BoN_N puts q_j = (S_j^N - S_{j-1}^N) / m_j on each response of level j, and by the mean-value
theorem q_j = N xi_j^(N-1) v_j with S_{j-1} < xi_j < S_j, increasing in j. The cumulative mass
of BoN_N(p) at level j is S_j^N, so BoN_M(BoN_N(p)) has cumulative S_j^(NM):

    BoN_N applied t times  =  BoN_{N^t}    (ties included; :func:`iterated_bon_law`).

Because every population step keeps the order, the current self-reward log pi_t and the base
reward log pi_0 select the same way in the population (``reward="base"`` = ``"current"``);
they differ only with finite samples.

**Finite-sample rounds** (:func:`self_train`). Each round draws from the *current* model
through a counting :class:`sharpsim.oracle.Oracle`, keeps the best of N by a self-reward,
refits by tabular maximum likelihood (counts / n per prompt, optional additive smoothing),
optionally mixing a fraction lambda (``fresh``) of plain draws from the original base, and
continues from the fit. Queries are counted per round, so the cost of T rounds is measured.

**Exact finite-sample chains** (:func:`count_chain`). For one prompt, the kept-response count
vector c (sum n) defines the next model c/n, and the next round's kept responses are n i.i.d.
draws from BoN_N(c/n): the count vector is a Markov chain on the compositions of n into |Y|
parts with transition

    c'  ~  Multinomial(n - n_f, BoN_N(c/n))  +  Multinomial(n_f, pi_0),    n_f = round(lambda n).

With N = 1 and no fresh data or smoothing this is the neutral Wright-Fisher model: c_t is a
martingale, every composition n e_y is absorbing and y fixes with probability c_y(0) / n
(Ewens, *Mathematical Population Genetics*, 2004, ch. 1.4); with N > 1 the BoN selection drives
the mass to the argmax. :class:`CountChain` gives the law after t rounds, the probability that
every correct response is lost, fixation probabilities and the expected absorption time through
the fundamental matrix (I - Q)^-1 (Kemeny and Snell, *Finite Markov Chains*, 1960, ch. 3).
Related: self-training collapse, arXiv 2502.18049; self-rewarding rounds, arXiv 2601.22513.

Import note: the package exports the *function* ``sharpsim.iterate``, which shadows this module's
attribute on the package (``import sharpsim.iterate as m`` gives the function). Use
``from sharpsim.iterate import ...``, the top-level names (``sharpsim.count_chain``, ...) or the
module alias ``sharpsim.iteration``.

Why one file of ~800 lines: the three views of the same process (population rounds, finite-sample
rounds through the oracle, the exact count chain that the finite-sample rounds are checked
against) share the step definitions and the per-round metrics; keeping them together lets a
reader check one against the other in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import jax
import numpy as np
from scipy.special import gammaln

from ._validate import check_int, check_positive, check_real, log_table_of, mu_of
from .models import TabularLM
from .oracle import Oracle, capacity
from .quantities import argmax_mass, argmax_set, bon_law, tilted

__all__ = [
    "Step",
    "bon_step",
    "sft_step",
    "tilt_step",
    "temperature_step",
    "iterate",
    "iterated_bon_law",
    "round_metrics",
    "reward_bon_law",
    "SelfTrainResult",
    "self_train",
    "compositions",
    "CountChain",
    "count_chain",
    "n_fresh",
]

REWARDS = ("current", "base")


def _check_reward(reward):
    if reward not in REWARDS:
        raise ValueError(f"reward must be one of {REWARDS}, got {reward!r}")
    return reward


def _check_fraction(value, name):
    v = check_real(value, name)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {v!r}")
    return v


def n_fresh(fresh: float, n: int) -> int:
    """Number of fresh base draws per round and prompt: n_f = floor(fresh n + 1/2) (halves round up)."""
    fresh = _check_fraction(fresh, "fresh")
    n = check_int(n, "n", minimum=0)
    return int(math.floor(fresh * n + 0.5))


def _check_smoothing(value):
    v = check_real(value, "smoothing")
    if not (v >= 0.0 and math.isfinite(v)):
        raise ValueError(f"smoothing must be a finite number >= 0, got {v!r}")
    return v


def _normalise_log(lt):
    """Rows of a log table [X, Y] shifted to log-sum-exp 0 (-inf entries stay -inf)."""
    mx = lt.max(axis=1, keepdims=True)
    with np.errstate(under="ignore"):
        lse = mx + np.log(np.exp(lt - mx).sum(axis=1, keepdims=True))
    return lt - lse


# --------------------------------------------------------------------------- population steps


@dataclass(frozen=True)
class Step:
    """One population round pi_t -> pi_{t+1} (build with :func:`bon_step`, :func:`sft_step`,
    :func:`tilt_step`, :func:`temperature_step`).

    kind: "bon" | "sft" | "tilt" | "temperature"; N: responses per prompt (bon, sft);
    alpha: power (tilt: alpha = 1 + 1/beta; temperature: alpha = 1/tau); reward: "current"
    (self-reward log pi_t) or "base" (log pi_0) for bon.
    """

    kind: str
    N: int | None = None
    alpha: float | None = None
    reward: str = "current"
    label: str = ""

    def __call__(self, log_table: np.ndarray, base_log_table: np.ndarray | None = None) -> np.ndarray:
        """log pi_{t+1} [X, Y] from log pi_t [X, Y] (and log pi_0 for reward="base")."""
        lt = np.asarray(log_table, dtype=np.float64)
        if self.kind in ("bon", "sft"):
            if self.reward == "base":
                if base_log_table is None:
                    raise ValueError("a reward='base' step needs the base log table")
                law = reward_bon_law(np.exp(lt), base_log_table, self.N)
            else:
                law = bon_law(TabularLM.from_log_probs(lt), self.N)
            with np.errstate(divide="ignore"):
                return np.log(law)
        if self.kind == "tilt":  # sharpsim.tilted: pi*_beta proportional to p^(1 + 1/beta)
            with np.errstate(divide="ignore"):
                return np.log(tilted(TabularLM.from_log_probs(lt), 1.0 / (self.alpha - 1.0)))
        # temperature: p^alpha normalised, in log space (zeros stay zeros)
        z = np.where(np.isneginf(lt), -np.inf, self.alpha * lt)
        return _normalise_log(z)


def bon_step(N: int, reward: str = "current") -> Step:
    """Best-of-N step: pi_{t+1} = BoN_N(pi_t), the exact law of :func:`sharpsim.bon_law`.

    pi_{t+1}(y|x) = (S_<=(v)^N - S_<(v)^N) / |{p = v}| at v = pi_t(y|x), S_<=(v) = sum_{pi_t <= v}
    pi_t (SPEC 9 item 1, F1). reward="base" keeps the best of N draws from pi_t by log pi_0
    (:func:`reward_bon_law`); in the population both rewards give the same trajectory.
    """
    N = check_int(N, "N")
    return Step("bon", N=N, reward=_check_reward(reward), label=f"BoN_{N}")


def sft_step(N: int) -> Step:
    """Population limit of SFT-Sharpening (SPEC 5.1): with a realizable tabular class and
    infinitely many prompts, the maximum-likelihood fit of the best-of-N data is the data's
    law, so pi_{t+1} = BoN_N(pi_t) -- the same numbers as :func:`bon_step` (N queries per
    prompt and round are what the finite version pays for it)."""
    N = check_int(N, "N")
    return Step("sft", N=N, label=f"SFT_{N} (population)")


def tilt_step(beta: float | None = None, alpha: float | None = None) -> Step:
    """KL-regularised optimum pi*_beta proportional to pi_t^(1 + 1/beta) (SPEC 6.1, F13).

    Give ``beta`` > 0 or the power ``alpha`` > 1 (alpha = 1 + 1/beta), not both. Tilting t
    times gives pi_0^(alpha^t) normalised."""
    if (beta is None) == (alpha is None):
        raise ValueError("give exactly one of beta (> 0) and alpha (> 1)")
    if beta is not None:
        beta = check_positive(beta, "beta")
        alpha = 1.0 + 1.0 / beta
    else:
        alpha = check_real(alpha, "alpha")
        if not (alpha > 1.0 and math.isfinite(alpha)):
            raise ValueError(f"alpha must be a finite number > 1 (alpha = 1 + 1/beta), got {alpha!r}")
    return Step("tilt", alpha=float(alpha), label=f"tilt alpha={alpha:g}")


def temperature_step(tau: float) -> Step:
    """Temperature: pi_{t+1} proportional to pi_t^(1/tau) (tau < 1 sharpens; tau = beta/(1+beta)
    is the tilt of :func:`tilt_step`). t rounds give pi_0^(tau^-t) normalised."""
    tau = check_positive(tau, "tau")
    if not math.isfinite(tau):
        raise ValueError("tau must be finite")
    return Step("temperature", alpha=1.0 / tau, label=f"temperature tau={tau:g}")


def iterate(model, step, rounds: int, mu=None) -> list[TabularLM]:
    """Population rounds: [pi_0, pi_1, ..., pi_rounds] with pi_{t+1} = step(pi_t).

    Args:
      model: the base pi_0, an [X, Y] table or any sharpsim model (its exact log table is used).
      step: a :class:`Step`, or any callable mapping an [X, Y] log table to an [X, Y] log table.
      rounds: integer >= 0.
      mu: [X] prompt weights (None: the model's own, else uniform), carried by every model.
    Returns:
      rounds + 1 :class:`sharpsim.TabularLM` (round 0 is pi_0 as a table).

    Masses below the float64 range (about 1e-308) become 0: BoN_N for t rounds puts
    p_min^(N^t) on the least likely response.

    >>> [m.table()[0].round(4).tolist() for m in iterate([[0.5, 0.3, 0.2]], tilt_step(alpha=2.0), 2)]
    [[0.5, 0.3, 0.2], [0.6579, 0.2368, 0.1053], [0.8657, 0.1122, 0.0222]]
    """
    rounds = check_int(rounds, "rounds", minimum=0)
    if not callable(step):
        raise TypeError(f"step must be a Step or a callable on log tables, got {type(step).__name__}")
    lt0 = log_table_of(model, "model")
    m = mu_of(mu, model, lt0.shape[0])
    out = [TabularLM.from_log_probs(lt0, m)]
    lt = lt0
    for _ in range(rounds):
        lt = step(lt, lt0) if isinstance(step, Step) else step(lt)
        lt = np.asarray(lt, dtype=np.float64)
        if lt.shape != lt0.shape:
            raise ValueError(f"step returned shape {lt.shape}, expected {lt0.shape}")
        out.append(TabularLM.from_log_probs(lt, m))
    return out


def iterated_bon_law(base, N: int, rounds: int) -> np.ndarray:
    """The law after ``rounds`` rounds of BoN_N (self-reward): BoN_{N^rounds}(pi_0), [X, Y].

    Per response of level v: (S_<=(v)^(N^t) - S_<(v)^(N^t)) / |{p = v}| (module docstring: BoN
    preserves the order, the ties and the support, and its cumulative at level v is S_<=(v)^N).

    >>> iterated_bon_law([[0.5, 0.25, 0.25]], 2, 2).tolist()  # S^4: 1 - 0.5^4, 0.5^4 / 2
    [[0.9375, 0.03125, 0.03125]]
    """
    N = check_int(N, "N")
    rounds = check_int(rounds, "rounds", minimum=0)
    if rounds == 0:
        return np.exp(log_table_of(base, "base"))
    return bon_law(base, N**rounds)


# --------------------------------------------------------------------------- per-round metrics


def _pass_at_k(acc, k):
    """pass@k of a sampled response, 1 - (1 - acc)^k, in log space: -expm1(k log1p(-acc)).

    The exact per-prompt formula of ``sharpsim.pass_at_k`` (k i.i.d. draws, at least one correct)."""
    with np.errstate(divide="ignore"):
        return np.where(acc >= 1.0, 1.0, -np.expm1(k * np.log1p(-np.minimum(acc, 1.0))))


def round_metrics(models, correct=None, ks=(), base=None, mu=None, per_prompt=False) -> dict:
    """Exact per-round quantities of a trajectory [pi_0, ..., pi_T].

    With y^t(x) the argmax set of pi_t (its own mode), y*(x) the argmax set of ``base``
    (default pi_0) and mu the prompt weights:

    * ``coverage``  C_cov(pi_t) = E_mu[ 1 / pi_t(y^t(x)|x) ]  (SPEC 3.1; 1 = deterministic);
    * ``entropy``   E_mu[ -sum_y pi_t log pi_t ] in nats;
    * ``mode_mass`` E_mu[ pi_t(y*(x)|x) ]  (mass on the base's argmax set, the sharpening target);
    * ``margin``    min over supp(mu) of max pi_t / (largest pi_t outside y^t(x)) - 1
      (SPEC 3.6; inf when y^t(x) holds all the mass);
    * ``support``   E_mu |supp pi_t(.|x)|  (diversity);

    and, with a verifier ``correct`` (bool [X, Y]):

    * ``pass@1``    E_mu[ pi_t(correct|x) ]  (accuracy of one sampled response);
    * ``accuracy``  E_mu[ |y^t(x) & correct| / |y^t(x)| ]  (greedy decoding, uniform tie-break);
    * ``pass@k``    E_mu[ 1 - (1 - pi_t(correct|x))^k ] for each k in ``ks``.

    Args:
      models: sequence of tables or models of one shape [X, Y] (e.g. from :func:`iterate`).
      correct: bool [X, Y] or None. ks: integers >= 1. base: table/model or None (pi_0).
      mu: [X] or None (the first model's own, else uniform).
      per_prompt: True returns [T+1, X] arrays (margin per prompt) instead of mu-averages [T+1].
    Returns:
      dict name -> float array.
    """
    models = list(models)
    if not models:
        raise ValueError("models must hold at least one model")
    lts = [log_table_of(m, f"models[{i}]") for i, m in enumerate(models)]
    X, Y = lts[0].shape
    for i, lt in enumerate(lts):
        if lt.shape != (X, Y):
            raise ValueError(f"models[{i}] has shape {lt.shape} but models[0] has {(X, Y)} (shape mismatch)")
    base = models[0] if base is None else base
    lb = log_table_of(base, "base")
    if lb.shape != (X, Y):
        raise ValueError(f"base has shape {lb.shape} but the models have {(X, Y)} (shape mismatch)")
    m = mu_of(mu, models[0], X)
    ks = tuple(check_int(k, "k") for k in ks)
    if correct is not None:
        correct = np.asarray(correct)
        if correct.shape != (X, Y):
            raise ValueError(f"correct must be a bool [X, Y] = {(X, Y)} table, got shape {correct.shape}")
        if correct.dtype != bool:
            if not np.isin(correct, (0, 1)).all():
                raise ValueError("correct must hold booleans (or 0/1)")
            correct = correct.astype(bool)
    elif ks:
        raise ValueError("pass@k needs a verifier: pass correct=bool [X, Y]")
    star0 = argmax_set(base)
    names = ["coverage", "entropy", "mode_mass", "margin", "support"]
    if correct is not None:
        names += ["pass@1", "accuracy"] + [f"pass@{k}" for k in ks if k != 1]
    out = {k: [] for k in names}
    for lt in lts:
        p = np.exp(lt)
        tm = TabularLM.from_log_probs(lt, m)
        own = argmax_set(tm)
        own_mass = argmax_mass(tm, tm)
        per = {
            "coverage": 1.0 / own_mass,
            "entropy": -np.sum(np.where(p > 0, p * np.where(p > 0, lt, 0.0), 0.0), axis=1),
            "mode_mass": np.sum(np.where(star0, p, 0.0), axis=1),
            "support": np.sum(p > 0, axis=1).astype(np.float64),
        }
        top = p.max(axis=1)
        outside = np.where(own, -1.0, p).max(axis=1)
        with np.errstate(divide="ignore"):
            per["margin"] = np.where(outside > 0, top / np.where(outside > 0, outside, 1.0) - 1.0, np.inf)
        if correct is not None:
            acc = np.minimum(np.sum(np.where(correct, p, 0.0), axis=1), 1.0)
            per["pass@1"] = acc
            per["accuracy"] = np.sum(own & correct, axis=1) / np.sum(own, axis=1)
            for k in ks:
                if k != 1:
                    per[f"pass@{k}"] = _pass_at_k(acc, k)
        for k in names:
            v = per[k]
            if per_prompt:
                out[k].append(v)
            elif k == "margin":
                out[k].append(float(np.min(v[m > 0])))
            else:
                out[k].append(float(np.sum(np.where(m > 0, m * np.where(m > 0, v, 0.0), 0.0))))
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


# --------------------------------------------------------------------------- best-of-N under a fixed reward


def reward_bon_law(policy, reward, N: int) -> np.ndarray:
    """Law of best-of-N drawing from ``policy`` and keeping the highest ``reward`` (uniform tie-break).

    With levels of the reward r(x, .) (exact equality of values) and Q_<=(v) = sum_{r <= v}
    policy, Q_<(v) = sum_{r < v} policy, the kept response lies in the level {r = v} with
    probability Q_<=(v)^N - Q_<(v)^N; given the level, the uniform pick among the draws at that
    level is y with probability policy(y) / policy({r = v}) (each such draw is y with that
    probability, independently of the others). So

        law(y|x) = (Q_<=(v)^N - Q_<(v)^N) policy(y|x) / policy({r = v}|x),    v = r(x, y).

    With reward = log policy this is :func:`sharpsim.bon_law` (up to its TIE_RTOL tie groups).

    Args:
      policy: [X, Y] table or model (the sampler); reward: float [X, Y] (``-inf`` allowed, NaN not);
      N: integer >= 1.
    Returns:
      float [X, Y], rows sum to 1.

    >>> reward_bon_law([[0.5, 0.25, 0.25]], [[0.0, 1.0, 1.0]], 2).tolist()  # 1 - 0.5^2 split 1:1
    [[0.25, 0.375, 0.375]]
    """
    N = check_int(N, "N")
    q = np.exp(log_table_of(policy, "policy"))
    r = np.asarray(reward, dtype=np.float64)
    if r.shape != q.shape:
        raise ValueError(f"reward has shape {r.shape} but policy has shape {q.shape} (shape mismatch)")
    if np.isnan(r).any():
        raise ValueError("reward contains NaN")
    out = np.zeros_like(q)
    for x in range(q.shape[0]):
        levels, inv = np.unique(r[x], return_inverse=True)  # ascending
        L = len(levels)
        lq = np.bincount(inv, weights=q[x], minlength=L)  # policy mass per level
        total = lq.sum()
        below = np.concatenate([[0.0], np.cumsum(lq)])  # Q_< at level j = below[j]
        above = np.concatenate([np.cumsum(lq[::-1])[::-1], [0.0]])  # mass at or above level j = above[j]
        with np.errstate(divide="ignore"):
            # log Q_<= (level j) and log Q_< from the tail that avoids cancellation
            le = np.where(above[1:] / total < 0.5, np.log1p(-np.minimum(above[1:] / total, 1.0)),
                          np.log(below[1:] / total))
            lt_ = np.where(above[:-1] / total < 0.5, np.log1p(-np.minimum(above[:-1] / total, 1.0)),
                           np.log(below[:-1] / total))
            a, b = N * le, N * lt_
            safe_a = np.where(np.isneginf(a), 0.0, a)
            level = np.where(np.isneginf(a), 0.0, np.exp(a) * -np.expm1(np.minimum(b - safe_a, 0.0)))
        share = np.where(lq[inv] > 0, q[x] / np.where(lq[inv] > 0, lq[inv], 1.0), 0.0)
        out[x] = level[inv] * share
    return out


# --------------------------------------------------------------------------- finite-sample rounds


@dataclass
class SelfTrainResult:
    """Trajectory of :func:`self_train`.

    models: rounds + 1 :class:`sharpsim.TabularLM` (round 0 = pi_0); counts: int [T, X, Y] the
    training counts of each round (kept + fresh); queries: int [T] sample-and-evaluate queries to
    the *current* model (the best-of-N draws, N per kept response); fresh_queries: int [T] draws
    from the original base; reward_queries: int [T] evaluations of log pi_0 at responses drawn
    from pi_t (reward="base" only: the extended access of footnote 7, decision D7); prompts: int [T]
    prompts drawn from mu (prompts="mu" only).
    """

    models: list
    counts: np.ndarray
    queries: np.ndarray
    fresh_queries: np.ndarray
    reward_queries: np.ndarray
    prompts: np.ndarray
    config: dict = field(default_factory=dict)

    @property
    def total_queries(self) -> np.ndarray:
        """All oracle calls per round, int [T]: queries + fresh_queries + reward_queries."""
        return self.queries + self.fresh_queries + self.reward_queries

    @property
    def cost(self) -> int:
        """The measured cost of all rounds: sum of :attr:`total_queries`."""
        return int(self.total_queries.sum())

    def metrics(self, correct=None, ks=(), per_prompt=False) -> dict:
        """:func:`round_metrics` of the trajectory (base = pi_0)."""
        return round_metrics(self.models, correct=correct, ks=ks, per_prompt=per_prompt)


def _select_by_reward(key, scores):
    """Index of the highest score per row of scores [B, N], uniform among exact ties."""
    u = np.asarray(jax.random.uniform(key, scores.shape, dtype=np.float64))
    best = scores.max(axis=1, keepdims=True)
    return np.argmax(np.where(scores == best, u, -1.0), axis=1)


def _prompt_batches(X, k, block=8):
    """Batches of prompt indices giving each of 0..X-1 exactly k times: k // block batches of
    int32 [X block] and k % block batches of int32 [X]."""
    every = np.arange(X, dtype=np.int32)
    big = np.repeat(every, block)
    return [big] * (k // block) + [every] * (k % block)


def self_train(key, model, rounds: int, n: int, N: int, reward: str = "current", fresh: float = 0.0,
               smoothing: float = 0.0, prompts: str = "each", shortcut: bool = True, mu=None) -> SelfTrainResult:
    """Finite-sample self-training: ``rounds`` rounds of best-of-N, refit by tabular MLE, repeat.

    Round t (current model pi_t, pi_0 the base): with n_f = floor(fresh n + 1/2) and n_s = n - n_f,

    1. draw n_s prompts' best-of-N data from pi_t through a counting :class:`sharpsim.oracle.Oracle`
       built on pi_t: N responses y_1..y_N ~ pi_t(.|x), keep argmax_j r(x, y_j), uniform tie-break,
       where r = log pi_t (``reward="current"``, the self-reward of the current model) or
       r = log pi_0 (``reward="base"``: the original base scores the draws, through its oracle's
       extended access, counted in ``reward_queries``);
    2. draw n_f plain responses from pi_0 (fresh data; ``fresh_queries``);
    3. refit: pi_{t+1}(y|x) = (c(x, y) + s) / (c(x) + |Y| s) with c the counts of step 1 + 2 and
       s = ``smoothing`` (s = 0: the tabular MLE); a prompt with no data keeps its row pi_t(.|x).

    ``prompts="each"``: every prompt gets n examples per round (each prompt follows the exact
    chain of :func:`count_chain`; identical rows are independent replicates). ``prompts="mu"``:
    n prompts x ~ mu per round (the n prompts of SFT-Sharpening, SPEC 5.1).
    ``shortcut`` (reward="current"): draw each best-of-N outcome from its exact law, charging N
    queries (same law as the literal draws, tested in tests/test_oracle.py).

    Args:
      key: jax key (round t uses fold_in(key, t)). model: pi_0, table or model [X, Y].
      rounds: integer >= 0; n, N: integers >= 1. fresh: lambda in [0, 1]. smoothing: >= 0. mu: [X] or None.
    Returns:
      :class:`SelfTrainResult` (models per round, counts, per-round query counts).
    """
    rounds = check_int(rounds, "rounds", minimum=0)
    n, N = check_int(n, "n"), check_int(N, "N")
    reward = _check_reward(reward)
    fresh = _check_fraction(fresh, "fresh")
    smoothing = _check_smoothing(smoothing)
    if prompts not in ("each", "mu"):
        raise ValueError(f"prompts must be 'each' or 'mu', got {prompts!r}")
    if not isinstance(shortcut, (bool, np.bool_)):
        raise TypeError(f"shortcut must be a bool, got {type(shortcut).__name__}")
    lt0 = log_table_of(model, "model")
    X, Y = lt0.shape
    m = mu_of(mu, model, X)
    base_model = TabularLM.from_log_probs(lt0, m)
    base_oracle = Oracle(base_model)
    n_f = n_fresh(fresh, n)
    n_s = n - n_f
    models = [base_model]
    lt = lt0
    C, Q, F, E, P = [], [], [], [], []
    for t in range(rounds):
        k_sel, k_fresh, k_tie, k_px, k_pf = jax.random.split(jax.random.fold_in(key, t), 5)
        cur = Oracle(TabularLM.from_log_probs(lt, m))
        e0, f0, p0 = base_oracle.extended_queries, base_oracle.queries, base_oracle.prompts
        counts = np.zeros((X, Y), dtype=np.int64)
        if prompts == "each":
            # batches of every prompt repeated 8 times, then once: two batch shapes (8X and X) for
            # every n, so the oracle's jitted cores compile twice only (same law as one big batch)
            sel = [(jax.random.fold_in(k_sel, i), jax.random.fold_in(k_tie, i), b)
                   for i, b in enumerate(_prompt_batches(X, n_s))]
            fr = [(jax.random.fold_in(k_fresh, i), b) for i, b in enumerate(_prompt_batches(X, n_f))]
        else:
            xs = cur.sample_prompts(k_px, n_s).astype(np.int32) if n_s else np.zeros(0, np.int32)
            xf = base_oracle.sample_prompts(k_pf, n_f).astype(np.int32) if n_f else np.zeros(0, np.int32)
            sel = [(k_sel, k_tie, xs)] if len(xs) else []
            fr = [(k_fresh, xf)] if len(xf) else []
        for ks, kt, xs in sel:
            if reward == "current":
                ys, _ = cur.best_of_n(ks, xs, N, shortcut=bool(shortcut))
            else:
                draws, _ = cur.sample(ks, xs, num=N)  # [B, N], N queries per prompt
                sc = base_oracle.evaluate(np.repeat(xs, N), draws.reshape(-1)).reshape(draws.shape)
                ys = draws[np.arange(len(xs)), _select_by_reward(kt, sc)]
            np.add.at(counts, (xs, np.asarray(ys)), 1)
        for kf, xf in fr:
            yf, _ = base_oracle.sample(kf, xf, num=1)
            np.add.at(counts, (xf, yf[:, 0]), 1)
        tot = counts.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore"):
            fit = np.log((counts + smoothing) / np.where(tot > 0, tot + Y * smoothing, 1.0))
        lt = np.where(tot > 0, fit, lt)
        models.append(TabularLM.from_log_probs(lt, m))
        C.append(counts)
        Q.append(cur.queries)
        F.append(base_oracle.queries - f0)
        E.append(base_oracle.extended_queries - e0)
        P.append(cur.prompts + base_oracle.prompts - p0)
    shape = (0, X, Y)
    return SelfTrainResult(models, np.asarray(C, dtype=np.int64).reshape(-1, X, Y) if C else np.zeros(shape, np.int64),
                           np.asarray(Q, dtype=np.int64), np.asarray(F, dtype=np.int64),
                           np.asarray(E, dtype=np.int64), np.asarray(P, dtype=np.int64),
                           dict(n=n, N=N, reward=reward, fresh=fresh, n_fresh=n_f, smoothing=smoothing,
                                prompts=prompts, shortcut=bool(shortcut)))


# --------------------------------------------------------------------------- exact chains


def compositions(n: int, Y: int) -> np.ndarray:
    """All count vectors c in N^Y with sum n, int [C(n+Y-1, Y-1), Y], in lexicographic order.

    >>> compositions(2, 2).tolist()
    [[0, 2], [1, 1], [2, 0]]
    """
    n = check_int(n, "n", minimum=0)
    Y = check_int(Y, "Y")
    if Y == 1:
        return np.array([[n]], dtype=np.int64)
    rows = []
    for first in range(n + 1):
        rest = compositions(n - first, Y - 1)
        rows.append(np.concatenate([np.full((len(rest), 1), first, dtype=np.int64), rest], axis=1))
    return np.concatenate(rows, axis=0)


def _multinomial_pmf(states, probs):
    """pmf of Multinomial(sum(states[0]), probs[r]) at every state: [R, S] from probs [R, Y]."""
    k = int(states[0].sum())
    const = gammaln(k + 1) - gammaln(states + 1).sum(axis=1)  # [S]
    with np.errstate(divide="ignore"):
        # log 0 -> -1e300: a positive count on a zero-probability response gives exp(<= -1e300) = 0,
        # a zero count gives 0 * -1e300 = 0 (the 0 log 0 = 0 convention), without NaN
        lp = np.where(probs > 0, np.log(probs), -1e300)  # [R, Y]
    logpmf = const[None, :] + lp @ states.T.astype(np.float64)  # [R, S]
    return np.exp(logpmf)


class CountChain:
    """The exact Markov chain of one prompt's kept-response counts (built by :func:`count_chain`).

    Attributes:
      states: int [S, Y] the compositions of n (row s is the count vector c);
      P: float [S, S] transition matrix, P[s, s'] = P[c_{t+1} = states[s'] | c_t = states[s]];
      base: float [Y] pi_0(.|x); n, N, fresh (lambda), n_fresh, smoothing, reward;
      absorbing: bool [S] (the monomorphic states n e_y when fresh = 0 and smoothing = 0; none otherwise).
    """

    def __init__(self, states, P, base, n, N, fresh, n_fresh, smoothing, reward, model_fn, law_fn):
        self.states, self.P, self.base = states, P, base
        self.n, self.N, self.fresh, self.n_fresh, self.smoothing, self.reward = n, N, fresh, n_fresh, smoothing, reward
        self._model_fn, self._law_fn = model_fn, law_fn
        self._fund = None
        self._code = {tuple(int(v) for v in c): i for i, c in enumerate(states)}
        if n_fresh == 0 and smoothing == 0.0:
            self.absorbing = (states == n).any(axis=1)
        else:
            self.absorbing = np.zeros(len(states), dtype=bool)

    @property
    def S(self) -> int:
        return int(self.states.shape[0])

    @property
    def Y(self) -> int:
        return int(self.states.shape[1])

    def index(self, counts) -> int:
        """Row of the count vector ``counts`` (int [Y], sum n) in :attr:`states`."""
        c = tuple(int(v) for v in np.asarray(counts).ravel())
        if c not in self._code:
            raise ValueError(f"counts must be {self.Y} non-negative integers summing to n = {self.n}, got {list(c)}")
        return self._code[c]

    def model(self, counts) -> np.ndarray:
        """The refitted model of a count vector: (c + s) / (n + |Y| s), float [Y]."""
        return self._model_fn(np.asarray(counts, dtype=np.float64)[None, :])[0]

    def law_from_model(self, model_row) -> np.ndarray:
        """Law [S] of the next count vector when the current model is ``model_row`` [Y] (any
        distribution, e.g. the base pi_0 at round 0)."""
        q = np.asarray(model_row, dtype=np.float64)
        if q.shape != (self.Y,) or (q < 0).any() or abs(q.sum() - 1.0) > 1e-9:
            raise ValueError(f"model_row must be a distribution over {self.Y} responses")
        return self._law_fn(q[None, :])[0]

    def _start(self, start):
        """Law of c_1 [S]: from pi_0 (start=None) or from the count vector ``start`` (its c_0)."""
        if start is None:
            return self.law_from_model(self.base)
        return self.P[self.index(start)]

    def laws(self, rounds: int, start=None) -> np.ndarray:
        """Exact laws of c_1, ..., c_rounds: float [rounds, S].

        start=None: round 0 is the base pi_0 (c_1 ~ the chain's step from pi_0); else the count
        vector c_0 (c_1 ~ P[c_0])."""
        rounds = check_int(rounds, "rounds")
        d = self._start(start)
        out = [d]
        for _ in range(rounds - 1):
            d = d @ self.P
            out.append(d)
        return np.asarray(out)

    def _lost_states(self, correct):
        correct = np.asarray(correct, dtype=bool).ravel()
        if correct.shape != (self.Y,):
            raise ValueError(f"correct must be a bool [Y] = [{self.Y}] mask")
        return self.states[:, correct].sum(axis=1) == 0

    def lost_probability(self, rounds: int, correct, start=None) -> np.ndarray:
        """P[every correct response has count 0 after round t], t = 1..rounds: float [rounds].

        Without fresh data and smoothing a response with count 0 has mass 0 from then on, so the
        event is absorbing and the curve is non-decreasing (the collapse probability)."""
        return self.laws(rounds, start) @ self._lost_states(correct).astype(np.float64)

    def _fundamental(self):
        if not self.absorbing.any():
            raise ValueError("the chain has no absorbing state (fresh > 0 or smoothing > 0): "
                             "use stationary() for the long-run law")
        if self._fund is None:
            tr = ~self.absorbing
            Q = self.P[np.ix_(tr, tr)]
            R = self.P[np.ix_(tr, self.absorbing)]
            # one solve for both: (I - Q)^-1 [1, R] -> expected steps to absorption, absorption probabilities
            sol = np.linalg.solve(np.eye(Q.shape[0]) - Q, np.concatenate([np.ones((Q.shape[0], 1)), R], axis=1))
            self._fund = (tr, sol[:, 0], sol[:, 1:])
        return self._fund

    def absorption_time(self, start=None) -> float:
        """E[tau], tau = the first round whose counts are absorbing (fixation / collapse to one
        response): (I - Q)^-1 1 from the fundamental matrix. start=None counts from pi_0 (round 0)."""
        tr, t, _ = self._fundamental()
        full = np.zeros(self.S)
        full[tr] = t
        if start is None:
            return float(1.0 + self.law_from_model(self.base) @ full)
        return float(full[self.index(start)])

    def fixation_probabilities(self, start=None) -> np.ndarray:
        """P[response y eventually holds all n counts], float [Y]: (I - Q)^-1 R (sum 1)."""
        tr, _, B = self._fundamental()
        full = np.zeros((self.S, int(self.absorbing.sum())))
        full[tr] = B
        full[self.absorbing] = np.eye(int(self.absorbing.sum()))
        d = self._start(start) if start is None else np.eye(self.S)[self.index(start)]
        per_state = d @ full
        winners = self.states[self.absorbing].argmax(axis=1)
        out = np.zeros(self.Y)
        np.add.at(out, winners, per_state)
        return out

    def eventual_loss_probability(self, correct, start=None) -> float:
        """P[every correct response is eventually lost] = sum of the fixation probabilities of the
        incorrect responses (absorbing chains only)."""
        correct = np.asarray(correct, dtype=bool).ravel()
        if correct.shape != (self.Y,):
            raise ValueError(f"correct must be a bool [Y] = [{self.Y}] mask")
        return float(self.fixation_probabilities(start)[~correct].sum())

    def stationary(self) -> np.ndarray:
        """A stationary law [S]: pi P = pi, sum pi = 1 (one balance equation replaced by the
        normalisation, then a direct solve). Unique when the chain is irreducible (fresh > 0 with
        pi_0 of full support, or smoothing > 0); raises ValueError when the system is singular
        (e.g. an absorbing chain)."""
        A = self.P.T - np.eye(self.S)
        A[-1, :] = 1.0
        b = np.zeros(self.S)
        b[-1] = 1.0
        try:
            pi = np.linalg.solve(A, b)
        except np.linalg.LinAlgError:
            raise ValueError("the chain has no unique stationary law (absorbing or reducible)") from None
        if not np.isfinite(pi).all() or (pi < -1e-6 * np.abs(pi).max()).any():
            raise ValueError("the chain has no unique stationary law (absorbing or reducible)")
        pi = np.clip(pi, 0.0, None)
        return pi / pi.sum()

    def __repr__(self) -> str:
        return (f"CountChain(Y={self.Y}, n={self.n}, N={self.N}, fresh={self.fresh}, smoothing={self.smoothing}, "
                f"reward={self.reward!r}, S={self.S})")


MAX_CHAIN_STATES = 5000
"""Largest number of count vectors C(n+|Y|-1, |Y|-1) :func:`count_chain` builds (dense S x S)."""


def count_chain(base, n: int, N: int, fresh: float = 0.0, smoothing: float = 0.0,
                reward: str = "current") -> CountChain:
    """The exact round-to-round chain of one prompt's kept-response counts (module docstring).

    States are the count vectors c (sum n); the model after a round is (c + s) / (n + |Y| s);
    the next counts are

        c' ~ Multinomial(n - n_f, BoN_N(model)) + Multinomial(n_f, pi_0),    n_f = floor(fresh n + 1/2),

    where BoN_N(model) is :func:`sharpsim.bon_law` (reward="current", the self-reward of the
    current model) or :func:`reward_bon_law` with reward log pi_0 (reward="base"). This is the
    law of :func:`self_train` on one prompt (prompts="each"), for every round after the first; the
    first round draws from pi_0 itself (:meth:`CountChain.laws` with start=None).

    Args:
      base: pi_0(.|x), float [Y] (or a [1, Y] table / one-prompt model); n, N: integers >= 1;
      fresh in [0, 1]; smoothing >= 0; reward: "current" | "base".
    Returns:
      :class:`CountChain` with at most :data:`MAX_CHAIN_STATES` states.
    """
    n, N = check_int(n, "n"), check_int(N, "N")
    fresh = _check_fraction(fresh, "fresh")
    smoothing = _check_smoothing(smoothing)
    reward = _check_reward(reward)
    arr = np.asarray(base.table() if hasattr(base, "table") else base, dtype=np.float64)
    if arr.ndim == 2 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 1:
        raise ValueError(f"base must be one prompt's distribution [Y] (or a [1, Y] table), got shape {arr.shape}")
    p0 = np.exp(log_table_of(arr[None, :], "base"))[0]
    Y = p0.shape[0]
    S = math.comb(n + Y - 1, Y - 1)
    if S > MAX_CHAIN_STATES:
        raise ValueError(f"the chain would have C(n+|Y|-1, |Y|-1) = {S} states > MAX_CHAIN_STATES = "
                         f"{MAX_CHAIN_STATES}: use a smaller n or |Y|")
    n_f = n_fresh(fresh, n)
    n_s = n - n_f
    states = compositions(n, Y)
    with np.errstate(divide="ignore"):
        log_p0 = np.log(p0)

    def model_fn(c):
        return (c + smoothing) / (c.sum(axis=1, keepdims=True) + Y * smoothing)

    def select(q):
        if N == 1:  # best-of-1 is a plain draw, whatever the reward
            return q
        if reward == "current":  # rows padded to a power of 8 (uniform rows): one compiled shape for many n
            pad = np.full((capacity(q.shape[0]) - q.shape[0], Y), 1.0 / Y)
            return bon_law(np.concatenate([q, pad]), N)[: q.shape[0]]
        return reward_bon_law(q, np.broadcast_to(log_p0, q.shape), N)

    radix = (n + 1) ** np.arange(Y)[::-1]
    order = np.argsort(states @ radix)
    codes_sorted = (states @ radix)[order]

    def idx_of(c):
        return order[np.searchsorted(codes_sorted, c @ radix)]

    A = compositions(n_s, Y) if n_s > 0 else np.zeros((1, Y), dtype=np.int64)
    B = compositions(n_f, Y) if n_f > 0 else np.zeros((1, Y), dtype=np.int64)
    pB = _multinomial_pmf(B, p0[None, :])[0] if n_f > 0 else np.ones(1)
    # M[a, s']: probability that the fresh counts move the kept counts A[a] to states[s']
    M = np.zeros((len(A), len(states)))
    tgt = idx_of((A[:, None, :] + B[None, :, :]).reshape(-1, Y)).reshape(len(A), len(B))
    np.add.at(M, (np.repeat(np.arange(len(A)), len(B)), tgt.ravel()), np.tile(pB, len(A)))

    def law_fn(q):
        if n_s == 0:
            return np.ones((q.shape[0], 1)) @ M
        r = select(q)
        return _multinomial_pmf(A, r) @ M

    P = law_fn(model_fn(states.astype(np.float64)))
    return CountChain(states, P, p0, n, N, fresh, n_f, smoothing, reward, model_fn, law_fn)

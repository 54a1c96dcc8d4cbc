"""Brute-force references for the self-rewards layer (issue 14), written independently of
sharpsim.self_rewards / sharpsim.ar_power / sharpsim.algorithms.power_mcmc.

Everything here enumerates: all Y^N tuples of i.i.d. draws (majority vote, best-of-N, soft
best-of-N, win rate), all V^H sequences (power distributions, token-level conditionals,
MH transition matrices). ``fractions.Fraction`` where the quantity is rational (the input
floats are converted exactly), ``math.fsum`` otherwise. Nothing here imports sharpsim.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np


def frac_row(row):
    return [Fraction(float(v)) for v in row]


# ------------------------------------------------------------------ sequence-level laws


def power_row(row, alpha):
    """p^alpha / sum p^alpha for one row (floats, fsum)."""
    w = [float(v) ** alpha if v > 0 else 0.0 for v in row]
    z = math.fsum(w)
    return [v / z for v in w]


def majority_row(row, answers, N, A):
    """Law of the plurality answer among N i.i.d. responses (ties uniform), over all Y^N tuples."""
    p = frac_row(row)
    Y = len(p)
    out = [Fraction(0)] * A
    for tup in itertools.product(range(Y), repeat=N):
        pr = Fraction(1)
        for y in tup:
            pr *= p[y]
        if pr == 0:
            continue
        counts = [0] * A
        for y in tup:
            counts[answers[y]] += 1
        top = max(counts)
        winners = [a for a in range(A) if counts[a] == top]
        for a in winners:
            out[a] += pr / len(winners)
    return out


def bon_row(row, N):
    """Law of best-of-N with reward p itself (uniform tie-break), over all Y^N tuples."""
    p = frac_row(row)
    Y = len(p)
    out = [Fraction(0)] * Y
    for tup in itertools.product(range(Y), repeat=N):
        pr = Fraction(1)
        for y in tup:
            pr *= p[y]
        if pr == 0:
            continue
        best = max(p[y] for y in tup)
        idx = [i for i, y in enumerate(tup) if p[y] == best]
        for i in idx:
            out[tup[i]] += pr / len(idx)
    return out


def win_rate_row(row, N):
    """P[p(y_BoN) > p(y')] + P[p(y_BoN) = p(y')]/2 with y' an independent base draw (Fractions)."""
    p = frac_row(row)
    law = bon_row(row, N)
    total = Fraction(0)
    for y, qy in enumerate(law):
        for y2, py2 in enumerate(p):
            if qy == 0 or py2 == 0:
                continue
            if p[y] > py2:
                total += qy * py2
            elif p[y] == py2:
                total += qy * py2 / 2
    return total


def kl_row(q, p):
    """sum q log(q/p) over q > 0 (floats)."""
    return math.fsum(float(a) * math.log(float(a) / float(b)) for a, b in zip(q, p) if a > 0)


def soft_bon_row(row, N, lam, reward=None):
    """Soft best-of-N: pick draw i with probability w_i / sum_j w_j, w = exp(r/lam), over all Y^N tuples."""
    p = [float(v) for v in row]
    Y = len(p)
    r = [math.log(v) if v > 0 else 0.0 for v in p] if reward is None else [float(v) for v in reward]
    live = [y for y in range(Y) if p[y] > 0]
    rmax = max(r[y] for y in live)
    w = [math.exp((r[y] - rmax) / lam) for y in range(Y)]
    acc = [[] for _ in range(Y)]
    for tup in itertools.product(live, repeat=N):
        pr = math.prod(p[y] for y in tup)
        tot = math.fsum(w[y] for y in tup)
        for y in tup:
            acc[y].append(pr * w[y] / tot)
    return [math.fsum(a) for a in acc]


# ------------------------------------------------------------------ autoregressive models


def ar_sequence_probs(log_conds, x, V, H):
    """[V^H] probabilities of every sequence (big-endian) from log conditionals [X, V^c_h, V], loops."""
    out = []
    for tup in itertools.product(range(V), repeat=H):
        lp = 0.0
        for h in range(H):
            c = int(round(math.log(log_conds[h].shape[1], V))) if V > 1 else 0
            ctx = 0
            for t in tup[h - c : h] if c > 0 else ():
                ctx = ctx * V + t
            lp += float(log_conds[h][x, ctx, tup[h]])
        out.append(math.exp(lp))
    return out


def power_token_conditional(seq_pow, V, H, prefix):
    """p_pow(v | prefix) = sum of the power law over completions of prefix + v / over completions of prefix."""
    t = len(prefix)
    num = [0.0] * V
    for idx, tup in enumerate(itertools.product(range(V), repeat=H)):
        if list(tup[:t]) == list(prefix):
            num[tup[t]] += seq_pow[idx]
    z = math.fsum(num)
    return [v / z for v in num]


def mh_transition(seq_probs, V, H, alpha):
    """Transition matrix of the suffix-resampling MH chain targeting p^alpha, by loops.

    From y: pick t uniform in {0..H-1}, keep y_<t, draw y'_{>=t} from the base given y_<t,
    accept with min(1, (p(y')/p(y))^(alpha-1)). Returns a list of lists [Y][Y].
    """
    seqs = list(itertools.product(range(V), repeat=H))
    Y = len(seqs)

    def prefix_mass(tup, t):
        return math.fsum(seq_probs[j] for j, s in enumerate(seqs) if s[:t] == tup[:t])

    P = [[0.0] * Y for _ in range(Y)]
    for i, y in enumerate(seqs):
        if seq_probs[i] == 0:
            continue
        for t in range(H):
            pm = prefix_mass(y, t)
            for j, y2 in enumerate(seqs):
                if y2[:t] != y[:t] or seq_probs[j] == 0:
                    continue
                q = seq_probs[j] / pm / H
                if j == i:
                    P[i][i] += q
                else:
                    a = min(1.0, (seq_probs[j] / seq_probs[i]) ** (alpha - 1.0))
                    P[i][j] += q * a
                    P[i][i] += q * (1.0 - a)
    return P


def as_table(rows):
    return np.array([[float(v) for v in r] for r in rows])

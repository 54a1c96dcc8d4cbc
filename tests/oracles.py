"""Brute-force reference implementations (oracles) for the foundation layer.

Written independently of sharpsim's fast paths: plain Python loops over lists,
``fractions.Fraction`` where the quantity is rational, and ``decimal.Decimal``
at 60 significant digits (exponent range far beyond float64) where logs or
non-integer powers are needed, so that probabilities like 1e-300 and their
products stay exact enough. Nothing here imports ``sharpsim.core`` or
``sharpsim.quantities``.

Conventions: a table is a list of rows (or a 2-D numpy array) of probabilities;
``mu`` is a list of prompt weights. Formulas follow shared/SPEC.md (section in
each docstring).
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

PREC = 60


def D(v) -> Decimal:
    """Exact Decimal of a float / int / Fraction (Fractions are divided at PREC digits)."""
    if isinstance(v, Fraction):
        with localcontext() as ctx:
            ctx.prec = PREC
            return Decimal(v.numerator) / Decimal(v.denominator)
    return Decimal(float(v)) if not isinstance(v, Decimal) else v


def rows(table):
    return [[float(v) for v in r] for r in np.asarray(table, dtype=np.float64)]


def dlog(v: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PREC
        return v.ln()


def dexp(v: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = PREC
        return v.exp()


# ---------------------------------------------------------------- argmax sets, coverage, margin


def argmax_set(table, gamma=0.0):
    """y*_gamma(x) = {y : p(y) >= (1-gamma) max p} by explicit loops (SPEC 3.1, 3.3). list of sets."""
    out = []
    for r in rows(table):
        best = r[0]
        for v in r:
            if v > best:
                best = v
        thr = (1 - Fraction(gamma)) * Fraction(best)
        out.append({y for y, v in enumerate(r) if Fraction(v) >= thr})
    return out


def argmax_mass(policy, base, gamma=0.0):
    """policy(y*_gamma(x)|x) with y* from base (SPEC 3.1). list of Decimals."""
    sets = argmax_set(base, gamma)
    out = []
    for q, s in zip(rows(policy), sets):
        tot = Decimal(0)
        for y in s:
            tot += D(q[y])
        out.append(tot)
    return out


def coverage(table, mu=None, gamma=0.0, p=1):
    """C_cov,gamma,p = (sum_x mu(x) / p(y*_gamma(x)|x)^p)^(1/p) (SPEC Eq. 6, 3.3), in Decimal."""
    r = rows(table)
    mu = [1.0 / len(r)] * len(r) if mu is None else list(mu)
    masses = argmax_mass(table, table, gamma)
    with localcontext() as ctx:
        ctx.prec = PREC
        tot = Decimal(0)
        for w, m in zip(mu, masses):
            if w > 0:
                tot += D(w) / (m**p)
        return float(tot ** (Decimal(1) / Decimal(p)))


def adaptive_coverage(table, mu=None):
    """C-bar_cov = sum_x mu(x) / max_y p(y|x) (SPEC 3.4)."""
    r = rows(table)
    mu = [1.0 / len(r)] * len(r) if mu is None else list(mu)
    with localcontext() as ctx:
        ctx.prec = PREC
        tot = Decimal(0)
        for w, row in zip(mu, r):
            if w > 0:
                tot += D(w) / D(max(row))
        return float(tot)


def margin(table, mu=None, gamma=0.0):
    """Largest gamma_margin with top(x) >= (1+gamma_margin) p(y') for all y' outside y*_gamma(x) (SPEC 3.6).

    top(x) = max p (gamma = 0, Assumption 4.2) or p(y*_gamma(x)) (gamma > 0, Assumption J.2);
    the minimum over prompts with mu > 0; inf when no positive mass lies outside.
    """
    r = rows(table)
    mu = [1.0 / len(r)] * len(r) if mu is None else list(mu)
    sets = argmax_set(table, gamma)
    best = math.inf
    for w, row, s in zip(mu, r, sets):
        if w <= 0:
            continue
        if gamma == 0:
            top = D(max(row))
        else:
            top = sum((D(row[y]) for y in s), Decimal(0))
        runner = Decimal(0)
        for y, v in enumerate(row):
            if y not in s and D(v) > runner:
                runner = D(v)
        if runner == 0:
            continue
        with localcontext() as ctx:
            ctx.prec = PREC
            val = float(top / runner - 1)
        best = min(best, val)
    return best


def sharpness_error(policy, base, delta, mu=None, gamma=0.0, strict=True):
    """P_{x~mu}[policy(y*_gamma|x) < 1 - delta] (<= when not strict) (Definition 3.1, D5)."""
    r = rows(base)
    mu = [1.0 / len(r)] * len(r) if mu is None else list(mu)
    thr = 1 - D(delta)
    tot = 0.0
    for w, m in zip(mu, argmax_mass(policy, base, gamma)):
        fail = m < thr if strict else m <= thr
        if fail:
            tot += w
    return tot


# ---------------------------------------------------------------- best-of-N


def bon_law_bruteforce(p, N):
    """Exact BoN law by enumerating all Y^N draw tuples (Fractions): for each tuple, the output
    is uniform over the DISTINCT drawn responses of maximal probability (decision D1)."""
    P = [Fraction(v) for v in p]
    total = sum(P, Fraction(0))
    P = [v / total for v in P]  # float rows sum to 1 only up to rounding
    Y = len(P)
    law = [Fraction(0)] * Y
    for draws in itertools.product(range(Y), repeat=N):
        w = Fraction(1)
        for d in draws:
            w *= P[d]
        if w == 0:
            continue
        top = max(P[d] for d in draws)
        winners = sorted({d for d in draws if P[d] == top})
        for d in winners:
            law[d] += w / len(winners)
    return law


def bon_law_levelset(p, N, exact=True):
    """Level-set formula written with loops (SPEC 9 item 1): level {p = v} gets
    S_<=(v)^N - S_<(v)^N, split equally among its members. The sums are exact Fractions;
    the powers are Fractions (exact=True, small N) or 60-digit Decimals (exact=False, any N)."""
    P = [Fraction(v) for v in p]
    total = sum(P, Fraction(0))
    out = []
    for v in P:
        if v == 0:
            out.append(Fraction(0) if exact else Decimal(0))
            continue
        s_le = sum((u for u in P if u <= v), Fraction(0)) / total
        s_lt = sum((u for u in P if u < v), Fraction(0)) / total
        size = sum(1 for u in P if u == v)
        if exact:
            out.append((s_le**N - s_lt**N) / size)
        else:
            with localcontext() as ctx:
                ctx.prec = PREC
                out.append((D(s_le) ** N - D(s_lt) ** N) / size)
    return out


# ---------------------------------------------------------------- RLHF objects


def tilted(table, beta):
    """pi*_beta(y|x) = p^(1+1/beta) / sum_y p^(1+1/beta) (SPEC 6.1), Decimal powers."""
    out = []
    with localcontext() as ctx:
        ctx.prec = PREC
        a = 1 + 1 / D(beta)
        for r in rows(table):
            pw = [D(v) ** a if v > 0 else Decimal(0) for v in r]
            z = sum(pw, Decimal(0))
            out.append([float(v / z) for v in pw])
    return np.array(out)


def kl(q, r, mu=None):
    """sum_x mu(x) sum_y q log(q/r), 0 log 0 = 0, inf off the support."""
    Q, R = rows(q), rows(r)
    mu = [1.0 / len(Q)] * len(Q) if mu is None else list(mu)
    tot = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PREC
        for w, qr, rr in zip(mu, Q, R):
            for a, b in zip(qr, rr):
                if a == 0:
                    continue
                if b == 0:
                    return math.inf
                tot += D(w) * D(a) * (dlog(D(a)) - dlog(D(b)))
    return float(tot)


def hellinger_sq(q, r, mu=None):
    """sum_x mu(x) sum_y (sqrt q - sqrt r)^2 (unnormalised, SPEC 2.2)."""
    Q, R = rows(q), rows(r)
    mu = [1.0 / len(Q)] * len(Q) if mu is None else list(mu)
    tot = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PREC
        for w, qr, rr in zip(mu, Q, R):
            for a, b in zip(qr, rr):
                tot += D(w) * (D(a).sqrt() - D(b).sqrt()) ** 2
    return float(tot)


def concentrability(q, r, mu=None, beta=1.0):
    """C_{q/r;beta} = sum_x mu(x) sum_y q (q/r)^beta (SPEC Eq. 9); inf when q > 0 = r."""
    Q, R = rows(q), rows(r)
    mu = [1.0 / len(Q)] * len(Q) if mu is None else list(mu)
    tot = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PREC
        for w, qr, rr in zip(mu, Q, R):
            for a, b in zip(qr, rr):
                if a == 0:
                    continue
                if b == 0:
                    return math.inf
                tot += D(w) * D(a) * (D(a) / D(b)) ** D(beta)
    return float(tot)


def regularized_value(q, p, beta, mu=None):
    """J_beta(q) = sum_x mu sum_y q log p - beta KL(q||p) (SPEC 6.4)."""
    Q, P = rows(q), rows(p)
    mu = [1.0 / len(Q)] * len(Q) if mu is None else list(mu)
    tot = Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PREC
        for w, qr, pr in zip(mu, Q, P):
            for a, b in zip(qr, pr):
                if a == 0:
                    continue
                if b == 0:
                    return -math.inf
                tot += D(w) * D(a) * (dlog(D(b)) - D(beta) * (dlog(D(a)) - dlog(D(b))))
    return float(tot)


def dpo_residual(q, p, beta):
    """R[x, y, y'] = beta log(q/p)(y) - beta log(q/p)(y') - (log p(y) - log p(y')) on supp(p)^2, else 0.

    Where q vanishes on supp(p): -inf if q(y) = 0, +inf if q(y') = 0, +inf if both (y != y'); 0 on y = y'.
    """
    Q, P = rows(q), rows(p)
    X, Y = len(P), len(P[0])
    out = np.zeros((X, Y, Y))
    with localcontext() as ctx:
        ctx.prec = PREC
        for x in range(X):
            for y in range(Y):
                for z in range(Y):
                    if P[x][y] == 0 or P[x][z] == 0:
                        continue
                    if y == z:
                        continue  # the same term twice
                    if Q[x][y] == 0 and Q[x][z] == 0:
                        out[x, y, z] = math.inf  # convention: infinite loss
                        continue
                    if Q[x][y] == 0 or Q[x][z] == 0:
                        out[x, y, z] = -math.inf if Q[x][y] == 0 else math.inf
                        continue
                    ly, lz = dlog(D(P[x][y])), dlog(D(P[x][z]))
                    qy, qz = dlog(D(Q[x][y])), dlog(D(Q[x][z]))
                    out[x, y, z] = float(D(beta) * (qy - ly) - D(beta) * (qz - lz) - (ly - lz))
    return out


# ---------------------------------------------------------------- autoregressive models


def context_index(prefix, c, V):
    """Big-endian index of the last c tokens of prefix (0 when c = 0)."""
    idx = 0
    for t in (prefix[len(prefix) - c :] if c > 0 else ()):
        idx = idx * V + t
    return idx


def ar_cond(conds, ctx_lengths, V, x, prefix):
    """Conditional row pi_h(.|prefix, x) (probabilities) from conditionals [X, V^c_h, V]."""
    h = len(prefix)
    return conds[h][x][context_index(prefix, ctx_lengths[h], V)]


def ar_log_table(conds, ctx_lengths, V, H, X):
    """log pi(y_{1:H}|x) for all sequences, enumerated with itertools.product (big-endian order),
    summing math.log of each conditional (probability-space inputs; -inf for zeros). [X, V^H]."""
    out = np.empty((X, V**H))
    for x in range(X):
        for i, seq in enumerate(itertools.product(range(V), repeat=H)):
            lp = 0.0
            for h in range(H):
                v = float(ar_cond(conds, ctx_lengths, V, x, seq[:h])[seq[h]])
                if v == 0:
                    lp = -math.inf
                    break
                lp += math.log(v)
            out[x, i] = lp
    return out


def ar_prob_table(conds, ctx_lengths, V, H, X):
    """pi(y_{1:H}|x) by multiplying conditionals (plain products). [X, V^H]."""
    out = np.empty((X, V**H))
    for x in range(X):
        for i, seq in enumerate(itertools.product(range(V), repeat=H)):
            pr = 1.0
            for h in range(H):
                pr *= float(ar_cond(conds, ctx_lengths, V, x, seq[:h])[seq[h]])
            out[x, i] = pr
    return out


def greedy(conds, ctx_lengths, V, H, x):
    """Greedy decoding by loops: take the most likely next token (lowest token on ties)."""
    seq = []
    for h in range(H):
        row = ar_cond(conds, ctx_lengths, V, x, seq)
        best = 0
        for t in range(V):
            if row[t] > row[best]:
                best = t
        seq.append(best)
    return tuple(seq)


def sequence_argmax(log_table_row, V, H):
    """All argmax sequences (as token tuples) of one enumerated row, and the max log-prob."""
    m = max(log_table_row)
    seqs = list(itertools.product(range(V), repeat=H))
    return {seqs[i] for i, v in enumerate(log_table_row) if v == m}, m


# ---------------------------------------------------------------- linear softmax


def linear_softmax_table(phi, theta, log_pi_zero=None):
    """pi_theta(y|x) = pi_0(y|x) exp(<phi(x,y), theta>) / Z(x) by loops (Definition J.3)."""
    phi = np.asarray(phi, dtype=float)
    X, Y, d = phi.shape
    out = np.empty((X, Y))
    for x in range(X):
        logits = []
        for y in range(Y):
            s = sum(float(phi[x, y, k]) * float(theta[k]) for k in range(d))
            s += (-math.log(Y)) if log_pi_zero is None else float(log_pi_zero[x][y])
            logits.append(s)
        m = max(logits)
        z = sum(math.exp(v - m) for v in logits)
        for y in range(Y):
            out[x, y] = math.exp(logits[y] - m) / z
    return out


def ar_linear_softmax_table(phi_fn, thetas, V, H, X):
    """Eq. (11): prod_h exp(<phi_h(x, y_{1:h}), theta_h>) / sum_v exp(<phi_h(x, y_{<h} v), theta_h>),
    with phi_fn(h, x, prefix_tuple_including_y_h) -> feature vector (h 1-based). [X, V^H] probs."""
    out = np.empty((X, V**H))
    for x in range(X):
        for i, seq in enumerate(itertools.product(range(V), repeat=H)):
            pr = 1.0
            for h in range(1, H + 1):
                scores = [float(np.dot(phi_fn(h, x, seq[: h - 1] + (v,)), thetas[h - 1])) for v in range(V)]
                m = max(scores)
                pr *= math.exp(scores[seq[h - 1]] - m) / sum(math.exp(s - m) for s in scores)
            out[x, i] = pr
    return out

"""Brute-force references for sharpsim.passk (issue 13), written independently of the fast paths.

Plain Python loops, ``fractions.Fraction`` for everything rational (table entries are floats, so
their exact rational values are used), ``math.comb`` for binomial coefficients, and 60-digit
``decimal.Decimal`` where a power is too large for Fractions. Nothing here imports sharpsim.passk.
"""

from __future__ import annotations

import itertools
import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

PREC = 60


def frac_rows(table):
    """Rows of Fractions, each renormalised to sum to exactly 1."""
    out = []
    for r in np.asarray(table, dtype=np.float64):
        fr = [Fraction(float(v)) for v in r]
        tot = sum(fr, Fraction(0))
        out.append([v / tot for v in fr])
    return out


def frac_mu(mu, X):
    if mu is None:
        return [Fraction(1, X)] * X
    fr = [Fraction(float(v)) for v in mu]
    tot = sum(fr, Fraction(0))
    return [v / tot for v in fr]


def correct_mass(table, correct):
    """p(x) = sum of the correct entries of each (renormalised) row, Fractions."""
    rows = frac_rows(table)
    corr = np.asarray(correct, dtype=bool)
    return [sum((v for v, c in zip(r, cr) if c), Fraction(0)) for r, cr in zip(rows, corr)]


def pass_at_k(table, correct, k, mu=None):
    """(per-prompt list, dataset value) of 1 - (1 - p)^k for an integer k >= 0 (Fractions)."""
    p = correct_mass(table, correct)
    m = frac_mu(mu, len(p))
    per = [1 - (1 - px) ** k for px in p]
    return per, sum((mx * v for mx, v in zip(m, per)), Fraction(0))


def pass_at_infinity(table, correct, mu=None):
    p = correct_mass(table, correct)
    m = frac_mu(mu, len(p))
    return sum((mx for mx, px in zip(m, p) if px > 0), Fraction(0))


def crossover_scan(base, sharp, correct, k_max, mu=None):
    """Smallest k in 1..k_max with dataset pass_base@k >= pass_sharp@k (Fractions), else None."""
    pb = correct_mass(base, correct)
    ps = correct_mass(sharp, correct)
    m = frac_mu(mu, len(pb))
    qb = [1 - v for v in pb]
    qs = [1 - v for v in ps]
    powb, pows = [Fraction(1)] * len(m), [Fraction(1)] * len(m)
    for k in range(1, k_max + 1):
        powb = [a * b for a, b in zip(powb, qb)]
        pows = [a * b for a, b in zip(pows, qs)]
        if sum((mx * (s - b) for mx, s, b in zip(m, pows, powb)), Fraction(0)) >= 0:
            return k
    return None


def gap_decimal(pb, ps, mu, k):
    """D(k) = sum mu [(1 - ps)^k - (1 - pb)^k] in 60-digit Decimals (pb, ps, mu floats)."""
    with localcontext() as ctx:
        ctx.prec = PREC
        tot = Decimal(0)
        for a, b, w in zip(pb, ps, mu):
            tot += Decimal(float(w)) * ((1 - Decimal(float(b))) ** k - (1 - Decimal(float(a))) ** k)
        return tot


def estimate(c, n, k):
    """1 - C(n - c, k) / C(n, k) as a Fraction."""
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


def estimator_variance(p, n, k):
    """Var of estimate(c, n, k) under c ~ Binomial(n, p), by the direct sum over c (Fractions)."""
    p = Fraction(p)
    q = 1 - p
    target = 1 - q**k
    mean = Fraction(0)
    var = Fraction(0)
    for c in range(n + 1):
        w = math.comb(n, c) * p**c * q ** (n - c)
        e = estimate(c, n, k)
        mean += w * e
        var += w * (e - target) ** 2
    assert mean == target  # unbiased, exactly
    return var


def beta_miss(a, b, k):
    """E[(1 - p)^k] for p ~ Beta(a, b) = prod_{i<k} (b + i) / (a + b + i), Fractions (a, b rational)."""
    a, b = Fraction(a), Fraction(b)
    out = Fraction(1)
    for i in range(k):
        out *= (b + i) / (a + b + i)
    return out


def argmax_uniform(table):
    """Uniform law on the exact argmax set of each row (Fractions)."""
    out = []
    for r in frac_rows(table):
        top = max(r)
        idx = [i for i, v in enumerate(r) if v == top]
        out.append([Fraction(1, len(idx)) if i in idx else Fraction(0) for i in range(len(r))])
    return out


def sft_support_enumerate(bon_rows, base_rows, correct, mu, n):
    """E[pass@infinity] and E[lost base-correct mass] of the tabular MLE on n i.i.d. pairs
    (x ~ mu, y ~ BoN(.|x)) by enumerating every data set (unseen prompts: uniform row).

    bon_rows, base_rows: lists of rows (floats or Fractions); returns (pass_inf, lost) as floats.
    """
    X, Y = len(bon_rows), len(bon_rows[0])
    corr = np.asarray(correct, dtype=bool)
    pairs = [(x, y) for x in range(X) for y in range(Y)]
    weights = {pr: float(mu[pr[0]]) * float(bon_rows[pr[0]][pr[1]]) for pr in pairs}
    e_pass, e_lost = 0.0, 0.0
    for data in itertools.product(pairs, repeat=n):
        w = 1.0
        for pr in data:
            w *= weights[pr]
        if w == 0:
            continue
        seen = [set() for _ in range(X)]
        for x, y in data:
            seen[x].add(y)
        pass_inf, lost = 0.0, 0.0
        for x in range(X):
            support = seen[x] if seen[x] else set(range(Y))
            if any(corr[x, y] for y in support):
                pass_inf += float(mu[x])
            lost += float(mu[x]) * sum(float(base_rows[x][y]) for y in range(Y) if corr[x, y] and y not in support)
        e_pass += w * pass_inf
        e_lost += w * lost
    return e_pass, e_lost

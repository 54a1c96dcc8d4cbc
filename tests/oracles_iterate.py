"""Brute-force references for sharpsim.iterate, written independently of the fast path.

Everything here is plain Python over ``fractions.Fraction`` (exact rational arithmetic) or plain
float loops: best-of-N by enumerating all N-tuples of draws, multinomial transitions by
enumerating all sequences of draws, fundamental matrices by Gauss-Jordan elimination over the
rationals. Small sizes only.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction


def frac_row(p):
    """A row of probabilities as Fractions (exact for the decimal strings / Fractions passed)."""
    return [x if isinstance(x, Fraction) else Fraction(str(x)) for x in p]


def bon_brute(q, N, score=None):
    """Law of best-of-N: N i.i.d. draws from q (Fractions), keep the draw of highest score
    (default: q itself, the self-reward), uniform among the tied draws. Enumerates Y^N tuples."""
    score = q if score is None else score
    Y = len(q)
    law = [Fraction(0)] * Y
    for tup in itertools.product(range(Y), repeat=N):
        w = Fraction(1)
        for y in tup:
            w *= q[y]
        if w == 0:
            continue
        best = max(score[y] for y in tup)
        winners = [y for y in tup if score[y] == best]  # positions, with multiplicity
        for y in winners:
            law[y] += w / len(winners)
    return law


def bon_closed_form(p, M):
    """(S_<=(v)^M - S_<(v)^M) / |{p = v}| per response (Fractions, exact ties)."""
    out = []
    for v in p:
        if v == 0:
            out.append(Fraction(0))
            continue
        le = sum((u for u in p if u <= v), Fraction(0))
        lt = sum((u for u in p if u < v), Fraction(0))
        size = sum(1 for u in p if u == v)
        out.append((le**M - lt**M) / size)
    return out


def power_normalise(p, a):
    """p^a / sum p^a, plain floats through logs (0 stays 0)."""
    logs = [a * math.log(x) if x > 0 else None for x in p]
    m = max(v for v in logs if v is not None)
    w = [math.exp(v - m) if v is not None else 0.0 for v in logs]
    z = sum(w)
    return [x / z for x in w]


def compositions_brute(n, Y):
    """Count vectors of sum n over Y responses, lexicographic (itertools.product filtered)."""
    return [c for c in itertools.product(range(n + 1), repeat=Y) if sum(c) == n]


def _sequence_law(dist, k):
    """Law of the count vector of k i.i.d. draws from dist, by enumerating all Y^k sequences."""
    Y = len(dist)
    out = {}
    for seq in itertools.product(range(Y), repeat=k):
        w = Fraction(1)
        for y in seq:
            w *= dist[y]
        if w == 0:
            continue
        c = tuple(seq.count(y) for y in range(Y))
        out[c] = out.get(c, Fraction(0)) + w
    if k == 0:
        out[tuple([0] * Y)] = Fraction(1)
    return out


def step_law(model, base, n, N, n_fresh, reward):
    """Law {counts: prob} of the next counts when the current model is ``model`` (Fractions):
    n - n_fresh best-of-N draws (score: model itself or the base) plus n_fresh base draws."""
    score = model if reward == "current" else base
    kept = bon_brute(model, N, score)
    a = _sequence_law(kept, n - n_fresh)
    b = _sequence_law(base, n_fresh)
    out = {}
    for ca, wa in a.items():
        for cb, wb in b.items():
            c = tuple(x + y for x, y in zip(ca, cb))
            out[c] = out.get(c, Fraction(0)) + wa * wb
    return out


def chain_brute(base, n, N, n_fresh=0, smoothing=Fraction(0), reward="current"):
    """(states, P) of the count chain with Fractions: model (c + s) / (n + Y s)."""
    Y = len(base)
    states = compositions_brute(n, Y)
    P = []
    for c in states:
        model = [(ci + smoothing) / (n + Y * smoothing) for ci in c]
        law = step_law(model, base, n, N, n_fresh, reward)
        P.append([law.get(s2, Fraction(0)) for s2 in states])
    return states, P


def solve_fractions(A, B):
    """Solve A X = B exactly (Gauss-Jordan over Fractions); A [k, k], B [k, m] as lists."""
    k = len(A)
    M = [list(A[i]) + list(B[i]) for i in range(k)]
    for col in range(k):
        piv = next(r for r in range(col, k) if M[r][col] != 0)
        M[col], M[piv] = M[piv], M[col]
        pv = M[col][col]
        M[col] = [v / pv for v in M[col]]
        for r in range(k):
            if r != col and M[r][col] != 0:
                f = M[r][col]
                M[r] = [a - f * b for a, b in zip(M[r], M[col])]
    return [row[k:] for row in M]


def absorption_brute(states, P, n):
    """Expected absorption times and fixation probabilities per state (Fractions) of an absorbing
    count chain whose absorbing states are the vertices n e_y: returns (t: {state: E tau},
    fix: {state: [P(y fixes)]})."""
    Y = len(states[0])
    tr = [i for i, c in enumerate(states) if max(c) < n]
    ab = [i for i, c in enumerate(states) if max(c) == n]
    A = [[(1 if i == j else 0) - P[i][j] for j in tr] for i in tr]
    rhs = [[Fraction(1)] + [P[i][j] for j in ab] for i in tr]
    sol = solve_fractions(A, rhs)
    t, fix = {}, {}
    for r, i in enumerate(tr):
        t[states[i]] = sol[r][0]
        f = [Fraction(0)] * Y
        for col, j in enumerate(ab):
            f[states[j].index(n)] += sol[r][1 + col]
        fix[states[i]] = f
    for j in ab:
        t[states[j]] = Fraction(0)
        f = [Fraction(0)] * Y
        f[states[j].index(n)] = Fraction(1)
        fix[states[j]] = f
    return t, fix


def pass_at_k_brute(row, correct, k):
    """P[at least one of k i.i.d. draws from row is correct], by enumerating the Y^k tuples (floats)."""
    Y = len(row)
    tot = 0.0
    for tup in itertools.product(range(Y), repeat=k):
        if any(correct[y] for y in tup):
            w = 1.0
            for y in tup:
                w *= row[y]
            tot += w
    return tot


def row_metrics_brute(row, base_row, correct=None):
    """Per-prompt metrics by plain loops: own argmax set (exact equality), coverage, entropy,
    mass on the base's argmax set, margin, support, greedy accuracy, pass@1."""
    top = max(row)
    own = [v == top for v in row]
    btop = max(base_row)
    out = {
        "coverage": 1.0 / sum(v for v, o in zip(row, own) if o),
        "entropy": -sum(v * math.log(v) for v in row if v > 0),
        "mode_mass": sum(v for v, b in zip(row, base_row) if b == btop),
        "support": float(sum(1 for v in row if v > 0)),
    }
    outside = [v for v, o in zip(row, own) if not o]
    out["margin"] = top / max(outside) - 1.0 if outside and max(outside) > 0 else math.inf
    if correct is not None:
        out["pass@1"] = sum(v for v, c in zip(row, correct) if c)
        out["accuracy"] = sum(1 for o, c in zip(own, correct) if o and c) / sum(own)
    return out

"""The autoregressive examples of SPEC 7: Proposition E.2, the minimal greedy-failure example and
the MAX-CUT instance of Proposition E.1 (F20-F22).

Tokens are 0-based in code: the paper's token i (1-based, Prop. E.2) is code token i - 1, and in
the MAX-CUT instance code token 0 / 1 stands for the spin -1 / +1.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from .._validate import as_float_array, check_int, check_positive, check_real
from ..models import ARLinearSoftmax, AutoregressiveLM

__all__ = ["prop_e2", "greedy_failure", "maxcut_instance", "cut_value", "max_cut_brute_force", "maxcut_feature_index"]


# -- Proposition E.2 ------------------------------------------------------------------------
def prop_e2(n: int = 100, B=None) -> ARLinearSoftmax:
    """Proposition E.2 (SPEC 7, F22): X = {bot}, V = [n], H = d = 2, pi_base = pi_{theta*}.

    Features (paper tokens 1-based; code token = paper token - 1):
      phi_1(1) = phi_1(2) = e_1, phi_1(i) = e_2 for i >= 3;
      phi_2(2, 1) = e_1, phi_2(2, j) = e_2 for j != 1, phi_2(i, j) = 0 for i != 2;
    theta*_1 = theta*_2 = B e_1 with B >= ln n (default B = ln n, stored as the norm bound).

    With n = 100, B = ln 100: pi(1) = pi(2) = 100/298 = 0.3356, pi(2,1) = 0.3356 * 100/199 = 0.1686
    (the unique sequence argmax, code tokens (1, 0)), runner-up 0.3356/100 = 0.00336, C_cov = 5.93;
    first-token tie, so greedy decoding fails when it picks token 1 (code 0), and every pi_theta
    has pi_theta(1) = pi_theta(2) <= 1/2, so none puts > 1/2 on (2, 1).
    """
    n = check_int(n, "n", minimum=3)
    B = math.log(n) if B is None else check_positive(check_real(B, "B"), "B")
    if B < math.log(n) * (1 - 1e-12):
        raise ValueError(f"B must be >= ln n = {math.log(n):.6g} (Proposition E.2), got {B}")
    phi1 = np.zeros((1, 1, n, 2))
    phi1[0, 0, :2, 0] = 1.0  # paper tokens 1, 2
    phi1[0, 0, 2:, 1] = 1.0
    phi2 = np.zeros((1, n, n, 2))
    phi2[0, 1, 0, 0] = 1.0  # paper (2, 1)
    phi2[0, 1, 1:, 1] = 1.0  # paper (2, j), j != 1
    thetas = np.array([[B, 0.0], [B, 0.0]])
    return ARLinearSoftmax([phi1, phi2], thetas, B=B)


# -- minimal greedy-failure example ---------------------------------------------------------
def greedy_failure() -> AutoregressiveLM:
    """The minimal greedy-failure example of SPEC 7 (F21) [reconstructed].

    V = {a, b} (code tokens 0, 1), H = 2: pi(a) = 0.6, pi(.|a) = (0.5, 0.5), pi(b) = 0.4,
    pi(a|b) = 1. Sequences: aa = ab = 0.3, ba = 0.4, bb = 0. The sequence argmax is ba (index 2,
    mass 0.4 <= 1/2) but greedy decoding picks a first and never reaches it.
    """
    step1 = np.array([[[0.6, 0.4]]])
    step2 = np.array([[[0.5, 0.5], [1.0, 0.0]]])
    return AutoregressiveLM([step1, step2])


# -- Proposition E.1: MAX-CUT -----------------------------------------------------------------
def _check_adjacency(adjacency) -> np.ndarray:
    A = as_float_array(adjacency, "adjacency")
    if A.ndim != 2 or A.shape[0] != A.shape[1]:
        raise ValueError(f"adjacency must be a square [n, n] matrix, got shape {A.shape}")
    if A.shape[0] < 2:
        raise ValueError("adjacency must have at least 2 vertices")
    if not np.isin(A, (0.0, 1.0)).all():
        raise ValueError("adjacency must be a 0/1 matrix")
    if not np.array_equal(A, A.T):
        raise ValueError("adjacency must be symmetric (an undirected graph)")
    if np.diag(A).any():
        raise ValueError("adjacency must have a zero diagonal (no self-loops)")
    return A


def cut_value(adjacency, spins) -> int:
    """Number of edges {i, j} with spins[i] != spins[j]; spins in {-1, +1}^n ([..., n] batches allowed)."""
    A = _check_adjacency(adjacency)
    s = np.asarray(spins)
    if s.shape[-1] != A.shape[0] or not np.isin(s, (-1, 1)).all():
        raise ValueError(f"spins must be a {{-1, +1}} array with last dimension n={A.shape[0]}")
    s = s.astype(np.float64)
    # sum_{i<j} A_ij (1 - s_i s_j)/2 = (|E| - s^T A s / 2) / 2
    num_edges = A.sum() / 2.0
    quad = np.einsum("...i,ij,...j->...", s, A, s)
    out = np.rint((num_edges - quad / 2.0) / 2.0).astype(np.int64)
    return int(out) if out.ndim == 0 else out


def max_cut_brute_force(adjacency) -> tuple[int, np.ndarray]:
    """(max cut value, all maximising spin vectors [K, n]) by enumerating {-1, +1}^n (plain loops)."""
    A = _check_adjacency(adjacency)
    nv = A.shape[0]
    best, arg = -1, []
    for spins in itertools.product((-1, 1), repeat=nv):
        c = sum(1 for i in range(nv) for j in range(i + 1, nv) if A[i, j] and spins[i] != spins[j])
        if c > best:
            best, arg = c, [spins]
        elif c == best:
            arg.append(spins)
    return best, np.array(arg, dtype=np.int64)


def maxcut_feature_index(H: int, *idx: int) -> int:
    """Coordinate of e_i, e_(i,j) or e_(i,j,k) (1-based positions, as in the paper) in R^(H + H^2 + H^3)."""
    if len(idx) == 1:
        return idx[0] - 1
    if len(idx) == 2:
        return H + (idx[0] - 1) * H + (idx[1] - 1)
    if len(idx) == 3:
        return H + H * H + ((idx[0] - 1) * H + (idx[1] - 1)) * H + (idx[2] - 1)
    raise ValueError("maxcut_feature_index takes 1, 2 or 3 positions")


def maxcut_instance(adjacency, allow_even: bool = False) -> ARLinearSoftmax:
    """Proposition E.1 (SPEC 7): the MAX-CUT autoregressive linear softmax for a graph G on n vertices.

    X = {bot}, V = {-1, +1} (code tokens 0 -> -1, 1 -> +1), H = n + 2, d = H + H^2 + H^3, features
      phi_h(bot, y_{1:h})_i = y_i, phi_h(...)_(i,j) = y_i y_j, phi_h(...)_(i,j,k) = y_i y_j y_k
    for positions i, j, k <= h (0 for positions beyond h). Parameters:
      theta_1 .. theta_{H-2} = 0 (uniform first H - 2 tokens),
      theta_{H-1} = sum_{i,j <= H-2} J_ij e_(i,j,H-1) with J = -A(G),
      theta_H = 2 (e_(H-1,H) + e_H),   B = H.
    Why it works (derivation, checked by brute force in the tests): with s = y_{1:H-2},
    Q(s) := sum_ij J_ij s_i s_j = 4 cut(s) - 2|E|, pi_{H-1}(y_{H-1}|s) = sigmoid(2 y_{H-1} Q),
    and pi_H(y_H | y_{H-1} = +1) = sigmoid(8 y_H), pi_H(.|y_{H-1} = -1) = 1/2. So
    pi(s, +1, +1) = 2^-(H-2) sigmoid(2Q) sigmoid(8), pi(s, -1, y_H) = 2^-(H-2) sigmoid(-2Q)/2 < 2^-(H-1).
    A maximum cut has cut > |E|/2 (odd |E|: Q >= 2), so the +1 branch wins and the sequence
    argmax is (s*, +1, +1) with s* a maximum cut (and its negation, an exact tie). The last token
    breaks the y_{H-1} -> -y_{H-1} symmetry that would otherwise let a minimum cut win (sigmoid(2|Q|)).
    The paper asks for an odd number of edges (then Q != 0 for every cut); ``allow_even=True``
    accepts any graph with at least one edge (the argmax still encodes a max cut, since a
    maximum cut of a non-empty graph always exceeds |E|/2).

    Args: adjacency: symmetric 0/1 [n, n] with zero diagonal, n >= 2.
    """
    A = _check_adjacency(adjacency)
    num_edges = int(A.sum() // 2)
    if num_edges == 0:
        raise ValueError("the graph must have at least one edge")
    if num_edges % 2 == 0 and not allow_even:
        raise ValueError(f"Proposition E.1 needs a graph with an odd number of edges, got {num_edges} (pass allow_even=True)")
    nv = A.shape[0]
    H = nv + 2
    d = H + H**2 + H**3
    phis = []
    for h in range(1, H + 1):
        tokens = np.array(list(itertools.product((0, 1), repeat=h)), dtype=np.int64).reshape(-1, h)  # big-endian
        s = np.zeros((tokens.shape[0], H))
        s[:, :h] = 2.0 * tokens - 1.0
        pair = np.einsum("bi,bj->bij", s, s).reshape(-1, H * H)
        trip = np.einsum("bi,bj,bk->bijk", s, s, s).reshape(-1, H**3)
        feats = np.concatenate([s, pair, trip], axis=1)  # [2^h, d]
        phis.append(feats.reshape(1, 2 ** (h - 1), 2, d))
    thetas = np.zeros((H, d))
    J = -A
    for i in range(1, nv + 1):
        for j in range(1, nv + 1):
            if J[i - 1, j - 1] != 0:
                thetas[H - 2, maxcut_feature_index(H, i, j, H - 1)] = J[i - 1, j - 1]
    thetas[H - 1, maxcut_feature_index(H, H - 1, H)] = 2.0
    thetas[H - 1, maxcut_feature_index(H, H)] = 2.0
    return ARLinearSoftmax(phis, thetas, B=float(H))

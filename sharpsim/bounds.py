"""Every bound of the paper as a function (SPEC 4-6).

Each function takes the quantities its theorem takes and returns a :class:`Prescription`:
what the theorem prescribes (n, N, m = n N, or T for XPO) and, where the theorem bounds the
error for given n and N, that error bound. Results stated with <= up to constants (Theorems
3.1, 3.1', D.2, 4.2, 4.2', 4.3, J.1, J.2, J.3) are *order-only*: they take a ``constant``
argument (default 1) and return ``order_only=True``; every report marks them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class Prescription:
    """What a theorem prescribes.

    Attributes:
      theorem: the paper's label, e.g. "Theorem 4.1 (F9, derived constant 23.3)".
      n: number of prompts (None when not applicable).
      N: responses per prompt (None when not applicable).
      m: total sample-and-evaluate queries (n * N, or the expected total for adaptive rules,
         or the theorem's m for XPO / lower bounds).
      T: XPO iterations (None otherwise).
      error_bound: the theorem's bound on P_x[pi_hat(y*|x) <= 1 - delta] (None when the
         theorem prescribes sizes only).
      order_only: True when the result holds only up to an unknown absolute constant.
      constant: the constant used for order-only results (1.0 otherwise).
      params: other prescribed parameters (beta, alpha, N_star, mu_stop, ...).
      notes: one line on assumptions / provenance of the constants.
    """

    theorem: str
    n: int | None = None
    N: int | None = None
    m: float | None = None
    T: int | None = None
    error_bound: float | None = None
    order_only: bool = False
    constant: float = 1.0
    params: dict = field(default_factory=dict)
    notes: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

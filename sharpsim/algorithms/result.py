"""The result every learner returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LearnerResult:
    """A learned policy and the oracle queries it cost.

    Attributes:
      policy: learned table pi_hat(y|x), float64 [X, Y] (exact; evaluate it with
        :func:`sharpsim.sharpness_error`).
      queries: sample-and-evaluate queries used (the m of the theory, SPEC 3.5).
      extended_queries: evaluations of log pi_base at responses not drawn from pi_base
        (XPO's broader access, decision D7); 0 for the other learners.
      prompts: prompts drawn.
      info: algorithm-specific details (n, N, counts, selected iterate, ...).
    """

    policy: np.ndarray
    queries: int
    extended_queries: int = 0
    prompts: int = 0
    info: dict = field(default_factory=dict)

    @property
    def total_queries(self) -> int:
        """queries + extended_queries (what XPO's reported m counts, decision D7)."""
        return int(self.queries) + int(self.extended_queries)

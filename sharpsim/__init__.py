"""sharpsim: exact-probability toy language models for the theory of sharpening.

Huang et al., "Self-Improvement in Language Models: The Sharpening Mechanism"
(arXiv 2412.01951, ICLR 2025). Every quantity of the theory is computed exactly
on small models; the paper's algorithms run in simulation through a counting
sample-and-evaluate oracle; bounds and simulations are shown side by side.

Importing sharpsim enables float64 in JAX (``jax_enable_x64``): all
probabilities, log-probabilities and bounds are float64.
"""

import jax as _jax

_jax.config.update("jax_enable_x64", True)

from . import core  # noqa: E402
from ._validate import ROW_SUM_TOL  # noqa: E402
from .generators import dirichlet_table, power_law_table, random_autoregressive  # noqa: E402
from .models import (  # noqa: E402
    MAX_ENUMERATION,
    ARLinearSoftmax,
    AutoregressiveLM,
    LinearSoftmax,
    TabularLM,
    decode,
    encode,
)
from .quantities import (  # noqa: E402
    adaptive_coverage,
    argmax_mass,
    argmax_set,
    bon_law,
    concentrability,
    coverage,
    dpo_residual,
    hellinger_sq,
    kl,
    margin,
    regularized_value,
    sharpness_error,
    tilted,
)
from .sampling import BoNResult, adaptive_best_of_n, best_of_n, best_of_n_exact  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "ROW_SUM_TOL",
    "MAX_ENUMERATION",
    "TabularLM",
    "AutoregressiveLM",
    "LinearSoftmax",
    "ARLinearSoftmax",
    "encode",
    "decode",
    "dirichlet_table",
    "power_law_table",
    "random_autoregressive",
    "argmax_set",
    "argmax_mass",
    "coverage",
    "adaptive_coverage",
    "margin",
    "sharpness_error",
    "bon_law",
    "tilted",
    "concentrability",
    "kl",
    "hellinger_sq",
    "regularized_value",
    "dpo_residual",
    "BoNResult",
    "best_of_n",
    "best_of_n_exact",
    "adaptive_best_of_n",
    "core",
]

# algorithms layer: oracle, classes, learners, Monte-Carlo engine (issue 4)
from . import algorithms, classes, oracle, sim  # noqa: E402
from .oracle import Oracle  # noqa: E402

__all__ += ["Oracle", "oracle", "classes", "algorithms", "sim"]

# pass@k: sharpening versus discovery (issue 13)
from . import passk  # noqa: E402
from .passk import (  # noqa: E402
    PassAtK,
    argmax_policy,
    beta_difficulty_pass_at_k,
    beta_difficulty_task,
    pass_at_k,
    pass_at_k_estimate,
    pass_at_k_estimator_variance,
    passk_crossover,
    passk_gap,
    passk_samples_to_resolve,
    sft_learned,
    sft_support,
)

__all__ += [
    "passk",
    "PassAtK",
    "pass_at_k",
    "pass_at_k_estimate",
    "pass_at_k_estimator_variance",
    "passk_crossover",
    "passk_gap",
    "passk_samples_to_resolve",
    "argmax_policy",
    "sft_learned",
    "sft_support",
    "beta_difficulty_pass_at_k",
    "beta_difficulty_task",
]

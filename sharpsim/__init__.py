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

__version__ = "0.2.0"

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

# the layers above quantities (docs/ARCHITECTURE.md): oracle, classes, learners and their registry,
# the Monte-Carlo engine, exact references, problems, theory next to simulation
from . import algorithms, classes, comparison, engine, evaluation, exact, oracle, stats  # noqa: E402
from .instances import problems  # noqa: E402
from .oracle import Oracle  # noqa: E402
from .quantities import population_N  # noqa: E402

__all__ += ["Oracle", "oracle", "classes", "algorithms", "engine", "comparison", "evaluation", "exact", "stats",
            "problems", "population_N"]

# numbers users can trust (issue 11): the tilted optimum in log space
from .quantities import log_tilted  # noqa: E402

__all__ += ["log_tilted"]

# self-rewards compared exactly: power, majority vote, soft best-of-N, BoN KL / win rate (issue 14)
from . import ar_power, self_rewards  # noqa: E402
from .self_rewards import (  # noqa: E402
    answer_law,
    bon_kl,
    bon_kl_bound,
    bon_win_rate,
    bon_win_rate_continuous,
    majority_law,
    majority_prob,
    power,
    power_vs_temperature,
    soft_bon_law,
)

__all__ += [
    "power",
    "answer_law",
    "majority_law",
    "majority_prob",
    "soft_bon_law",
    "bon_kl",
    "bon_kl_bound",
    "bon_win_rate",
    "bon_win_rate_continuous",
    "power_vs_temperature",
    "ar_power",
    "self_rewards",
]

# iterated self-improvement: population rounds, finite-sample rounds, exact count chains (issue 15)
from . import iterate as iteration  # noqa: E402
from .iterate import (  # noqa: E402
    CountChain,
    SelfTrainResult,
    Step,
    bon_step,
    compositions,
    count_chain,
    iterate,
    iterated_bon_law,
    reward_bon_law,
    round_metrics,
    self_train,
    sft_step,
    temperature_step,
    tilt_step,
)

__all__ += [
    "iteration",
    "iterate",
    "Step",
    "bon_step",
    "sft_step",
    "tilt_step",
    "temperature_step",
    "iterated_bon_law",
    "round_metrics",
    "reward_bon_law",
    "SelfTrainResult",
    "self_train",
    "compositions",
    "CountChain",
    "count_chain",
]

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

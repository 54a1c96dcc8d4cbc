"""The paper's algorithms, run through the counting oracle (SPEC 5, 6).

Every learner takes an :class:`sharpsim.oracle.Oracle` (never the base table), a class
from :mod:`sharpsim.classes` and an explicit key, and returns a :class:`LearnerResult`
whose ``policy`` is the learned exact [X, Y] table (float64), evaluated exactly with
:func:`sharpsim.sharpness_error`.

* :func:`inference_bon`: inference-time best-of-N (Prop. C.1, SPEC 5.4).
* :func:`sft_sharpening`: SFT-Sharpening (SPEC 5.1, Theorem 4.1).
* :func:`adaptive_sft_sharpening`: adaptive SFT-Sharpening with Eq. (10) (SPEC 5.5).
* :func:`dpo_sharpening`: offline RLHF-Sharpening, squared-loss DPO of Eq. (8), N = 2 (SPEC 6.2).
* :func:`xpo_sharpening`: online RLHF-Sharpening, XPO (Algorithm 1, SPEC 6.4).
* :func:`mh_power_sampling`: Metropolis-Hastings power sampling (Karan and Du, arXiv 2510.14901)
  through a :class:`PrefixOracle`, with its exact transition matrix (issue 14).
"""

from .adaptive import adaptive_sft_sharpening
from .bon import inference_bon
from .dpo import dpo_sharpening
from .result import LearnerResult
from .sft import sft_sharpening
from .xpo import xpo_sharpening

__all__ = [
    "LearnerResult",
    "inference_bon",
    "sft_sharpening",
    "adaptive_sft_sharpening",
    "dpo_sharpening",
    "xpo_sharpening",
]

# Metropolis-Hastings power sampling (issue 14)
from .power_mcmc import (  # noqa: E402
    PowerMCMCResult,
    PrefixOracle,
    mh_power_sampling,
    power_mcmc_laws,
    power_mcmc_transition,
    spectral_gap,
)

__all__ += ["PrefixOracle", "PowerMCMCResult", "mh_power_sampling", "power_mcmc_transition", "power_mcmc_laws",
            "spectral_gap"]

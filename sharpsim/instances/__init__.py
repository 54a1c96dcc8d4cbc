"""Instances of the paper: the lower-bound family (SPEC 4.4) and the examples of SPEC 6.5 and 7,
plus random families with controllable coverage and margin."""

from .families import (
    power_law_family,
    power_law_margin,
    two_level_coverage_range,
    two_level_family,
)
from .hard import HardInstance, hard_instance, hard_instance_from_eps
from .prop_e import (
    cut_value,
    greedy_failure,
    max_cut_brute_force,
    maxcut_instance,
    prop_e2,
)
from .separation import J1_MARGIN_FLOOR, J1Instance, example_j1, unit_vector_packing
from .toy import answer_correct, perturb, toy_task

__all__ = [
    "HardInstance",
    "hard_instance",
    "hard_instance_from_eps",
    "J1Instance",
    "J1_MARGIN_FLOOR",
    "unit_vector_packing",
    "example_j1",
    "prop_e2",
    "greedy_failure",
    "maxcut_instance",
    "cut_value",
    "max_cut_brute_force",
    "two_level_family",
    "two_level_coverage_range",
    "power_law_family",
    "power_law_margin",
    "toy_task",
    "perturb",
    "answer_correct",
]

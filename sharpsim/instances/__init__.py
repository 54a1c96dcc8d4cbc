"""Instances of the paper: the lower-bound family (SPEC 4.4) and the examples of SPEC 6.5 and 7."""

from .hard import HardInstance, hard_instance, hard_instance_from_eps

__all__ = ["HardInstance", "hard_instance", "hard_instance_from_eps"]

"""What learners and trial cores return, and what the engine's batches share (chunking, the
best-of-N law of a problem computed once on the host)."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from .. import core

THREADS = min(2, os.cpu_count() or 1)
"""Chunk calls :func:`sharpsim.engine.run_trials` runs at once, each on its own thread. XLA:CPU
leaves much of a call on one core (loops over chunks, gathers, scatters), so two calls in flight
use a second core (measured 1.4x on the SFT tabular fast path on 2 cores). Trials do not depend
on the call they run in, so the results are the same bits for any value; set it to 1 for one call
at a time (e.g. when other processes already use every core)."""


def chunks_per_call(n_chunks: int, most: int) -> int:
    """G, the vmapped chunks per call of a scanned :class:`Batch`: the n_chunks chunks in balanced
    calls of at most ``most`` chunks, and in at least :data:`THREADS` calls when there are that many
    chunks (so that the engine can run them side by side)."""
    calls = max(-(-n_chunks // most), min(THREADS, n_chunks))
    return -(-n_chunks // calls)


_LAW_CACHE: "OrderedDict[tuple, Any]" = OrderedDict()
LAW_CACHE_SIZE = 8
"""(table, N) pairs whose best-of-N law :func:`bon_law_table` keeps, least recently used out."""
LAW_CACHE_MAX_SIZE = 1 << 20
"""Largest table (entries) whose law :func:`bon_law_table` caches (8 MiB each)."""


def bon_law_table(logp, N):
    """``core.bon_law(logp, N)`` as a device array for the generic path's batches, computed on the
    host (:func:`sharpsim.core.bon_law_numpy`, the same bits as the jitted law; tested in
    ``tests/test_bon_law_host_path.py``) once per table and N, so that the vmapped trial program does
    not compile the law (its sorts and tie groups are about a quarter of that program's compile).
    Keyed by the table's bytes (SHA-256), as the SFT fast path's tables
    (:func:`sharpsim.algorithms.sft._fast_tables`); tables above :data:`LAW_CACHE_MAX_SIZE` entries
    are not kept. logp: float64 [X, Y] (validated); returns float64 [X, Y] on the device."""
    lp = np.ascontiguousarray(logp, dtype=np.float64)

    def law():
        return core.to_device(core.bon_law_numpy(lp, float(N)))

    if lp.size > LAW_CACHE_MAX_SIZE:
        return law()
    return lru_get(_LAW_CACHE, LAW_CACHE_SIZE, (float(N),) + table_key(lp), law)


def table_key(lp) -> tuple:
    """(shape, SHA-256 of the bytes) of a contiguous float64 table: the key of the per-problem tables
    the batches keep (an edited table is a new key)."""
    return lp.shape, hashlib.sha256(memoryview(lp).cast("B")).digest()


def lru_get(cache: OrderedDict, size: int, key, compute):
    """``cache[key]``, made by ``compute()`` on a miss; the least recently used entries beyond ``size``
    are dropped."""
    out = cache.get(key)
    if out is not None:
        cache.move_to_end(key)
        return out
    out = cache[key] = compute()
    while len(cache) > size:
        cache.popitem(last=False)
    return out


class Trial(NamedTuple):
    """What one pure trial core returns (a pytree: jit / vmap-able).

    policy: the learned table pi_hat(y|x), float64 [X, Y] (None for inference-time BoN, whose
      outcome is an answer, not a table); queries: sample-and-evaluate queries charged (the m of
      the theory); extended: evaluations of log pi_base off the drawn responses (XPO, decision D7);
      prompts: prompts drawn; info: algorithm-specific arrays (the oracle's draws, counts, ...).
    """

    policy: Any
    queries: Any
    extended: Any
    prompts: Any
    info: Any = None


class Batch(NamedTuple):
    """How the engine runs an algorithm at one size: ``fn(keys [K]) -> (errors [K], queries [K],
    extended [K])`` on chunks of ``per`` trial keys; ``scanned``: ``fn`` maps over several
    vmapped chunks in one call (then ``per`` is that call's size and is not shrunk to ``trials``);
    ``sizes``: the sizes used, as reported in :class:`sharpsim.engine.TrialStats` (n, N, beta, ...);
    ``split``: a run of fewer trials than two chunks is cut into one chunk per engine thread
    (:data:`THREADS`) rather than run as one call, for batches whose calls leave a core idle (the
    adaptive rule's vmapped while loop; measured), the same bits either way."""

    fn: Any
    per: int
    scanned: bool = False
    sizes: dict = {}
    split: bool = False


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

"""Peak-memory probe, run in a fresh subprocess: ``python -m benchmarks._memory NAME IMPL [--quick]``.

Builds the largest case of benchmark NAME, reads VmRSS, runs implementation IMPL twice
(compile + run), and prints JSON with the VmHWM (peak resident set) increase over the
resident set before the call. tracemalloc would miss XLA's buffers; VmHWM sees them.
"""

from __future__ import annotations

import json
import sys


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    name, impl = argv[0], argv[1]
    quick = "--quick" in argv
    from . import _block, load_all

    bench = load_all()[name]
    params, impls = bench.memory(quick)
    fn = impls[impl]
    rss0 = _status_kib("VmRSS")
    hwm0 = _status_kib("VmHWM")
    _block(fn())
    _block(fn())
    hwm = _status_kib("VmHWM")
    print(json.dumps({"params": params, "rss_before_kib": rss0, "hwm_before_kib": hwm0, "hwm_after_kib": hwm,
                      "peak_increase_mib": max(hwm - rss0, 0) / 1024.0}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

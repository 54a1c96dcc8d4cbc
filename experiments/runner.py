"""Run catalogue experiments: cached results, atomic writes, progress bars, a summary table.

Layout under ``out``: ``results/<name>.json`` and ``figures/<name>.{png,pdf}`` for the full
configuration; ``results/<name>.quick.json`` and ``figures/quick/<name>.{png,pdf}`` for the quick
one, so a quick smoke run never overwrites the committed figures. Full runs write a vector PDF;
quick runs wrap the PNG's raster in the PDF (no second rendering) unless ``SHARPSIM_PDF=1``.
A results file holds the experiment name, the sharpsim version, the config, the wall time and
the results. It is reused (the run skipped) when its config and version match, unless ``force``.
Each experiment's results are written as soon as it finishes, so an interrupted
``reproduce`` loses nothing already finished.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import sys
import time
import traceback

from . import CATALOGUE


def load(name: str):
    """The experiment module ``sharpsim.experiments.<name>`` (ValueError for unknown names)."""
    if name not in CATALOGUE:
        raise ValueError(f"unknown experiment {name!r}; known: {', '.join(CATALOGUE)}")
    return importlib.import_module(f"{__package__}.{name}")


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=_default))


def _default(o):
    import numpy as np

    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_json_atomic(path: str, payload: dict) -> None:
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(payload, f, indent=1, default=_default)
    os.replace(tmp, path)


def paths(name: str, out: str, quick: bool) -> tuple[str, str]:
    if quick:
        return (os.path.join(out, "results", f"{name}.quick.json"), os.path.join(out, "figures", "quick", name))
    return os.path.join(out, "results", f"{name}.json"), os.path.join(out, "figures", name)


def run_one(name: str, *, quick: bool = False, out: str = ".", force: bool = False, progress: bool = True) -> dict:
    """Run (or reuse) one experiment, plot it, and return its record with the summary rows."""
    from tqdm.auto import tqdm

    import sharpsim

    mod = load(name)
    config = mod.QUICK if quick else mod.FULL
    cfg = _jsonable(dataclasses.asdict(config))
    res_path, fig_stem = paths(name, out, quick)
    record = None
    if not force and os.path.exists(res_path):
        try:
            with open(res_path) as f:
                old = json.load(f)
            if old.get("config") == cfg and old.get("version") == sharpsim.__version__:
                record = old
                record["reused"] = True
        except (OSError, json.JSONDecodeError):
            record = None
    if record is None:
        total = int(mod.total_steps(config))
        t0 = time.perf_counter()
        with tqdm(total=total, desc=f"{name:<17}", disable=not progress, file=sys.stderr, leave=True) as bar:
            results = mod.run(config, bar.update)
        record = {
            "name": name,
            "version": sharpsim.__version__,
            "quick": quick,
            "config": cfg,
            "elapsed_s": time.perf_counter() - t0,
            "results": _jsonable(results),
        }
        write_json_atomic(res_path, record)
        record["reused"] = False
    from . import style

    with style.vector_pdf(not quick):  # the vector PDF only in full runs (or SHARPSIM_PDF=1)
        mod.plot(record["results"], fig_stem)
    record["figures"] = [f"{fig_stem}.png", f"{fig_stem}.pdf"]
    record["summary"] = mod.summary(record["results"])
    return record


def reproduce(names=None, *, quick=False, out=".", force=False, progress=True,
              finished=None) -> tuple[list[dict], list[tuple[str, str]]]:
    """Run several experiments; a failure in one is reported and the others still run.

    Returns (records, failures) with failures as (name, traceback text). ``finished`` (a list)
    receives each record as soon as its experiment is done, so a caller interrupted by Ctrl-C
    knows what was kept (every finished experiment's results file is already written).
    """
    names = list(names) if names else list(CATALOGUE)
    for n in names:
        load(n)  # unknown names fail before anything runs
    records, failures = [], []
    for n in names:
        try:
            records.append(run_one(n, quick=quick, out=out, force=force, progress=progress))
            if finished is not None:
                finished.append(records[-1])
        except Exception:  # noqa: BLE001 - report and go on with the rest
            failures.append((n, traceback.format_exc()))
    return records, failures


def format_summary(records: list[dict]) -> str:
    """The end-of-run table: each figure's key measurement next to the theory."""
    rows = [("figure", "measurement", "simulated", "theory", "note")]
    for r in records:
        for s in r["summary"]:
            rows.append((r["name"], str(s["measurement"]), _fmt(s.get("simulated")), _fmt(s.get("theory")), str(s.get("note", ""))))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(row[i].ljust(widths[i]) for i in range(4)) + "  " + row[4])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  ----")
    return "\n".join(lines)


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)

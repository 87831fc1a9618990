"""Structured figures from the benchmark scripts, for ``benchmarks/run_all.py``.

Each script prints its own table when run alone; it also calls :func:`record` for its
headline figures. When the runner sets ``BYOB_BENCH_RESULTS`` to a file name, every
call appends one JSON line there, so the runner can print one table for all scripts
without parsing their human-readable output. Without the variable, ``record`` does
nothing.
"""

from __future__ import annotations

import json
import os


def record(
    benchmark: str,
    case: str,
    value: float,
    unit: str,
    *,
    reference: str | None = None,
    ratio: float | None = None,
    goal: str | None = None,
) -> None:
    """Append one figure (and its ratio against the reference) to the results file."""
    path = os.environ.get("BYOB_BENCH_RESULTS")
    if not path:
        return
    line = {
        "benchmark": benchmark,
        "case": case,
        "value": value,
        "unit": unit,
        "reference": reference,
        "ratio": ratio,
        "goal": goal,
    }
    # Append mode: one short write per line, so lines from one script never interleave.
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")

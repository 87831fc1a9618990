"""Shared timing for the benchmark scripts: interleaved rounds, medians, the machine's load.

Every candidate does the same work (the same keys, the same count) in each round; the
rounds go A B C, then B C A, then C A B, ... so that a burst of load on a shared
machine, or the garbage one candidate leaves, falls on every candidate alike. The figure
of a candidate is its median round, not its best.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable


def load() -> str:
    """The 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    if not hasattr(os, "getloadavg"):
        return "n/a"
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def measure(
    candidates: dict[str, Callable[[], object]], rounds: int
) -> dict[str, tuple[float, float]]:
    """(median wall seconds, median CPU seconds of this process) of each candidate's round.

    The CPU figure is what the round cost this process, whatever else the machine ran
    meanwhile: on a shared machine it is the fairer absolute figure, the wall time the one
    ratios are taken from (both candidates of a ratio run under the same load).
    """
    names = list(candidates)
    for run in candidates.values():  # warm caches and imports outside the timed rounds
        run()
    walls: dict[str, list[float]] = {name: [] for name in names}
    cpus: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            cpu = time.process_time()
            start = time.perf_counter()
            candidates[name]()
            walls[name].append(time.perf_counter() - start)
            cpus[name].append(time.process_time() - cpu)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in names}


def medians(candidates: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    """Median wall seconds of one round of each candidate over `rounds` interleaved rounds."""
    return {name: wall for name, (wall, _) in measure(candidates, rounds).items()}


class FakeClock:
    """A clock that moves one second each time it is read: every call a new signing second."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))

    def __call__(self) -> float:
        self.now += 1.0
        return self.now

"""Run every ``benchmarks/bench_*.py`` and print one table of figures and ratios.

Run: ``python benchmarks/run_all.py [--quick]`` (``nox -s bench`` calls it).

Each script runs as its own subprocess (a fresh interpreter, so start-up and memory
figures are not skewed by the others) with ``BYOB_BENCH_RESULTS`` naming a file where
:func:`_results.record` appends one JSON line per figure. A script that fails, or
reports no figures, gets a row saying so; the runner itself always exits 0, because
benchmarks assert nothing about time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COLUMNS = ("benchmark", "case", "value", "unit", "vs reference", "ratio", "goal")


def cpu_model() -> str:
    """The CPU model from /proc/cpuinfo, falling back to what platform knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> list[str]:
    """One line each: CPU, cores, OS, Python, load average when the run started."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return [
        f"cpu: {cpu_model()}",
        f"cores: {os.cpu_count()}",
        f"os: {platform.system()} {platform.release()} ({platform.machine()})",
        f"python: {sys.version.split()[0]} ({sys.executable})",
        f"load average at start (1, 5, 15 min): {load}",
    ]


def fmt_value(value: float) -> str:
    if value != value:  # NaN: a figure the script could not measure
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def run_script(script: Path, quick: bool, results: Path) -> tuple[list[dict], str, float]:
    """Run one script; return its figures, a status note, and its wall time."""
    env = {**os.environ, "BYOB_BENCH_RESULTS": str(results)}
    argv = [sys.executable, str(script)]
    # Only pass --quick to scripts that take it (bench_startup and bench_s3_gc do not).
    if quick and "--quick" in script.read_text(encoding="utf-8"):
        argv.append("--quick")
    print(f"\n=== {' '.join([script.name, *argv[2:]])}", flush=True)
    start = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    print(done.stdout, end="")
    figures = []
    if results.exists():
        figures = [json.loads(line) for line in results.read_text().splitlines() if line]
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return figures, f"FAILED (exit {done.returncode}): {last[:120]}", wall
    if not figures:
        return figures, "ran, but recorded no structured figures (see its own output)", wall
    return figures, "ok", wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every script")
    args = parser.parse_args(argv)
    header = machine()
    print("\n".join(header))
    rows: list[tuple[str, ...]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="byob-bench-") as scratch:
        for script in sorted(HERE.glob("bench_*.py")):
            figures, status, wall = run_script(script, args.quick, Path(scratch) / script.stem)
            notes.append(f"{script.name}: {status}, {wall:.0f} s")
            if status != "ok":
                rows.append((script.stem, status, "", "", "", "", ""))
            for f in figures:
                ratio = f.get("ratio")
                rows.append(
                    (
                        f["benchmark"],
                        f["case"],
                        fmt_value(f["value"]),
                        f["unit"],
                        f.get("reference") or "",
                        "" if ratio is None else f"{ratio:.2f}x",
                        f.get("goal") or "",
                    )
                )
    widths = [
        max(len(c), *(len(r[i]) for r in rows)) if rows else len(c) for i, c in enumerate(COLUMNS)
    ]
    print("\n" + "=" * 20 + f" summary ({'quick' if args.quick else 'full'} run) " + "=" * 20)
    print("\n".join(header))
    print("| " + " | ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=False)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + " |")
    print()
    print("\n".join(notes))
    if hasattr(os, "getloadavg"):
        print(
            "load average at end (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

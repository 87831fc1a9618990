"""Cold start of the command line against the libraries it cannot avoid importing.

Runs each command `--runs` times in a fresh interpreter and prints the median wall-clock
time, side by side with the reference ``python -c "import pluggy, attrs, structlog"``
(the goal of issue 2: ``--help`` within 2x of it). Then runs each command once under
``-X importtime`` and lists any cloud-SDK module it imported (there should be none).

    .venv/bin/python benchmarks/bench_startup.py [--runs 7]

Nothing here asserts anything about time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence

from _results import record  # benchmarks/ is sys.path[0] when run as a script

CLOUD_SDKS = ("s3fs", "gcsfs", "adlfs", "boto3", "botocore", "azure", "google", "aiobotocore")
REFERENCE = ("-c", "import pluggy, attrs, structlog")
COMMANDS: dict[str, tuple[str, ...]] = {
    "python -c pass": ("-c", "pass"),
    "reference (import pluggy, attrs, structlog)": REFERENCE,
    "python -m byob_core --help": ("-m", "byob_core", "--help"),
    "python -m byob_core parse s3://...": (
        "-m",
        "byob_core",
        "parse",
        "s3://AKIAEXAMPLE:c2VjcmV0@minio.local:9000/ml/wandb?region=us-east-1",
    ),
    "python -m byob_core resolve runs/a.bin": ("-m", "byob_core", "resolve", "runs/a.bin"),
    "python -m byob_core plugins": ("-m", "byob_core", "plugins"),
}


def environment(data_dir: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BYOB_", "GORILLA_"))}
    env["BYOB_DATA_DIR"] = data_dir  # the embedded default: no file to read
    return env


def run(
    argv: Sequence[str], env: dict[str, str], *, importtime: bool = False
) -> subprocess.CompletedProcess[str]:
    flags = ("-X", "importtime") if importtime else ()
    return subprocess.run(
        [sys.executable, *flags, *argv],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def median_seconds(argv: Sequence[str], env: dict[str, str], runs: int) -> float:
    run(argv, env)  # warm the OS file cache and the bytecode caches once
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = run(argv, env)
        times.append(time.perf_counter() - start)
        if result.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {result.stderr.strip()}")
    return statistics.median(times)


def cloud_modules(argv: Sequence[str], env: dict[str, str]) -> list[str]:
    """Cloud-SDK modules that ``-X importtime`` shows the command importing."""
    seen = set()
    for line in run(argv, env, importtime=True).stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            top = line.rsplit("|", 1)[1].strip().split(".")[0]
            if top in CLOUD_SDKS:
                seen.add(top)
    return sorted(seen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=7, help="fresh interpreters per command (default 7)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        env = environment(data_dir)
        medians = {name: median_seconds(argv, env, args.runs) for name, argv in COMMANDS.items()}
        sdks = {name: cloud_modules(argv, env) for name, argv in COMMANDS.items()}
    reference = medians["reference (import pluggy, attrs, structlog)"]
    width = max(len(name) for name in COMMANDS)
    print(f"python {sys.version.split()[0]}, median of {args.runs} fresh runs each")
    print(f"{'command':<{width}}  {'median ms':>9}  {'x reference':>11}  cloud SDK imported")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 11}  {'-' * 18}")
    for name in COMMANDS:
        ratio = medians[name] / reference
        print(
            f"{name:<{width}}  {medians[name] * 1000:9.1f}  {ratio:11.2f}  {', '.join(sdks[name]) or 'none'}"
        )
        record(
            "startup",
            name,
            medians[name] * 1000,
            "ms median",
            reference=f"import pluggy, attrs, structlog {reference * 1000:.0f} ms",
            ratio=ratio,
            goal="<= 2x (issue 2)" if "--help" in name else None,
        )
    help_ratio = medians["python -m byob_core --help"] / reference
    print(f"\n--help is {help_ratio:.2f}x the reference (goal: at most 2x)")


if __name__ == "__main__":
    main()

"""Overhead of ``byob://`` against the provider's own filesystem, and the cost of resolving a path.

Run: ``.venv/bin/python benchmarks/bench_fs.py [--quick]``

S3 (byob-aws on a local moto server): one 64 MiB file written and read through file
objects, and 1,000 files of 4 KiB written and read one call at a time (where a
per-call overhead shows most) and in one bulk call (``pipe``/``cat``, concurrent), each
through ``byob://omega/...`` and through ``s3://bucket/...`` with the same s3fs
instance. The file provider against fsspec's LocalFileSystem likewise, plus
``fsspec.open(url)`` and a 4 KiB read a file (``byob://omega/...`` found through
``BYOB_CONFIG`` against ``file://...``: the whole per-open cost, filesystem lookup
included; goal at most 1.10). Candidates alternate (and which goes first) each round;
every figure is the median round (at least 5 rounds for the large file). Nothing is
asserted: this prints figures, and the machine's load at start and end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable

from _results import record  # benchmarks/ is sys.path[0] when run as a script

MiB = 1024 * 1024


def once(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"


def compare(
    label: str, direct: Callable[[], object], byob: Callable[[], object], rounds: int
) -> tuple[str, float, float]:
    """Alternate the two, and which goes first, so that drift and the writeback or garbage
    the first one leaves behind hit both alike."""
    d, b = [], []
    for i in range(rounds):
        if i % 2:
            b.append(once(byob))
            d.append(once(direct))
        else:
            d.append(once(direct))
            b.append(once(byob))
    return label, statistics.median(d), statistics.median(b)


def workloads(
    direct_fs,
    direct_root: str,
    byob_fs,
    byob_root: str,
    *,
    files: int,
    big: int,
    rounds: int,
    urls: tuple[str, dict, str, dict] | None = None,
) -> list[tuple[str, float, float]]:
    payload = os.urandom(big)
    small = os.urandom(4096)
    rows = []

    def write_big(fs, root):
        def run():
            with fs.open(f"{root}/big.bin", "wb") as f:
                f.write(payload)

        return run

    def read_big(fs, root):
        def run():
            with fs.open(f"{root}/big.bin", "rb") as f:
                assert len(f.read()) == big

        return run

    def write_small(fs, root):
        return lambda: [fs.pipe_file(f"{root}/small/{i:04d}", small) for i in range(files)]

    def read_small(fs, root):
        return lambda: [fs.cat_file(f"{root}/small/{i:04d}") for i in range(files)]

    def pipe_bulk(fs, root):
        return lambda: fs.pipe({f"{root}/bulk/{i:04d}": small for i in range(files)})

    def cat_bulk(fs, root):
        return lambda: fs.cat([f"{root}/bulk/{i:04d}" for i in range(files)])

    import fsspec

    def open_small(url_root, options):
        def run():
            for i in range(files):
                with fsspec.open(f"{url_root}/small/{i:04d}", "rb", **options) as f:
                    f.read()

        return run

    for label, make in (
        (f"write 1 x {big // MiB} MiB", write_big),
        (f"read 1 x {big // MiB} MiB", read_big),
        (f"write {files} x 4 KiB, one call each", write_small),
        (f"read {files} x 4 KiB, one call each", read_small),
        (f"write {files} x 4 KiB, bulk pipe", pipe_bulk),
        (f"read {files} x 4 KiB, bulk cat", cat_bulk),
    ):
        # The large file is cheap to repeat and the most exposed to the server's jitter.
        repeat = max(rounds, 5) if "MiB" in label else rounds
        rows.append(compare(label, make(direct_fs, direct_root), make(byob_fs, byob_root), repeat))
        if urls is not None and label.startswith("read") and "one call" in label:
            direct_url, direct_options, byob_url, byob_options = urls
            rows.append(
                compare(
                    f"fsspec.open + read {files} x 4 KiB",
                    open_small(direct_url, direct_options),
                    open_small(byob_url, byob_options),
                    max(rounds, 5),
                )
            )
    return rows


def resolution(
    byob_fs, path: str, direct_fs, direct_path: str, options: dict | None = None
) -> list[tuple[str, float]]:
    """Microseconds per call: the guard and mapping alone, and what fsspec.open costs to set up."""
    import fsspec

    n = 20_000
    start = time.perf_counter()
    for _ in range(n):
        byob_fs._locate(path)
    locate = (time.perf_counter() - start) / n * 1e6

    start = time.perf_counter()
    for _ in range(n):
        byob_fs._place(path.partition("/")[0]).byob_name(byob_fs._locate(path)[2])
    roundtrip = (time.perf_counter() - start) / n * 1e6

    options = dict(byob_fs.storage_options) if options is None else options
    m = 2_000
    start = time.perf_counter()
    for _ in range(m):
        fsspec.core.url_to_fs(f"byob://{path}", **options)
    byob_open = (time.perf_counter() - start) / m * 1e6
    proto = direct_fs.protocol if isinstance(direct_fs.protocol, str) else direct_fs.protocol[0]
    start = time.perf_counter()
    for _ in range(m):
        fsspec.core.url_to_fs(f"{proto}://{direct_path}", **direct_fs.storage_options)
    direct_open = (time.perf_counter() - start) / m * 1e6
    return [
        ("resolve one byob path (guard + store), us", locate),
        ("resolve + map the name back, us", roundtrip),
        ("url_to_fs('byob://...'), us", byob_open),
        (f"url_to_fs('{proto}://...') for reference, us", direct_open),
    ]


def table(title: str, rows: list[tuple[str, float, float]], direct_name: str) -> None:
    print(f"\n{title}")
    print(f"{'workload':<40} {direct_name + ' s':>12} {'byob:// s':>12} {'ratio':>7}")
    for label, d, b in rows:
        print(f"{label:<40} {d:>12.4f} {b:>12.4f} {b / d:>7.3f}")
    mean = statistics.geometric_mean([b / d for _, d, b in rows])
    print(f"{'geometric mean of ratios':<40} {'':>12} {'':>12} {mean:>7.3f}")
    for label, d, b in rows:
        record(
            f"byob:// {direct_name}",
            label,
            b,
            "s",
            reference=f"{direct_name} {d:.4f} s",
            ratio=b / d,
            goal="<= 1.10x (issue 15)" if label.startswith("fsspec.open") else "<= 1.05x (issue 7)",
        )
    record(
        f"byob:// {direct_name}",
        "geometric mean of ratios",
        mean,
        "x",
        reference=direct_name,
        ratio=mean,
        goal="<= 1.05x (issue 7)",
    )


def bench_s3(args: argparse.Namespace) -> None:
    import boto3
    from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
    from byob_core.fs import ByobFileSystem

    os.environ.update(FAKE_ENV)
    with moto_server() as endpoint:
        boto3.client("s3", endpoint_url=endpoint, region_name=REGION).create_bucket(Bucket="bench")
        store = {
            "provider": "aws",
            "bucket": "bench",
            "endpoint": endpoint.split("://", 1)[1],
            "tls": False,
            "path_style": True,
            "region": REGION,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        }
        config = {
            "data_dir": tempfile.mkdtemp(prefix="byob-bench-"),
            "instance": {**store, "subpath": "instance"},
            "teams": {"omega": {**store, "subpath": "omega"}},
        }
        fs = ByobFileSystem(config_data=config)
        s3 = fs._place("omega").fs  # the very s3fs instance byob:// delegates to
        run = uuid.uuid4().hex[:6]
        rows = workloads(
            s3,
            f"bench/direct-{run}",
            fs,
            f"omega/byob-{run}",
            files=args.files,
            big=args.big * MiB,
            rounds=args.rounds,
            urls=(
                f"s3://bench/direct-{run}",
                dict(s3.storage_options),
                f"byob://omega/byob-{run}",
                {"config_data": config},
            ),
        )
        table("S3 on moto server (byob-aws; s3fs direct vs byob://)", rows, "s3://")
        for label, value in resolution(
            fs, "omega/runs/abc/file.bin", s3, "bench/runs/abc/file.bin"
        ):
            print(f"{label:<52} {value:>10.1f}")


def bench_file(args: argparse.Namespace) -> None:
    from byob_core.fs import ByobFileSystem
    from fsspec.implementations.local import LocalFileSystem

    with tempfile.TemporaryDirectory(prefix="byob-bench-") as root:
        config = {
            "data_dir": f"{root}/data",
            "instance": {"store": f"file://{root}/instance?subpath=wandb"},
            "teams": {"omega": {"provider": "file", "bucket": f"{root}/omega", "subpath": "o"}},
        }
        fs = ByobFileSystem(config_data=config)
        local = LocalFileSystem(auto_mkdir=True)
        # fsspec.open finds byob:// through BYOB_CONFIG, as a tool that only knows URLs does.
        toml = f"{root}/byob.toml"
        with open(toml, "w", encoding="utf-8") as out:
            out.write(
                f'data_dir = "{root}/data"\n[instance]\nstore = "file://{root}/instance?subpath=wandb"\n'
                f'[teams.omega]\nprovider = "file"\nbucket = "{root}/omega"\nsubpath = "o"\n'
            )
        os.environ["BYOB_CONFIG"] = toml
        rows = workloads(
            local,
            f"{root}/direct",
            fs,
            "omega/byob",
            files=args.files,
            big=args.big * MiB,
            rounds=args.rounds,
            urls=(f"file://{root}/direct", {}, "byob://omega/byob", {}),
        )
        table("file provider (LocalFileSystem direct vs byob://)", rows, "local")
        for label, value in resolution(
            fs, "omega/runs/abc/file.bin", local, f"{root}/runs/abc/file.bin", {}
        ):
            print(f"{label:<52} {value:>10.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="100 small files, 8 MiB, 2 rounds")
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--big", type=int, default=64, help="size of the large file in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=("s3", "file"))
    args = parser.parse_args()
    if args.quick:
        args.files, args.big, args.rounds = 100, 8, 2
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus; median of {args.rounds} "
        f"alternating rounds; load average at start: {load()}"
    )
    if args.only in (None, "file"):
        bench_file(args)
    if args.only in (None, "s3"):
        bench_s3(args)
    print(f"load average at end: {load()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

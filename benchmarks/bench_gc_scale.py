"""Garbage collection past one process: keys per second and peak RSS per worker, for the
one-process run and for Dask clusters of 1, 2 and 4 worker processes, in one run.

The store is `_synthetic_gc`'s: `--keys` generated objects (default 10^7) listed in key
order at `--page-ms` per page of 1,000 (default 20 ms, a remote listing's latency), with
a DeleteObjects round trip of the same latency; every tenth key is live, given as a
sorted live-key file (merge-joined, so memory does not grow with the live set). The
reference is the one-process run (`byob_core.gc.collect`, the local executor).

    .venv/bin/python benchmarks/bench_gc_scale.py [--keys 10000000] [--quick]

Reports, per executor: wall seconds, keys listed per second, the speed-up over the
one-process run, and the peak RSS of each worker process (ru_maxrss). Nothing here
asserts anything about time. With `--s3-objects N` (default 0: skipped) it also runs
an N-object bucket on a local moto server, one process against 2 Dask workers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import structlog
from _results import record  # benchmarks/ is sys.path[0] when run as a script
from _synthetic_gc import OLD, live_key, make_host
from byob_core import gcscale, livesets
from byob_core.gc import GcOptions
from byob_core.stores import Store

NOW = OLD + dt.timedelta(days=30)


def _quiet() -> None:
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


def live_file(folder: Path, keys: int) -> livesets.StreamedLiveSet:
    path = folder / "live.txt"
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(0, keys, 10):
            handle.write(live_key(i) + "\n")
    return livesets.load_sorted(path)


def run_on_cluster(store: Store, live, folder: Path, workers: int, shards: int) -> dict:
    """A run on a local cluster started beforehand (its start-up is reported apart)."""
    import distributed

    rss_dir = folder / f"rss-{workers}"
    rss_dir.mkdir()
    os.environ["BYOB_BENCH_RSS_DIR"] = str(rss_dir)  # before the workers start: they inherit it
    started = time.perf_counter()
    cluster = distributed.LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    startup = time.perf_counter() - started
    try:
        row = run_once(store, live, folder, workers, shards, cluster.scheduler_address)
    finally:
        cluster.close()
    row["startup"] = startup
    return row


def run_once(
    store: Store, live, folder: Path, workers: int | None, shards: int, scheduler: str = ""
) -> dict:
    rss_dir = folder / f"rss-{workers or 0}"
    rss_dir.mkdir(exist_ok=True)
    os.environ["BYOB_BENCH_RSS_DIR"] = str(rss_dir)
    options = GcOptions(grace="1d", journal=folder / f"j-{workers or 0}" / "gc.json")
    if workers is None:
        execution = gcscale.Execution(shards=1)
    else:
        execution = gcscale.Execution(
            executor="dask", scheduler=scheduler, shards=shards, host_factory=make_host
        )
    host = make_host()
    started = time.perf_counter()
    if workers is None:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = gcscale.collect(host, store, live, options, execution, now=NOW)
    wall = time.perf_counter() - started
    assert report.ok and report.deleted == report.listed - report.kept_live, report.to_dict()
    if workers is None:
        rss = [resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before]
        rss_label = "growth of this process"
    else:
        rss = [int(p.read_text()) for p in rss_dir.iterdir()]
        rss_label = "peak per worker"
    return {
        "wall": wall,
        "listed": report.listed,
        "rate": report.listed / wall,
        "rss_mib": [r / 1024 for r in rss],
        "rss_label": rss_label,
        "shards": report.shards,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=10_000_000)
    parser.add_argument("--page-ms", type=float, default=20.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--quick", action="store_true", help="10^6 keys, 1 and 2 workers")
    parser.add_argument("--s3-objects", type=int, default=0)
    args = parser.parse_args()
    if args.quick:
        args.keys, args.workers = 1_000_000, [1, 2]
    _quiet()
    os.environ.setdefault("BYOB_LOG_LEVEL", "error")  # the workers' logs
    load = os.getloadavg()
    print(f"# {args.keys:,} synthetic keys, {args.page_ms:g} ms per page of 1,000 and per delete")
    print(f"# machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f}")
    store = Store(
        provider="synthetic",
        bucket="bench",
        subpath="team",
        options={"count": args.keys, "page_seconds": args.page_ms / 1000},
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        live = live_file(folder, args.keys)
        results = {"one process": run_once(store, live, folder, None, 1)}
        for workers in args.workers:
            results[f"dask, {workers} worker(s)"] = run_on_cluster(
                store, live, folder, workers, shards=4 * workers
            )
    base = results["one process"]["rate"]
    print(f"\n{'executor':22} {'shards':>6} {'wall s':>8} {'keys/s':>10} {'x':>6}  peak RSS MiB")
    for name, row in results.items():
        ratio = row["rate"] / base
        rss = ", ".join(f"{r:.0f}" for r in row["rss_mib"])
        if "startup" in row:
            rss += f"; cluster start {row['startup']:.1f} s, not in the wall"
        print(
            f"{name:22} {row['shards']:>6} {row['wall']:>8.1f} {row['rate']:>10,.0f} "
            f"{ratio:>5.2f}x  {rss} ({row['rss_label']})"
        )
        record(
            "gc_scale",
            f"{name}, {args.keys:,} keys",
            row["rate"],
            "keys/s",
            reference="one process",
            ratio=ratio,
            goal=">= 1.8x at 2 workers" if name.startswith("dask, 2") else None,
        )
    if args.s3_objects:
        s3_comparison(args.s3_objects)


def s3_comparison(objects: int) -> None:
    """An `objects`-object bucket on moto: one process against 2 Dask workers."""
    import uuid

    import boto3
    from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
    from byob_core.plugins import PluginHost
    from byob_core.stores import Credentials

    os.environ.update(FAKE_ENV)
    with moto_server() as endpoint:
        rows = []
        for label, execution in (
            ("one process", None),
            ("dask, 2 workers", gcscale.Execution(executor="dask", workers=2, shards=8)),
        ):
            store = Store(
                provider="minio",
                bucket=f"bench-{uuid.uuid4().hex[:8]}",
                endpoint=endpoint.split("://", 1)[1],
                tls=False,
                path_style=True,
                region=REGION,
                subpath="team",
                credentials=Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY),
            )
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name=REGION)
            s3.create_bucket(Bucket=store.bucket)
            for i in range(objects):
                s3.put_object(Bucket=store.bucket, Key=f"team/{live_key(i)}", Body=b"x")
            live = [live_key(i) for i in range(0, objects, 10)]
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                report = gcscale.collect(
                    PluginHost.load(),
                    store,
                    live,
                    GcOptions(grace="0s", journal=Path(tmp) / "gc.json"),
                    execution,
                    now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1),
                )
            wall = time.perf_counter() - started
            lists = sum(-(-s["listed"] // 1000) for s in report.per_shard) or 1
            rows.append((label, wall, lists, report.batches, report.deleted))
        print(
            f"\nmoto, {objects:,} objects: {'wall s':>8} {'LIST pages':>10} {'DeleteObjects':>13}"
        )
        for label, wall, lists, deletes, deleted in rows:
            print(f"{label:22} {wall:>8.1f} {lists:>10} {deletes:>13}  ({deleted:,} deleted)")
            record("gc_scale", f"moto {objects:,} objects, {label}", wall, "s")


if __name__ == "__main__":
    sys.exit(main())

"""Garbage collection of 20,000 objects on a moto S3 server: byob-aws vs s3fs rm(recursive=True).

    .venv/bin/python benchmarks/bench_s3_gc.py [N]

Starts a moto server on 127.0.0.1, fills a bucket with N objects (default 20,000) under
one prefix, and empties it twice: once through the core's collection engine (which calls
byob-aws's `byob_list` and `byob_garbage_collect`, with an empty live set and no grace),
once with s3fs ``rm(prefix, recursive=True)`` on the same data. S3 requests are counted
with botocore event hooks on the clients that make them. Prints requests by operation and
wall time; asserts nothing about time. The goal for byob-aws is ceil(N/1000) list calls
plus ceil(N/1000) delete calls.
"""

from __future__ import annotations

import collections
import concurrent.futures
import datetime as dt
import math
import sys
import tempfile
import time

from _results import record  # benchmarks/ is sys.path[0] when run as a script


def fill(client, bucket: str, keys: list[str]) -> None:
    def put(chunk: list[str]) -> None:
        for key in chunk:
            client.put_object(Bucket=bucket, Key=key, Body=b"x")

    chunks = [keys[i::16] for i in range(16)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(put, chunks))


def main(count: int) -> None:
    import os

    from byob_aws import s3
    from byob_aws.testing import ACCESS_KEY, FAKE_ENV, SECRET_KEY, moto_server
    from byob_core.gc import GcOptions, collect
    from byob_core.plugins import PluginHost
    from byob_core.stores import Credentials, Store

    os.environ.update(FAKE_ENV)
    with moto_server() as endpoint:
        store = Store(
            provider="aws",
            bucket="bench-gc",
            subpath="wandb",
            region="us-east-1",
            endpoint=endpoint.split("://")[1],
            tls=False,
            path_style=True,
            credentials=Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY),
        )
        client = s3.client(store)
        client.create_bucket(Bucket=store.bucket)
        keys = [f"wandb/runs/run-{i // 100:04d}/file-{i:06d}.bin" for i in range(count)]

        # byob-aws through the core engine.
        start = time.perf_counter()
        fill(client, store.bucket, keys)
        fill_time = time.perf_counter() - start
        ours: collections.Counter[str] = collections.Counter()

        def count_ours(**kwargs) -> None:
            ours[kwargs["event_name"].rsplit(".", 1)[-1]] += 1

        client.meta.events.register("before-send.s3", count_ours, unique_id="bench")
        host = PluginHost.load()
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            report = collect(
                host,
                store,
                [],
                GcOptions(grace=dt.timedelta(0), allow_empty_live=True, journal=f"{tmp}/journal"),
            )
            ours_time = time.perf_counter() - start
        client.meta.events.unregister("before-send.s3", unique_id="bench")
        left = client.list_objects_v2(Bucket=store.bucket, Prefix="wandb/").get("KeyCount", 0)
        assert report.deleted == count and left == 0, (report.deleted, left)

        # s3fs rm(recursive=True) on the same data.
        fill(client, store.bucket, keys)
        import s3fs

        fs = s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            endpoint_url=endpoint,
            config_kwargs={"signature_version": "s3v4", "s3": {"addressing_style": "path"}},
            skip_instance_cache=True,
        )
        fs.connect()
        theirs: collections.Counter[str] = collections.Counter()

        def count_theirs(**kwargs) -> None:
            theirs[kwargs["event_name"].rsplit(".", 1)[-1]] += 1

        fs.s3.meta.events.register("before-send.s3", count_theirs)
        start = time.perf_counter()
        fs.rm(f"{store.bucket}/wandb", recursive=True)
        s3fs_time = time.perf_counter() - start
        left = client.list_objects_v2(Bucket=store.bucket, Prefix="wandb/").get("KeyCount", 0)
        assert left == 0, left

    goal = 2 * math.ceil(count / 1000)
    print(f"N = {count:,} objects (fill: {fill_time:.1f} s); goal: {goal} requests")
    print(f"{'collector':30} {'requests':>9} {'by operation':40} {'wall s':>8}")
    for name, counter, wall in (
        ("byob-aws (core gc engine)", ours, ours_time),
        ("s3fs rm(recursive=True)", theirs, s3fs_time),
    ):
        ops = ", ".join(f"{op} {n}" for op, n in sorted(counter.items()))
        print(f"{name:30} {sum(counter.values()):9} {ops:40} {wall:8.2f}")
        record(
            "s3 gc",
            f"{count:,} objects, {name}",
            sum(counter.values()),
            "requests",
            reference=f"{ops}; {wall:.2f} s",
            goal=f"<= {goal} requests (issue 4)",
        )
    record(
        "s3 gc",
        f"{count:,} objects, s3fs / byob-aws requests",
        sum(theirs.values()) / sum(ours.values()),
        "x",
        reference="s3fs rm(recursive=True)",
        ratio=sum(theirs.values()) / sum(ours.values()),
    )
    print(
        f"ratio s3fs/byob-aws: requests {sum(theirs.values()) / sum(ours.values()):.2f}, "
        f"wall time {s3fs_time / ours_time:.2f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)

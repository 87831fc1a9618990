"""Pre-signing rate for S3 on the path users call: ``Byob.sign`` against boto3 and obstore.

    .venv/bin/python benchmarks/bench_s3_sign.py [--quick]

Every candidate signs GET URLs for the same N keys, bucket, endpoint and credentials:

* ``Byob.sign([key])``: one URL a call through the public API (configuration resolved,
  every key through the guard, the plugin's prepared signer), and batches of 100;
* the same, one URL a call with a fake clock that moves one second each call, so every
  URL is signed in a new second (a server signing one URL per request);
* ``ByobFileSystem.sign`` on ``byob://_instance/<key>``, one URL a call;
* boto3 ``generate_presigned_url``, one URL a call (it has no batch API);
* obstore ``sign``, one path a call and batches of 100.

Before timing, byob's URLs are checked byte for byte against boto3's under a frozen
clock. Rounds are interleaved and each figure is the median round (see `_timing`).
Offline: signing needs no network. Nothing here asserts about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
from unittest import mock

from _results import record  # benchmarks/ is sys.path[0] when run as a script
from _timing import FakeClock, load, medians

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BUCKET = "acme-ml"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:9000"
BATCH = 100
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys and rounds")
    args = parser.parse_args()
    count, rounds = (1_000, 5) if args.quick else (3_000, 11)
    print(f"load average at start: {load()}")

    import tempfile

    import boto3
    import obstore
    from botocore.config import Config
    from byob_core import signing
    from byob_core.api import Byob
    from byob_core.config import from_mapping
    from byob_core.fs import ByobFileSystem
    from obstore.store import S3Store

    keys = [f"runs/run-{i:06d}/files/media/image {i}.png" for i in range(count)]
    byob = Byob(
        from_mapping(
            {
                "data_dir": tempfile.mkdtemp(prefix="byob-bench-"),
                "instance": {
                    "provider": "aws",
                    "bucket": BUCKET,
                    "region": REGION,
                    "endpoint": ENDPOINT.split("://")[1],
                    "tls": False,
                    "path_style": True,
                    "access_key": ACCESS_KEY,
                    "secret_key": SECRET_KEY,
                },
            }
        )
    )
    fs = ByobFileSystem(byob=byob)
    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    ).client(
        "s3",
        endpoint_url=ENDPOINT,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    ostore = S3Store(
        BUCKET,
        endpoint=ENDPOINT,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region=REGION,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )
    hour = dt.timedelta(hours=1)

    def boto(key: str) -> str:
        return client.generate_presigned_url(
            "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600
        )

    # Byte-identity first: a benchmark of a wrong signer would mean nothing.
    with mock.patch("botocore.auth.get_current_datetime", return_value=AT.replace(tzinfo=None)):
        expected = [boto(k) for k in keys[:50]]
    assert [s.url for s in byob.sign(keys[:50], at=AT)] == expected
    assert [byob.sign([k], at=AT)[0].url for k in keys[:50]] == expected

    def byob_single() -> None:
        for key in keys:
            byob.sign([key])

    def byob_batch() -> None:
        for i in range(0, count, BATCH):
            byob.sign(keys[i : i + BATCH])

    def byob_new_second() -> None:
        real = signing.clock
        signing.clock = FakeClock()
        try:
            for key in keys:
                byob.sign([key])
        finally:
            signing.clock = real

    def fs_single() -> None:
        for key in keys:
            fs.sign(f"byob://_instance/{key}")

    def boto_single() -> None:
        for key in keys:
            boto(key)

    def obstore_single() -> None:
        for key in keys:
            obstore.sign(ostore, "GET", key, hour)

    def obstore_batch() -> None:
        for i in range(0, count, BATCH):
            obstore.sign(ostore, "GET", keys[i : i + BATCH], hour)

    seconds = medians(
        {
            "byob_single": byob_single,
            "byob_batch": byob_batch,
            "byob_new_second": byob_new_second,
            "fs_single": fs_single,
            "boto_single": boto_single,
            "obstore_single": obstore_single,
            "obstore_batch": obstore_batch,
        },
        rounds,
    )
    rate = {name: count / s for name, s in seconds.items()}
    boto_rate, ob1, ob100 = rate["boto_single"], rate["obstore_single"], rate["obstore_batch"]
    rows = [
        ("Byob.sign, one URL a call", rate["byob_single"], ob1, ">= 20x boto3, >= 1.0x obstore"),
        (f"Byob.sign, batches of {BATCH}", rate["byob_batch"], ob100, ">= 1.2x obstore batches"),
        (
            "Byob.sign, one URL a call, each in a new second",
            rate["byob_new_second"],
            ob1,
            ">= 20x boto3, >= 1.0x obstore",
        ),
        (
            "ByobFileSystem.sign, one URL a call",
            rate["fs_single"],
            ob1,
            ">= 20x boto3, >= 1.0x obstore",
        ),
    ]
    print(
        f"S3 SigV4 pre-signing, {count:,} keys per candidate, median of {rounds} interleaved rounds"
    )
    print(f"{'candidate':<50} {'URLs/s':>10} {'x boto3':>8} {'x obstore':>10}")
    for name, value, versus, _ in rows:
        print(f"{name:<50} {value:>10,.0f} {value / boto_rate:>8.1f} {value / versus:>10.2f}")
    print(f"{'boto3 generate_presigned_url, one a call':<50} {boto_rate:>10,.0f}")
    print(f"{'obstore.sign, one path a call':<50} {ob1:>10,.0f}")
    print(f"{f'obstore.sign, batches of {BATCH}':<50} {ob100:>10,.0f}")
    print(f"load average at end: {load()} ({os.cpu_count()} cores)")
    for name, value, versus, goal in rows:
        record(
            "s3 sign",
            name,
            value,
            "URLs/s",
            reference=f"boto3 {boto_rate:,.0f}/s; obstore {versus:,.0f}/s",
            ratio=value / boto_rate,
            goal=f"{goal} (issue 15); x obstore {value / versus:.2f}",
        )


if __name__ == "__main__":
    main()

"""Pre-signing rate for a MinIO store (custom endpoint, path-style): byob-minio vs boto3 vs obstore.

Signs the same GET requests (same keys, credentials, region, endpoint, lifetime, clock) with

* ``byob`` — the minio plugin's ``byob_sign`` hook (byob-aws's SigV4 pre-signer on the
  store's endpoint), one request a call and in batches of 100;
* ``boto3`` — ``generate_presigned_url`` with ``addressing_style: path`` and the same
  endpoint, after checking that its URLs are byte-identical to ours;
* ``obstore`` — ``obstore.sign`` on an ``S3Store`` with the same endpoint (path-style),
  one path a call and in batches of 100 (a different URL layout; no byte comparison).

    .venv/bin/python benchmarks/bench_minio_sign.py [--quick]

Wall-clock, one process, best of several rounds; nothing here asserts about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from unittest import mock

from _results import record  # benchmarks/ is sys.path[0] when run as a script
from byob_core.signing import SignRequest
from byob_core.stores import Credentials, Store
from byob_minio import plugin

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ENDPOINT = "http://minio.internal:9000"
BUCKET = "ml-data"
REGION = "us-east-1"
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
STORE = Store(
    provider="minio",
    bucket=BUCKET,
    endpoint=ENDPOINT.split("://")[1],
    tls=False,
    path_style=True,
    region=REGION,
    credentials=Credentials(access_key=AK, secret_key=SK),
)


def keys(count: int) -> list[str]:
    return [f"wandb/runs/{i // 100:05d}/media/image {i:07d}.png" for i in range(count)]


def rate(run: Callable[[], object], count: int, rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys and rounds")
    args = parser.parse_args()
    count, rounds = (2_000, 3) if args.quick else (20_000, 5)
    names = keys(count)
    requests = [SignRequest(key=k, expires=HOUR, at=AT) for k in names]

    import boto3
    from botocore.config import Config

    s3 = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=ENDPOINT,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    with mock.patch("botocore.auth.get_current_datetime", return_value=AT.replace(tzinfo=None)):
        theirs = [
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=3600
            )
            for k in names[:200]
        ]
    ours = [s.url for s in plugin.byob_sign(store=STORE, requests=requests[:200])]
    assert ours == theirs, "byob and boto3 URLs differ"

    def byob_single() -> None:
        for request in requests:
            plugin.byob_sign(store=STORE, requests=[request])

    def byob_batch() -> None:
        for start in range(0, count, 100):
            plugin.byob_sign(store=STORE, requests=requests[start : start + 100])

    boto_names = names[: max(count // 10, 1)]

    def boto3_single() -> None:
        for k in boto_names:
            s3.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": k}, ExpiresIn=3600
            )

    rows = [
        ("byob, one URL a call", rate(byob_single, count, rounds)),
        ("byob, batches of 100", rate(byob_batch, count, rounds)),
        # boto3 is slow: a tenth of the keys gives the same rate in a tenth of the time.
        ("boto3 generate_presigned_url", rate(boto3_single, len(boto_names), rounds)),
    ]
    try:
        import obstore
        from obstore.store import S3Store

        store = S3Store(
            BUCKET,
            endpoint=ENDPOINT,
            region=REGION,
            access_key_id=AK,
            secret_access_key=SK,
            virtual_hosted_style_request=False,
            client_options={"allow_http": True},
        )
        paths = names

        def obstore_single() -> None:
            for p in paths:
                obstore.sign(store, "GET", p, HOUR)

        def obstore_batch() -> None:
            for start in range(0, count, 100):
                obstore.sign(store, "GET", paths[start : start + 100], HOUR)

        rows.append(("obstore.sign, one URL a call", rate(obstore_single, count, rounds)))
        rows.append(("obstore.sign, batches of 100", rate(obstore_batch, count, rounds)))
    except ImportError:
        rows.append(("obstore (not installed)", float("nan")))

    boto = rows[2][1]
    print(f"MinIO store {ENDPOINT}/{BUCKET} (path-style), {count} GET URLs, best of {rounds}")
    print(f"{'signer':34} {'URLs/s':>12} {'vs boto3':>9}")
    for name, value in rows:
        print(f"{name:34} {value:12,.0f} {value / boto:8.1f}x")
        if "boto3" not in name:
            record(
                "minio sign",
                name,
                value,
                "URLs/s",
                reference=f"boto3 {boto:,.0f}/s",
                ratio=value / boto,
            )


if __name__ == "__main__":
    main()

"""Pre-signing rate for S3: byob-aws's own SigV4 signer vs boto3 vs obstore, in one run.

    .venv/bin/python benchmarks/bench_s3_sign.py

Every signer signs GET URLs for the same bucket, endpoint, credentials and keys; "single"
is one URL per call, "batch" signs lists of 100 keys per call (boto3 has no batch API, so
its batch figure is the same loop). Prints URLs per second (best of 3 rounds) and ratios;
asserts nothing about time. No network: signing is offline.
"""

from __future__ import annotations

import datetime as dt
import time

from _results import record  # benchmarks/ is sys.path[0] when run as a script

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
BUCKET = "acme-ml"
REGION = "us-east-1"
ENDPOINT = "http://127.0.0.1:9000"
BATCH = 100
ROUNDS = 3


def rate(fn, count: int) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return count / best


def main() -> None:
    from byob_aws import plugin
    from byob_aws.sigv4 import Presigner, S3Endpoint
    from byob_core.signing import SignRequest
    from byob_core.stores import Credentials, Store

    keys = [f"wandb/runs/run-{i:06d}/files/media/image {i}.png" for i in range(20_000)]
    expires = dt.timedelta(hours=1)

    presigner = Presigner(
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        region=REGION,
        endpoint=S3Endpoint.for_bucket(BUCKET, REGION, endpoint_url=ENDPOINT, path_style=True),
    )
    store = Store(
        provider="aws",
        bucket=BUCKET,
        region=REGION,
        endpoint=ENDPOINT.split("://")[1],
        tls=False,
        path_style=True,
        credentials=Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY),
    )

    def ours_single() -> None:
        for key in keys:
            presigner.sign(SignRequest(key=key, expires=expires))

    def ours_hook_single() -> None:
        for key in keys:
            plugin.byob_sign(store=store, requests=[SignRequest(key=key, expires=expires)])

    def ours_batch() -> None:
        for i in range(0, len(keys), BATCH):
            presigner.sign_many([SignRequest(key=k, expires=expires) for k in keys[i : i + BATCH]])

    def ours_strings_single() -> None:
        for key in keys:
            presigner.presign_many("GET", (key,), expires=expires)

    def ours_strings_batch() -> None:
        for i in range(0, len(keys), BATCH):
            presigner.presign_many("GET", keys[i : i + BATCH], expires=expires)

    import boto3
    from botocore.config import Config

    client = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=REGION
    ).client(
        "s3",
        endpoint_url=ENDPOINT,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    boto_keys = keys[:2_000]

    def boto_single() -> None:
        for key in boto_keys:
            client.generate_presigned_url(
                "get_object", Params={"Bucket": BUCKET, "Key": key}, ExpiresIn=3600
            )

    import obstore
    from obstore.store import S3Store

    ostore = S3Store(
        BUCKET,
        endpoint=ENDPOINT,
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET_KEY,
        region=REGION,
        virtual_hosted_style_request=False,
        client_options={"allow_http": True},
    )

    def obstore_single() -> None:
        for key in keys:
            obstore.sign(ostore, "GET", key, expires)

    def obstore_batch() -> None:
        for i in range(0, len(keys), BATCH):
            obstore.sign(ostore, "GET", keys[i : i + BATCH], expires)

    rows = [
        ("byob-aws Presigner.sign", "single", rate(ours_single, len(keys))),
        ("byob-aws byob_sign hook", "single", rate(ours_hook_single, len(keys))),
        ("byob-aws sign_many", f"batch {BATCH}", rate(ours_batch, len(keys))),
        ("byob-aws presign_many (strings)", "single", rate(ours_strings_single, len(keys))),
        ("byob-aws presign_many (strings)", f"batch {BATCH}", rate(ours_strings_batch, len(keys))),
        ("boto3 generate_presigned_url", "single", rate(boto_single, len(boto_keys))),
        ("obstore.sign", "single", rate(obstore_single, len(keys))),
        ("obstore.sign", f"batch {BATCH}", rate(obstore_batch, len(keys))),
    ]
    boto = rows[5][2]
    obstore_rates = {"single": rows[6][2], f"batch {BATCH}": rows[7][2]}
    print(f"{'signer':32} {'mode':10} {'URLs/s':>10} {'x boto3':>8} {'x obstore':>10}")
    for name, mode, value in rows:
        versus = value / obstore_rates[mode]
        print(f"{name:32} {mode:10} {value:10,.0f} {value / boto:8.1f} {versus:10.2f}")
        if name.startswith("byob-aws"):
            record(
                "s3 sign",
                f"{name} ({mode})",
                value,
                "URLs/s",
                reference=f"boto3 {boto:,.0f}/s; obstore {obstore_rates[mode]:,.0f}/s",
                ratio=value / boto,
                goal=f">= 20x boto3 (issue 4); x obstore {versus:.2f}",
            )


if __name__ == "__main__":
    main()

"""GCS V4 signing rate on the path users call: ``Byob.sign`` against google-cloud-storage.

Signs the same keys with the same service-account RSA key, lifetime and user
(``X-User``) both ways (checked byte for byte under a frozen clock first), and prints
URLs per second and the ratios. Rows:

* ``RSA, one URL a call``: ``Byob.sign([key])`` on a ``gs://`` store with the RSA key,
  against google-cloud-storage ``blob.generate_signed_url(version="v4")``, both on one
  thread; the ``RSA floor`` row (cryptography's ``key.sign`` alone) bounds one thread;
* ``RSA, same thread pool``: both sides one URL a call, the keys split over one
  2-worker thread pool (cryptography releases the GIL while it signs);
* ``RSA, batch``: ``Byob.sign(keys)`` on 100 keys a call (byob-gcp spreads a batch over
  its own pool) against the SDK on the same thread pool;
* ``HMAC``: ``Byob.sign([key])`` on a store with an HMAC key (google-cloud-storage
  cannot sign with one; goal: at least 50,000 URLs/s), also with every call in a new
  second (a fake clock), and ``ByobFileSystem.sign``.

    .venv/bin/python benchmarks/bench_gcs_sign.py [--quick]

Interleaved rounds, medians (see `_timing`); nothing here asserts about time.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import os
import tempfile
from unittest import mock

from _results import record  # benchmarks/ is sys.path[0] when run as a script
from _timing import FakeClock, load, measure

BUCKET = "acme-ml"
EMAIL = "byob-bench@byob-project.iam.gserviceaccount.com"
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LIFETIME = dt.timedelta(hours=1)
USER = "alice@example.com"
BATCH = 100


def keys(count: int) -> list[str]:
    return [f"teams/omega/runs/{i // 100:05d}/media/image {i:07d}.png" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys and rounds")
    args = parser.parse_args()
    rsa_count, hmac_count, rounds = (200, 2_000, 5) if args.quick else (400, 10_000, 11)
    print(f"load average at start: {load()}")

    from byob_core import signing
    from byob_core.api import Byob
    from byob_core.config import from_mapping
    from byob_core.fs import ByobFileSystem
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage
    from google.oauth2 import service_account

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")
    info = {
        "type": "service_account",
        "client_email": EMAIL,
        "private_key": pem,
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    credentials = service_account.Credentials.from_service_account_info(info)
    bucket = storage.Client(project="p", credentials=AnonymousCredentials()).bucket(BUCKET)
    byob = Byob(
        from_mapping(
            {
                "data_dir": tempfile.mkdtemp(prefix="byob-bench-"),
                "instance": {
                    "provider": "gcp",
                    "bucket": BUCKET,
                    "service_account": EMAIL,
                    "private_key": pem,
                },
                "teams": {
                    "hmac": {
                        "provider": "gcp",
                        "bucket": BUCKET,
                        "access_key": "GOOG1EBENCHACCESSID",
                        "secret_key": "bench-secret",
                    }
                },
            }
        )
    )
    fs = ByobFileSystem(byob=byob)

    def sdk(name: str) -> str:
        return bucket.blob(name).generate_signed_url(
            version="v4",
            expiration=LIFETIME,
            method="GET",
            credentials=credentials,
            query_parameters={"X-User": USER},
        )

    rsa_names, hmac_names = keys(rsa_count), keys(hmac_count)

    # Byte-identity first: a benchmark of a wrong signer would mean nothing. The SDK's
    # clock is frozen for this check only; the timed runs use its real clock.
    with mock.patch("google.cloud.storage._signing._NOW", return_value=AT):
        expected = [sdk(n) for n in rsa_names[:20]]
    assert [byob.sign([n], at=AT, user=USER)[0].url for n in rsa_names[:20]] == expected
    assert [s.url for s in byob.sign(rsa_names[:20], at=AT, user=USER)] == expected

    pad, sha = padding.PKCS1v15(), hashes.SHA256()
    message = (
        b"GOOG4-RSA-SHA256\n20260301T120000Z\n20260301/auto/storage/goog4_request\n" + b"0" * 64
    )
    workers = 2
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    size = -(-rsa_count // workers)
    chunks = [rsa_names[i : i + size] for i in range(0, rsa_count, size)]

    def on_pool(one):  # type: ignore[no-untyped-def]
        return lambda: list(pool.map(lambda chunk: [one(n) for n in chunk], chunks))

    def byob_one(name: str) -> object:
        return byob.sign([name], user=USER)

    def hmac_new_second() -> None:
        real = signing.clock
        signing.clock = FakeClock()
        try:
            for n in hmac_names:
                byob.sign([n], team="hmac", user=USER)
        finally:
            signing.clock = real

    timings = measure(
        {
            "sdk": lambda: [sdk(n) for n in rsa_names],
            "byob": lambda: [byob_one(n) for n in rsa_names],
            "floor": lambda: [key.sign(message, pad, sha) for _ in rsa_names],
            "sdk_pool": on_pool(sdk),
            "byob_pool": on_pool(byob_one),
            "byob_batch": lambda: [
                byob.sign(rsa_names[i : i + BATCH], user=USER) for i in range(0, rsa_count, BATCH)
            ],
            "hmac": lambda: [byob.sign([n], team="hmac", user=USER) for n in hmac_names],
            "hmac_new_second": hmac_new_second,
            "hmac_fs": lambda: [fs.sign(f"byob://hmac/{n}", user=USER) for n in hmac_names],
        },
        rounds,
    )
    counts = {name: hmac_count if name.startswith("hmac") else rsa_count for name in timings}
    rate = {name: counts[name] / wall for name, (wall, _) in timings.items()}
    cpu_rate = {name: counts[name] / max(cpu, 1e-9) for name, (_, cpu) in timings.items()}
    sdk_rate, sdk_pool = rate["sdk"], rate["sdk_pool"]
    print(
        f"GCS V4 signed URLs per second ({os.cpu_count()} cores; {rsa_count} RSA / "
        f"{hmac_count} HMAC keys per candidate, median of {rounds} interleaved rounds)"
    )
    rows = [
        ("RSA, Byob.sign one URL a call", rate["byob"], sdk_rate, "SDK one thread", ">= 1.1x"),
        ("RSA floor (key.sign alone)", rate["floor"], sdk_rate, "SDK one thread", ""),
        (
            "RSA, Byob.sign one URL a call, same thread pool",
            rate["byob_pool"],
            sdk_pool,
            "SDK same pool",
            ">= 1.5x",
        ),
        (f"RSA, Byob.sign batches of {BATCH}", rate["byob_batch"], sdk_pool, "SDK same pool", ""),
        ("HMAC, Byob.sign one URL a call", rate["hmac"], sdk_rate, "SDK RSA", ">= 50,000/s"),
        (
            "HMAC, Byob.sign one URL a call, each in a new second",
            rate["hmac_new_second"],
            sdk_rate,
            "SDK RSA",
            ">= 50,000/s",
        ),
        (
            "HMAC, ByobFileSystem.sign one URL a call",
            rate["hmac_fs"],
            sdk_rate,
            "SDK RSA",
            ">= 50,000/s",
        ),
    ]
    print(f"{'candidate':<54}{'URLs/s':>10}{'ratio':>8}  vs")
    for name, value, versus, label, _ in rows:
        print(f"{name:<54}{value:>10,.0f}{value / versus:>7.2f}x  {label}")
    print(f"{'google-cloud-storage generate_signed_url, one thread':<54}{sdk_rate:>10,.0f}")
    print(f"{'google-cloud-storage, same thread pool':<54}{sdk_pool:>10,.0f}")
    print(
        "HMAC by CPU time of this process (the machine's load left out): "
        f"{cpu_rate['hmac']:,.0f}/s one a call, {cpu_rate['hmac_new_second']:,.0f}/s each in "
        f"a new second, {cpu_rate['hmac_fs']:,.0f}/s ByobFileSystem.sign"
    )
    print(f"load average at end: {load()}")
    for name, case in (
        ("hmac", "HMAC, Byob.sign one URL a call, by CPU time"),
        ("hmac_new_second", "HMAC, each call in a new second, by CPU time"),
        ("hmac_fs", "HMAC, ByobFileSystem.sign, by CPU time"),
    ):
        record(
            "gcs sign",
            case,
            cpu_rate[name],
            "URLs/s",
            reference=f"wall {rate[name]:,.0f}/s",
            goal=">= 50,000/s (issue 15)",
        )
    for name, value, versus, label, goal in rows:
        record(
            "gcs sign",
            name,
            value,
            "URLs/s",
            reference=f"{label} {versus:,.0f}/s",
            ratio=value / versus,
            goal=f"{goal} (issue 15)" if goal else None,
        )


if __name__ == "__main__":
    main()

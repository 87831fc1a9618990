"""GCS V4 signing rate: byob-gcp's own signers against google-cloud-storage.

Signs the same keys with the same service-account RSA key, clock, lifetime and user
(``X-User``) both ways, checks that the URLs are byte-identical, and prints URLs per
second and the ratios. Rows:

* ``RSA``: google-cloud-storage ``blob.generate_signed_url(version="v4")`` vs our
  ``RsaSigner.sign_many`` on `SignRequest`s (GOOG4-RSA-SHA256). The RSA private-key
  operation is the floor of one thread (``RSA floor``); `sign_many` spreads a batch over
  a thread per core (cryptography releases the GIL while it signs), and the
  ``single thread`` row shows ours without that;
* ``without RSA``: both with the private-key step stubbed out: what each adds around it;
* ``HMAC``: our ``HmacSigner.sign_many`` (GOOG4-HMAC-SHA256), which google-cloud-storage
  cannot do; its ratio is to the RSA reference.

    .venv/bin/python benchmarks/bench_gcs_sign.py [--quick]

Wall-clock, one process, best of several rounds; nothing here asserts about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import time
from collections.abc import Callable
from unittest import mock

from _results import record  # benchmarks/ is sys.path[0] when run as a script
from byob_core.signing import SignRequest
from byob_gcp.signing import HmacSigner, RsaSigner, V4Signer

BUCKET = "acme-ml"
EMAIL = "byob-bench@byob-project.iam.gserviceaccount.com"
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
LIFETIME = dt.timedelta(hours=1)
USER = "alice@example.com"


def keys(count: int) -> list[str]:
    return [f"teams/omega/runs/{i // 100:05d}/media/image {i:07d}.png" for i in range(count)]


def interleaved(
    candidates: dict[str, tuple[Callable[[], object], int]], rounds: int
) -> dict[str, float]:
    """Best rate of each candidate, the rounds taken in turn (A B C, A B C, ...) so that a
    burst of load on a shared machine does not fall on one candidate alone."""
    best = dict.fromkeys(candidates, float("inf"))
    for _ in range(rounds):
        for name, (run, _count) in candidates.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)
    return {name: candidates[name][1] / seconds for name, seconds in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys and rounds")
    args = parser.parse_args()
    # Short rounds, many of them, interleaved: the best of each is taken in a quiet moment.
    rsa_count, hmac_count, rounds = (200, 2_000, 5) if args.quick else (300, 10_000, 25)

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
    ours_rsa = RsaSigner(bucket=BUCKET, service_account=EMAIL, private_key=pem)
    ours_hmac = HmacSigner(bucket=BUCKET, access_id="GOOG1EBENCHACCESSID", secret="bench-secret")

    def sdk(names: list[str], signing: object = None) -> list[str]:
        return [
            bucket.blob(n).generate_signed_url(
                version="v4",
                expiration=LIFETIME,
                method="GET",
                credentials=signing or credentials,
                query_parameters={"X-User": USER},
            )
            for n in names
        ]

    def requests(names: list[str]) -> list[SignRequest]:
        return [SignRequest(key=n, method="GET", at=AT, expires=LIFETIME, user=USER) for n in names]

    rsa_names, hmac_names = keys(rsa_count), keys(hmac_count)
    rsa_requests, hmac_requests = requests(rsa_names), requests(hmac_names)

    # Byte-identity first: a benchmark of a wrong signer would mean nothing. The SDK's
    # clock is frozen for this check only; the timed runs use its real clock.
    with mock.patch("google.cloud.storage._signing._NOW", return_value=AT):
        expected = sdk(rsa_names[:50])
    assert [s.url for s in ours_rsa.sign_many(rsa_requests[:50])] == expected

    pad, sha = padding.PKCS1v15(), hashes.SHA256()
    message = (
        b"GOOG4-RSA-SHA256\n20260301T120000Z\n20260301/auto/storage/goog4_request\n" + b"0" * 64
    )

    # Everything but the RSA operation: both signers with the private-key step stubbed
    # out, so that the work each adds around the floor is measured on its own.
    fixed = b"\x00" * 256

    class _StubSigner:
        key_id = None

        def sign(self, message: bytes) -> bytes:
            return fixed

    stub_credentials = service_account.Credentials.from_service_account_info(info)
    stub_credentials._signer = _StubSigner()
    stub = RsaSigner(bucket=BUCKET, service_account=EMAIL, private_key=key)
    stub._key_sign = lambda data, pad, algorithm: fixed  # type: ignore[method-assign]

    candidates: dict[str, tuple[Callable[[], object], int]] = {
        "sdk": (lambda: sdk(rsa_names), rsa_count),
        "ours": (lambda: ours_rsa.sign_many(rsa_requests), rsa_count),
        "serial": (lambda: V4Signer.sign_many(ours_rsa, rsa_requests), rsa_count),
        "floor": (lambda: [key.sign(message, pad, sha) for _ in range(rsa_count)], rsa_count),
        "sdk_rest": (lambda: sdk(rsa_names, stub_credentials), rsa_count),
        "ours_rest": (lambda: stub.sign_many(rsa_requests), rsa_count),
        "hmac": (lambda: ours_hmac.sign_many(hmac_requests), hmac_count),
    }
    best = interleaved(candidates, rounds)
    sdk_rate, ours_rate, ours_serial, floor = (
        best["sdk"],
        best["ours"],
        best["serial"],
        best["floor"],
    )
    sdk_rest, ours_rest, hmac_rate = best["sdk_rest"], best["ours_rest"], best["hmac"]

    print(
        f"GCS V4 signed URLs per second (one process, {os.cpu_count()} cores; "
        f"{rsa_count} RSA / {hmac_count} HMAC keys)"
    )
    print(f"{'signer':<42}{'URLs/s':>12}{'vs SDK RSA':>12}")
    print("-" * 66)
    rows = [
        ("google-cloud-storage generate_signed_url", sdk_rate),
        ("byob-gcp RsaSigner (GOOG4-RSA-SHA256)", ours_rate),
        ("byob-gcp RsaSigner, single thread", ours_serial),
        ("RSA floor: cryptography key.sign alone", floor),
        ("SDK without the RSA step (stubbed)", sdk_rest),
        ("byob-gcp without the RSA step (stubbed)", ours_rest),
        ("byob-gcp HmacSigner (GOOG4-HMAC-SHA256)", hmac_rate),
    ]
    for name, value in rows:
        print(f"{name:<42}{value:>12,.0f}{value / sdk_rate:>11.2f}x")
    reference = f"SDK generate_signed_url {sdk_rate:,.0f}/s"
    record(
        "gcs sign",
        "RSA, byob-gcp RsaSigner",
        ours_rate,
        "URLs/s",
        reference=reference,
        ratio=ours_rate / sdk_rate,
        goal=">= 1.5x (issue 5)",
    )
    record(
        "gcs sign",
        "RSA, single thread",
        ours_serial,
        "URLs/s",
        reference=reference,
        ratio=ours_serial / sdk_rate,
    )
    record(
        "gcs sign",
        "RSA floor (key.sign alone)",
        floor,
        "URLs/s",
        reference=reference,
        ratio=floor / sdk_rate,
    )
    record(
        "gcs sign",
        "HMAC, byob-gcp HmacSigner",
        hmac_rate,
        "URLs/s",
        reference=reference,
        ratio=hmac_rate / sdk_rate,
        goal=">= 50,000/s (issue 5)",
    )
    print("-" * 66)
    print(f"ours / SDK (RSA): {ours_rate / sdk_rate:.2f}x (goal >= 1.5x)")
    print(
        f"ours / SDK (RSA, single thread): {ours_serial / sdk_rate:.2f}x; "
        f"single thread / RSA floor: {ours_serial / floor:.2f} (1.00 = nothing but RSA)"
    )
    print(
        f"work around the RSA operation, per URL: SDK {1e6 / sdk_rest:.1f} us, "
        f"ours {1e6 / ours_rest:.1f} us ({ours_rest / sdk_rest:.1f}x less)"
    )
    print(
        f"HMAC: {hmac_rate:,.0f} URLs/s (goal >= 50,000), {hmac_rate / sdk_rate:.1f}x the RSA reference"
    )


if __name__ == "__main__":
    main()

"""Azure blob SAS signing rate: byob-azure's own HMAC signer against ``generate_blob_sas``.

Signs the same keys with the same account key, permission, expiry and user (``scid``)
both ways, checks that the tokens are byte-identical, and prints URLs per second and
the ratio. Rows:

* ``token``: one SAS token a call (our ``BlobSigner.token`` vs ``generate_blob_sas``);
* ``signed URL``: a full request a key (our ``BlobSigner.sign`` on `SignRequest`s, giving
  `SignedRequest`s with the URL and the headers to send, vs ``generate_blob_sas`` plus
  building the URL with ``quote``);
* ``user delegation``: the same with a user delegation key.

    .venv/bin/python benchmarks/bench_azure_sign.py [--quick]

Wall-clock, one process, best of several rounds; nothing here asserts about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from urllib.parse import quote

from _results import record  # benchmarks/ is sys.path[0] when run as a script
from byob_azure.sas import SIGNED_VERSION, BlobSigner, DelegationKey, decode_key
from byob_core.signing import SignRequest

ACCOUNT = "acmeml"
CONTAINER = "wandb"
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
BASE = f"https://{ACCOUNT}.blob.core.windows.net"
AT = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
EXPIRY = AT + dt.timedelta(hours=1)
USER = "alice@example.com"
DELEGATION = DelegationKey(
    signed_oid="6f2d1c7e-0000-4000-8000-000000000001",
    signed_tid="72f988bf-0000-4000-8000-000000000002",
    signed_start="2026-03-01T00:00:00Z",
    signed_expiry="2026-03-08T00:00:00Z",
    signed_service="b",
    signed_version=SIGNED_VERSION,
    value="cXVpdGUgYSBzZWNyZXQgZGVsZWdhdGlvbiBrZXkgdmFsdWUhIQ==",
)


def keys(count: int) -> list[str]:
    return [f"teams/omega/runs/{i // 100:05d}/media/image {i:07d}.png" for i in range(count)]


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

    from azure.storage.blob import UserDelegationKey, generate_blob_sas
    from azure.storage.blob._shared.constants import X_MS_VERSION

    # The SDK signs at its own newest version; sign at the same one on our side (the
    # user-delegation string-to-sign differs between versions).
    names = keys(count)
    ours = BlobSigner(
        account=ACCOUNT,
        container=CONTAINER,
        base_url=BASE,
        key=decode_key(KEY),
        protocol="https",
        version=X_MS_VERSION,
    )
    udk_signer = BlobSigner(
        account=ACCOUNT,
        container=CONTAINER,
        base_url=BASE,
        key=decode_key(DELEGATION.value),
        delegation=DELEGATION,
        protocol="https",
        version=X_MS_VERSION,
    )
    udk = UserDelegationKey()
    for field in ("signed_oid", "signed_tid", "signed_start", "signed_expiry"):
        setattr(udk, field, getattr(DELEGATION, field))
    udk.signed_service, udk.signed_version, udk.value = "b", SIGNED_VERSION, DELEGATION.value

    def sdk_token(name: str, **kw: object) -> str:
        return generate_blob_sas(
            ACCOUNT,
            CONTAINER,
            name,
            permission="r",
            expiry=EXPIRY,
            protocol="https",
            correlation_id=USER,
            **kw,  # type: ignore[arg-type]
        )

    # Byte-identity first: a benchmark of a wrong signer would mean nothing.
    for name in names[:200]:
        assert ours.token(name, "r", EXPIRY, user=USER) == sdk_token(name, account_key=KEY)
        assert udk_signer.token(name, "r", EXPIRY, user=USER) == sdk_token(
            name, user_delegation_key=udk
        )
    requests = [
        SignRequest(key=n, method="GET", at=AT, expires=dt.timedelta(hours=1), user=USER)
        for n in names
    ]

    rows = [
        (
            "token (account key)",
            rate(lambda: [sdk_token(n, account_key=KEY) for n in names], count, rounds),
            rate(lambda: [ours.token(n, "r", EXPIRY, user=USER) for n in names], count, rounds),
        ),
        (
            "signed URL (account key)",
            rate(
                lambda: [
                    f"{BASE}/{CONTAINER}/{quote(n, safe='/~')}?{sdk_token(n, account_key=KEY)}"
                    for n in names
                ],
                count,
                rounds,
            ),
            rate(lambda: ours.sign(requests), count, rounds),
        ),
        (
            "signed URL (user delegation)",
            rate(
                lambda: [
                    f"{BASE}/{CONTAINER}/{quote(n, safe='/~')}?"
                    f"{sdk_token(n, user_delegation_key=udk)}"
                    for n in names
                ],
                count,
                rounds,
            ),
            rate(lambda: udk_signer.sign(requests), count, rounds),
        ),
    ]
    print(
        f"Azure blob SAS signing (sv={X_MS_VERSION}), {count:,} keys, best of {rounds} rounds "
        "(URLs per second)"
    )
    print(f"{'case':<30} {'generate_blob_sas':>18} {'byob-azure':>12} {'ratio':>7}")
    for case, sdk, byob in rows:
        print(f"{case:<30} {sdk:>18,.0f} {byob:>12,.0f} {byob / sdk:>6.1f}x")
        record(
            "azure SAS",
            case,
            byob,
            "URLs/s",
            reference=f"generate_blob_sas {sdk:,.0f}/s",
            ratio=byob / sdk,
            goal=">= 2x (issue 6)",
        )


if __name__ == "__main__":
    main()

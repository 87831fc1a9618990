"""Azure blob SAS signing rate on the path users call: ``Byob.sign`` against ``generate_blob_sas``.

Signs the same keys with the same account key, permission, lifetime and user (``scid``)
both ways (checked byte for byte first), and prints URLs per second and the ratio. The
reference is ``generate_blob_sas`` plus building the URL with ``quote``, one call a URL.
Rows:

* ``Byob.sign, one URL a call``: the public API on an ``az://`` store with an account key;
* the same with every call in a new second (a fake clock), and in batches of 100;
* ``ByobFileSystem.sign``, one URL a call;
* ``user delegation``: byob-azure's prepared signer with a user delegation key (fetching
  one needs Entra ID, so this row is the signer, not ``Byob.sign``) against
  ``generate_blob_sas(user_delegation_key=...)``.

    .venv/bin/python benchmarks/bench_azure_sign.py [--quick]

Interleaved rounds, medians (see `_timing`); nothing here asserts about time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
from urllib.parse import quote

from _results import record  # benchmarks/ is sys.path[0] when run as a script
from _timing import FakeClock, load, medians
from byob_azure.sas import SIGNED_VERSION, BlobSigner, DelegationKey, decode_key

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
    signed_expiry="2099-01-01T00:00:00Z",
    signed_service="b",
    signed_version=SIGNED_VERSION,
    value="cXVpdGUgYSBzZWNyZXQgZGVsZWdhdGlvbiBrZXkgdmFsdWUhIQ==",
)


def keys(count: int) -> list[str]:
    return [f"teams/omega/runs/{i // 100:05d}/media/image {i:07d}.png" for i in range(count)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer keys and rounds")
    args = parser.parse_args()
    count, rounds = (2_000, 5) if args.quick else (10_000, 11)
    print(f"load average at start: {load()}")

    from azure.storage.blob import UserDelegationKey, generate_blob_sas
    from azure.storage.blob._shared.constants import X_MS_VERSION
    from byob_core import signing
    from byob_core.api import Byob
    from byob_core.config import from_mapping
    from byob_core.fs import ByobFileSystem

    # The SDK signs at its own newest version; the store pins the same one (the
    # user-delegation string-to-sign differs between versions).
    names = keys(count)
    byob = Byob(
        from_mapping(
            {
                "data_dir": tempfile.mkdtemp(prefix="byob-bench-"),
                "instance": {
                    "provider": "azure",
                    "account": ACCOUNT,
                    "container": CONTAINER,
                    "account_key": KEY,
                    "options": {"sas_version": X_MS_VERSION},
                },
            }
        )
    )
    fs = ByobFileSystem(byob=byob)
    udk_signer = BlobSigner(
        account=ACCOUNT,
        container=CONTAINER,
        base_url=BASE,
        key=decode_key(DELEGATION.value),
        delegation=DELEGATION,
        protocol="https",
        version=X_MS_VERSION,
    ).prepare("GET", dt.timedelta(hours=1))
    udk = UserDelegationKey()
    for field in ("signed_oid", "signed_tid", "signed_start", "signed_expiry"):
        setattr(udk, field, getattr(DELEGATION, field))
    udk.signed_service, udk.signed_version, udk.value = "b", SIGNED_VERSION, DELEGATION.value

    def sdk_url(name: str, expiry: dt.datetime, **kw: object) -> str:
        token = generate_blob_sas(
            ACCOUNT,
            CONTAINER,
            name,
            permission="r",
            expiry=expiry,
            protocol="https",
            correlation_id=USER,
            **kw,  # type: ignore[arg-type]
        )
        return f"{BASE}/{CONTAINER}/{quote(name, safe='/~')}?{token}"

    def now_plus_hour() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)

    # Byte-identity first: a benchmark of a wrong signer would mean nothing.
    for name in names[:100]:
        assert byob.sign([name], at=AT, user=USER)[0].url == sdk_url(name, EXPIRY, account_key=KEY)
        assert udk_signer.sign_keys([name], at=AT, user=USER)[0].url == sdk_url(
            name, EXPIRY, user_delegation_key=udk
        )

    def new_second() -> None:
        real = signing.clock
        signing.clock = FakeClock()
        try:
            for n in names:
                byob.sign([n], user=USER)
        finally:
            signing.clock = real

    seconds = medians(
        {
            "sdk": lambda: [sdk_url(n, now_plus_hour(), account_key=KEY) for n in names],
            "single": lambda: [byob.sign([n], user=USER) for n in names],
            "new_second": new_second,
            "batch": lambda: [
                byob.sign(names[i : i + 100], user=USER) for i in range(0, count, 100)
            ],
            "fs": lambda: [fs.sign(f"byob://_instance/{n}", user=USER) for n in names],
            "sdk_udk": lambda: [
                sdk_url(n, now_plus_hour(), user_delegation_key=udk) for n in names
            ],
            "udk": lambda: [udk_signer.sign_keys([n], user=USER) for n in names],
        },
        rounds,
    )
    rate = {name: count / s for name, s in seconds.items()}
    sdk, sdk_udk = rate["sdk"], rate["sdk_udk"]
    rows = [
        ("Byob.sign, one URL a call (account key)", rate["single"], sdk),
        ("Byob.sign, one URL a call, each in a new second", rate["new_second"], sdk),
        ("Byob.sign, batches of 100", rate["batch"], sdk),
        ("ByobFileSystem.sign, one URL a call", rate["fs"], sdk),
        ("prepared signer, user delegation, one URL a call", rate["udk"], sdk_udk),
    ]
    print(
        f"Azure blob SAS signing (sv={X_MS_VERSION}), {count:,} keys per candidate, median of "
        f"{rounds} interleaved rounds (URLs per second)"
    )
    print(f"{'case':<52} {'byob':>10} {'SDK + URL':>10} {'ratio':>7}")
    for case, value, versus in rows:
        print(f"{case:<52} {value:>10,.0f} {versus:>10,.0f} {value / versus:>6.2f}x")
        record(
            "azure SAS",
            case,
            value,
            "URLs/s",
            reference=f"generate_blob_sas + URL {versus:,.0f}/s",
            ratio=value / versus,
            goal=">= 2x (issue 15)",
        )
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()

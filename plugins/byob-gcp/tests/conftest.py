"""Fixtures of the byob-gcp tests: the two local GCS stand-ins and a throw-away RSA key.

Both servers are started once per session on free 127.0.0.1 ports and stopped at the
end; a missing server binary fails the tests that need it (never a skip).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

# Before anything imports gcsfs (see LOCAL-SERVERS.md): no gRPC probe that hangs.
os.environ.setdefault("GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT", "false")

import pytest
from byob_core.stores import Credentials, Store
from byob_gcp.testing import fake_gcs_server, gcp_storage_emulator

SERVICE_ACCOUNT = "byob-test@byob-project.iam.gserviceaccount.com"
_names = itertools.count(1)


def new_bucket_name(prefix: str = "byob") -> str:
    """A bucket name no other test in the session uses."""
    return f"{prefix}-{os.getpid()}-{next(_names)}"


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    """A fresh 2048-bit RSA key in PKCS#8 PEM, as service-account JSON keys carry it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


@pytest.fixture(scope="session")
def fake_gcs() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a fake-gcs-server (data path, generations, batch deletes)."""
    with fake_gcs_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """``127.0.0.1:PORT`` of a gcp-storage-emulator (bucket metadata round trips)."""
    with gcp_storage_emulator() as endpoint:
        yield endpoint


@pytest.fixture
def make_store(rsa_pem: str):
    """A factory of gcp stores at a local endpoint, each with a bucket name of its own.

    ``make_store(endpoint, signing=True, **fields)``: `signing` gives the store the test
    service account and its RSA key.
    """

    def make(endpoint: str, *, signing: bool = True, **kwargs: object) -> Store:
        fields: dict[str, object] = {
            "provider": "gcp",
            "bucket": new_bucket_name(),
            "endpoint": endpoint,
            "tls": False,
        }
        if signing:
            fields["service_account"] = SERVICE_ACCOUNT
            fields["credentials"] = Credentials(private_key=rsa_pem)
        fields.update(kwargs)
        return Store(**fields)  # type: ignore[arg-type]

    return make

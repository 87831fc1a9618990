"""A moto S3 server for the whole session (byob-aws's), fake keys, and fresh minio stores."""

from __future__ import annotations

import uuid

import pytest
from byob_aws.testing import ACCESS_KEY, FAKE_ENV, REGION, SECRET_KEY, moto_server
from byob_core.stores import Credentials, Store


@pytest.fixture(scope="session")
def moto_endpoint():
    """The endpoint URL of a moto server, with the process pointed at no real AWS account."""
    with pytest.MonkeyPatch.context() as mp:
        for name, value in FAKE_ENV.items():
            mp.setenv(name, value)
        mp.delenv("AWS_PROFILE", raising=False)
        with moto_server() as endpoint:
            yield endpoint


def minio_store(endpoint_url: str, bucket: str | None = None, **fields) -> Store:
    """A minio store on `endpoint_url` as the core's config makes them: path-style, region set."""
    fields.setdefault("region", REGION)
    fields.setdefault("path_style", True)
    fields.setdefault("tls", endpoint_url.startswith("https://"))
    fields.setdefault("credentials", Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY))
    return Store(
        provider=fields.pop("provider", "minio"),
        bucket=bucket or f"byob-minio-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint_url.split("://", 1)[1],
        **fields,
    )


@pytest.fixture(scope="session")
def make_store():
    """`minio_store`, for test modules (importlib mode cannot import conftest)."""
    return minio_store


@pytest.fixture
def store(moto_endpoint) -> Store:
    """A minio store on a bucket that does not exist yet."""
    return minio_store(moto_endpoint, subpath="wandb")

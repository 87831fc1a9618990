"""A moto S3 server for the whole session, fake AWS credentials, and fresh stores."""

from __future__ import annotations

import uuid

import pytest
from byob_aws import s3
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


def make_store(endpoint: str, bucket: str | None = None, **fields) -> Store:
    fields.setdefault("region", REGION)
    fields.setdefault("path_style", True)
    fields.setdefault("credentials", Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY))
    return Store(
        provider="aws",
        bucket=bucket or f"byob-{uuid.uuid4().hex[:12]}",
        endpoint=endpoint.split("://", 1)[1],
        tls=False,
        **fields,
    )


@pytest.fixture
def store(moto_endpoint) -> Store:
    """A store on a bucket that does not exist yet."""
    return make_store(moto_endpoint)


@pytest.fixture
def bucket_store(store) -> Store:
    """A store whose bucket exists, versioning on."""
    client = s3.client(store)
    client.create_bucket(Bucket=store.bucket)
    client.put_bucket_versioning(Bucket=store.bucket, VersioningConfiguration={"Status": "Enabled"})
    return store

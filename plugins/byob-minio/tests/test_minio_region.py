"""A region an S3-compatible server does not echo is a WARN when signing for the store's works.

Ceph RGW answers GetBucketLocation with its zonegroup name (``default``) and accepts
every request signed for ``us-east-1``; validate must not fail such a working store.
"""

from __future__ import annotations

import attrs
import pytest
from byob_aws.s3 import client
from byob_core.findings import Status
from byob_core.provider import ProvisionContext, ValidateContext
from byob_minio.plugin import MINIO


def region_finding(store, **fields):
    findings = {f.check: f for f in MINIO.validate(store, ValidateContext(**fields))}
    return findings["minio.region"], findings


@pytest.fixture
def unechoed(s3_endpoint, s3_server, make_store):
    """A provisioned store signing for us-east-1 on a bucket whose reported location differs."""
    store = make_store(s3_endpoint, subpath="wandb")
    if s3_server == "moto":
        # moto echoes a bucket's own location: give it one that is not the store's region.
        client(attrs.evolve(store, region="eu-west-2")).create_bucket(
            Bucket=store.bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"}
        )
    MINIO.provision(store, ProvisionContext(apply=True))
    location = client(store).get_bucket_location(Bucket=store.bucket)["LocationConstraint"]
    assert location not in (None, "", store.region)
    return store


def test_a_region_the_server_does_not_echo_is_a_warning(unechoed):
    region, findings = region_finding(unechoed)
    assert findings["minio.signed-url"].status is Status.PASS
    assert region.status is Status.WARN, region.message
    assert "round-trips" in region.message and region.hint


def test_read_only_validation_proves_signing_with_a_signed_read(unechoed):
    region, findings = region_finding(unechoed, read_only=True)
    assert findings["minio.signed-url"].status is Status.SKIP
    assert region.status is Status.WARN, region.message
    assert "accepted" in region.message


def test_the_mismatch_fails_when_signed_requests_do_not_work(unechoed, minio_like):
    """A server that refuses what is signed for the store's region: the FAIL stays."""
    refused = (403, "SignatureDoesNotMatch", "The request signature we calculated does not match")
    proxy = minio_like({("GET", "X-Amz-Signature"): refused, ("PUT", "X-Amz-Signature"): refused})
    store = attrs.evolve(unechoed, endpoint=proxy.endpoint.split("://", 1)[1])
    region, _ = region_finding(store)
    assert region.status is Status.FAIL
    region, _ = region_finding(store, read_only=True)
    assert region.status is Status.FAIL

"""Advice for the server that answered: MinIO, Ceph RGW, CoreWeave or another S3 server.

The minio provider serves every S3-compatible endpoint, so it tells the family from the
bucket check's answer (MinIO's ``Server`` header, RGW's request ids, CoreWeave's endpoint)
and gives that family's steps: ``mc`` commands only to MinIO.
"""

from __future__ import annotations

import pytest
from byob_aws.s3 import client
from byob_core.findings import Status
from byob_core.provider import ProvisionContext, ValidateContext
from byob_minio import quirks
from byob_minio.plugin import MINIO

EXPECTED = {"moto": quirks.OTHER_FAMILY, "rgw": quirks.RGW_FAMILY}


def findings_of(store, **fields):
    return {f.check: f for f in MINIO.validate(store, ValidateContext(**fields))}


def test_the_family_is_told_from_the_answer(s3_endpoint, s3_server, make_store, minio_like):
    store = make_store(s3_endpoint)
    client(store).create_bucket(Bucket=store.bucket)
    headers = quirks.response_headers(client(store).head_bucket(Bucket=store.bucket))
    assert quirks.identify(headers, endpoint=store.endpoint) == EXPECTED[s3_server]
    proxy = make_store(minio_like({}).endpoint, bucket=store.bucket)
    headers = quirks.response_headers(client(proxy).head_bucket(Bucket=store.bucket))
    assert quirks.identify(headers, endpoint=proxy.endpoint) == quirks.MINIO_FAMILY
    assert quirks.identify({}, endpoint="cwobject.com") == quirks.COREWEAVE_FAMILY
    assert findings_of(store)["minio.bucket"].details["server"] == EXPECTED[s3_server]


def test_missing_cors_rules_get_advice_for_the_server(s3_endpoint, s3_server, make_store):
    """RGW has per-bucket CORS: its missing rules are byob's to set, not MinIO's server setting."""
    store = make_store(s3_endpoint, subpath="wandb")
    MINIO.provision(store, ProvisionContext(apply=True))
    client(store).delete_bucket_cors(Bucket=store.bucket)
    found = findings_of(store)
    cors, preflight = found["minio.cors"], found["minio.preflight"]
    assert cors.status is Status.FAIL and "no CORS rule" in cors.message
    assert "MinIO" not in cors.message + cors.hint and "mc " not in cors.hint
    assert preflight.status is Status.FAIL
    assert "mc " not in preflight.hint and "MinIO" not in preflight.hint
    assert "put-bucket-cors" in preflight.hint and "provision" in preflight.hint
    assert s3_endpoint in preflight.hint  # the aws CLI step names this server's endpoint


@pytest.mark.parametrize("principal", ["wandb-platform"])
def test_other_steps_name_no_minio_command(s3_endpoint, s3_server, make_store, principal):
    store = make_store(s3_endpoint, subpath="wandb", kms_key_arn="arn:aws:kms:us-east-1:1:key/k")
    plan = MINIO.provision(store, ProvisionContext(apply=True, principal=principal))
    changes = {c.name: c for c in plan.changes}
    for name in ("access", "encryption"):
        assert not any("mc " in step for step in changes[name].steps), (name, changes[name].steps)
    assert "MinIO" not in changes["access"].summary
    if s3_server == "rgw":
        assert any("Ceph RGW" in step for step in changes["encryption"].steps)

"""byob-minio against a server that checks what it is sent: Ceph RGW.

moto accepts any signature; RGW does not. These tests send what byob signs to RGW and
prove that a correct request is accepted and that each kind of wrong one is refused.
"""

from __future__ import annotations

import uuid

import pytest
import requests
from byob_core.api import Byob
from byob_core.config import Config
from byob_core.plugins import PluginHost
from byob_core.stores import Credentials, Store


def rgw_store(rgw, **fields) -> Store:
    fields.setdefault(
        "credentials", Credentials(access_key=rgw.access_key, secret_key=rgw.secret_key)
    )
    return Store(
        provider="minio",
        bucket=fields.pop("bucket", f"byob-rgw-{uuid.uuid4().hex[:12]}"),
        endpoint=rgw.host,
        tls=False,
        path_style=True,
        region=rgw.region,
        **fields,
    )


def byob_for(store: Store, tmp_path) -> Byob:
    return Byob(Config(instance=store, data_dir=tmp_path), PluginHost.load())


@pytest.fixture
def bucket(rgw):
    """A fresh bucket on RGW, made with boto3 (not byob) so the tests below depend on the server only."""
    import boto3
    from botocore.config import Config as BotoConfig

    client = boto3.client(
        "s3",
        endpoint_url=rgw.endpoint,
        aws_access_key_id=rgw.access_key,
        aws_secret_access_key=rgw.secret_key,
        region_name=rgw.region,
        config=BotoConfig(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    name = f"byob-rgw-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    return name


class TestTheServerVerifies:
    """The fixture is worth having only if RGW really refuses what moto lets through."""

    def test_a_signed_put_and_get_round_trip(self, rgw, bucket, tmp_path):
        byob = byob_for(rgw_store(rgw, bucket=bucket, subpath="wandb"), tmp_path)
        [put] = byob.sign(["a.bin"], method="PUT")
        answer = requests.put(put.url, data=b"payload", headers=put.headers, timeout=30)
        assert answer.status_code == 200, answer.text
        [get] = byob.sign(["a.bin"])
        answer = requests.get(get.url, timeout=30)
        assert (answer.status_code, answer.content) == (200, b"payload")

    def test_a_tampered_signature_is_refused(self, rgw, bucket, tmp_path):
        byob = byob_for(rgw_store(rgw, bucket=bucket), tmp_path)
        [get] = byob.sign(["a.bin"])
        last = get.url[-1]
        tampered = get.url[:-1] + ("0" if last != "0" else "1")
        assert requests.get(tampered, timeout=30).status_code == 403

    def test_another_secret_key_is_refused(self, rgw, bucket, tmp_path):
        wrong = Credentials(access_key=rgw.access_key, secret_key=rgw.other_secret_key)
        byob = byob_for(rgw_store(rgw, bucket=bucket, credentials=wrong), tmp_path)
        [get] = byob.sign(["a.bin"])
        assert requests.get(get.url, timeout=30).status_code == 403

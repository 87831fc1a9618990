"""Signed URLs of minio and coreweave stores, byte for byte against botocore (the oracle).

The stores are built as the core builds them (from connection strings), signed through the
plugin's hook, and compared with botocore's `generate_presigned_url` for the same keys,
clock, region, endpoint and addressing style: path-style for custom endpoints, virtual-hosted
for CoreWeave's ``https://cwobject.com``.
"""

from __future__ import annotations

import datetime as dt
import functools
from unittest import mock

import pytest
from byob_core import uris
from byob_core.signing import SignRequest
from byob_core.stores import Credentials, Store
from byob_minio import plugin

AK = "AKIDEXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
AT = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
KEYS = [
    "a/b.bin",
    "runs/x y+z=1&2.txt",
    "ünïcode/ключ/日本",
    "literal%2Fslash/~tilde",
    "odd/!*'();:@$,#?",
]


@functools.cache
def oracle_client(region: str, endpoint_url: str, path_style: bool):
    import botocore.session
    from botocore.config import Config

    session = botocore.session.Session()
    session.set_credentials(AK, SK)
    return session.create_client(
        "s3",
        region_name=region,
        endpoint_url=endpoint_url,
        config=Config(
            signature_version="s3v4", s3={"addressing_style": "path" if path_style else "virtual"}
        ),
    )


def oracle(store: Store, request: SignRequest, *, endpoint_url: str, path_style: bool) -> str:
    """botocore's URL for `request`, the user parameter added as byob adds it."""
    client = oracle_client(store.region or "us-east-1", endpoint_url, path_style)
    params: dict[str, object] = {"Bucket": store.bucket, "Key": request.key}
    op = {"GET": "get_object", "HEAD": "head_object", "DELETE": "delete_object"}.get(
        request.method, "put_object"
    )
    if request.params:
        op = "upload_part"
        params["PartNumber"] = int(request.params["partNumber"])
        params["UploadId"] = request.params["uploadId"]
    if request.version_id:
        params["VersionId"] = request.version_id
    if request.method == "PUT" and request.content_type and not request.params:
        params["ContentType"] = request.content_type
    if request.method == "PUT" and request.content_md5:
        params["ContentMD5"] = request.content_md5

    def add_user(**kwargs):
        kwargs["request"].params["X-User"] = request.user

    if request.user is not None:
        event = f"before-sign.s3.{client.meta.method_to_api_mapping[op]}"
        client.meta.events.register(event, add_user, unique_id="byob-user")
    try:
        with mock.patch("botocore.auth.get_current_datetime", return_value=AT.replace(tzinfo=None)):
            return client.generate_presigned_url(
                op, Params=params, ExpiresIn=int(request.expires.total_seconds())
            )
    finally:
        if request.user is not None:
            client.meta.events.unregister(event, unique_id="byob-user")


def requests_for(key: str) -> list[SignRequest]:
    hour, day = dt.timedelta(hours=1), dt.timedelta(days=1)
    return [
        SignRequest(key=key, method="GET", expires=hour, at=AT, user="alice"),
        SignRequest(key=key, method="GET", expires=hour, at=AT, version_id="3/L4kqtJl+40"),
        SignRequest(key=key, method="HEAD", expires=hour, at=AT),
        SignRequest(key=key, method="DELETE", expires=hour, at=AT, user="bob smith"),
        SignRequest(
            key=key,
            method="PUT",
            expires=day,
            at=AT,
            user="ünï",
            content_type="application/octet-stream",
            content_md5="1B2M2Y8AsgTpgAmY7PhCfg==",
        ),
        SignRequest(
            key=key,
            method="PUT",
            expires=day,
            at=AT,
            content_md5="XrY7u+Ae7tCTyyK7j1rNww==",
            params={"partNumber": "7", "uploadId": "2~abc/def+=="},
        ),
    ]


def assert_identical(store: Store, *, endpoint_url: str, path_style: bool) -> None:
    for key in KEYS:
        batch = requests_for(key)
        signed = plugin.byob_sign(store=store, requests=batch)
        for request, ours in zip(batch, signed, strict=True):
            theirs = oracle(store, request, endpoint_url=endpoint_url, path_style=path_style)
            assert ours.url == theirs, (request.method, key)


class TestMinioPathStyle:
    """Custom endpoints, path-style: the URL path is /<bucket>/<key> on the endpoint's host."""

    @pytest.mark.parametrize(
        ("connection", "endpoint_url"),
        [
            (
                f"s3://{AK}:{SK.replace('/', '%2F').replace('+', '%2B')}@minio.local:9000/ml-data?region=us-east-1",
                "http://minio.local:9000",
            ),
            (
                f"s3://{AK}:{SK.replace('/', '%2F').replace('+', '%2B')}@minio.example.com/ml-data/team?region=eu-west-3&tls=true",
                "https://minio.example.com",
            ),
            (
                f"s3://{AK}:{SK.replace('/', '%2F').replace('+', '%2B')}@10.0.0.7:9000/ml.data?region=us-east-1",
                "http://10.0.0.7:9000",
            ),
            (
                f"s3://{AK}:{SK.replace('/', '%2F').replace('+', '%2B')}@rgw.ceph.internal:7480/rgw?region=default?tls=true",
                "https://rgw.ceph.internal:7480",
            ),
        ],
    )
    def test_byte_identical_to_botocore(self, connection: str, endpoint_url: str) -> None:
        store = uris.parse(connection)
        assert store.provider == "minio" and store.path_style
        assert_identical(store, endpoint_url=endpoint_url, path_style=True)

    def test_url_is_path_style_on_the_endpoint(self) -> None:
        store = Store(
            provider="minio",
            bucket="ml-data",
            endpoint="minio.local:9000",
            region="us-east-1",
            tls=False,
            path_style=True,
            credentials=Credentials(access_key=AK, secret_key=SK),
        )
        (signed,) = plugin.byob_sign(store=store, requests=requests_for("a b/c")[:1])
        assert signed.url.startswith("http://minio.local:9000/ml-data/a%20b/c?")
        assert "X-User=alice" in signed.url
        assert SK not in signed.url


class TestCoreweave:
    """cw:// stores sign for https://<bucket>.cwobject.com, virtual-hosted, as botocore does."""

    def test_cw_connection_string_round_trip(self) -> None:
        store = uris.parse(
            f"cw://{AK}:{SK.replace('/', '%2F').replace('+', '%2B')}@cwobject.com/ml-data/wandb?tls=true"
        )
        assert (store.provider, store.endpoint, store.tls, store.path_style) == (
            "coreweave",
            "cwobject.com",
            True,
            False,
        )
        assert_identical(store, endpoint_url="https://cwobject.com", path_style=False)
        (signed,) = plugin.byob_sign(store=store, requests=requests_for("k")[:1])
        assert signed.url.startswith("https://ml-data.cwobject.com/k?")

    def test_default_endpoint_when_the_store_names_none(self) -> None:
        store = Store(
            provider="coreweave",
            bucket="ml-data",
            region="us-east-1",
            credentials=Credentials(access_key=AK, secret_key=SK),
        )
        assert_identical(store, endpoint_url="https://cwobject.com", path_style=False)

    def test_minio_store_without_endpoint_is_a_config_error(self) -> None:
        from byob_core.errors import ConfigError

        store = Store(
            provider="minio",
            bucket="b",
            region="us-east-1",
            credentials=Credentials(access_key=AK, secret_key=SK),
        )
        with pytest.raises(ConfigError, match="endpoint"):
            plugin.byob_sign(store=store, requests=requests_for("k")[:1])

"""The data path of the aws plugin against a moto server: filesystem, multipart, listing, deletes."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import subprocess
import sys
from unittest import mock

import pytest
import requests
from byob_aws import plugin, s3
from byob_core.errors import StoreAccessError
from byob_core.objects import DeleteBatch, Entry, Kind, ListRequest
from byob_core.signing import CompletedPart, SignRequest, utcnow

OCTET = {"Content-Type": "application/octet-stream"}


def put(store, key, data=b"x"):
    s3.client(store).put_object(Bucket=store.bucket, Key=key, Body=data)


class TestPluginModule:
    def test_importing_the_plugin_imports_no_cloud_sdk(self):
        code = (
            "import sys, byob_aws.plugin\n"
            "print(','.join(m for m in ('botocore','boto3','s3fs','aiobotocore','moto')"
            " if m in sys.modules))"
        )
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == ""

    def test_declares_the_aws_provider(self):
        (spec,) = plugin.byob_providers()
        assert spec.name == "aws"
        assert spec.schemes == ("s3",)
        assert spec.max_expiry == dt.timedelta(days=7)
        assert (spec.gc_batch_size, spec.versions, spec.multipart) == (1000, True, True)
        assert spec.user_param == "X-User"


class TestFilesystem:
    def test_writes_and_reads_through_s3fs(self, bucket_store):
        fs = plugin.byob_filesystem(store=bucket_store)
        path = bucket_store.fs_path("dir/a b+c.txt")
        fs.pipe(path, b"hello")
        assert fs.cat(path) == b"hello"
        body = s3.client(bucket_store).get_object(Bucket=bucket_store.bucket, Key="dir/a b+c.txt")
        assert body["Body"].read() == b"hello"

    def test_without_store_credentials_uses_the_aws_chain(self, bucket_store):
        # The session fixture put moto's fake keys in the environment (the chain's first link).
        import attrs
        from byob_core.stores import NO_CREDENTIALS

        ambient = attrs.evolve(bucket_store, credentials=NO_CREDENTIALS)
        put(bucket_store, "k", b"data")
        assert plugin.byob_filesystem(store=ambient).cat(ambient.fs_path("k")) == b"data"
        (signed,) = plugin.byob_sign(store=ambient, requests=[SignRequest(key="k")])
        assert requests.get(signed.url, timeout=10).content == b"data"


class TestSignedUrls:
    def test_put_then_get_over_plain_http(self, bucket_store):
        at = utcnow()
        put_req, get_req = plugin.byob_sign(
            store=bucket_store,
            requests=[
                SignRequest(
                    key="a/ü b.bin",
                    method="PUT",
                    at=at,
                    expires=dt.timedelta(hours=1),
                    content_type="application/octet-stream",
                    user="ann",
                ),
                SignRequest(key="a/ü b.bin", at=at, expires=dt.timedelta(hours=1), user="ann"),
            ],
        )
        assert "X-User=ann" in put_req.url
        response = requests.put(
            put_req.url, data=b"payload", headers=dict(put_req.headers), timeout=10
        )
        assert response.status_code == 200, response.text
        assert requests.get(get_req.url, timeout=10).content == b"payload"

    def test_get_of_an_older_version(self, bucket_store):
        client = s3.client(bucket_store)
        first = client.put_object(Bucket=bucket_store.bucket, Key="v", Body=b"one")["VersionId"]
        client.put_object(Bucket=bucket_store.bucket, Key="v", Body=b"two")
        (signed,) = plugin.byob_sign(
            store=bucket_store,
            requests=[SignRequest(key="v", version_id=first, expires=dt.timedelta(minutes=5))],
        )
        assert requests.get(signed.url, timeout=10).content == b"one"


class TestMultipart:
    def test_upload_in_parts_through_signed_urls(self, bucket_store):
        multipart = plugin.byob_multipart(store=bucket_store)
        chunks = [b"a" * (5 * 1024 * 1024), b"b" * (5 * 1024 * 1024), b"tail"]
        md5s = [base64.b64encode(hashlib.md5(c).digest()).decode() for c in chunks]
        upload = multipart.create("big/object.bin", content_type="application/octet-stream")
        signed = multipart.sign_parts(
            upload,
            list(zip(range(1, 4), md5s, strict=True)),
            expires=dt.timedelta(hours=1),
            at=utcnow(),
            user="ann",
        )
        assert [s.headers["Content-MD5"] for s in signed] == md5s
        done = []
        for number, (request, chunk) in enumerate(zip(signed, chunks, strict=True), start=1):
            assert f"partNumber={number}" in request.url
            response = requests.put(
                request.url, data=chunk, headers={**request.headers, **OCTET}, timeout=30
            )
            assert response.status_code == 200, response.text
            done.append(CompletedPart(number=number, etag=response.headers["ETag"]))
        multipart.complete(upload, list(reversed(done)))
        fs = plugin.byob_filesystem(store=bucket_store)
        assert fs.cat(
            bucket_store.fs_path("big/object.bin"),
        ) == b"".join(chunks)

    def test_abort_frees_the_upload(self, bucket_store):
        multipart = plugin.byob_multipart(store=bucket_store)
        upload = multipart.create("x.bin")
        listed = list(
            plugin.byob_list(store=bucket_store, request=ListRequest(kind=Kind.UPLOADS, prefix=""))
        )
        assert [e.upload_id for e in listed] == [upload.upload_id]
        multipart.abort(upload)
        multipart.abort(upload)  # a second abort is harmless
        assert (
            list(
                plugin.byob_list(
                    store=bucket_store, request=ListRequest(kind=Kind.UPLOADS, prefix="")
                )
            )
            == []
        )


class TestListing:
    def test_objects_in_key_order_across_pages_after_start(self, bucket_store):
        names = [f"p/{i:03d}" for i in range(25)] + ["q/outside"]
        for name in names:
            put(bucket_store, name)
        request = ListRequest(prefix="p/", start_after="p/004")
        listed = list(s3.list_objects(bucket_store, request, page_size=7))
        assert [e.key for e in listed] == [f"p/{i:03d}" for i in range(5, 25)]
        assert all(e.size == 1 and e.etag and e.modified.tzinfo for e in listed)

    def test_listing_is_lazy(self, bucket_store):
        for i in range(10):
            put(bucket_store, f"k{i}")
        calls = []
        client = s3.client(bucket_store)
        client.meta.events.register(
            "before-call.s3.ListObjectsV2", lambda **kw: calls.append(1), unique_id="count"
        )
        try:
            entries = s3.list_objects(bucket_store, ListRequest(prefix=""), page_size=3)
            next(entries)
            assert len(calls) == 1
        finally:
            client.meta.events.unregister("before-call.s3.ListObjectsV2", unique_id="count")

    def test_versions_carry_the_whole_history_with_the_current_marked(self, bucket_store):
        """Every version and every delete marker, newest first within a key: the current
        delete marker of a key with older versions is listed too (it carries the time of
        the deletion, which keeps the undo window)."""
        client = s3.client(bucket_store)
        b = bucket_store.bucket
        a1 = client.put_object(Bucket=b, Key="a", Body=b"1")["VersionId"]
        a2 = client.put_object(Bucket=b, Key="a", Body=b"2")["VersionId"]
        b1 = client.put_object(Bucket=b, Key="b", Body=b"1")["VersionId"]
        b_marker = client.delete_object(Bucket=b, Key="b")["VersionId"]
        c1 = client.put_object(Bucket=b, Key="c", Body=b"1")["VersionId"]
        c_marker = client.delete_object(Bucket=b, Key="c")["VersionId"]
        client.delete_object(Bucket=b, Key="c", VersionId=c1)  # now only a marker
        listed = list(
            plugin.byob_list(store=bucket_store, request=ListRequest(kind=Kind.VERSIONS, prefix=""))
        )
        summary = [(e.key, e.version_id, e.is_delete_marker, e.is_latest) for e in listed]
        assert summary == [
            ("a", a2, False, True),
            ("a", a1, False, False),
            ("b", b_marker, True, True),
            ("b", b1, False, False),
            ("c", c_marker, True, True),
        ]
        times = {e.version_id: e.modified for e in listed}
        assert times[b_marker] >= times[b1]

    def test_versions_across_pages(self, bucket_store):
        for i in range(6):
            for _ in range(3):
                put(bucket_store, f"k{i}")
        listed = list(
            s3.list_versions(
                bucket_store,
                ListRequest(kind=Kind.VERSIONS, prefix="", start_after="k0"),
                page_size=4,
            )
        )
        assert [e.key for e in listed] == [f"k{i}" for i in range(1, 6) for _ in range(3)]
        assert [e.is_latest for e in listed] == [True, False, False] * 5


class TestGarbageCollect:
    def test_deletes_exactly_the_named_objects(self, bucket_store):
        for name in ("a", "b", "c"):
            put(bucket_store, name)
        entries = [
            e
            for e in plugin.byob_list(store=bucket_store, request=ListRequest(prefix=""))
            if e.key != "b"
        ]
        result = plugin.byob_garbage_collect(store=bucket_store, batch=DeleteBatch(entries=entries))
        assert [e.key for e in result.deleted] == ["a", "c"]
        assert result.errors == []
        assert [
            e.key for e in plugin.byob_list(store=bucket_store, request=ListRequest(prefix=""))
        ] == ["b"]

    def test_purges_versions_and_aborts_uploads(self, bucket_store):
        put(bucket_store, "a", b"1")
        put(bucket_store, "a", b"2")
        s3.client(bucket_store).create_multipart_upload(Bucket=bucket_store.bucket, Key="u")
        for kind in (Kind.VERSIONS, Kind.UPLOADS):
            entries = [
                e
                for e in plugin.byob_list(
                    store=bucket_store, request=ListRequest(kind=kind, prefix="")
                )
                if not e.is_latest
            ]
            assert len(entries) == 1
            result = plugin.byob_garbage_collect(
                store=bucket_store, batch=DeleteBatch(kind=kind, entries=entries)
            )
            assert result.deleted == entries and not result.errors
            left = plugin.byob_list(store=bucket_store, request=ListRequest(kind=kind, prefix=""))
            assert [e.is_latest for e in left] == ([True] if kind is Kind.VERSIONS else [])
        assert (
            s3.client(bucket_store).get_object(Bucket=bucket_store.bucket, Key="a")["Body"].read()
            == b"2"
        )

    def test_per_key_errors_are_reported(self, bucket_store):
        # moto cannot refuse a single key of a DeleteObjects call; a stub answers instead.
        now = utcnow()
        entries = [Entry(key=k, modified=now) for k in ("a", "b")]
        fake = mock.Mock()
        fake.delete_objects.return_value = {
            "Errors": [{"Key": "b", "Code": "AccessDenied", "Message": "Access Denied"}]
        }
        with mock.patch.object(s3, "client", return_value=fake):
            result = s3.delete_entries(bucket_store, DeleteBatch(entries=entries))
        assert [e.key for e in result.deleted] == ["a"]
        assert result.errors == [("b", "AccessDenied: Access Denied")]
        (call,) = fake.delete_objects.call_args_list
        assert call.kwargs["Delete"]["Quiet"] is True

    def test_a_missing_bucket_raises_store_access_error(self, store):
        entries = [Entry(key="a", modified=utcnow())]
        with pytest.raises(StoreAccessError, match="NoSuchBucket"):
            plugin.byob_garbage_collect(store=store, batch=DeleteBatch(entries=entries))

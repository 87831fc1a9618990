"""Multipart uploads through signed Put Block URLs, over plain HTTP against Azurite."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib

import pytest
import requests
from byob_azure.multipart import AzureMultipart, block_id, block_list_xml, raw_block_id
from byob_core.errors import SigningError
from byob_core.signing import CompletedPart, MultipartUpload
from byob_core.stores import Store

PARTS = [b"a" * 1000, b"b" * 1000, b"tail"]


def md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def upload_parts(multipart: AzureMultipart, upload: MultipartUpload) -> None:
    signed = multipart.sign_parts(
        upload,
        [(n, md5(data)) for n, data in enumerate(PARTS, start=1)],
        expires=dt.timedelta(hours=1),
        at=now(),
        user="alice",
    )
    # Out of order on purpose: blocks are named, not sequenced.
    for request, data in reversed(list(zip(signed, PARTS, strict=True))):
        assert "x-ms-blob-type" not in request.headers
        assert request.headers["Content-MD5"] == md5(data)
        response = requests.put(request.url, data=data, headers=dict(request.headers), timeout=10)
        assert response.status_code == 201, response.text


class TestBlockIds:
    def test_ids_have_one_width_and_differ_per_upload(self) -> None:
        one = MultipartUpload(key="k", upload_id="0123456789abcdef")
        two = MultipartUpload(key="k", upload_id="fedcba9876543210")
        ids = {block_id(one, n) for n in (1, 9, 10_000, 50_000)}
        assert len(ids) == 4
        assert len({len(i) for i in ids}) == 1
        assert block_id(one, 1) != block_id(two, 1)
        assert base64.b64decode(block_id(one, 7)).decode() == raw_block_id(one, 7)

    def test_part_numbers_are_bounded(self) -> None:
        upload = MultipartUpload(key="k", upload_id="0123456789abcdef")
        for bad in (0, 50_001):
            with pytest.raises(SigningError):
                block_id(upload, bad)


class TestUploadThroughSignedUrls:
    def test_blocks_then_signed_block_list(self, store: Store) -> None:
        multipart = AzureMultipart(store)
        upload = multipart.create("big/file.bin")
        upload_parts(multipart, upload)
        commit = multipart.sign_commit(
            upload, expires=dt.timedelta(hours=1), at=now(), content_type="application/x-test"
        )
        body = block_list_xml(upload, [3, 1, 2])
        response = requests.put(commit.url, data=body, headers=dict(commit.headers), timeout=10)
        assert response.status_code == 201, response.text
        from byob_azure import clients

        blob = clients.container(store).get_blob_client("big/file.bin")
        assert blob.download_blob().readall() == b"".join(PARTS)
        assert blob.get_blob_properties().content_settings.content_type == "application/x-test"

    def test_blocks_then_server_side_complete(self, store: Store) -> None:
        multipart = AzureMultipart(store)
        upload = multipart.create("big/other.bin")
        upload_parts(multipart, upload)
        multipart.complete(
            upload,
            [CompletedPart(number=n, etag=block_id(upload, n)) for n in (2, 1, 3)],
        )
        fs_bytes = requests.get(
            _read_url(store, "big/other.bin"),
            timeout=10,
        ).content
        assert fs_bytes == b"".join(PARTS)

    def test_complete_refuses_a_block_of_another_upload(self, store: Store) -> None:
        multipart = AzureMultipart(store)
        upload = multipart.create("x.bin")
        other = multipart.create("x.bin")
        with pytest.raises(SigningError, match="another upload"):
            multipart.complete(upload, [CompletedPart(number=1, etag=block_id(other, 1))])

    def test_abort_leaves_the_committed_object_alone(self, store: Store) -> None:
        multipart = AzureMultipart(store)
        first = multipart.create("keep.bin")
        upload_parts(multipart, first)
        multipart.complete(first, [CompletedPart(number=n, etag='"etag"') for n in (1, 2, 3)])
        second = multipart.create("keep.bin")
        upload_parts(multipart, second)
        multipart.abort(second)
        assert requests.get(_read_url(store, "keep.bin"), timeout=10).content == b"".join(PARTS)

    def test_tampered_block_url_is_refused(self, store: Store) -> None:
        multipart = AzureMultipart(store)
        upload = multipart.create("t.bin")
        [signed] = multipart.sign_parts(
            upload, [(1, None)], expires=dt.timedelta(hours=1), at=now()
        )
        bad = signed.url.replace("/t.bin?", "/u.bin?")
        assert requests.put(bad, data=b"x", timeout=10).status_code == 403

    def test_part_lifetime_is_bounded(self, store: Store) -> None:
        multipart = AzureMultipart(store)
        upload = multipart.create("t.bin")
        with pytest.raises(SigningError):
            multipart.sign_parts(upload, [(1, None)], expires=dt.timedelta(days=8), at=now())


def _read_url(store: Store, key: str) -> str:
    from byob_azure import clients
    from byob_core.signing import SignRequest

    [signed] = clients.signer(store).sign(
        [SignRequest(key=key, at=now(), expires=dt.timedelta(minutes=5))]
    )
    return signed.url

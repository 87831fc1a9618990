"""The core conformance suite, for a minio store and a coreweave store on moto server and on
Ceph RGW (`s3_endpoint` is parametrized over both)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from byob_core.signing import CompletedPart
from byob_core.stores import Store
from byob_core.testing import TEAM, ByobFileContract, ProviderContract, _http


class _OnS3Servers(ProviderContract):
    def test_multipart_upload_through_signed_urls(self, provisioned, store: Store) -> None:
        """The contract's multipart test, with parts sent as application/octet-stream.

        The contract sends parts with urllib's default Content-Type
        (application/x-www-form-urlencoded), which moto server answers with HTTP 500 on
        UploadPart; a browser or upload client sends octet-stream. Drop this override once
        the core's `_http` sends a binary content type.
        """
        chunks = [b"a" * (5 * 1024 * 1024), b"b" * 1234]
        upload = provisioned.create_upload("mp/object.bin", team=TEAM)
        md5s = [base64.b64encode(hashlib.md5(c).digest()).decode() for c in chunks]
        signed = provisioned.sign_parts(upload, list(zip([1, 2], md5s, strict=True)), team=TEAM)
        parts = []
        for number, (request, chunk) in enumerate(zip(signed, chunks, strict=True), start=1):
            headers = {"Content-Type": "application/octet-stream", **request.headers}
            etag = _http(request.method, request.url, chunk, headers, want="etag")
            parts.append(CompletedPart(number=number, etag=etag))
        provisioned.complete_upload(upload, parts, team=TEAM)
        where, full = provisioned.locate(TEAM, "mp/object.bin")
        data = provisioned.filesystem(where.store).cat_file(where.store.fs_path(full))
        assert data == b"".join(chunks)


class TestMinioContract(_OnS3Servers):
    """A minio store: custom endpoint 127.0.0.1:PORT, path-style, plain HTTP, us-east-1."""

    @pytest.fixture
    def store(self, s3_endpoint, make_store) -> Store:
        return make_store(s3_endpoint, subpath="conformance")


class TestCoreweaveContract(_OnS3Servers):
    """A coreweave store pointed at the same server (CoreWeave itself is not reachable in tests)."""

    @pytest.fixture
    def store(self, s3_endpoint, make_store) -> Store:
        return make_store(
            s3_endpoint, provider="coreweave", subpath="conformance", path_style=False
        )


class TestMinioByobFiles(ByobFileContract):
    """``byob://`` file objects on a minio store (s3fs with a custom endpoint)."""

    @pytest.fixture
    def store(self, moto_endpoint, make_store) -> Store:
        return make_store(moto_endpoint, subpath="teams")

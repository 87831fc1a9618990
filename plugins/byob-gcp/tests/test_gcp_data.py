"""The data path against fake-gcs-server: filesystem, listings, generations, batched
deletes, and multipart uploads through signed URLs (via the XML multipart shim)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator

import pytest
import requests
from byob_core.errors import UnsupportedError
from byob_core.objects import DeleteBatch, Entry, Kind, ListRequest
from byob_core.signing import CompletedPart, SignRequest, utcnow
from byob_core.stores import Store
from byob_gcp import collect
from byob_gcp.filesystem import JsonApi
from byob_gcp.plugin import (
    byob_filesystem,
    byob_garbage_collect,
    byob_list,
    byob_multipart,
    byob_sign,
)


def _bucket(store: Store, *, versioning: bool = False) -> Store:
    fs = byob_filesystem(store=store)
    JsonApi(fs).create_bucket({"name": store.bucket, "versioning": {"enabled": versioning}}, "byob")
    return store


@pytest.fixture
def store(fake_gcs: str, make_store) -> Store:
    return _bucket(make_store(fake_gcs))


@pytest.fixture
def versioned(fake_gcs: str, make_store) -> Store:
    return _bucket(make_store(fake_gcs), versioning=True)


@pytest.fixture(scope="module")
def shim(fake_gcs: str, xml_multipart_shim) -> Iterator[str]:
    with xml_multipart_shim(fake_gcs) as endpoint:
        yield endpoint


def _put(store: Store, key: str, data: bytes) -> None:
    byob_filesystem(store=store).pipe_file(store.fs_path(key), data)


def _keys(store: Store, **kwargs) -> list[str]:
    return [e.key for e in byob_list(store=store, request=ListRequest(**kwargs))]


class TestListing:
    NAMES = ("p/b/2", "p/a-c", "p/a/b", "p/a/a", "p/c", "p/a0", "p/#h", "p/ü x+y=z&%", "q/out")

    def test_objects_in_key_order_under_the_prefix(self, store: Store) -> None:
        for name in self.NAMES:
            _put(store, name, name.encode())
        expected = sorted(n for n in self.NAMES if n.startswith("p/"))
        assert _keys(store, prefix="p/") == expected

    def test_resume_strictly_after(self, store: Store) -> None:
        for name in self.NAMES:
            _put(store, name, b"1")
        expected = sorted(n for n in self.NAMES if n.startswith("p/"))
        assert _keys(store, prefix="p/", start_after=expected[2]) == expected[3:]
        assert _keys(store, prefix="p/", start_after="a") == expected  # before the prefix

    def test_entries_carry_size_and_time(self, store: Store) -> None:
        _put(store, "sz/x", b"12345")
        (entry,) = byob_list(store=store, request=ListRequest(prefix="sz/"))
        assert entry.size == 5
        assert entry.modified.tzinfo is not None

    def test_noncurrent_generations_only_in_versions_listings(self, versioned: Store) -> None:
        _put(versioned, "v/a", b"one")
        _put(versioned, "v/a", b"two!")
        _put(versioned, "v/b", b"only")
        assert _keys(versioned, prefix="v/") == ["v/a", "v/b"]
        listed = list(
            byob_list(store=versioned, request=ListRequest(kind=Kind.VERSIONS, prefix="v/"))
        )
        assert sorted((e.key, e.size, e.is_latest) for e in listed) == [
            ("v/a", 3, False),
            ("v/a", 4, True),
            ("v/b", 4, True),
        ]
        (old,) = [e for e in listed if not e.is_latest]
        fs = byob_filesystem(store=versioned)
        assert fs.cat_file(versioned.fs_path("v/a")) == b"two!"
        generation = fs.info(versioned.fs_path("v/a"))["generation"]
        assert old.version_id and old.version_id != str(generation)
        # Its age runs from when it became noncurrent: when "two!" replaced it.
        info = fs.info(versioned.fs_path("v/a"))
        assert old.modified >= collect.parse_time(info["timeCreated"])


class TestGarbageCollect:
    def test_batch_deletes_exactly_the_named_keys(self, store: Store) -> None:
        for name in ("x/1", "x/2", "x/#3", "x/ü 4"):
            _put(store, name, b"1")
        doomed = [
            e for e in byob_list(store=store, request=ListRequest(prefix="x/")) if e.key != "x/2"
        ]
        result = byob_garbage_collect(
            store=store, batch=DeleteBatch(kind=Kind.OBJECTS, entries=doomed)
        )
        assert not result.errors
        assert sorted(e.key for e in result.deleted) == sorted(e.key for e in doomed)
        assert _keys(store, prefix="x/") == ["x/2"]

    def test_more_than_one_batch_request(self, store: Store) -> None:
        fs = byob_filesystem(store=store)
        fs.pipe({store.fs_path(f"many/{i:03d}"): b"." for i in range(130)})
        entries = list(byob_list(store=store, request=ListRequest(prefix="many/")))
        result = collect.delete_batch(store, DeleteBatch(kind=Kind.OBJECTS, entries=entries))
        assert len(result.deleted) == 130 and not result.errors
        assert _keys(store, prefix="many/") == []

    def test_missing_key_counts_as_deleted(self, store: Store) -> None:
        ghost = Entry(key="gone/never", modified=utcnow())
        result = byob_garbage_collect(
            store=store, batch=DeleteBatch(kind=Kind.OBJECTS, entries=[ghost])
        )
        assert list(result.deleted) == [ghost]

    def test_generation_delete_names_the_generation(self, store: Store) -> None:
        """Each call of the batch names key and generation (fake-gcs-server ignores the
        generation of a DELETE, so the request itself is what can be checked here)."""
        entry = Entry(key="v/a b#c", modified=utcnow(), version_id="1700000000000001")
        body = collect._batch_body(store, [entry], "B", "storage.googleapis.com")
        assert (
            f"DELETE /storage/v1/b/{store.bucket}/o/v%2Fa%20b%23c?generation=1700000000000001 HTTP/1.1"
            in body
        )
        assert "Host: storage.googleapis.com" in body

    def test_batch_response_parsing_by_content_id(self) -> None:
        content = (
            "--R\r\nContent-ID: <response-byob+1>\r\n\r\nHTTP/1.1 404 Not Found\r\n\r\n\r\n"
            "--R\r\nContent-ID: <response-byob+0>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--R--"
        )
        assert collect._parse_batch(content, 2) == [204, 404]


class TestSignedData:
    def test_signed_put_then_get_with_user(self, store: Store) -> None:
        at = utcnow()
        (put,) = byob_sign(
            store=store,
            requests=[
                SignRequest(
                    key="s/ü x.bin",
                    method="PUT",
                    at=at,
                    expires=dt.timedelta(hours=1),
                    user="alice",
                    content_type="application/octet-stream",
                )
            ],
        )
        response = requests.put(put.url, data=b"payload", headers=dict(put.headers), timeout=10)
        assert response.status_code == 200, response.text
        (get,) = byob_sign(
            store=store,
            requests=[
                SignRequest(key="s/ü x.bin", at=at, expires=dt.timedelta(hours=1), user="alice")
            ],
        )
        assert requests.get(get.url, timeout=10).content == b"payload"


class TestMultipart:
    def test_upload_through_signed_part_urls(self, shim: str, make_store) -> None:
        store = _bucket(make_store(shim))
        multipart = byob_multipart(store=store)
        upload = multipart.create("mp/ü big.bin", content_type="application/x-test")
        chunks = [b"a" * (256 * 1024), b"b" * 1000]
        md5s = [base64.b64encode(hashlib.md5(c).digest()).decode() for c in chunks]
        signed = multipart.sign_parts(
            upload,
            list(zip([1, 2], md5s, strict=True)),
            expires=dt.timedelta(hours=1),
            at=utcnow(),
            user="bob",
        )
        assert all("X-User=bob" in s.url and "uploadId=" in s.url for s in signed)
        parts = []
        for number, (request, chunk) in enumerate(zip(signed, chunks, strict=True), start=1):
            response = requests.put(
                request.url, data=chunk, headers=dict(request.headers), timeout=10
            )
            assert response.status_code == 200, response.text
            parts.append(CompletedPart(number=number, etag=response.headers["ETag"]))
        assert [
            e.upload_id
            for e in byob_list(store=store, request=ListRequest(kind=Kind.UPLOADS, prefix="mp/"))
        ] == [upload.upload_id]
        multipart.complete(upload, parts)
        fs = byob_filesystem(store=store)
        assert fs.cat_file(store.fs_path("mp/ü big.bin")) == b"".join(chunks)
        assert fs.info(store.fs_path("mp/ü big.bin"))["contentType"] == "application/x-test"

    def test_abort_through_garbage_collect(self, shim: str, make_store) -> None:
        store = _bucket(make_store(shim))
        upload = byob_multipart(store=store).create("stale/one.bin")
        (entry,) = byob_list(store=store, request=ListRequest(kind=Kind.UPLOADS, prefix="stale/"))
        result = byob_garbage_collect(
            store=store, batch=DeleteBatch(kind=Kind.UPLOADS, entries=[entry])
        )
        assert [e.upload_id for e in result.deleted] == [upload.upload_id]
        assert list(byob_list(store=store, request=ListRequest(kind=Kind.UPLOADS, prefix=""))) == []

    def test_bad_part_md5_is_refused(self, shim: str, make_store) -> None:
        store = _bucket(make_store(shim))
        multipart = byob_multipart(store=store)
        upload = multipart.create("mp/bad.bin")
        wrong = base64.b64encode(hashlib.md5(b"other").digest()).decode()
        (request,) = multipart.sign_parts(
            upload, [(1, wrong)], expires=dt.timedelta(hours=1), at=utcnow()
        )
        response = requests.put(
            request.url, data=b"data", headers=dict(request.headers), timeout=10
        )
        assert response.status_code == 400

    def test_plain_fake_gcs_server_has_no_xml_multipart(self, store: Store) -> None:
        """Said plainly: fake-gcs-server itself does not implement the XML multipart API."""
        with pytest.raises(UnsupportedError):
            byob_multipart(store=store).create("mp/x.bin")


class TestEngineOverGenerations:
    def test_dry_run_names_the_noncurrent_generations_to_purge(
        self, versioned: Store, tmp_path
    ) -> None:
        """The core's GC engine, through our listing, on fake-gcs-server's generations (a
        dry run: fake-gcs-server would delete the live object for a generation DELETE)."""
        from byob_core.api import Byob
        from byob_core.config import Config
        from byob_core.gc import GcOptions
        from byob_core.plugins import PluginHost

        byob = Byob(
            Config(instance=None, teams={"t": versioned}, data_dir=tmp_path / "state"),
            PluginHost.load(),
        )
        byob.provision("t")
        _put(versioned, "live/a", b"1")
        _put(versioned, "live/a", b"22")
        _put(versioned, "dead/b", b"333")
        _put(versioned, "dead/b", b"4444")
        report = byob.gc(
            ["live/a"],
            team="t",
            options=GcOptions(
                grace=dt.timedelta(0), dry_run=True, purge_versions=True, journal=tmp_path / "j"
            ),
        )
        assert report.would_delete == ["dead/b"]
        # dead/b still has a live generation: the run deletes it, which starts the undo
        # window, so none of its generations are purged yet; live keys keep theirs.
        assert report.would_purge == []
        assert report.versions_kept == 5  # with .byob/store.json

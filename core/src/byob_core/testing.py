"""The conformance suite for provider plugins (a public pytest plugin).

A plugin's test file can be this short::

    import pytest
    from byob_core import Store
    from byob_core.testing import ProviderContract

    class TestMyStoreContract(ProviderContract):
        @pytest.fixture
        def store(self, tmp_path):
            return Store(provider="mine", bucket="a-fresh-bucket", subpath="conformance")

The `store` fixture gives a fresh, empty store of the plugin's provider that has not
been provisioned yet. The suite provisions it, validates it, signs for it, writes, lists
and collects garbage in it, all through the core, as the CLI would.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import attrs
import pytest

from byob_core.api import Byob
from byob_core.config import Config
from byob_core.errors import SigningError, UnsafeKeyError, UnsupportedError
from byob_core.findings import Status
from byob_core.objects import DeleteBatch, Kind, ListRequest
from byob_core.plans import Action
from byob_core.plugins import PluginHost
from byob_core.signing import CompletedPart
from byob_core.stores import Store

TEAM = "conformance"
ESCAPES = [
    "../x",
    "a/../../x",
    "/abs",
    "a//b",
    "a/./b",
    "a\\b",
    "a\x00b",
    "%2e%2e/x",
    "a%2F..%2Fb",
    ".",
]
AT = dt.datetime(2026, 1, 31, 12, 0, 0, tzinfo=dt.UTC)


class ProviderContract:
    """Contract tests every provider plugin passes. Subclass and supply `store`."""

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("subclass ProviderContract and supply a `store` fixture")

    @pytest.fixture
    def host(self) -> PluginHost:
        return PluginHost.load()

    @pytest.fixture
    def byob(self, store: Store, host: PluginHost, tmp_path: Path) -> Byob:
        config = Config(instance=None, teams={TEAM: store}, data_dir=tmp_path / "state")
        return Byob(config, host)

    @pytest.fixture
    def provisioned(self, byob: Byob) -> Byob:
        byob.provision(TEAM)
        return byob

    # -- helpers ------------------------------------------------------------------------
    @staticmethod
    def put(byob: Byob, key: str, data: bytes) -> str:
        where, full = byob.locate(TEAM, key)
        byob.filesystem(where.store).pipe_file(where.store.fs_path(full), data)
        return full

    @staticmethod
    def keys_in_store(byob: Byob) -> list[str]:
        store = byob.resolve(TEAM).store
        return [e.key for e in byob.host.list(store, ListRequest(prefix=store.prefix))]

    # -- registration ---------------------------------------------------------------------
    def test_provider_is_declared_by_one_plugin(self, store: Store, host: PluginHost) -> None:
        spec = host.spec(store.provider)
        assert spec.name == store.provider
        assert host.owner(store.provider)
        assert spec.gc_batch_size >= 1

    # -- provision --------------------------------------------------------------------------
    def test_plan_changes_nothing(self, byob: Byob) -> None:
        first = byob.plan(TEAM)
        assert not first.applied
        assert not any(c.applied for c in first.changes)
        assert first.has_changes, "a fresh store must need provisioning"
        second = byob.plan(TEAM)
        assert [c.to_dict() for c in second.changes] == [c.to_dict() for c in first.changes]

    def test_provision_then_nothing_to_change(self, byob: Byob) -> None:
        applied = byob.provision(TEAM)
        assert applied.applied
        assert any(c.applied for c in applied.changes)
        again = byob.plan(TEAM)
        leftover = [c.name for c in again.changes if c.action in (Action.CREATE, Action.UPDATE)]
        assert leftover == [], f"a second provision would still change {leftover}"

    def test_plan_changes_are_named_and_serialisable(self, byob: Byob) -> None:
        import json

        plan = byob.plan(TEAM)
        names = [c.name for c in plan.changes]
        assert len(names) == len(set(names)), f"change names repeat: {names}"
        json.dumps(plan.to_dict())

    # -- validate ---------------------------------------------------------------------------
    def test_validate_after_provision_passes(self, provisioned: Byob) -> None:
        report = provisioned.validate(TEAM)
        failed = [(f.check, f.message) for f in report.findings if f.status is Status.FAIL]
        assert report.ok, f"failed checks: {failed}"
        checks = [f.check for f in report.findings]
        assert len(checks) == len(set(checks)), f"check ids repeat: {checks}"
        assert {
            "core.probe.write",
            "core.probe.read",
            "core.probe.list",
            "core.probe.delete",
        } <= set(checks)
        assert all(f.provider for f in report.findings)
        assert all(f.hint for f in report.findings if f.status in (Status.FAIL, Status.WARN))

    def test_validate_read_only_writes_nothing(self, provisioned: Byob) -> None:
        self.put(provisioned, "keep/me.txt", b"x")
        before = self.keys_in_store(provisioned)
        report = provisioned.validate(TEAM, read_only=True)
        assert report.by_check()["core.probe.write"].status is Status.SKIP
        assert self.keys_in_store(provisioned) == before

    @staticmethod
    def history_in_store(byob: Byob) -> list[tuple[str, str | None, bool]]:
        """Every version and delete marker under the store's prefix (versioned providers)."""
        store = byob.resolve(TEAM).store
        if not byob.host.spec(store.provider).versions:
            return []
        request = ListRequest(kind=Kind.VERSIONS, prefix=store.prefix)
        return sorted(
            (e.key, e.version_id, e.is_delete_marker) for e in byob.host.list(store, request)
        )

    def test_probe_leaves_nothing_behind(self, provisioned: Byob) -> None:
        """Not the object, and on a versioned store not a version or a delete marker."""
        before = self.keys_in_store(provisioned)
        history = self.history_in_store(provisioned)
        provisioned.validate(TEAM)
        assert self.keys_in_store(provisioned) == before
        assert self.history_in_store(provisioned) == history

    def test_validate_of_unprovisioned_store_fails(self, byob: Byob) -> None:
        assert not byob.validate(TEAM).ok

    # -- keys -------------------------------------------------------------------------------
    @pytest.mark.parametrize("key", ESCAPES)
    def test_escaping_keys_are_refused(self, byob: Byob, key: str) -> None:
        with pytest.raises(UnsafeKeyError):
            byob.locate(TEAM, key)
        with pytest.raises((UnsafeKeyError, UnsupportedError)):
            byob.sign([key], team=TEAM)

    # -- sign -------------------------------------------------------------------------------
    def test_sign(self, byob: Byob, store: Store) -> None:
        spec = byob.host.spec(store.provider)
        keys = ["a/b.bin", "runs/x y+z=1&2.txt", "ünïcode/ключ"]
        if not spec.can_sign:
            with pytest.raises(UnsupportedError):
                byob.sign(keys, team=TEAM)
            return
        signed = byob.sign(keys, team=TEAM, at=AT, user="alice")
        assert [s.key for s in signed] == [f"{store.prefix}{k}" for k in keys]
        assert all(s.method == "GET" for s in signed)
        assert all(s.expires_at == AT + dt.timedelta(hours=1) for s in signed)
        assert all(spec.user_param in s.url and "alice" in s.url for s in signed)
        put = byob.sign(["a/b.bin"], team=TEAM, method="PUT", at=AT)[0]
        assert put.expires_at == AT + dt.timedelta(hours=24)
        again = byob.sign(keys, team=TEAM, at=AT, user="alice")
        assert [s.url for s in again] == [s.url for s in signed], "signing is not reproducible"
        for secret in store.credentials.secret_values:
            assert all(secret not in s.url for s in [*signed, put])

    def test_sign_lifetime_bound(self, byob: Byob, store: Store) -> None:
        spec = byob.host.spec(store.provider)
        if not spec.can_sign or spec.max_expiry is None:
            pytest.skip("the provider has no signing lifetime bound")
        too_long = int(spec.max_expiry.total_seconds()) + 1
        with pytest.raises(SigningError):
            byob.sign(["a"], team=TEAM, expires=too_long)

    def test_signed_put_then_get_round_trip(self, provisioned: Byob, store: Store) -> None:
        spec = provisioned.host.spec(store.provider)
        if not spec.can_sign:
            pytest.skip("the provider cannot sign")
        body = b"conformance body \x00\xff"
        put = provisioned.sign(
            ["signed/rt.bin"], team=TEAM, method="PUT", content_type="application/octet-stream"
        )[0]
        headers = {"Content-Type": "application/octet-stream", **put.headers}
        _http(put.method, put.url, body, headers)
        get = provisioned.sign(["signed/rt.bin"], team=TEAM)[0]
        assert _http(get.method, get.url, None, dict(get.headers)) == body

    # -- multipart --------------------------------------------------------------------------
    def test_multipart_upload_through_signed_urls(self, provisioned: Byob, store: Store) -> None:
        spec = provisioned.host.spec(store.provider)
        if not (spec.can_sign and spec.multipart):
            pytest.skip("the provider has no multipart uploads")
        chunks = [b"a" * (5 * 1024 * 1024), b"b" * 1234]
        upload = provisioned.create_upload("mp/object.bin", team=TEAM)
        md5s = [
            base64.b64encode(hashlib.md5(c, usedforsecurity=False).digest()).decode()
            for c in chunks
        ]
        signed = provisioned.sign_parts(upload, list(zip([1, 2], md5s, strict=True)), team=TEAM)
        parts = []
        for number, (request, chunk) in enumerate(zip(signed, chunks, strict=True), start=1):
            etag = str(
                _http(request.method, request.url, chunk, dict(request.headers), want="etag")
            )
            parts.append(CompletedPart(number=number, etag=etag))
        provisioned.complete_upload(upload, parts, team=TEAM)
        where, full = provisioned.locate(TEAM, "mp/object.bin")
        assert provisioned.filesystem(where.store).cat_file(where.store.fs_path(full)) == b"".join(
            chunks
        )

    # -- listing and garbage collection ------------------------------------------------------
    def test_list_is_in_key_order_and_resumes(self, provisioned: Byob) -> None:
        names = ["b/2", "a-c", "a/b", "a/a", "c", "a0"]
        full = sorted(self.put(provisioned, n, n.encode()) for n in names)
        listed = [k for k in self.keys_in_store(provisioned) if "/.byob/" not in f"/{k}"]
        assert listed == full
        store = provisioned.resolve(TEAM).store
        after = [
            e.key
            for e in provisioned.host.list(
                store, ListRequest(prefix=store.prefix, start_after=full[2])
            )
        ]
        assert [k for k in after if "/.byob/" not in f"/{k}"] == full[3:]

    def test_delete_batch_deletes_exactly_the_named_keys(self, provisioned: Byob) -> None:
        for n in ("x/1", "x/2", "x/3"):
            self.put(provisioned, n, b"1")
        store = provisioned.resolve(TEAM).store
        entries = [e for e in provisioned.host.list(store, ListRequest(prefix=store.prefix + "x/"))]
        doomed = [e for e in entries if e.key.endswith(("/1", "/3"))]
        result = provisioned.host.garbage_collect(
            store, DeleteBatch(kind=Kind.OBJECTS, entries=doomed)
        )
        assert not result.errors
        assert sorted(e.key for e in result.deleted) == sorted(e.key for e in doomed)
        assert [k for k in self.keys_in_store(provisioned) if "/x/" in f"/{k}"] == [
            store.prefix + "x/2"
        ]

    def test_gc_keeps_live_and_young_and_reserved(self, provisioned: Byob, tmp_path: Path) -> None:
        from byob_core.gc import GcOptions

        for n in ("live/1", "dead/1", "dead/2"):
            self.put(provisioned, n, b"123")
        options = GcOptions(grace=dt.timedelta(0), journal=tmp_path / "journal")
        dry = provisioned.gc(
            ["live/1"],
            team=TEAM,
            options=GcOptions(grace=dt.timedelta(0), dry_run=True, journal=tmp_path / "journal"),
        )
        store = provisioned.resolve(TEAM).store
        assert sorted(dry.would_delete) == [store.prefix + "dead/1", store.prefix + "dead/2"]
        report = provisioned.gc(["live/1"], team=TEAM, options=options)
        assert report.deleted == 2
        remaining = self.keys_in_store(provisioned)
        assert store.prefix + "live/1" in remaining
        assert not any("dead/" in k for k in remaining)
        assert provisioned.read_marker(store) is not None, "gc must never touch the marker"
        self.put(provisioned, "dead/3", b"young")
        young = provisioned.gc(
            ["live/1"],
            team=TEAM,
            options=GcOptions(grace=dt.timedelta(hours=1), journal=tmp_path / "journal"),
        )
        assert young.deleted == 0
        assert store.prefix + "dead/3" in self.keys_in_store(provisioned)


class ByobFileContract:
    """``byob://`` file objects on a provider: byob's path and filesystem, fsspec's caches.

    Subclass and supply `store` (a fresh store of the provider, with a sub-path), as for
    `ProviderContract`. Two teams share its bucket, each under its own sub-path; the
    tests open files of the first and prove the file object shows neither the bucket nor
    the other team, and that ``blockcache::``, ``simplecache::`` and ``filecache::`` work
    over it.
    """

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError("subclass ByobFileContract and supply a `store` fixture")

    @pytest.fixture
    def byob(self, store: Store, tmp_path: Path) -> Byob:
        alpha = attrs.evolve(store, subpath=f"{store.subpath}/alpha".strip("/"))
        beta = attrs.evolve(store, subpath=f"{store.subpath}/beta".strip("/"))
        config = Config(
            instance=None, teams={"alpha": alpha, "beta": beta}, data_dir=tmp_path / "state"
        )
        byob = Byob(config, PluginHost.load())
        byob.provision("alpha")  # makes the bucket both teams share
        return byob

    @pytest.fixture
    def fs(self, byob: Byob) -> Any:
        from byob_core.fs import ByobFileSystem

        fs = ByobFileSystem(byob=byob, skip_instance_cache=True)
        fs.pipe_file("beta/secret.txt", b"beta's")
        return fs

    def test_open_gives_the_byob_path_and_filesystem(self, fs: Any, store: Store) -> None:
        from byob_core.files import ByobFile

        body = b"line one\nline two\n" + bytes(range(256)) * 40
        with fs.open("byob://alpha/dir/a.bin", "wb") as writer:
            assert isinstance(writer, ByobFile)
            assert (writer.path, writer.fs) == ("alpha/dir/a.bin", fs)
            writer.write(body)
        with fs.open("byob://alpha/dir/a.bin", "rb") as reader:
            assert isinstance(reader, ByobFile)
            assert reader.path == "alpha/dir/a.bin"
            assert reader.fs is fs
            assert reader.readline() == b"line one\n"
            assert reader.tell() == 9
            reader.seek(-10, 2)
            assert reader.read() == body[-10:]
            reader.seek(0)
            assert reader.read() == body
            assert reader.size == len(body)
            assert reader.info()["name"] == "alpha/dir/a.bin"
            for shown in (repr(reader), str(reader.info()), str(reader.details)):
                assert store.bucket not in shown
            for attribute in ("bucket", "key", "container_name", "blob", "f"):
                assert not hasattr(reader, attribute), attribute
        assert reader.closed

    def test_the_file_system_of_a_file_cannot_list_another_team(
        self, fs: Any, byob: Byob, store: Store
    ) -> None:
        from byob_core.fs import ByobFileSystem

        fs.pipe_file("alpha/a.txt", b"alpha's")
        with fs.open("alpha/a.txt", "rb") as handle:
            # The leak this closes: f.fs was the provider's filesystem, whose
            # ls("<bucket>/<sub-path>") listed every team's folder.
            for raw in (store.bucket, store.fs_path(store.subpath)):
                with pytest.raises((FileNotFoundError, PermissionError)):
                    handle.fs.ls(raw)
            assert handle.fs.ls("alpha", detail=False) == ["alpha/a.txt"]
            assert all("beta" not in name for name in handle.fs.find("alpha"))
        guarded = ByobFileSystem(byob=byob, reader="alpha", skip_instance_cache=True)
        with guarded.open("alpha/a.txt", "rb") as handle:
            assert handle.read() == b"alpha's"
            with pytest.raises(PermissionError, match="visibility rule"):
                handle.fs.ls("beta")
            with pytest.raises(PermissionError):
                handle.fs.cat_file("beta/secret.txt")

    def test_text_mode(self, fs: Any) -> None:
        with fs.open("alpha/t.txt", "w", encoding="utf-8") as writer:
            writer.write("één\ntwee\n")
        with fs.open("alpha/t.txt", "r", encoding="utf-8") as reader:
            assert list(reader) == ["één\n", "twee\n"]

    @pytest.mark.parametrize("cache", ["blockcache", "simplecache", "filecache"])
    def test_fsspec_caches_read_and_write(
        self, fs: Any, byob: Byob, cache: str, tmp_path: Path
    ) -> None:
        import fsspec

        body = bytes(range(256)) * 64
        fs.pipe_file("alpha/c.bin", body)
        options = {cache: {"cache_storage": str(tmp_path / cache)}, "byob": {"byob": byob}}
        for _ in range(2):  # the second read is served from the cache
            with fsspec.open(f"{cache}::byob://alpha/c.bin", "rb", **options) as reader:
                reader.seek(1000)
                assert reader.read(100) == body[1000:1100]
                reader.seek(0)
                assert reader.read() == body
        assert any((tmp_path / cache).iterdir())
        with fsspec.open(f"{cache}::byob://alpha/w-{cache}.bin", "wb", **options) as writer:
            writer.write(b"written through " + cache.encode())
        assert fs.cat_file(f"alpha/w-{cache}.bin") == b"written through " + cache.encode()
        assert fs.cat_file("beta/secret.txt") == b"beta's"

    def test_async_files_keep_the_fence(self, byob: Byob) -> None:
        """``open_async`` hands out byob's path and filesystem too, where the provider has it."""
        from fsspec.asyn import get_loop, sync

        from byob_core.files import ByobAsyncFile
        from byob_core.fs import ByobFileSystem

        loop = get_loop()  # fsspec's own loop: its clients outlive the test, as in real use

        async def read() -> None:
            afs = ByobFileSystem(byob=byob, asynchronous=True, loop=loop, skip_instance_cache=True)
            await afs._pipe_file("alpha/async.bin", b"0123456789")
            try:
                handle = await afs.open_async("alpha/async.bin", "rb")
            except NotImplementedError:
                return  # the provider's filesystem has no async file objects
            assert isinstance(handle, ByobAsyncFile)
            assert (handle.path, handle.fs) == ("alpha/async.bin", afs)
            async with handle:
                assert await handle.read(4) == b"0123"
                assert await handle.read() == b"456789"

        sync(loop, read)

    def test_errors_name_byob_paths(self, fs: Any, store: Store) -> None:
        with pytest.raises(FileNotFoundError) as caught:
            fs.open("alpha/missing.bin", "rb")
        assert store.bucket not in str(caught.value)


def _http(
    method: str, url: str, body: bytes | None, headers: dict[str, str], want: str = "body"
) -> bytes | str:
    if body is not None and not any(h.lower() == "content-type" for h in headers):
        # urllib would send application/x-www-form-urlencoded, which S3 servers mishandle.
        headers = {**headers, "Content-Type": "application/octet-stream"}
    if not url.startswith(("http://", "https://")):
        raise AssertionError(f"a signed URL must be http(s), not {url[:16]!r}")
    request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - signed http(s) URLs
            data: bytes = response.read()
            if want == "etag":
                return str(
                    response.headers.get("ETag") or response.headers.get("x-ms-request-id") or ""
                )
            return data
    except urllib.error.HTTPError as exc:
        raise AssertionError(
            f"{method} {url.split('?')[0]} -> {exc.code}: {exc.read()[:300]!r}"
        ) from exc

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

"""Tests of a provider under faults, for every fault type of `byob_core.testing_proxy`.

A plugin's test file subclasses `FaultContract` and says where its local server is::

    class TestS3Faults(FaultContract):
        dialect = "s3"

        @pytest.fixture
        def upstream(self, moto_endpoint):  # host:port of the real server
            return moto_endpoint.split("://", 1)[1]

        def store_at(self, endpoint, bucket, **fields):  # a Store at host:port
            ...

        def create_bucket(self, store):  # through the clean endpoint
            ...

Each test runs the same work twice, on a clean path and through the proxy spoiling a
seeded fraction of the requests, and compares: validation findings (check and status),
a multipart upload through signed URLs (the object's bytes), ``byob://`` writes and
reads (the bytes), garbage collection (the keys left, after a kill mid-run too). The
store's retry settings are short (`OPTIONS`) so that a stall costs little time.
`FIGURES` gathers (provider, fault, test, requests, faults injected, requests retried,
end state equal).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import time
import uuid
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from byob_core import retries
from byob_core.api import Byob
from byob_core.config import Config
from byob_core.gc import GcOptions
from byob_core.plugins import PluginHost
from byob_core.signing import CompletedPart
from byob_core.stores import Store
from byob_core.testing_proxy import FAULTS, FaultProxy

TEAM = "faulty"
#: Retry settings of the store behind the proxy: enough retries to outlast `max_run`
#: faults in a row, a timeout shorter than the proxy's stall, little backoff.
OPTIONS = {"retries": 4, "timeout": 1.0, "backoff": 0.05}
FRACTION = 0.2

#: (provider, fault, what, requests seen, faults injected, requests retried, end state
#: equal to a clean run), per test.
FIGURES: list[tuple[str, str, str, int, int, int, bool]] = []


class _Killed(BaseException):
    """Stands for a kill -9 in the middle of a collection (after a journaled batch)."""


@functools.cache
def _host() -> PluginHost:
    return PluginHost.load()


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


class FaultContract:
    """Behaviour under faults; subclass it and supply `upstream`, `store_at`, `create_bucket`."""

    #: The proxy's error documents: ``s3``, ``gcs`` or ``azure``.
    dialect = "s3"
    #: Send the upstream's own Host header (servers that build URLs from it).
    rewrite_host = False
    #: The first part's size in the multipart test (S3 servers refuse smaller parts).
    part_size = 5 * 1024 * 1024
    #: The store's timeout (seconds); the proxy stalls half as long again.
    timeout = OPTIONS["timeout"]

    # -- what a subclass supplies --------------------------------------------------------
    @pytest.fixture
    def upstream(self) -> str:
        raise NotImplementedError("supply `upstream`: host:port of the local server")

    def store_at(self, endpoint: str, bucket: str, **fields: Any) -> Store:
        raise NotImplementedError

    def create_bucket(self, store: Store) -> None:
        raise NotImplementedError

    # -- fixtures --------------------------------------------------------------------------
    @pytest.fixture
    def proxy(self, upstream: str) -> Iterator[FaultProxy]:
        with FaultProxy(
            upstream, dialect=self.dialect, stall=self.timeout * 1.6, rewrite_host=self.rewrite_host
        ) as proxy:
            yield proxy

    @pytest.fixture
    def pair(
        self, upstream: str, proxy: FaultProxy, tmp_path: Path
    ) -> tuple[Byob, Byob, Store, Store]:
        """(clean byob, faulty byob, clean store, faulty store): one bucket, two paths to it."""
        bucket = f"byob-faults-{uuid.uuid4().hex[:10]}"
        options = {**OPTIONS, "timeout": self.timeout}
        clean = self.store_at(upstream, bucket, subpath="t", options=options)
        self.create_bucket(clean)
        rest = (clean.endpoint or "")[len(upstream) :]  # Azurite's /devstoreaccount1
        faulty = attrs.evolve(clean, endpoint=proxy.endpoint + rest)
        host = _host()

        def make(store: Store, name: str) -> Byob:
            return Byob(Config(instance=None, teams={TEAM: store}, data_dir=tmp_path / name), host)

        return make(clean, "clean"), make(faulty, "faulty"), clean, faulty

    def _spoil(self, proxy: FaultProxy, fault: str, what: str, **kwargs: Any) -> None:
        proxy.configure(
            faults=[fault], fraction=FRACTION, seed=_seed(self.dialect, fault, what), **kwargs
        )

    def _record(self, store: Store, fault: str, what: str, proxy: FaultProxy, equal: bool) -> None:
        FIGURES.append(
            (store.provider, fault, what, proxy.requests, proxy.faulted, proxy.retried, equal)
        )

    @staticmethod
    def _keys(byob: Byob, store: Store) -> set[str]:
        fs = byob.filesystem(store)
        root = store.fs_path(store.subpath)
        found = fs.find(root, withdirs=False)
        prefix = store.fs_path(store.prefix)
        return {path[len(prefix) :] for path in found if path.startswith(prefix)}

    def _put(self, byob: Byob, store: Store, key: str, data: bytes) -> None:
        byob.filesystem(store).pipe_file(store.fs_path(store.prefix + key), data)

    # -- validate --------------------------------------------------------------------------
    @pytest.mark.parametrize("fault", FAULTS)
    def test_validate_gives_the_clean_findings(
        self, pair: Any, proxy: FaultProxy, fault: str
    ) -> None:
        _, faulty, _, faulty_store = pair
        expected = [(f.check, f.status) for f in faulty.validate(TEAM).findings]
        self._spoil(proxy, fault, "validate")
        report = faulty.validate(TEAM)
        got = [(f.check, f.status) for f in report.findings]
        self._record(faulty_store, fault, "validate", proxy, got == expected)
        assert proxy.faulted > 0, "the proxy spoiled nothing: the test proves nothing"
        differ = [
            f"{f.check}: {f.status} {f.message}"
            for f in report.findings
            if (f.check, f.status) not in expected
        ]
        assert got == expected, differ

    # -- multipart -------------------------------------------------------------------------
    @pytest.mark.parametrize("fault", FAULTS)
    def test_multipart_through_signed_urls_completes_intact(
        self, pair: Any, proxy: FaultProxy, fault: str
    ) -> None:
        clean, faulty, clean_store, faulty_store = pair
        spec = faulty.host.spec(faulty_store.provider)
        if not (spec.can_sign and spec.multipart):
            pytest.fail(f"{faulty_store.provider} has no multipart uploads to test")
        chunks = [uuid.uuid4().bytes * (self.part_size // 16), b"tail " * 300]
        md5s = [
            base64.b64encode(hashlib.md5(c, usedforsecurity=False).digest()).decode()
            for c in chunks
        ]
        self._spoil(proxy, fault, "multipart")
        policy = retries.policy_of(faulty_store)
        upload = faulty.create_upload("mp/object.bin", team=TEAM)
        signed = faulty.sign_parts(upload, list(zip([1, 2], md5s, strict=True)), team=TEAM)
        parts = []
        for number, (request, chunk) in enumerate(zip(signed, chunks, strict=True), start=1):
            status, headers, body = retries.send(
                request.method, request.url, chunk, dict(request.headers), policy=policy
            )
            assert status < 300, f"part {number}: HTTP {status} {body[:200]!r}"
            etag = headers.get("etag") or headers.get("x-ms-request-id") or ""
            parts.append(CompletedPart(number=number, etag=etag))
        faulty.complete_upload(upload, parts, team=TEAM)
        proxy.clean()
        stored = clean.filesystem(clean_store).cat_file(
            clean_store.fs_path(clean_store.prefix + "mp/object.bin")
        )
        equal = stored == b"".join(chunks)
        self._record(faulty_store, fault, "multipart", proxy, equal)
        assert proxy.faulted > 0
        assert equal

    # -- byob:// ---------------------------------------------------------------------------
    @pytest.mark.parametrize("fault", FAULTS)
    def test_byob_paths_write_and_read_intact(
        self, pair: Any, proxy: FaultProxy, fault: str
    ) -> None:
        from byob_core.fs import ByobFileSystem

        clean, faulty, clean_store, faulty_store = pair
        fs = ByobFileSystem(byob=faulty, skip_instance_cache=True)
        data = {f"byob/k{i}.bin": f"payload {i} ".encode() * (200 + i) for i in range(6)}
        self._spoil(proxy, fault, "byob")
        for key, value in data.items():
            fs.pipe_file(f"byob://{TEAM}/{key}", value)
        read = {key: fs.cat_file(f"byob://{TEAM}/{key}") for key in data}
        listed = sorted(fs.find(f"byob://{TEAM}/byob"))
        proxy.clean()
        behind = {
            k: clean.filesystem(clean_store).cat_file(clean_store.fs_path("t/" + k)) for k in data
        }
        equal = read == data and behind == data
        self._record(faulty_store, fault, "byob://", proxy, equal)
        assert proxy.faulted > 0
        assert read == data
        assert behind == data
        assert [p.rsplit("/", 1)[-1] for p in listed] == sorted(k.rsplit("/", 1)[-1] for k in data)

    # -- garbage collection ------------------------------------------------------------------
    def _gc_pair(
        self, pair: Any, tmp_path: Path, names: list[str], **options: Any
    ) -> tuple[Byob, Byob, Store, Store]:
        """Two sub-paths of the bucket, one reached cleanly, one through the proxy, each
        holding `names`, all older than a zero grace."""
        clean, _, clean_store, faulty_store = pair
        stores = (
            attrs.evolve(clean_store, subpath="t/a"),
            attrs.evolve(faulty_store, subpath="t/b", options={**faulty_store.options, **options}),
        )
        byobs = tuple(
            Byob(Config(instance=None, teams={TEAM: s}, data_dir=tmp_path / n), clean.host)
            for s, n in zip(stores, ("gc-a", "gc-b"), strict=True)
        )
        for name in names:
            self._put(clean, stores[0], name, b"x" * 100)
            self._put(clean, attrs.evolve(clean_store, subpath="t/b"), name, b"x" * 100)
        time.sleep(1.1)  # every object older than a zero grace, whole-second clocks included
        return byobs[0], byobs[1], stores[0], attrs.evolve(clean_store, subpath="t/b")

    @pytest.mark.parametrize("fault", FAULTS)
    def test_gc_converges_to_the_clean_end_state_and_resumes_after_a_kill(
        self, pair: Any, proxy: FaultProxy, fault: str, tmp_path: Path
    ) -> None:
        names = [f"gc/o{i:02d}" for i in range(10)]
        live = names[::3]
        clean, faulty, clean_a, clean_b = self._gc_pair(pair, tmp_path, names)
        options: dict[str, Any] = {"grace": dt.timedelta(0), "batch_size": 2}

        clean.gc(live, team=TEAM, options=GcOptions(journal=tmp_path / "a.journal", **options))
        expected = self._keys(clean, clean_a)
        assert expected == set(live)

        # Through the proxy: killed after its first batch, then run again to the end.
        self._spoil(proxy, fault, "gc")
        journal = tmp_path / "b.journal"
        batches = 0

        def kill(kind: Any, entries: Any) -> None:
            nonlocal batches
            batches += 1
            if batches == 1:
                raise _Killed

        with pytest.raises(_Killed):
            faulty.gc(
                live, team=TEAM, options=GcOptions(journal=journal, **options), on_delete=kill
            )
        assert journal.exists(), "the kill must leave a journal to resume from"
        report = faulty.gc(live, team=TEAM, options=GcOptions(journal=journal, **options))
        proxy.clean()
        got = self._keys(clean, clean_b)
        equal = got == expected
        self._record(pair[3], fault, "gc", proxy, equal)
        assert report.resumed
        assert report.ok, (report.gave_up, report.errors)
        assert proxy.faulted > 0
        assert equal, (sorted(got), sorted(expected))

    def is_delete(self, method: str, target: str, headers: dict[str, str]) -> bool:
        """Whether a request deletes objects (S3 DeleteObjects, a GCS or Azure batch)."""
        if self.dialect == "gcs":
            return method == "POST" and target.startswith("/batch/")
        if self.dialect == "azure":
            return method == "DELETE" or (method == "POST" and "comp=batch" in target)
        return method == "POST" and "delete" in target.split("?", 1)[-1]

    def test_gc_that_gives_up_says_so_and_the_next_run_finishes(
        self, pair: Any, proxy: FaultProxy, tmp_path: Path
    ) -> None:
        names = [f"gc/o{i:02d}" for i in range(6)]
        live = names[:2]
        # One retry is enough to show that retries end: the store "stays down".
        _, faulty, _, clean_b = self._gc_pair(pair, tmp_path, names, retries=1)
        reader = pair[0]
        options = GcOptions(grace=dt.timedelta(0), batch_size=2, journal=tmp_path / "j")
        # Every delete call fails, whatever the retries: the store "stays down" for them.
        proxy.configure(faults=["503"], fraction=1.0, max_run=10**9, match=self.is_delete)
        first = faulty.gc(live, team=TEAM, options=options)
        assert not first.ok
        assert first.gave_up or first.errors
        assert first.deleted < len(names) - len(live)
        left = self._keys(reader, clean_b)
        assert set(live) <= left, "nothing live is ever lost"
        if first.gave_up:
            assert set(first.not_deleted) <= {clean_b.prefix + n for n in names}
            assert first.not_deleted, "the batch that failed is named"
        down = (proxy.requests, proxy.faulted, proxy.retried)
        proxy.configure()  # the store is back
        second = faulty.gc(live, team=TEAM, options=options)
        assert second.ok, (second.gave_up, second.errors)
        assert self._keys(reader, clean_b) == set(live)
        FIGURES.append((clean_b.provider, "down", "gc gives up, next run finishes", *down, True))

"""byob_list and byob_garbage_collect against Azurite: pages, order, batches, fallback."""

from __future__ import annotations

import attrs
import pytest
from byob_azure import clients, collect
from byob_core.objects import DeleteBatch, Entry, Kind, ListRequest
from byob_core.stores import Store

KEYS = ["p/a", "p/b", "p/c/d", "p/c/e", "p/z", "q/outside"]


@pytest.fixture
def filled(store: Store) -> Store:
    container = clients.container(store)
    for key in KEYS:
        container.upload_blob(key, key.encode(), overwrite=True)
    return attrs.evolve(store, options={"list_page_size": 2})


def names(store: Store, **kwargs: object) -> list[str]:
    return [e.key for e in collect.list_entries(store, ListRequest(**kwargs))]  # type: ignore[arg-type]


class TestList:
    def test_prefix_in_key_order(self, filled: Store) -> None:
        entries = list(collect.list_entries(filled, ListRequest(prefix="p/")))
        assert [e.key for e in entries] == KEYS[:-1]
        assert entries[0].size == 3
        assert entries[0].modified.tzinfo is not None

    @pytest.mark.parametrize("start_from", [True, False])
    def test_start_after_is_exclusive(self, filled: Store, start_from: bool) -> None:
        store = attrs.evolve(filled, options={"list_page_size": 2, "list_start_from": start_from})
        assert names(store, prefix="p/", start_after="p/c/d") == ["p/c/e", "p/z"]
        assert names(store, prefix="", start_after="p/z") == ["q/outside"]
        assert names(store, prefix="p/", start_after="a") == KEYS[:-1]

    def test_pages_are_fetched_lazily(self, filled: Store) -> None:
        listing = collect.list_entries(filled, ListRequest(prefix="p/"))
        assert next(listing).key == "p/a"  # first page (2 names) fetched
        clients.container(filled).delete_blob("p/z")
        assert [e.key for e in listing] == ["p/b", "p/c/d", "p/c/e"]

    def test_versions_without_versioning_are_the_current_blobs(self, filled: Store) -> None:
        # Azurite keeps no versions: every listed blob is current (the collector keeps
        # a key that has a current object), and none is noncurrent.
        listed = list(collect.list_entries(filled, ListRequest(prefix="p/", kind=Kind.VERSIONS)))
        assert [e.key for e in listed] == KEYS[:-1]
        assert all(e.is_latest for e in listed)

    def test_uploads_are_never_listed(self, filled: Store) -> None:
        assert names(filled, prefix="", kind=Kind.UPLOADS) == []


def entries(store: Store, keys: list[str]) -> list[Entry]:
    by_key = {e.key: e for e in collect.list_entries(store, ListRequest(prefix=""))}
    return [by_key[k] for k in keys]


class TestGarbageCollect:
    @pytest.mark.parametrize("mode", ["always", "never", "auto"])
    def test_deletes_exactly_the_named_blobs(self, filled: Store, mode: str) -> None:
        store = attrs.evolve(filled, options={"batch_delete": mode})
        doomed = entries(store, ["p/a", "p/c/d"])
        result = collect.delete(store, DeleteBatch(entries=doomed))
        assert [e.key for e in result.deleted] == ["p/a", "p/c/d"]
        assert not result.errors
        assert names(store, prefix="") == ["p/b", "p/c/e", "p/z", "q/outside"]

    @pytest.mark.parametrize("mode", ["always", "never"])
    def test_rerun_after_a_crash_reaches_the_same_state(self, filled: Store, mode: str) -> None:
        store = attrs.evolve(filled, options={"batch_delete": mode})
        doomed = entries(store, ["p/b", "p/z"])
        collect.delete(store, DeleteBatch(entries=doomed))
        again = collect.delete(store, DeleteBatch(entries=doomed))
        assert [e.key for e in again.deleted] == ["p/b", "p/z"]
        assert not again.errors

    def test_full_batch_of_256(self, store: Store) -> None:
        container = clients.container(store)
        keys = [f"many/{i:04d}" for i in range(256)]
        for key in keys:
            container.upload_blob(key, b"", overwrite=True)
        batch = DeleteBatch(entries=entries(store, keys))
        result = collect.delete(attrs.evolve(store, options={"batch_delete": "always"}), batch)
        assert len(result.deleted) == 256
        assert names(store, prefix="many/") == []

    def test_refused_batch_falls_back_to_single_deletes(
        self, filled: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A server without Blob Batch (Azurite has it; some proxies refuse it): simulated."""
        from azure.core.exceptions import HttpResponseError
        from azure.storage.blob import ContainerClient

        def refuse(self, *blobs, **kwargs):  # type: ignore[no-untyped-def]
            error = HttpResponseError(message="batch not supported")
            error.status_code = 400
            raise error

        monkeypatch.setattr(ContainerClient, "delete_blobs", refuse)
        doomed = entries(filled, ["p/a", "q/outside"])
        result = collect.delete(filled, DeleteBatch(entries=doomed))
        assert [e.key for e in result.deleted] == ["p/a", "q/outside"]
        assert names(filled, prefix="") == ["p/b", "p/c/d", "p/c/e", "p/z"]
        forced = attrs.evolve(filled, options={"batch_delete": "always"})
        with pytest.raises(collect.BatchUnsupportedError):
            collect.delete(forced, DeleteBatch(entries=entries(filled, ["p/b"])))

    def test_uploads_batch_is_a_no_op(self, filled: Store) -> None:
        fake = Entry(key="p/a", modified=entries(filled, ["p/a"])[0].modified, upload_id="x")
        result = collect.delete(filled, DeleteBatch(kind=Kind.UPLOADS, entries=[fake]))
        assert list(result.deleted) == [fake]
        assert "p/a" in names(filled, prefix="p/")

    @pytest.mark.parametrize("mode", ["always", "never"])
    def test_per_key_errors_are_reported_not_raised(self, filled: Store, mode: str) -> None:
        store = attrs.evolve(filled, options={"batch_delete": mode})
        lease = clients.container(store).get_blob_client("p/b").acquire_lease(lease_duration=-1)
        try:
            result = collect.delete(store, DeleteBatch(entries=entries(store, ["p/a", "p/b"])))
        finally:
            lease.release()
        assert [e.key for e in result.deleted] == ["p/a"]
        assert [key for key, _ in result.errors] == ["p/b"]
        assert "p/b" in names(store, prefix="p/")

    @pytest.mark.parametrize("mode", ["always", "never"])
    def test_version_deletes_name_the_version(self, filled: Store, mode: str) -> None:
        """Azurite ignores versionid on Delete Blob and would delete the current blob.

        Without versions on the endpoint, a version delete is refused per key.
        """
        store = attrs.evolve(filled, options={"batch_delete": mode})
        [current] = entries(store, ["p/a"])
        version = attrs.evolve(current, version_id="2020-01-01T00:00:00.0000000Z")
        result = collect.delete(store, DeleteBatch(kind=Kind.VERSIONS, entries=[version]))
        assert not result.deleted
        assert [key for key, _ in result.errors] == ["p/a"]
        assert "no blob versions" in result.errors[0][1]
        assert "p/a" in names(store, prefix="p/")

    @pytest.mark.parametrize("mode", ["always", "never"])
    def test_version_of_a_deleted_blob_is_purged(self, filled: Store, mode: str) -> None:
        """The current blob is gone: nothing current to lose, the version delete goes out."""
        store = attrs.evolve(filled, options={"batch_delete": mode})
        [gone] = entries(store, ["p/z"])
        clients.container(store).delete_blob("p/z")
        version = attrs.evolve(gone, version_id="2020-01-01T00:00:00.0000000Z")
        result = collect.delete(store, DeleteBatch(kind=Kind.VERSIONS, entries=[version]))
        assert [e.key for e in result.deleted] == ["p/z"]
        assert not result.errors
        assert names(store, prefix="p/") == ["p/a", "p/b", "p/c/d", "p/c/e"]

"""The undo window on Azure: each blob's history, every version timed by when it stopped
being current, so that ``gc --purge-versions`` keeps what was deleted within the grace.

Azurite keeps no blob versions, so the version histories are BlobProperties built here
(what List Blobs with ``include=versions,deleted`` returns); the soft-delete retention
and the gc runs are read from and made against Azurite.
"""

from __future__ import annotations

import datetime as dt

import attrs
from azure.storage.blob import BlobProperties, RetentionPolicy
from byob_azure import clients, collect
from byob_core.gc import GcOptions
from byob_core.gc import collect as gc_collect
from byob_core.plugins import PluginHost
from byob_core.stores import Store

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


def version(name: str, minutes_ago: int, *, current: bool = False, **fields) -> BlobProperties:
    when = NOW - dt.timedelta(minutes=minutes_ago)
    blob = BlobProperties(name=name)
    blob.last_modified = when
    blob.version_id = when.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")
    blob.is_current_version = current
    blob.size = 3
    for key, value in fields.items():
        setattr(blob, key, value)
    return blob


def timed(blobs, unknown=NOW) -> list[tuple[str | None, dt.datetime, bool]]:
    return [(e.version_id, e.modified, e.is_latest) for e in collect.history(blobs, unknown)]


class TestHistory:
    def test_a_replaced_version_is_timed_by_its_replacement(self) -> None:
        old, new = version("k", 600), version("k", 5, current=True)
        assert timed([new, old]) == [
            (old.version_id, new.last_modified, False),
            (new.version_id, new.last_modified, True),
        ]

    def test_the_last_version_of_a_deleted_blob_is_timed_unknown(self) -> None:
        """Azure records no deletion time for a versioned blob: it may be a moment ago."""
        first, last = version("k", 900), version("k", 600)
        unknown = NOW - dt.timedelta(minutes=1)
        assert timed([first, last], unknown) == [
            (first.version_id, last.last_modified, False),
            (last.version_id, unknown, False),
        ]

    def test_a_soft_deleted_base_blob_gives_the_deletion_time(self) -> None:
        last = version("k", 600)
        deleted_at = NOW - dt.timedelta(minutes=2)
        base = BlobProperties(name="k")
        base.deleted, base.deleted_time, base.version_id = True, deleted_at, None
        # The later of the two times: the soft-deleted blob's, which is not an entry.
        assert timed([last, base], NOW - dt.timedelta(days=7)) == [
            (last.version_id, deleted_at, False)
        ]

    def test_soft_deleted_versions_are_not_entries(self) -> None:
        purged = version("k", 900, deleted=True, deleted_time=NOW)
        current = version("k", 5, current=True)
        assert timed([purged, current]) == [(current.version_id, current.last_modified, True)]

    def test_an_unversioned_blob_is_current(self) -> None:
        blob = version("k", 900, version_id=None)
        assert timed([blob]) == [(None, blob.last_modified, True)]


class TestSoftDeleteRetentionOnAzurite:
    def test_read_from_the_blob_service(self, store: Store) -> None:
        service = clients.service(store)
        before = service.get_service_properties()["delete_retention_policy"]
        try:
            service.set_service_properties(
                delete_retention_policy=RetentionPolicy(enabled=True, days=7)
            )
            assert collect.soft_delete_retention(store) == dt.timedelta(days=7)
            service.set_service_properties(delete_retention_policy=RetentionPolicy(enabled=False))
            assert collect.soft_delete_retention(store) == dt.timedelta(0)
        finally:
            service.set_service_properties(delete_retention_policy=before)


class TestGcOnAzurite:
    def test_gc_then_purge_deletes_nothing_but_garbage_and_never_a_current_blob(
        self, store: Store
    ) -> None:
        store = attrs.evolve(store, subpath="team")
        container = clients.container(store)
        for key in ("live/a", "dead/x", "dead/y"):
            container.upload_blob(f"team/{key}", key.encode(), overwrite=True)
        host = PluginHost.load()
        later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
        gc = gc_collect(host, store, ["live/a"], GcOptions(grace="0s"), now=later)
        assert gc.deleted == 2
        purge = gc_collect(
            host, store, ["live/a"], GcOptions(grace="0s", purge_versions=True), now=later
        )
        assert (purge.versions_deleted, purge.error_count) == (0, 0)
        assert [b.name for b in container.list_blobs(name_starts_with="team/")] == ["team/live/a"]


class TestValidateLeavesNoVersion:
    def test_the_presigned_probe_deletes_its_version_by_id(self, store: Store) -> None:
        """With blob versioning, deleting the probe leaves its version: validate deletes
        that version by the id the PUT answered. Azurite has no versions, so the PUT's
        answer is stood in for and the calls are recorded."""
        from unittest import mock

        from byob_azure import validate

        answers = iter([(201, {"x-ms-version-id": "2026-03-01T12:00:00.0000000Z"}, b"")])
        body: dict[str, bytes] = {}

        def http(method, url, data=None, headers=None, **_):
            if method == "PUT":
                body["sent"] = data
                return next(answers)
            return 200, {}, body["sent"]

        container = mock.MagicMock()
        with (
            mock.patch.object(validate, "_http", http),
            mock.patch.object(clients, "container", return_value=container),
        ):
            finding, version = validate._presigned(store)
        assert finding.status.name == "PASS", finding.message
        assert version == "2026-03-01T12:00:00.0000000Z"
        container.delete_blob.assert_called_once()
        container.get_blob_client.return_value.delete_blob.assert_called_once_with(
            version_id=version
        )

"""The undo window on a versioned GCS bucket (fake-gcs-server): a purge keeps fresh deletions.

GCS has no delete markers: deleting the live object makes its generation noncurrent, with
``timeDeleted`` the time of the deletion. That time, not the generation's own, is its age.
"""

from __future__ import annotations

import datetime as dt
import time

import attrs
from byob_core.gc import GcOptions, collect
from byob_core.objects import Kind, ListRequest
from byob_core.plugins import PluginHost
from byob_core.stores import Store
from byob_gcp.filesystem import JsonApi
from byob_gcp.plugin import byob_filesystem, byob_list


def versioned_bucket(store: Store) -> Store:
    fs = byob_filesystem(store=store)
    JsonApi(fs).create_bucket({"name": store.bucket, "versioning": {"enabled": True}}, "byob")
    return attrs.evolve(store, subpath="team")


def put(store: Store, key: str, data: bytes) -> None:
    byob_filesystem(store=store).pipe_file(store.fs_path(f"team/{key}"), data)


def history(store: Store) -> dict[str, list[tuple[str, bool]]]:
    """key -> [(generation, is live)] of the whole bucket, straight from the JSON API."""
    api = JsonApi(byob_filesystem(store=store))
    found: dict[str, list[tuple[str, bool]]] = {}
    for item in api.list_objects(store.bucket, versions="true").get("items", ()):
        found.setdefault(item["name"], []).append(
            (str(item["generation"]), not item.get("timeDeleted"))
        )
    return {key: sorted(items) for key, items in sorted(found.items())}


class TestListing:
    def test_versions_carry_every_generation_with_the_live_one_marked(
        self, fake_gcs: str, make_store
    ) -> None:
        store = versioned_bucket(make_store(fake_gcs))
        put(store, "a", b"1")
        put(store, "a", b"22")
        put(store, "b", b"3")
        byob_filesystem(store=store).rm_file(store.fs_path("team/b"))
        listed = list(
            byob_list(store=store, request=ListRequest(kind=Kind.VERSIONS, prefix="team/"))
        )
        assert [(e.key, e.is_latest) for e in listed] == [
            ("team/a", True),
            ("team/a", False),
            ("team/b", False),
        ]
        assert all(e.version_id for e in listed)


class TestUndoWindow:
    def test_a_purge_keeps_fresh_deletions_and_later_names_them_whole(
        self, fake_gcs: str, make_store
    ) -> None:
        store = versioned_bucket(make_store(fake_gcs))
        for key, bodies in (("live/a", 2), ("dead/x", 2), ("dead/y", 1)):
            for n in range(bodies):
                put(store, key, f"{key} {n}".encode())
        written = history(store)
        time.sleep(3)
        host = PluginHost.load()
        gc = collect(host, store, ["live/a"], GcOptions(grace="0s"))
        assert gc.deleted == 2
        deleted = history(store)
        for key in ("team/dead/x", "team/dead/y"):
            assert [g for g, _ in deleted[key]] == [g for g, _ in written[key]]
            assert not any(live for _, live in deleted[key])
        purge = GcOptions(grace="2s", purge_versions=True)
        soon = collect(host, store, ["live/a"], purge)
        assert soon.versions_deleted == 0
        assert history(store) == deleted
        # fake-gcs-server ignores ``generation`` on DELETE (it deletes the live object),
        # so the purge an hour later is checked as a dry run: it names exactly the dead
        # keys' generations, and none of the live key's.
        later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
        dry = collect(host, store, ["live/a"], attrs.evolve(purge, dry_run=True), now=later)
        expected = sorted(
            (key, generation)
            for key in ("team/dead/x", "team/dead/y")
            for generation, _ in deleted[key]
        )
        assert sorted(dry.would_purge) == expected


class TestValidateLeavesNoGeneration:
    def test_probes_are_deleted_by_generation(self, fake_gcs: str, make_store, tmp_path) -> None:
        """A plain delete on a versioned bucket leaves a noncurrent generation; validate
        deletes each object it wrote by its generation. (fake-gcs-server ignores the
        generation of a DELETE, so what is checked is what byob sends.)"""
        from unittest import mock

        from byob_core.api import Byob
        from byob_core.config import Config
        from byob_gcp import collect as gcp_collect

        store = versioned_bucket(make_store(fake_gcs))
        sent: list[tuple[str, str | None]] = []
        real = gcp_collect.delete_batch

        def spy(store, batch):
            sent.extend((e.key, e.version_id) for e in batch.entries if batch.kind is Kind.VERSIONS)
            return real(store, batch)

        byob = Byob(Config(instance=store, data_dir=tmp_path), PluginHost.load())
        with mock.patch.object(gcp_collect, "delete_batch", spy):
            byob.validate()
        written = {
            (key, generation)
            for key, items in history(store).items()
            if "/.byob/" in key and "store.json" not in key
            for generation, _ in items
        }
        assert written, "validate wrote no probe"
        assert written <= set(sent)
        assert {key.split("/.byob/")[1].split("/")[0] for key, _ in written} >= {"probe"}

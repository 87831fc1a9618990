"""The garbage-collection engine: what it keeps, what it deletes, how it batches and resumes.

Most tests run against an in-memory provider plugin (`FakeProvider`) whose listing pages
lazily like S3's and which counts every delete call; the rest go through the built-in
``file`` provider on a temporary directory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from byob_core import gc, hookimpl
from byob_core.errors import GcError
from byob_core.gc import GcInputError, GcOptions, GcReport, collect
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.plugins import PluginHost
from byob_core.provider import ProviderSpec
from byob_core.stores import Store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
OLD = NOW - dt.timedelta(days=2)
YOUNG = NOW - dt.timedelta(hours=1)
GRACE = GcOptions().grace  # 24 hours


class Injected(Exception):
    """A fault the tests inject to stop a run part-way."""


class FakeProvider:
    """An in-memory provider that lists page by page (so later writes show up in a running
    listing, as on S3) and records every delete call."""

    def __init__(self, batch_size: int = 3, *, versions: bool = True, multipart: bool = True):
        self.batch_size = batch_size
        self.has_versions = versions
        self.has_multipart = multipart
        self.page_size = 2
        self.objects: dict[str, Entry] = {}
        self.versions: list[Entry] = []
        self.uploads: list[Entry] = []
        self.calls: list[tuple[Kind, list[str]]] = []
        self.ever_deleted: list[Entry] = []
        self.fail_on_call: int | None = None  # raise before deleting, on this call (1-based)
        self.crash_after_call: int | None = None  # delete, then raise, on this call
        self.refuse: set[str] = set()  # keys whose deletion reports an error
        self.ignore_prefix = False  # a buggy provider that lists the whole bucket
        self.ignore_start_after = False
        self.raw_listing: list[Entry] | None = None  # yielded verbatim when set

    # -- set-up -------------------------------------------------------------------------
    def put(self, key: str, modified: dt.datetime = OLD, size: int = 10) -> None:
        self.objects[key] = Entry(key=key, size=size, modified=modified)

    def put_version(
        self, key: str, version: str, modified: dt.datetime = OLD, *, marker: bool = False
    ) -> None:
        self.versions.append(
            Entry(
                key=key,
                size=0 if marker else 5,
                modified=modified,
                version_id=version,
                is_delete_marker=marker,
            )
        )

    def put_upload(self, key: str, upload: str, modified: dt.datetime = OLD) -> None:
        self.uploads.append(Entry(key=key, modified=modified, upload_id=upload))

    def state(self) -> tuple[list[str], list[tuple[str, str | None]], list[tuple[str, str | None]]]:
        return (
            sorted(self.objects),
            sorted((e.key, e.version_id) for e in self.versions),
            sorted((e.key, e.upload_id) for e in self.uploads),
        )

    # -- hooks ---------------------------------------------------------------------------
    @hookimpl
    def byob_providers(self) -> Sequence[ProviderSpec]:
        return [
            ProviderSpec(
                name="fake",
                schemes=("fake",),
                can_sign=False,
                max_expiry=None,
                gc_batch_size=self.batch_size,
                versions=self.has_versions,
                multipart=self.has_multipart,
            )
        ]

    def _wanted(self, key: str, request: ListRequest) -> bool:
        if not self.ignore_prefix and not key.startswith(request.prefix):
            return False
        after = None if self.ignore_start_after else request.start_after
        return after is None or key > after

    def _pages(self, request: ListRequest) -> Iterator[Entry]:
        after = request.start_after
        while True:
            keys = sorted(
                k for k in self.objects if self._wanted(k, request) and (after is None or k > after)
            )[: self.page_size]
            if not keys:
                return
            page = [self.objects[k] for k in keys]
            yield from page
            after = keys[-1]

    @hookimpl
    def byob_list(self, store: Store, request: ListRequest) -> Iterator[Entry]:
        if self.raw_listing is not None:
            return iter(list(self.raw_listing))
        if request.kind is Kind.OBJECTS:
            return self._pages(request)
        pool = self.versions if request.kind is Kind.VERSIONS else self.uploads
        chosen = [e for e in pool if self._wanted(e.key, request)]
        return iter(sorted(chosen, key=lambda e: e.key))  # stable: provider order within a key

    @hookimpl
    def byob_garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
        self.calls.append((batch.kind, [e.key for e in batch.entries]))
        call = len(self.calls)
        if call == self.fail_on_call:
            raise Injected(f"provider failed on call {call}")
        deleted, errors = [], []
        for entry in batch.entries:
            if entry.key in self.refuse:
                errors.append((entry.key, "AccessDenied"))
                continue
            self.ever_deleted.append(entry)
            deleted.append(entry)
            if batch.kind is Kind.OBJECTS:
                self.objects.pop(entry.key, None)
            elif batch.kind is Kind.VERSIONS:
                self.versions = [
                    v
                    for v in self.versions
                    if (v.key, v.version_id) != (entry.key, entry.version_id)
                ]
            else:
                self.uploads = [
                    u for u in self.uploads if (u.key, u.upload_id) != (entry.key, entry.upload_id)
                ]
        if call == self.crash_after_call:
            raise Injected(f"provider crashed after deleting on call {call}")
        return DeleteResult(deleted=deleted, errors=errors)


@pytest.fixture(autouse=True, scope="module")
def _live_keys_may_be_missing() -> Iterator[None]:
    """These tests name live keys with no object on purpose; the check that stops a run
    whose live keys mostly match nothing has its own tests (test_gc_safety.py)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(gc, "LIVE_MISSING_LIMIT", 1.0)
        yield


def fake_host(provider: FakeProvider) -> PluginHost:
    return PluginHost.load(entry_points=False, extra={"fake": provider})


FAKE_STORE = Store(provider="fake", bucket="bucket", subpath="team")
LIVE = ["live/a.bin", "live/b.bin"]


def scenario(batch_size: int = 3) -> FakeProvider:
    """Ten dead objects, two live, one young, one reserved, and neighbours outside."""
    fake = FakeProvider(batch_size)
    for i in range(10):
        fake.put(f"team/dead/{i:02d}.bin")
    fake.put("team/live/a.bin")
    fake.put("team/live/b.bin")
    fake.put("team/young/x.bin", YOUNG)
    fake.put("team/.byob/marker.json")
    fake.put("team2/dead.bin")  # shares the text prefix "team", not the sub-path
    fake.put("other/dead.bin")
    fake.put("team")  # the sub-path itself as an object key
    return fake


DEAD = [f"team/dead/{i:02d}.bin" for i in range(10)]
PROTECTED = {
    "team/live/a.bin",
    "team/live/b.bin",
    "team/young/x.bin",
    "team/.byob/marker.json",
    "team2/dead.bin",
    "other/dead.bin",
    "team",
}


class TestWhatIsKept:
    def test_deletes_exactly_the_dead_objects(self) -> None:
        fake = scenario()
        report = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW)
        assert sorted(fake.objects) == sorted(PROTECTED)
        assert sorted(e.key for e in fake.ever_deleted) == DEAD
        assert report.listed == 14  # the provider lists only under team/
        assert report.kept_live == 2
        assert report.kept_young == 1
        assert report.kept_reserved == 1
        assert report.deleted == 10
        assert report.bytes_freed == 100
        assert report.errors == []
        assert report.ok
        assert report.live_missing == 0
        assert report.cutoff == NOW - GRACE

    def test_object_modified_exactly_at_the_cutoff_is_young(self) -> None:
        fake = FakeProvider()
        fake.put("team/edge.bin", NOW - GRACE)
        fake.put("team/older.bin", NOW - GRACE - dt.timedelta(microseconds=1))
        collect(fake_host(fake), FAKE_STORE, ["keep"], now=NOW)
        assert sorted(fake.objects) == ["team/edge.bin"]

    def test_naive_modified_time_is_read_as_utc(self) -> None:
        fake = FakeProvider()
        fake.put("team/naive-young.bin", YOUNG.replace(tzinfo=None))
        fake.put("team/naive-old.bin", OLD.replace(tzinfo=None))
        collect(fake_host(fake), FAKE_STORE, ["keep"], now=NOW)
        assert sorted(fake.objects) == ["team/naive-young.bin"]

    def test_live_keys_given_with_the_subpath_are_read_both_ways(self) -> None:
        fake = scenario()
        fake.put("team/team/live/a.bin")  # the literal reading exists too: both are kept
        report = collect(
            fake_host(fake), FAKE_STORE, ["team/live/a.bin", "team/live/b.bin"], now=NOW
        )
        assert {"team/live/a.bin", "team/live/b.bin", "team/team/live/a.bin"} <= set(fake.objects)
        assert sorted(e.key for e in fake.ever_deleted) == DEAD
        assert report.live_missing == 0

    def test_store_without_subpath_covers_the_bucket_but_not_odd_keys(self) -> None:
        fake = FakeProvider()
        fake.put("a/dead.bin")
        fake.put("a/live.bin")
        fake.put(".byob/marker.json")
        fake.put("a//odd.bin")  # no key guard would let us name this one
        store = Store(provider="fake", bucket="bucket")
        report = collect(fake_host(fake), store, ["a/live.bin"], now=NOW)
        assert sorted(fake.objects) == [".byob/marker.json", "a//odd.bin", "a/live.bin"]
        assert [key for key, _ in report.errors] == ["a//odd.bin"]

    def test_empty_live_set_is_refused_unless_meant(self) -> None:
        fake = scenario()
        with pytest.raises(GcInputError, match="live set is empty"):
            collect(fake_host(fake), FAKE_STORE, [], now=NOW)
        assert fake.calls == []
        report = collect(fake_host(fake), FAKE_STORE, [], GcOptions(allow_empty_live=True), now=NOW)
        assert report.deleted == 12
        assert sorted(fake.objects) == sorted(PROTECTED - {"team/live/a.bin", "team/live/b.bin"})


class TestBuggyProviders:
    def test_entries_outside_the_subpath_are_reported_never_deleted(self) -> None:
        fake = scenario()
        fake.ignore_prefix = True
        report = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW)
        assert {"team2/dead.bin", "other/dead.bin", "team"} <= set(fake.objects)
        assert sorted(key for key, _ in report.errors) == [
            "other/dead.bin",
            "team",
            "team2/dead.bin",
        ]
        assert all("outside" in message for _, message in report.errors)
        assert not report.ok
        assert all(e.key.startswith("team/") for e in fake.ever_deleted)

    def test_unsafe_key_under_the_prefix_is_stopped_by_the_guard(self) -> None:
        fake = FakeProvider()
        fake.put("team/a/../../other/secret.bin")
        fake.put("team/ok.bin")
        report = collect(fake_host(fake), FAKE_STORE, ["keep"], now=NOW)
        assert [e.key for e in fake.ever_deleted] == ["team/ok.bin"]
        assert report.errors[0][0] == "team/a/../../other/secret.bin"
        assert "key guard" in report.errors[0][1]

    def test_per_key_delete_errors_are_reported(self) -> None:
        fake = scenario()
        fake.refuse = {"team/dead/03.bin"}
        report = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW)
        assert report.errors == [("team/dead/03.bin", "AccessDenied")]
        assert report.deleted == 9

    def test_out_of_order_listing_stops_the_run(self) -> None:
        fake = FakeProvider()
        fake.raw_listing = [
            Entry(key="team/b.bin", modified=OLD),
            Entry(key="team/a.bin", modified=OLD),
        ]
        with pytest.raises(GcError, match="ascending key order"):
            collect(fake_host(fake), FAKE_STORE, ["keep"], GcOptions(batch_size=1), now=NOW)

    def test_result_of_the_wrong_type_stops_the_run(self) -> None:
        class Broken(FakeProvider):
            @hookimpl
            def byob_garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
                return None  # type: ignore[return-value]

        fake = Broken()
        fake.put("team/a.bin")
        with pytest.raises(GcError, match="not a DeleteResult"):
            collect(fake_host(fake), FAKE_STORE, ["keep"], now=NOW)


class TestBatches:
    def test_batches_follow_the_provider_batch_size(self) -> None:
        fake = scenario(batch_size=3)
        report = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW)
        assert [len(keys) for _, keys in fake.calls] == [3, 3, 3, 1]
        assert report.batches == 4
        assert [key for _, keys in fake.calls for key in keys] == DEAD  # key order

    def test_smaller_batch_size_option(self) -> None:
        fake = scenario(batch_size=3)
        collect(fake_host(fake), FAKE_STORE, LIVE, GcOptions(batch_size=2), now=NOW)
        assert [len(keys) for _, keys in fake.calls] == [2] * 5

    def test_larger_batch_size_option_is_capped_by_the_provider(self) -> None:
        fake = scenario(batch_size=4)
        collect(fake_host(fake), FAKE_STORE, LIVE, GcOptions(batch_size=1000), now=NOW)
        assert [len(keys) for _, keys in fake.calls] == [4, 4, 2]

    def test_nothing_to_delete_means_no_call(self) -> None:
        fake = FakeProvider()
        fake.put("team/live.bin")
        fake.put("team/young.bin", YOUNG)
        report = collect(fake_host(fake), FAKE_STORE, ["live.bin"], now=NOW)
        assert fake.calls == []
        assert report.batches == 0


class TestDryRun:
    def test_dry_run_deletes_nothing_and_lists_what_a_real_run_deletes(self) -> None:
        fake = scenario()
        fake.put_version("team/dead/00.bin", "v1")
        fake.put_upload("team/up.bin", "u1")
        before = fake.state()
        options = dict(purge_versions=True, abort_uploads=True)
        dry = collect(
            fake_host(fake), FAKE_STORE, LIVE, GcOptions(dry_run=True, **options), now=NOW
        )
        assert fake.calls == []
        assert fake.state() == before
        real = collect(fake_host(fake), FAKE_STORE, LIVE, GcOptions(**options), now=NOW)
        deleted = [e for e in fake.ever_deleted]
        assert dry.would_delete == [
            e.key for e in deleted if e.version_id is None and not e.upload_id
        ]
        assert dry.would_purge == [(e.key, e.version_id) for e in deleted if e.version_id]
        assert dry.would_abort == [(e.key, e.upload_id) for e in deleted if e.upload_id]
        assert dry.counters() == real.counters()
        assert dry.dry_run and not real.dry_run
        assert real.would_delete == []

    def test_dry_run_writes_no_journal(self, tmp_path) -> None:
        journal = tmp_path / "gc.json"
        fake = scenario()
        collect(
            fake_host(fake), FAKE_STORE, LIVE, GcOptions(dry_run=True, journal=journal), now=NOW
        )
        assert not journal.exists()

    def test_report_to_dict_is_json(self) -> None:
        fake = scenario()
        fake.refuse = {"team/dead/01.bin"}
        report = collect(fake_host(fake), FAKE_STORE, LIVE, GcOptions(dry_run=True), now=NOW)
        data = json.loads(json.dumps(report.to_dict()))
        assert data["would_delete"] == DEAD
        assert data["deleted"] == 10
        assert data["dry_run"] is True
        assert data["cutoff"] == (NOW - GRACE).isoformat()
        assert data["store"] == FAKE_STORE.display
        real = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW).to_dict()
        assert "would_delete" not in real
        assert real["errors"] == [{"key": "team/dead/01.bin", "message": "AccessDenied"}]
        assert real["ok"] is False


class TestVersionsAndUploads:
    def versioned(self) -> FakeProvider:
        fake = FakeProvider(batch_size=2)
        fake.put("team/live.bin")
        fake.put_version("team/gone.bin", "v1")  # old data behind an old marker
        fake.put_version("team/gone.bin", "v2")
        fake.put_version("team/gone.bin", "m1", marker=True)
        fake.put_version("team/just-deleted.bin", "v1")  # deleted within the grace period
        fake.put_version("team/just-deleted.bin", "m1", YOUNG, marker=True)
        fake.put_version("team/lonely-marker.bin", "m1", marker=True)
        fake.put_version("team/live.bin", "v0")  # an old version of a live key
        fake.put_version("team/.byob/marker.json", "v0")
        fake.put_version("other/x.bin", "v0")
        fake.put_upload("team/stale.bin", "u1")
        fake.put_upload("team/stale.bin", "u2", YOUNG)
        fake.put_upload("team/live.bin", "u3")
        fake.put_upload("team/fresh.bin", "u4", YOUNG)
        return fake

    def test_purges_old_versions_and_aborts_stale_uploads(self) -> None:
        fake = self.versioned()
        options = GcOptions(purge_versions=True, abort_uploads=True)
        report = collect(fake_host(fake), FAKE_STORE, ["live.bin"], options, now=NOW)
        _, versions, uploads = fake.state()
        assert versions == [
            ("other/x.bin", "v0"),
            ("team/.byob/marker.json", "v0"),
            # gone.bin's marker goes once its versions are gone, the lone marker too
            ("team/just-deleted.bin", "m1"),
            ("team/just-deleted.bin", "v1"),
            ("team/live.bin", "v0"),
        ]
        assert uploads == [
            ("team/fresh.bin", "u4"),
            ("team/live.bin", "u3"),
            ("team/stale.bin", "u2"),
        ]
        assert report.versions_listed == 8
        assert report.versions_deleted == 4
        assert report.versions_kept == 4
        assert report.uploads_listed == 4
        assert report.uploads_aborted == 1
        assert report.uploads_kept == 3
        assert report.bytes_freed == 10
        assert report.phases == ["objects", "versions", "uploads"]
        # gone.bin's two versions; then its marker and the lone one, in their own call
        assert [(kind, keys) for kind, keys in fake.calls] == [
            (Kind.VERSIONS, ["team/gone.bin", "team/gone.bin"]),
            (Kind.VERSIONS, ["team/gone.bin", "team/lonely-marker.bin"]),
            (Kind.UPLOADS, ["team/stale.bin"]),
        ]

    def test_a_marker_stays_while_a_version_behind_it_was_not_deleted(self) -> None:
        fake = self.versioned()
        fake.refuse = {"team/gone.bin"}
        options = GcOptions(purge_versions=True)
        report = collect(fake_host(fake), FAKE_STORE, ["live.bin"], options, now=NOW)
        assert ("team/gone.bin", "m1") in fake.state()[1]
        assert ("team/lonely-marker.bin", "m1") not in fake.state()[1]
        assert not any(e.key == "team/gone.bin" and e.is_delete_marker for e in fake.ever_deleted)
        assert report.error_count == 2  # the two versions; the marker is simply kept

    def test_nothing_but_objects_unless_asked(self) -> None:
        fake = self.versioned()
        report = collect(fake_host(fake), FAKE_STORE, ["live.bin"], now=NOW)
        assert fake.calls == []
        assert report.phases == ["objects"]
        assert report.versions_listed == report.uploads_listed == 0

    def test_phases_the_provider_lacks_are_skipped(self) -> None:
        fake = self.versioned()
        fake.has_versions = fake.has_multipart = False
        options = GcOptions(purge_versions=True, abort_uploads=True)
        report = collect(fake_host(fake), FAKE_STORE, ["live.bin"], options, now=NOW)
        assert report.phases == ["objects"]
        assert fake.calls == []

    def test_many_versions_of_one_key_span_batches(self) -> None:
        fake = FakeProvider(batch_size=2)
        for i in range(5):
            fake.put_version("team/k.bin", f"v{i}")
        fake.put_version("team/l.bin", "v0")
        collect(fake_host(fake), FAKE_STORE, ["x"], GcOptions(purge_versions=True), now=NOW)
        assert [len(keys) for _, keys in fake.calls] == [2, 2, 2]
        assert fake.versions == []


def run_to_completion(fake: FakeProvider, options: GcOptions, now: dt.datetime = NOW) -> GcReport:
    return collect(fake_host(fake), FAKE_STORE, LIVE, options, now=now)


def full_scenario(batch_size: int = 3) -> FakeProvider:
    fake = scenario(batch_size)
    for i in range(4):
        fake.put_version(f"team/dead/{i:02d}.bin", "old")
    # Removed after dead/02's versions, in a call of its own; a resumed run must not
    # look at it again even if the provider lists its key once more.
    fake.put_version("team/dead/02.bin", "marker", marker=True)
    fake.put_upload("team/dead/05.bin", "u1")
    fake.put_upload("team/dead/06.bin", "u2")
    return fake


ALL_PHASES = dict(purge_versions=True, abort_uploads=True)


class TestJournal:
    """Fault injection: a run stopped part-way and re-run ends where an uninterrupted run does."""

    def reference(self) -> tuple[FakeProvider, GcReport]:
        fake = full_scenario()
        return fake, run_to_completion(fake, GcOptions(**ALL_PHASES))

    def test_killed_after_batch_two_resumes_and_converges(self, tmp_path) -> None:
        journal = tmp_path / "gc.json"
        options = GcOptions(journal=journal, **ALL_PHASES)
        fake = full_scenario()
        batches = 0

        def kill_after_two(kind: Kind, entries: Sequence[Entry]) -> None:
            nonlocal batches
            batches += 1
            if batches == 2:
                raise Injected("killed between batches")

        with pytest.raises(Injected):
            collect(fake_host(fake), FAKE_STORE, LIVE, options, now=NOW, on_delete=kill_after_two)
        data = json.loads(journal.read_text())
        assert data["phase"] == "objects"
        assert data["after"] == "team/dead/05.bin"  # the last key of batch two
        assert data["cutoff"] == (NOW - GRACE).isoformat()
        assert data["store"] == list(FAKE_STORE.identity)
        assert data["counters"]["deleted"] == 6
        assert len(fake.calls) == 2

        resumed = run_to_completion(fake, options)
        assert resumed.resumed
        reference, expected = self.reference()
        assert fake.state() == reference.state()
        assert resumed.counters() == expected.counters()
        assert not journal.exists()
        # the resumed run listed from the checkpoint on, it did not start again
        assert [keys[0] for _, keys in fake.calls][2] == "team/dead/06.bin"

    @pytest.mark.parametrize("call", [1, 2, 4, 5, 6])
    def test_provider_failing_before_deleting(self, tmp_path, call: int) -> None:
        options = GcOptions(journal=tmp_path / "gc.json", **ALL_PHASES)
        fake = full_scenario()
        fake.fail_on_call = call
        with pytest.raises(Injected):
            run_to_completion(fake, options)
        fake.fail_on_call = None
        report = run_to_completion(fake, options)
        reference, expected = self.reference()
        assert fake.state() == reference.state()
        assert report.counters()["deleted"] == expected.deleted

    @pytest.mark.parametrize("call", [1, 3, 4, 5, 6])
    def test_crash_between_delete_and_journal_repeats_a_harmless_delete(
        self, tmp_path, call: int
    ) -> None:
        options = GcOptions(journal=tmp_path / "gc.json", **ALL_PHASES)
        fake = full_scenario()
        fake.crash_after_call = call
        with pytest.raises(Injected):
            run_to_completion(fake, options)
        fake.crash_after_call = None
        run_to_completion(fake, options)
        reference, _ = self.reference()
        assert fake.state() == reference.state()

    def test_resume_keeps_the_first_cutoff(self, tmp_path) -> None:
        journal = tmp_path / "gc.json"
        options = GcOptions(journal=journal, batch_size=2)
        fake = scenario()
        fake.put("team/zz/ten-hours.bin", NOW - dt.timedelta(hours=10))
        fake.crash_after_call = 2  # batch one is journaled, batch two is not
        with pytest.raises(Injected):
            run_to_completion(fake, options)
        assert journal.exists()
        fake.crash_after_call = None
        later = NOW + dt.timedelta(days=3)  # with a fresh cutoff, ten-hours.bin would go
        report = run_to_completion(fake, options, now=later)
        assert report.resumed
        assert report.cutoff == NOW - GRACE
        assert "team/zz/ten-hours.bin" in fake.objects
        fresh = run_to_completion(fake, options, now=later)
        assert not fresh.resumed
        assert "team/zz/ten-hours.bin" not in fake.objects

    def test_journal_of_another_live_set_or_grace_is_not_resumed(self, tmp_path) -> None:
        journal = tmp_path / "gc.json"
        fake = scenario()
        fake.crash_after_call = 2
        with pytest.raises(Injected):
            run_to_completion(fake, GcOptions(journal=journal))
        assert journal.exists()
        fake.crash_after_call = None
        other_live = collect(
            fake_host(fake), FAKE_STORE, [*LIVE, "x"], GcOptions(journal=journal), now=NOW
        )
        assert not other_live.resumed
        fake.crash_after_call = len(fake.calls) + 2
        for i in range(4):
            fake.put(f"team/dead/more-{i}.bin")
        with pytest.raises(Injected):
            run_to_completion(fake, GcOptions(journal=journal))
        assert journal.exists()
        fake.crash_after_call = None
        other_grace = run_to_completion(fake, GcOptions(journal=journal, grace="2h"))
        assert not other_grace.resumed

    def test_unreadable_journal_starts_afresh(self, tmp_path) -> None:
        journal = tmp_path / "gc.json"
        journal.write_text("{not json")
        fake = scenario()
        report = run_to_completion(fake, GcOptions(journal=journal))
        assert not report.resumed
        assert report.deleted == 10
        assert not journal.exists()

    def test_dry_run_after_an_interrupted_run_shows_what_the_resumed_run_deletes(
        self, tmp_path
    ) -> None:
        journal = tmp_path / "gc.json"
        fake = scenario()
        fake.crash_after_call = 2
        with pytest.raises(Injected):
            run_to_completion(fake, GcOptions(journal=journal))
        fake.crash_after_call = None
        dry = run_to_completion(fake, GcOptions(journal=journal, dry_run=True))
        assert dry.resumed
        assert journal.exists()
        before = len(fake.ever_deleted)
        run_to_completion(fake, GcOptions(journal=journal))
        assert dry.would_delete == [e.key for e in fake.ever_deleted[before:]]

    @pytest.mark.parametrize("kill_at", [1, 2, 3, 4, 5, 7])  # 6 and 7 are one batch
    @pytest.mark.parametrize("ignore_start_after", [False, True])
    def test_killed_at_any_batch_resumes_with_exact_counts(
        self, tmp_path, kill_at: int, ignore_start_after: bool
    ) -> None:
        journal = tmp_path / "gc.json"
        fake = full_scenario()
        fake.ignore_start_after = ignore_start_after  # a sloppy provider re-lists old keys
        options = GcOptions(journal=journal, **ALL_PHASES)

        def kill(kind: Kind, entries: Sequence[Entry]) -> None:
            if len(fake.calls) == kill_at:
                raise Injected

        with pytest.raises(Injected):
            collect(fake_host(fake), FAKE_STORE, LIVE, options, now=NOW, on_delete=kill)
        assert not list(tmp_path.glob(".gc.json.*"))  # no temporary file left behind
        report = run_to_completion(fake, options)
        assert report.resumed
        reference, expected = self.reference()
        # 4 object batches; versions in 2 batches, the second sent as 2 calls (dead/03's
        # version, then dead/02's marker, whose versions are gone by then); 1 of uploads
        assert len(reference.calls) == 8
        assert fake.state() == reference.state()
        assert report.counters() == expected.counters()
        assert len(fake.calls) == len(reference.calls)  # no batch was sent twice

    def test_checkpoint_without_deletes_on_a_long_listing(self, tmp_path, monkeypatch) -> None:
        from byob_core import gc

        monkeypatch.setattr(gc, "CHECKPOINT_EVERY", 4)
        monkeypatch.setattr(gc, "PROGRESS_EVERY", 2)
        journal = tmp_path / "gc.json"
        fake = FakeProvider()
        for i in range(9):
            fake.put(f"team/live/{i}.bin")
        seen: list[str | None] = []

        def progress(report: GcReport) -> None:
            if journal.exists():
                seen.append(json.loads(journal.read_text())["after"])

        collect(
            fake_host(fake),
            FAKE_STORE,
            [f"live/{i}.bin" for i in range(9)],
            GcOptions(journal=journal),
            now=NOW,
            on_progress=progress,
        )
        assert list(dict.fromkeys(seen)) == ["team/live/3.bin", "team/live/7.bin"]
        assert not journal.exists()


class TestReporting:
    def test_progress_is_reported_per_batch_and_phase(self) -> None:
        fake = full_scenario()
        seen: list[tuple[str | None, int, int]] = []

        def progress(report: GcReport) -> None:
            seen.append((report.phase, report.deleted, report.versions_deleted))

        report = collect(
            fake_host(fake),
            FAKE_STORE,
            LIVE,
            GcOptions(**ALL_PHASES),
            now=NOW,
            on_progress=progress,
        )
        assert [s for s in seen if s[0] == "objects"][:4] == [
            ("objects", 3, 0),
            ("objects", 6, 0),
            ("objects", 9, 0),
            ("objects", 10, 0),
        ]
        assert ("versions", 10, 3) in seen
        assert seen[-1] == (None, 10, 5)  # 4 versions and dead/02.bin's marker
        assert report.phase is None

    def test_on_delete_gets_each_batch_after_it_is_done(self) -> None:
        fake = scenario()
        batches: list[tuple[Kind, list[str], int]] = []

        def on_delete(kind: Kind, entries: Sequence[Entry]) -> None:
            batches.append((kind, [e.key for e in entries], len(fake.objects)))

        collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW, on_delete=on_delete)
        assert [keys for _, keys, _ in batches] == [keys for _, keys in fake.calls]
        assert batches[0][2] == 17 - 3  # called once the batch is gone

    def test_unreadable_live_file_deletes_nothing(self, tmp_path) -> None:
        fake = scenario()
        with pytest.raises(GcInputError, match="cannot read"):
            collect(fake_host(fake), FAKE_STORE, tmp_path / "missing.txt", now=NOW)
        bad = tmp_path / "bad.txt"
        bad.write_text("live/a.bin\n../../etc/passwd\n")
        with pytest.raises(GcInputError, match="line 2"):
            collect(fake_host(fake), FAKE_STORE, bad, now=NOW)
        assert fake.calls == []

    def test_naive_now_is_refused(self) -> None:
        with pytest.raises(GcInputError, match="aware"):
            collect(fake_host(scenario()), FAKE_STORE, LIVE, now=NOW.replace(tzinfo=None))

    def test_errors_are_counted_all_but_kept_up_to_a_limit(self, monkeypatch) -> None:
        from byob_core import gc

        monkeypatch.setattr(gc, "MAX_ERRORS", 4)
        fake = scenario()
        fake.refuse = set(DEAD)
        report = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW)
        assert report.error_count == 10
        assert len(report.errors) == 4
        assert report.deleted == 0

    def test_entries_the_provider_says_nothing_about_are_errors(self) -> None:
        class Silent(FakeProvider):
            @hookimpl
            def byob_garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
                return DeleteResult(deleted=batch.entries[:1])

        fake = Silent(batch_size=3)
        for key in ("team/a", "team/b", "team/c"):
            fake.put(key)
        report = collect(fake_host(fake), FAKE_STORE, ["x"], now=NOW)
        assert report.deleted == 1
        assert [key for key, _ in report.errors] == ["team/b", "team/c"]
        assert all("neither success nor error" in message for _, message in report.errors)

    def test_journal_of_another_store_is_not_resumed(self, tmp_path) -> None:
        journal = tmp_path / "gc.json"
        fake = scenario()
        fake.crash_after_call = 2
        with pytest.raises(Injected):
            run_to_completion(fake, GcOptions(journal=journal))
        other = Store(provider="fake", bucket="other-bucket", subpath="team")
        fake.crash_after_call = None
        report = collect(fake_host(fake), other, LIVE, GcOptions(journal=journal), now=NOW)
        assert not report.resumed


class TestRunningStore:
    def test_object_written_during_the_run_survives(self) -> None:
        fake = scenario(batch_size=2)
        fake.put("team/zz/old.bin")

        def write_one(kind: Kind, entries: Sequence[Entry]) -> None:
            # Written now, after the run started: later than the cutoff by construction.
            fake.put("team/zz/new.bin", NOW + dt.timedelta(seconds=1))

        report = collect(fake_host(fake), FAKE_STORE, LIVE, now=NOW, on_delete=write_one)
        assert "team/zz/new.bin" in fake.objects
        assert "team/zz/old.bin" not in fake.objects
        assert report.kept_young == 2  # young/x.bin and the new one: it was listed


def file_store(tmp_path) -> Store:
    return Store(provider="file", bucket=str(tmp_path / "bucket"), subpath="team")


def write(root, key: str, when: dt.datetime, data: bytes = b"0123456789") -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    os.utime(path, (when.timestamp(), when.timestamp()))


def files(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


class TestFileProvider:
    """The same rules through the built-in file provider, on a real directory."""

    def populate(self, tmp_path, now: dt.datetime) -> None:
        root = tmp_path / "bucket"
        for i in range(7):
            write(root, f"team/runs/{i}.bin", now - dt.timedelta(days=2))
        write(root, "team/keep/live.bin", now - dt.timedelta(days=2))
        write(root, "team/fresh.bin", now - dt.timedelta(hours=1))
        write(root, "team/.byob/marker.json", now - dt.timedelta(days=30))
        write(root, "team2/dead.bin", now - dt.timedelta(days=30))
        write(root, "outside.bin", now - dt.timedelta(days=30))

    EXPECTED = [
        "outside.bin",
        "team/.byob/marker.json",
        "team/fresh.bin",
        "team/keep/live.bin",
        "team2/dead.bin",
    ]

    def test_dry_run_then_real_run(self, tmp_path) -> None:
        self.populate(tmp_path, NOW)
        root = tmp_path / "bucket"
        host = PluginHost.load(entry_points=False)
        live_file = tmp_path / "live.txt"
        live_file.write_text("keep/live.bin\n")
        before = files(root)
        dry = collect(host, file_store(tmp_path), live_file, GcOptions(dry_run=True), now=NOW)
        assert files(root) == before
        real = collect(host, file_store(tmp_path), live_file, GcOptions(batch_size=3), now=NOW)
        assert files(root) == self.EXPECTED
        assert dry.would_delete == [f"team/runs/{i}.bin" for i in range(7)]
        assert real.deleted == 7
        assert real.bytes_freed == 70
        assert real.batches == 3
        assert real.kept_reserved == 1
        assert real.kept_young == 1
        assert real.kept_live == 1

    def test_interrupted_run_resumes_from_the_journal(self, tmp_path) -> None:
        self.populate(tmp_path, NOW)
        host = PluginHost.load(entry_points=False)
        options = GcOptions(batch_size=2, data_dir=tmp_path / "data")
        journal = options.journal_for(file_store(tmp_path))
        batches = 0

        def kill_after_two(kind: Kind, entries: Sequence[Entry]) -> None:
            nonlocal batches
            batches += 1
            if batches == 2:
                raise Injected

        with pytest.raises(Injected):
            collect(
                host,
                file_store(tmp_path),
                ["keep/live.bin"],
                options,
                now=NOW,
                on_delete=kill_after_two,
            )
        assert journal is not None and journal.exists()
        report = collect(host, file_store(tmp_path), ["keep/live.bin"], options, now=NOW)
        assert report.resumed
        assert report.deleted == 7
        assert files(tmp_path / "bucket") == self.EXPECTED
        assert not journal.exists()

    def test_file_written_while_the_run_is_under_way_survives(self, tmp_path) -> None:
        now = dt.datetime.now(dt.UTC)
        self.populate(tmp_path, now)
        root = tmp_path / "bucket"
        write(root, "team/zz/old.bin", now - dt.timedelta(days=2))
        host = PluginHost.load(entry_points=False)

        def write_new(kind: Kind, entries: Sequence[Entry]) -> None:
            # team/zz/ has not been listed yet when the first batch is deleted
            (root / "team/zz/new.bin").write_bytes(b"new")

        report = collect(
            host,
            file_store(tmp_path),
            ["keep/live.bin"],
            GcOptions(grace="2h", batch_size=2),
            on_delete=write_new,
        )
        assert (root / "team/zz/new.bin").exists()
        assert not (root / "team/zz/old.bin").exists()
        assert report.kept_young == 1 + 1  # fresh.bin and the new file, which was listed


# -- the property: whatever the store, the protected keys survive ---------------------

_SAFE_NAMES = ["a", "b", "c", "a/b", "a/c", "b/a", "x y", "a.b", "a..b", "ü/ß"]
_UNSAFE_NAMES = ["a//b", "a/../b", "../c", "b/"]  # a guard-respecting store never has these
_names = st.sampled_from([*_SAFE_NAMES, ".byob/m", ".byob", *_UNSAFE_NAMES])
_ages = st.sampled_from([-60, 0, 30, 60 * 23, 60 * 24, 60 * 24 + 1, 60 * 24 * 10])  # minutes
_prefixes = st.sampled_from(["team/", "team2/", "other/", ""])
_keys = st.builds(lambda p, n: p + n, _prefixes, _names)


@st.composite
def stores(draw: st.DrawFn) -> dict:
    objects = draw(st.dictionaries(_keys, _ages, max_size=25))
    versions = draw(
        st.lists(st.tuples(_keys, _ages, st.booleans()), max_size=15)  # (key, age, marker)
    )
    uploads = draw(st.lists(st.tuples(_keys, _ages), max_size=8))
    existing = [
        key[len("team/") :]
        for key in objects
        if key.startswith("team/") and key[len("team/") :] not in _UNSAFE_NAMES
    ]
    live = draw(st.sets(st.sampled_from(existing))) if existing else set()
    live |= draw(st.sets(st.sampled_from(_SAFE_NAMES), max_size=2))  # maybe not in the store
    return {
        "objects": objects,
        "versions": versions,
        "uploads": uploads,
        "live": live or {"nothing"},
        "batch": draw(st.integers(1, 4)),
        "leaky": draw(st.booleans()),
        "sloppy": draw(st.booleans()),
        "kill": draw(st.none() | st.integers(1, 8)),
        "crash": draw(st.booleans()),
    }


def _young(minutes: int) -> bool:
    return minutes <= 24 * 60  # modified at or after the cutoff


class TestNeverDeletesWhatItMustKeep:
    """Random stores, live sets, batch sizes, buggy listings and interruptions: the engine
    never deletes a live, young, reserved or outside entry, deletes every other one, and
    its dry run names exactly what the real run (interrupted and resumed) deletes."""

    @settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(stores())
    def test_property(self, case: dict) -> None:
        live = case["live"]

        def build() -> FakeProvider:
            fake = FakeProvider(case["batch"])
            fake.ignore_prefix = case["leaky"]
            fake.ignore_start_after = case["sloppy"]
            for key, minutes in case["objects"].items():
                fake.put(key, NOW - dt.timedelta(minutes=minutes))
            for n, (key, minutes, marker) in enumerate(case["versions"]):
                fake.put_version(key, f"v{n}", NOW - dt.timedelta(minutes=minutes), marker=marker)
            for n, (key, minutes) in enumerate(case["uploads"]):
                fake.put_upload(key, f"u{n}", NOW - dt.timedelta(minutes=minutes))
            return fake

        def collectable(key: str) -> bool:
            if not key.startswith("team/"):
                return False
            relative = key[len("team/") :]
            return relative in _SAFE_NAMES and relative not in live

        young_keys = {k for k, m, _ in case["versions"] if _young(m)}
        expected_objects = sorted(
            k for k, m in case["objects"].items() if collectable(k) and not _young(m)
        )
        # A key with nothing young loses its whole history, delete markers included.
        expected_versions = sorted(
            (k, f"v{n}")
            for n, (k, _, _) in enumerate(case["versions"])
            if collectable(k) and k not in young_keys
        )
        expected_uploads = sorted(
            (k, f"u{n}")
            for n, (k, m) in enumerate(case["uploads"])
            if collectable(k) and not _young(m)
        )
        options = dict(purge_versions=True, abort_uploads=True)

        dry_fake = build()
        dry = collect(
            fake_host(dry_fake), FAKE_STORE, live, GcOptions(dry_run=True, **options), now=NOW
        )
        assert dry_fake.calls == []
        assert dry.would_delete == expected_objects
        assert sorted(dry.would_purge) == expected_versions
        assert sorted(dry.would_abort) == expected_uploads

        fake = build()
        with tempfile.TemporaryDirectory() as scratch:
            options_j = GcOptions(journal=Path(scratch) / "gc.json", **options)
            if case["crash"]:
                fake.crash_after_call = case["kill"]  # after deleting, before the journal
                on_delete = None
            else:

                def on_delete(kind: Kind, entries: Sequence[Entry]) -> None:
                    if len(fake.calls) == case["kill"]:
                        raise Injected  # after the journal

            try:
                report = collect(
                    fake_host(fake), FAKE_STORE, live, options_j, now=NOW, on_delete=on_delete
                )
            except Injected:
                fake.crash_after_call = None
                report = collect(fake_host(fake), FAKE_STORE, live, options_j, now=NOW)
                assert report.resumed or not (Path(scratch) / "gc.json").exists()
            assert not (Path(scratch) / "gc.json").exists()

        deleted = fake.ever_deleted
        assert sorted({e.key for e in deleted if e.version_id is None and e.upload_id is None}) == (
            expected_objects
        )
        assert sorted({(e.key, e.version_id) for e in deleted if e.version_id}) == expected_versions
        assert sorted({(e.key, e.upload_id) for e in deleted if e.upload_id}) == expected_uploads
        assert all(len(keys) <= case["batch"] for _, keys in fake.calls)
        expected_state = (
            sorted(set(case["objects"]) - set(expected_objects)),
            sorted(
                {(k, f"v{n}") for n, (k, _, _) in enumerate(case["versions"])}
                - set(expected_versions)
            ),
            sorted(
                {(k, f"u{n}") for n, (k, _) in enumerate(case["uploads"])} - set(expected_uploads)
            ),
        )
        assert fake.state() == expected_state
        if not case["crash"]:  # a kill after the journal loses no count
            assert report.counters() == dry.counters()

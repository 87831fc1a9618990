"""The undo window of ``purge_versions``, proven over generated version histories.

`VersionedBucket` is an in-memory provider that behaves like a versioned S3 bucket: a
put adds a version, a delete of the current object adds a delete marker stamped with
the bucket's clock, a versioned delete removes exactly that version, and a versions
listing carries each key's whole history with the current entry marked ``is_latest``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator, Sequence

from byob_core import hookimpl
from byob_core.gc import GcOptions, collect
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.plugins import PluginHost
from byob_core.provider import ProviderSpec
from byob_core.stores import Store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
STORE = Store(provider="versioned", bucket="bucket", subpath="team")


class VersionedBucket:
    """A versioned S3 bucket in memory. History: key -> entries, oldest first."""

    def __init__(self, batch_size: int = 1000) -> None:
        self.batch_size = batch_size
        self.history: dict[str, list[Entry]] = {}
        self.ids = itertools.count()
        self.clock = NOW
        self.removed: list[Entry] = []
        self.refuse: set[str] = set()  # keys whose versioned deletes fail

    def write(self, key: str, when: dt.datetime, *, marker: bool = False) -> None:
        self.history.setdefault(key, []).append(
            Entry(
                key=key,
                size=0 if marker else 7,
                modified=when,
                version_id=f"v{next(self.ids)}",
                is_delete_marker=marker,
            )
        )

    def current(self, key: str) -> Entry | None:
        """The object a plain GET returns, or None (deleted or no history)."""
        entries = self.history.get(key)
        if not entries or entries[-1].is_delete_marker:
            return None
        return entries[-1]

    @hookimpl
    def byob_providers(self) -> Sequence[ProviderSpec]:
        return [
            ProviderSpec(
                name="versioned",
                schemes=("versioned",),
                can_sign=False,
                max_expiry=None,
                gc_batch_size=self.batch_size,
                versions=True,
                multipart=False,
            )
        ]

    @hookimpl
    def byob_list(self, store: Store, request: ListRequest) -> Iterator[Entry]:
        after = request.start_after
        for key in sorted(self.history):
            if not key.startswith(request.prefix) or (after is not None and key <= after):
                continue
            entries = self.history[key]
            if request.kind is Kind.OBJECTS:
                current = self.current(key)
                if current is not None:
                    yield Entry(key=key, size=current.size, modified=current.modified)
            elif request.kind is Kind.VERSIONS:
                for n, entry in enumerate(reversed(list(entries))):
                    yield Entry(
                        key=key,
                        size=entry.size,
                        modified=entry.modified,
                        version_id=entry.version_id,
                        is_delete_marker=entry.is_delete_marker,
                        is_latest=n == 0,
                    )

    @hookimpl
    def byob_garbage_collect(self, store: Store, batch: DeleteBatch) -> DeleteResult:
        deleted, errors = [], []
        for entry in batch.entries:
            if batch.kind is Kind.OBJECTS:
                if self.current(entry.key) is not None:
                    self.write(entry.key, self.clock, marker=True)
                deleted.append(entry)
            elif entry.key in self.refuse:
                errors.append((entry.key, "AccessDenied"))
            else:
                before = self.current(entry.key)
                kept = [e for e in self.history[entry.key] if e.version_id != entry.version_id]
                self.removed += [e for e in self.history[entry.key] if e not in kept]
                self.history[entry.key] = kept
                # The property that matters most: a versioned delete never changes what
                # a GET returns (no deleted object comes back, no current one goes).
                assert self.current(entry.key) == before, f"{entry.key} changed state"
                deleted.append(entry)
        return DeleteResult(deleted=deleted, errors=errors)


_keys = st.sampled_from(["a", "b", "c", "d/e", "d/f"])
_ages = st.integers(min_value=0, max_value=120)  # minutes before NOW
_history = st.lists(st.tuples(_ages, st.booleans()), min_size=1, max_size=5)  # (age, delete)


@st.composite
def buckets(draw: st.DrawFn) -> dict:
    histories = draw(st.dictionaries(_keys, _history, max_size=5))
    return {
        "histories": histories,
        "live": draw(st.sets(_keys, max_size=2)),
        "grace": draw(st.sampled_from([0, 10, 30, 60, 200])),  # minutes
        "batch": draw(st.integers(1, 4)),
        "refuse": draw(st.sets(_keys, max_size=1)),
    }


def build(case: dict) -> VersionedBucket:
    bucket = VersionedBucket(case["batch"])
    bucket.refuse = {f"team/{key}" for key in case["refuse"]}
    for key, events in case["histories"].items():
        for age, delete in sorted(events, key=lambda event: -event[0]):
            bucket.write(f"team/{key}", NOW - dt.timedelta(minutes=age), marker=delete)
    return bucket


class TestTheUndoWindow:
    """Whatever the histories, live set and grace: a key deleted or overwritten within
    the grace keeps its whole history, nothing a GET returns changes in the versions
    phase, and a key whose deletion is older than the grace loses everything, delete
    markers included, unless one of its versions could not be deleted."""

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(buckets())
    def test_property(self, case: dict) -> None:
        grace = dt.timedelta(minutes=case["grace"])
        cutoff = NOW - grace
        options = GcOptions(grace=grace, purge_versions=True, allow_empty_live=True, force=True)
        bucket = build(case)
        original = {key: list(entries) for key, entries in bucket.history.items()}
        live = {f"team/{key}" for key in case["live"]}

        dry_bucket = build(case)
        host = PluginHost.load(entry_points=False, extra={"versioned": dry_bucket})
        dry = collect(
            host, STORE, case["live"], GcOptions(dry_run=True, **_fields(options)), now=NOW
        )
        assert dry_bucket.history == build(case).history  # a dry run changes nothing

        host = PluginHost.load(entry_points=False, extra={"versioned": bucket})
        report = collect(host, STORE, case["live"], options, now=NOW)

        purgeable: set[tuple[str, str | None]] = set()  # what the rule lets go
        for key, entries in original.items():
            after = bucket.history.get(key, [])
            if key in live:
                assert after == entries, f"live {key} was touched"
                continue
            current = entries[-1]
            if not current.is_delete_marker and current.modified < cutoff:
                # Old garbage: this run deleted it (a marker stamped now), so the
                # deletion is young and every older version must stay.
                assert after[:-1] == entries and after[-1].is_delete_marker
            elif not current.is_delete_marker or any(e.modified >= cutoff for e in entries):
                assert after == entries, f"{key}: touched within the undo window"
            else:
                purgeable |= {(e.key, e.version_id) for e in entries}
                if key in bucket.refuse:
                    assert after == entries, f"{key}: a marker went, a version behind it stayed"
                else:
                    assert after == [], f"{key}: deleted long ago, yet something is left"
        removed = {(e.key, e.version_id) for e in bucket.removed}
        assert removed == {pair for pair in purgeable if pair[0] not in bucket.refuse}
        assert sorted(dry.would_purge) == sorted(purgeable)
        assert report.versions_deleted == len(removed)


def _fields(options: GcOptions) -> dict:
    return {"grace": options.grace, "purge_versions": True, "allow_empty_live": True, "force": True}


class TestExamples:
    """The cases the property covers, spelt out."""

    def run(self, bucket: VersionedBucket, grace: str = "30m") -> None:
        host = PluginHost.load(entry_points=False, extra={"versioned": bucket})
        collect(
            host, STORE, ["keep"], GcOptions(grace=grace, purge_versions=True, force=True), now=NOW
        )

    def test_a_fresh_delete_marker_keeps_the_old_versions_behind_it(self) -> None:
        bucket = VersionedBucket()
        bucket.write("team/dead", NOW - dt.timedelta(days=30))
        bucket.write("team/dead", NOW - dt.timedelta(days=20))
        bucket.write("team/dead", NOW - dt.timedelta(minutes=1), marker=True)
        before = list(bucket.history["team/dead"])
        self.run(bucket)
        assert bucket.history["team/dead"] == before

    def test_a_fresh_overwrite_keeps_the_version_it_replaced(self) -> None:
        bucket = VersionedBucket()
        bucket.write("team/x", NOW - dt.timedelta(days=30))
        bucket.write("team/x", NOW - dt.timedelta(days=30), marker=True)
        bucket.write("team/x", NOW - dt.timedelta(minutes=1))  # written again since
        before = list(bucket.history["team/x"])
        self.run(bucket)
        assert bucket.history["team/x"] == before

    def test_an_old_deletion_goes_whole_and_a_lone_marker_too(self) -> None:
        bucket = VersionedBucket(batch_size=1)
        for _ in range(3):
            bucket.write("team/dead", NOW - dt.timedelta(days=30))
        bucket.write("team/dead", NOW - dt.timedelta(days=29), marker=True)
        bucket.write("team/dead", NOW - dt.timedelta(days=28), marker=True)
        bucket.write("team/lone", NOW - dt.timedelta(days=28), marker=True)
        self.run(bucket)
        assert bucket.history == {"team/dead": [], "team/lone": []}

    def test_a_marker_stays_when_a_version_behind_it_could_not_be_deleted(self) -> None:
        bucket = VersionedBucket()
        bucket.write("team/dead", NOW - dt.timedelta(days=30))
        bucket.write("team/dead", NOW - dt.timedelta(days=29), marker=True)
        bucket.refuse = {"team/dead"}
        before = list(bucket.history["team/dead"])
        self.run(bucket)
        assert bucket.history["team/dead"] == before

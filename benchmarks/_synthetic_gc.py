"""A synthetic provider for the scale-out benchmark, importable by Dask workers.

Its store lists `count` generated objects in key order, sleeping `page_seconds` per page
of 1,000 (a remote listing's latency) and honouring ``start_after`` by binary search, so
a shard lists only its own range. Deletes are counted, not done. The store's options
carry the figures: ``{"count": N, "page_seconds": 0.02}``. Each worker process writes its
peak RSS to ``$BYOB_BENCH_RSS_DIR/rss-<pid>`` after each listing.
"""

from __future__ import annotations

import bisect
import datetime as dt
import os
import resource
import sys
import time
from collections.abc import Iterator, Sequence

from byob_core import hookimpl
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.plugins import PluginHost
from byob_core.provider import ProviderSpec
from byob_core.stores import Store

OLD = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
PAGE = 1000


def key_of(i: int) -> str:
    return f"team/runs/{i // 1000:06d}/artifact-{i:09d}.bin"


def live_key(i: int) -> str:
    return key_of(i)[len("team/") :]


@hookimpl
def byob_providers() -> Sequence[ProviderSpec]:
    return [ProviderSpec(name="synthetic", can_sign=False, gc_batch_size=1000)]


@hookimpl
def byob_list(store: Store, request: ListRequest) -> Iterator[Entry]:
    if request.kind is not Kind.OBJECTS:
        return iter(())
    return _listing(int(store.options["count"]), float(store.options["page_seconds"]), request)


def _listing(count: int, page_seconds: float, request: ListRequest) -> Iterator[Entry]:
    prefix = request.prefix
    start = bisect.bisect_left(range(count), prefix, key=key_of)  # the prefix's first key
    if request.start_after is not None:
        start = max(start, bisect.bisect_right(range(count), request.start_after, key=key_of))
    try:
        for i in range(start, count):
            if (i - start) % PAGE == 0:
                time.sleep(page_seconds)
            key = key_of(i)
            if not key.startswith(prefix):
                break  # keys are generated in order: the prefix's range has ended
            yield Entry(key=key, size=1024, modified=OLD)
    finally:  # a shard stops listing at its upper bound: the generator is closed
        _record_rss()


@hookimpl
def byob_garbage_collect(store: Store, batch: DeleteBatch) -> DeleteResult:
    time.sleep(float(store.options["page_seconds"]))  # a DeleteObjects round trip
    return DeleteResult(deleted=batch.entries)


def _record_rss() -> None:
    folder = os.environ.get("BYOB_BENCH_RSS_DIR")
    if folder:
        peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with open(os.path.join(folder, f"rss-{os.getpid()}"), "w") as handle:
            handle.write(str(peak_kib))


def make_host() -> PluginHost:
    """The host a worker builds: the built-in provider and this one."""
    return PluginHost.load(entry_points=False, extra={"synthetic": sys.modules[__name__]})

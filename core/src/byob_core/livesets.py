"""Live sets too large to hold: sorted text or Parquet files, merge-joined with a listing.

A run over a store asks "is this key live?" in ascending key order, because listings come
in key order. When the live keys are sorted too, the run walks both at once (a merge
join): memory holds the live keys between the oldest entry still waiting in a delete
batch and the entry being decided (a window), not the live set. A shard opens its window
at its own lower bound, by binary search in a text file or by skipping Parquet row
groups whose statistics lie below it.

Sources (`open_live`):

- a text file, one key per line in ascending order (byte order of UTF-8, which is the
  order of the listings), ending with a newline;
- a Parquet file whose first column (or a column named ``key``) holds the keys, sorted;
- a glob of such files (``live/part-*.parquet``): each file sorted, the files merged.

`load_sorted` reads every file once before anything is deleted: each key passes the key
guard, each file is in ascending order and complete (a text file ends with a newline),
and the digest and count are taken. A file out of order is refused (merge-joining it
would miss live keys and delete them).

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "live.txt")
>>> _ = open(path, "w").write("runs/a\\nruns/b\\nruns/c\\n")
>>> live = load_sorted(path)
>>> len(live), "runs/b" in live.membership("runs/a", None)
(3, True)
"""

from __future__ import annotations

import bisect
import glob
import hashlib
import heapq
import os
from collections.abc import Iterator
from typing import Any

import attrs

from byob_core import keys
from byob_core.errors import UnsafeKeyError
from byob_core.gc import GcInputError, LiveSet, Members, Membership

__all__ = ["StreamedLiveSet", "is_streamable", "load_sorted", "open_live"]

#: Text live files at least this large are merge-joined when sorted (smaller ones are
#: read into memory, which is faster for them).
STREAM_BYTES = 64 * 1024 * 1024
_GLOB = frozenset("*?[")
_SEARCH_STOP = 1 << 16  # binary search in a text file stops at this span, then scans


def is_streamable(source: str) -> bool:
    """Whether `source` names a Parquet file, a glob, or a large text file."""
    if any(c in _GLOB for c in source) and not os.path.exists(source):
        return True
    if source.endswith(".parquet"):
        return True
    try:
        return os.path.getsize(source) >= STREAM_BYTES
    except OSError:
        return False


def _files(source: str) -> tuple[str, ...]:
    if os.path.exists(source):
        return (source,)
    found = tuple(sorted(glob.glob(source)))
    if not found:
        raise GcInputError(
            f"no live-key file matches {source!r}",
            hint="give a file, or a glob such as live/part-*.parquet",
        )
    return found


def _is_parquet(path: str) -> bool:
    if path.endswith(".parquet"):
        return True
    with open(path, "rb") as handle:
        return handle.read(4) == b"PAR1"


# -- reading one file from a lower bound --------------------------------------------------


def _text_keys(path: str, after: str | None = None) -> Iterator[str]:
    with open(path, "rb") as handle:
        start = 0
        if after is not None:
            start = _text_seek(handle, after.encode("utf-8", "surrogatepass"))
        handle.seek(start)
        if start:
            handle.readline()  # a partial line: the search lands before the real start
        for raw in handle:
            key = raw.rstrip(b"\n").decode("utf-8")
            if after is not None and key <= after:
                continue
            if key:
                yield key


def _text_seek(handle: Any, after: bytes) -> int:
    """An offset at or before the first line greater than `after` (lines are sorted)."""
    handle.seek(0, os.SEEK_END)
    lo, hi = 0, handle.tell()
    while hi - lo > _SEARCH_STOP:
        mid = (lo + hi) // 2
        handle.seek(mid)
        handle.readline()
        line = handle.readline().rstrip(b"\n")
        if line and line <= after:
            lo = mid
        else:
            hi = mid
    return lo


def _parquet_column(parquet_file: Any) -> str:
    names = parquet_file.schema_arrow.names
    return "key" if "key" in names else names[0]


def _parquet_keys(path: str, after: str | None = None) -> Iterator[str]:
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    column = _parquet_column(handle)
    index = handle.schema_arrow.names.index(column)
    for group in range(handle.num_row_groups):
        if after is not None:
            stats = handle.metadata.row_group(group).column(index).statistics
            if stats is not None and stats.has_min_max and stats.max <= after:
                continue
        table = handle.read_row_group(group, columns=[column])
        for key in table.column(0).to_pylist():
            if key is None or (after is not None and key <= after):
                continue
            yield key


def _keys_of(path: str, after: str | None = None) -> Iterator[str]:
    return _parquet_keys(path, after) if _is_parquet(path) else _text_keys(path, after)


# -- the live set --------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class StreamedLiveSet(LiveSet):
    """A live set read from sorted files on demand; `keys` stays empty."""

    files: tuple[str, ...]
    count: int

    def __len__(self) -> int:
        return self.count

    def __contains__(self, key: object) -> bool:
        raise TypeError("a streamed live set answers through membership(), in key order")

    def sorted_keys(self, after: str | None = None) -> Iterator[str]:
        """Every live key after `after`, ascending (the files merged)."""
        streams = [_keys_of(path, after) for path in self.files]
        return streams[0] if len(streams) == 1 else heapq.merge(*streams)

    def membership(self, after: str | None = None, upto: str | None = None) -> Members:
        return Window(self.sorted_keys(after))

    def count_in(self, after: str | None, upto: str | None) -> int:
        total = 0
        for key in self.sorted_keys(after):
            if upto is not None and key > upto:
                break
            total += 1
        return total

    def slice(self, after: str | None, upto: str | None) -> LiveSet:
        """Itself: a worker reads only its own range, by seeking."""
        return self


class Window(Membership):
    """Membership over an ascending key stream, asked in ascending order.

    Keeps the keys read since the last `trim`, so a key asked a second time (the
    safety check just before a delete) gets the same answer.
    """

    def __init__(self, stream: Iterator[str]) -> None:
        self._stream = stream
        self._keys: list[str] = []
        self._start = 0
        self._exhausted = False

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        buffer = self._keys
        while not self._exhausted and (len(buffer) == self._start or buffer[-1] < key):
            following = next(self._stream, None)
            if following is None:
                self._exhausted = True
            else:
                buffer.append(following)
        at = bisect.bisect_left(buffer, key, self._start)
        return at < len(buffer) and buffer[at] == key

    def trim(self, key: str) -> None:
        buffer = self._keys
        self._start = bisect.bisect_left(buffer, key, self._start)
        if self._start > 4096 and self._start * 2 > len(buffer):
            del buffer[: self._start]
            self._start = 0

    @property
    def held(self) -> int:
        """Keys in the window now (for tests and memory figures)."""
        return len(self._keys) - self._start


def load_sorted(source: str | os.PathLike[str]) -> StreamedLiveSet:
    """Check and digest the sorted live-key file(s) `source` (a path or a glob)."""
    name = os.fspath(source)
    files = _files(name)
    digest = hashlib.sha256()
    count = 0
    for path in files:
        label = f"live-key file {path}"
        previous: str | None = None
        try:
            if not _is_parquet(path):
                _check_complete(path, label)
            for number, key in enumerate(_keys_of(path), start=1):
                try:
                    keys.check(key)
                except UnsafeKeyError as exc:
                    raise GcInputError(f"{label}, key {number}: {exc}") from None
                if previous is not None and key < previous:
                    raise GcInputError(
                        f"{label} is not sorted: key {number} ({key!r}) comes after {previous!r}",
                        hint="sort it in byte order (LC_ALL=C sort), or give a smaller "
                        "file that is read into memory",
                    )
                previous = key
                digest.update(key.encode("utf-8", "surrogatepass"))
                digest.update(b"\n")
                count += 1
        except UnicodeDecodeError as exc:
            raise GcInputError(f"{label} is not UTF-8 text: {exc.reason}") from None
        except OSError as exc:
            raise GcInputError(f"cannot read {label}: {exc.strerror or exc}") from None
        except ImportError:
            raise GcInputError(
                f"{label} is Parquet, which needs pyarrow",
                hint="pip install 'byob-core[inventory]'",
            ) from None
    return StreamedLiveSet(
        keys=frozenset(), digest=digest.hexdigest(), source=name, files=files, count=count
    )


def _check_complete(path: str, label: str) -> None:
    with open(path, "rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) != b"\n":
            raise GcInputError(
                f"{label} does not end with a newline: it may be truncated",
                hint="a complete export ends every key, the last one too, with a newline",
            )


def open_live(source: str | os.PathLike[str]) -> LiveSet:
    """The live set `source` names: streamed when it is Parquet, a glob, or a large sorted
    text file; otherwise read into memory (`byob_core.gc.load_live_keys`)."""
    from byob_core.gc import load_live_keys

    name = os.fspath(source)
    if is_streamable(name):
        try:
            return load_sorted(name)
        except GcInputError:
            if any(c in _GLOB for c in name) or name.endswith(".parquet"):
                raise
            # A large text file that is not sorted is still a live set: hold it.
    return load_live_keys(name)

"""The garbage-collection engine: deletes what no live key names, and nothing else.

Providers list and delete (``byob_list``, ``byob_garbage_collect``); this module decides
what may go, and owns every safety rule:

- **Live keys are never touched**, in any phase: not the object, not its noncurrent
  versions, not its multipart uploads.
- **Young things are never touched**: an object whose ``modified`` is at or after
  ``cutoff = now - grace`` stays. The cutoff is fixed once, when a run starts (and kept
  by the journal when a run resumes), so an object written while a run is under way is
  young by construction and survives it.
- **Nothing outside the sub-path**: every key is checked against the store's prefix
  when it is listed, and again with `byob_core.keys.relative` just before the delete
  call that names it. An entry a buggy provider lists outside the prefix is reported as
  an error and left alone. Deletes always name their keys; nothing is deleted by prefix.
- **byob's own prefix** (``.byob/`` inside the sub-path: probe and marker objects) is
  never collected.
- **Dry run** forms exactly the batches a real run would and reports every entry it
  would delete, deleting nothing and writing no journal.
- **Streaming**: the listing is consumed lazily in key order; memory holds the live set,
  one pending batch and (for versions) the versions of one key, never the listing.
- **Journal**: after each batch a small JSON file (written to a temporary file, then
  ``os.replace``) records the store, a digest of the live set, the grace, the cutoff,
  the phase and the last key fully handled, plus the counters. A re-run with the same
  store, live set and grace resumes after that key with the same cutoff and converges
  to the state an uninterrupted run reaches. Deletion is idempotent, so a crash between
  a delete and its journal write only repeats a harmless delete. A finished run removes
  its journal.
- **Versions** (``purge_versions``, where the provider keeps them) keep the undo
  window: the provider lists each key's whole history (current version, noncurrent
  versions, delete markers, each with its time), and a key's history is purged only
  when the key is deleted (its current version is a delete marker, or it has none) and
  everything listed for it is older than the cutoff. So a key deleted or overwritten
  within the grace period, by this run or anyone, stays recoverable; a key that still
  has a current object keeps its history (the objects phase deleting it starts the
  window). Its delete markers go in a second call after its versions, and only when
  every one of those versions is confirmed deleted: a marker removed while a version
  is behind it would bring the object back.
- **Multipart uploads** (``abort_uploads``, where the provider has them) initiated
  before the cutoff are aborted.
- **An empty live set is refused** unless ``allow_empty_live`` says it is meant: a
  live-key export that failed silently must not empty the store.

>>> parse_duration("1d12h")
datetime.timedelta(days=1, seconds=43200)
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import heapq
import io
import itertools
import json
import os
import re
import socket
import sys
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import attrs
import structlog

from byob_core import keys
from byob_core.errors import GcBusyError, GcError, UnsafeKeyError
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest

if TYPE_CHECKING:
    from byob_core.plugins import PluginHost
    from byob_core.provider import ProviderSpec
    from byob_core.stores import Store

log = structlog.get_logger("byob.gc")

__all__ = [
    "GcBusyError",
    "GcInputError",
    "GcLiveMismatchError",
    "GcOptions",
    "GcReport",
    "LiveSet",
    "collect",
    "default_journal",
    "load_live_keys",
    "lock_path",
    "nested_prefixes",
    "parse_duration",
]

#: Format version of the journal file; a journal of another version is ignored.
JOURNAL_VERSION = 1
#: Errors kept in the report (all are counted in `GcReport.error_count`).
MAX_ERRORS = 1000
#: Listed entries between two progress callbacks (and journal checkpoints without deletes).
PROGRESS_EVERY = 1000
CHECKPOINT_EVERY = 10_000

_PHASES = (Kind.OBJECTS, Kind.VERSIONS, Kind.UPLOADS)


class GcInputError(GcError, ValueError):
    """Bad input to garbage collection: a malformed duration or live-key source (exit 2)."""


class GcLiveMismatchError(GcError):
    """Most live keys name no object: the live set is probably in the wrong form (exit 1).

    Raised before anything is deleted; ``force`` (``--force``) runs anyway.
    """


#: Live keys looked up in the store before anything is deleted (all of them when fewer).
LIVE_SAMPLE = 100
#: Live-key look-ups in flight at once.
LIVE_LOOKUPS = 16
#: A run stops before deleting when more than this share of the looked-up keys is missing.
LIVE_MISSING_LIMIT = 0.5


# -- durations ---------------------------------------------------------------------------

#: Longer durations are refused (a timedelta overflows past 999,999,999 days).
MAX_DURATION_SECONDS = 100 * 366 * 86400
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"(\d+)\s*([smhdw])")


def parse_duration(text: str) -> dt.timedelta:
    """Parse a grace period such as ``90s``, ``30m``, ``24h``, ``7d``, ``2w`` or ``1d12h``.

    >>> parse_duration("30m")
    datetime.timedelta(seconds=1800)
    >>> parse_duration("2w").days
    14
    """
    hint = "use a number and a unit s, m, h, d or w, such as 30m, 24h or 7d"
    if not isinstance(text, str):
        raise GcInputError(f"invalid duration {text!r}", hint=hint)
    compact = text.strip().lower()
    position = 0
    seconds = 0
    for match in _DURATION.finditer(compact):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
        while position < len(compact) and compact[position] == " ":
            position += 1
    if not compact or position != len(compact):
        raise GcInputError(f"invalid duration {text!r}", hint=hint)
    if seconds > MAX_DURATION_SECONDS:
        raise GcInputError(
            f"duration {text!r} is longer than 100 years", hint="give a grace such as 24h or 30d"
        )
    return dt.timedelta(seconds=seconds)


# -- the live set ------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class LiveSet:
    """The keys (relative to the sub-path) that garbage collection must keep.

    `digest` identifies the set in the journal, so a resumed run is sure it works from
    the same live set as the run it continues.
    """

    keys: frozenset[str]
    digest: str
    source: str = ""

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def membership(self, after: str | None = None, upto: str | None = None) -> Members:
        """What a run over the keys in ``(after, upto]`` asks `in` of (see `Membership`)."""
        return self.keys

    def count_in(self, after: str | None, upto: str | None) -> int:
        """How many live keys lie in ``(after, upto]`` (None: unbounded on that side)."""
        return sum(1 for key in self.keys if _in_range(key, after, upto))


def _in_range(key: str, after: str | None, upto: str | None) -> bool:
    return (after is None or key > after) and (upto is None or key <= upto)


class Membership:
    """Live-key lookup for one run. `trim(key)` says no key below `key` is asked again,
    so a streamed (merge-joined) live set can drop what lies behind it."""

    def __contains__(self, key: object) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def trim(self, key: str) -> None:
        """Forget live keys below `key` (relative); a no-op for an in-memory set."""


#: What a run asks `in` of: the frozenset itself (the fast path) or a streamed window.
Members = frozenset[str] | Membership


def _digest(live: frozenset[str]) -> str:
    h = hashlib.sha256()
    for key in sorted(live):
        h.update(key.encode("utf-8", "surrogatepass"))
        h.update(b"\n")  # keys cannot hold a newline: the key guard refuses control chars
    return h.hexdigest()


def _add_checked(found: set[str], key: object, where: str, source: str) -> None:
    if not isinstance(key, str):
        raise GcInputError(
            f"{source}, {where}: a live key must be a string, not {type(key).__name__}"
        )
    try:
        keys.check(key)
    except UnsafeKeyError as exc:
        raise GcInputError(
            f"{source}, {where}: {exc}",
            hint="live keys are relative to the store's sub-path, one per line",
        ) from None
    found.add(key)
    # Surrounding blanks are ambiguous (a real key may hold them, an export may add
    # them); keeping both readings only ever keeps more, never deletes more.
    stripped = key.strip()
    if stripped and stripped != key:
        with contextlib.suppress(UnsafeKeyError):
            found.add(keys.check(stripped))


def load_live_keys(source: LiveSet | str | os.PathLike[str] | Iterable[str]) -> LiveSet:
    """Load and check the live keys from a file or an iterable.

    `source` is a path to a text file with one key per line, every line ending with a
    newline (blank lines ignored), a path to a JSON file holding a list of strings
    (recognised by its first character, ``[``), ``-`` for standard input (either form),
    or any iterable of strings. A named pipe works as a path. Keys are relative to the
    store's sub-path; each passes `byob_core.keys.check`.

    Anything else is refused with `GcInputError` naming the line or item, so a caller
    deletes nothing: a missing or unreadable file, a text file whose last line has no
    newline (a truncated export), a JSON document that is not a list of strings (such
    as ``{"keys": [...]}``), a bad key.

    >>> len(load_live_keys(["runs/a.bin", "runs/b.bin", "runs/a.bin"]))
    2
    """
    if isinstance(source, LiveSet):
        return source
    found: set[str] = set()
    if isinstance(source, str | os.PathLike):
        name = os.fspath(source)
        if name == "-":
            label = "live keys on standard input"
            _load_stream(sys.stdin.buffer, found, label)
        else:
            label = f"live-key file {name}"
            try:
                # A directory opens on POSIX but fails on read; say so plainly.
                if os.path.isdir(name):
                    raise IsADirectoryError(21, "is a directory")
                with open(name, "rb") as raw:
                    _load_stream(raw, found, label)
            except OSError as exc:
                raise GcInputError(
                    f"cannot read {label}: {exc.strerror or exc}",
                    hint="give a file with one live key per line, or a JSON list of keys",
                ) from None
    else:
        label = "live keys"
        try:
            for number, key in enumerate(source, start=1):
                _add_checked(found, key, f"item {number}", label)
        except TypeError as exc:
            raise GcInputError(
                f"live keys must be a path or an iterable of strings: {exc}"
            ) from None
        name = "<iterable>"
    frozen = frozenset(found)
    return LiveSet(keys=frozen, digest=_digest(frozen), source=name)


_FORMS = "a live-key file is one key per line (each line ending with a newline), or a JSON list"


def _load_stream(raw: IO[bytes], found: set[str], label: str) -> None:
    """Read a live-key source from a binary stream, once, without seeking (pipes work)."""
    handle = io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None)
    try:
        head = handle.read(4096)
        first = head.lstrip()[:1]
        if first == "[":
            _load_json(head + handle.read(), found, label)
            return
        if first in ("{", '"'):
            kind = "a JSON object" if first == "{" else "JSON (a quoted string)"
            raise GcInputError(
                f"{label} holds {kind}, which is not a live-key form",
                hint=f'{_FORMS} of strings such as ["runs/a.bin"]',
            )
        lines = itertools.chain(io.StringIO(head + handle.readline()), handle)
        line = ""
        number = 0
        for number, line in enumerate(lines, start=1):
            key = line[:-1] if line.endswith("\n") else line
            if key.strip():
                _add_checked(found, key, f"line {number}", label)
        if line and not line.endswith("\n"):
            raise GcInputError(
                f"{label}, line {number}: the last line {line[:80]!r} has no newline; "
                "the file may be truncated",
                hint=f"{_FORMS}; end the last key with a newline",
            )
    except UnicodeDecodeError as exc:
        raise GcInputError(f"{label} is not UTF-8 text: {exc.reason}") from None
    finally:
        handle.detach()


def _load_json(text: str, found: set[str], label: str) -> None:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # A truncated export must not be read as "fewer live keys": refuse it.
        raise GcInputError(
            f"{label} starts with '[' but is not valid JSON: {exc.msg} at line {exc.lineno}",
            hint=f"{_FORMS} of strings",
        ) from None
    if not isinstance(data, list):
        raise GcInputError(f"{label}: the JSON must be a list of strings", hint=_FORMS)
    for number, key in enumerate(data, start=1):
        _add_checked(found, key, f"item {number}", label)


# -- options and report ------------------------------------------------------------------


def _timedelta(value: dt.timedelta | str) -> dt.timedelta:
    return parse_duration(value) if isinstance(value, str) else value


def _optional_path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


@attrs.frozen(kw_only=True)
class GcOptions:
    """How a collection runs.

    grace: objects modified at or after ``now - grace`` are kept (a string such as
        ``"24h"`` is parsed with `parse_duration`).
    dry_run: delete nothing, report what a real run would delete.
    purge_versions / abort_uploads: also purge noncurrent versions / abort multipart
        uploads older than the grace period, where the provider has them.
    batch_size: keys per delete call; None (or anything larger) means the provider's
        ``gc_batch_size``.
    journal: the journal file; None means ``default_journal(data_dir, store)`` when
        `data_dir` is given, and no journal (no resuming) otherwise.
    allow_empty_live: an empty live set is refused unless this says it is meant.
    force: run even when most live keys name no object (see `GcLiveMismatchError`).
    """

    grace: dt.timedelta = attrs.field(default=dt.timedelta(hours=24), converter=_timedelta)
    dry_run: bool = False
    purge_versions: bool = False
    abort_uploads: bool = False
    batch_size: int | None = attrs.field(default=None)
    journal: Path | None = attrs.field(default=None, converter=_optional_path)
    data_dir: Path | None = attrs.field(default=None, converter=_optional_path)
    allow_empty_live: bool = False
    force: bool = False

    @grace.validator
    def _check_grace(self, _: attrs.Attribute[dt.timedelta], value: dt.timedelta) -> None:
        if value < dt.timedelta(0):
            raise GcInputError(f"the grace period cannot be negative ({value})")

    @batch_size.validator
    def _check_batch(self, _: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise GcInputError(f"the batch size must be at least 1, not {value}")

    def journal_for(self, store: Store) -> Path | None:
        """The journal file this run uses for `store`, or None."""
        if self.journal is not None:
            return self.journal
        if self.data_dir is not None:
            return default_journal(self.data_dir, store)
        return None


def _store_digest(store: Store) -> str:
    identity = json.dumps(list(store.identity)).encode()
    return hashlib.sha256(identity).hexdigest()[:24]


def default_journal(data_dir: str | os.PathLike[str], store: Store) -> Path:
    """``<data_dir>/gc/<store digest>.json``: one journal per store, whatever its team name."""
    return Path(data_dir) / "gc" / f"{_store_digest(store)}.json"


def lock_path(journal: str | os.PathLike[str], store: Store) -> Path:
    """The store's lock, ``<store digest>.lock`` next to the journal: one run per store."""
    return Path(journal).parent / f"{_store_digest(store)}.lock"


@attrs.frozen(kw_only=True)
class Shard:
    """A slice of the key space a run covers: relative keys in ``(after, upto]``.

    Shard `index` of `count`; None on a side means unbounded. The shards of one plan
    cover every key once (see `byob_core.gcscale.plan_shards`).
    """

    index: int = 0
    count: int = 1
    after: str | None = None
    upto: str | None = None

    @property
    def whole(self) -> bool:
        return self.after is None and self.upto is None

    def contains(self, key: str) -> bool:
        return _in_range(key, self.after, self.upto)

    def journal(self, base: Path) -> Path:
        """This shard's journal file beside the run's `base` journal."""
        if self.count == 1:
            return base
        return base.with_name(f"{base.stem}.shard-{self.index:05d}-of-{self.count:05d}.json")

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "after": self.after, "upto": self.upto}


WHOLE = Shard()

_COUNTERS = (
    "listed",
    "kept_live",
    "kept_young",
    "kept_reserved",
    "kept_nested",
    "kept_changed",
    "deleted",
    "bytes_freed",
    "versions_listed",
    "versions_kept",
    "versions_deleted",
    "uploads_listed",
    "uploads_kept",
    "uploads_aborted",
    "batches",
    "error_count",
)


@attrs.define(kw_only=True)
class GcReport:
    """What a collection did (or, in a dry run, would do). Keys are full object keys.

    `listed` and the `kept_*` counters are about current objects; versions and uploads
    have their own. `errors` holds up to `MAX_ERRORS` (key, message) pairs; `error_count`
    counts them all. `would_delete`, `would_purge` and `would_abort` are filled in a dry
    run only. `phase` is the phase under way (for progress display) and None at the end.
    """

    store: str = ""
    prefix: str = ""
    cutoff: dt.datetime | None = None
    dry_run: bool = False
    resumed: bool = False
    phases: list[str] = attrs.field(factory=list)
    phase: str | None = None
    listed: int = 0
    kept_live: int = 0
    kept_young: int = 0
    kept_reserved: int = 0
    #: Objects under another configured store nested inside this one's sub-path.
    kept_nested: int = 0
    #: Candidates from an inventory that changed (or went) since it was taken: kept.
    kept_changed: int = 0
    deleted: int = 0
    bytes_freed: int = 0
    versions_listed: int = 0
    versions_kept: int = 0
    versions_deleted: int = 0
    uploads_listed: int = 0
    uploads_kept: int = 0
    uploads_aborted: int = 0
    batches: int = 0
    error_count: int = 0
    errors: list[tuple[str, str]] = attrs.field(factory=list)
    would_delete: list[str] = attrs.field(factory=list)
    would_purge: list[tuple[str, str | None]] = attrs.field(factory=list)
    would_abort: list[tuple[str, str | None]] = attrs.field(factory=list)
    #: Live keys that were not found among the current objects (a hint of a wrong live
    #: file, such as keys given with the sub-path in front); None when it cannot be told.
    live_missing: int | None = None
    #: Live keys looked up before deleting, and how many of those named no object.
    live_checked: int = 0
    live_checked_missing: int = 0
    #: How the run was executed: ``"local"`` (this process) or ``"dask"``, over how many
    #: shards, and each shard's bounds, state and counters (one entry for an unsharded run).
    executor: str = "local"
    shards: int = 1
    per_shard: list[dict[str, Any]] = attrs.field(factory=list)
    #: Why the run stopped before the end (the store stayed unreachable through every
    #: retry), or None when it ran to the end. The journal keeps the last checkpoint.
    gave_up: str | None = None
    #: Keys whose deletion was under way or queued when the run gave up (not deleted).
    not_deleted: list[str] = attrs.field(factory=list)
    #: The last key decided and done before giving up: everything after it is untouched.
    resume_after: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0 and self.gave_up is None

    def counters(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in _COUNTERS}

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        data: dict[str, Any] = {
            "store": self.store,
            "prefix": self.prefix,
            "cutoff": self.cutoff.isoformat() if self.cutoff else None,
            "dry_run": self.dry_run,
            "resumed": self.resumed,
            "phases": list(self.phases),
            "ok": self.ok,
            **self.counters(),
            "live_missing": self.live_missing,
            "live_checked": self.live_checked,
            "live_checked_missing": self.live_checked_missing,
            "executor": self.executor,
            "shards": self.shards,
            "per_shard": list(self.per_shard),
            "complete": self.gave_up is None,
            "gave_up": self.gave_up,
            "not_deleted": list(self.not_deleted),
            "resume_after": self.resume_after,
            "errors": [{"key": key, "message": message} for key, message in self.errors],
        }
        if self.dry_run:
            data["would_delete"] = list(self.would_delete)
            data["would_purge"] = [{"key": k, "version_id": v} for k, v in self.would_purge]
            data["would_abort"] = [{"key": k, "upload_id": u} for k, u in self.would_abort]
        return data

    def _error(self, key: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append((key, message))


def _store_down(exc: BaseException) -> bool:
    """Whether `exc` means the store could not be reached or kept failing (not a bug)."""
    from byob_core import retries

    if isinstance(exc, GcError):
        return False  # the engine's own refusal to go on: never a store fault
    return isinstance(exc, OSError) or retries.transient(exc)  # StoreAccessError is one


# -- the journal -------------------------------------------------------------------------


def _read_journal(path: Path) -> dict[str, Any] | None:
    try:
        if path.is_dir():
            raise IsADirectoryError(21, "it is a directory")
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise GcInputError(
            f"cannot read the journal {path}: {exc.strerror or exc}",
            hint="--journal names a file (created if missing) in a writable directory",
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        # Starting afresh is always safe; the journal only saves work.
        log.warning("gc_journal_unreadable", journal=str(path))
        return None
    if not isinstance(data, dict) or data.get("version") != JOURNAL_VERSION:
        log.warning("gc_journal_ignored", journal=str(path), reason="unknown format")
        return None
    return data


def _write_journal(path: Path, data: dict[str, Any]) -> None:
    """Write `data` atomically: a reader (or a crash) sees the old journal or the new one.

    The temporary file has one fixed name per journal (``.<name>.tmp``; the run holds the
    store's lock): it is removed on any error or interrupt, and a run killed outright
    while writing (SIGKILL) leaves at most that one file, which the next run removes.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(data, separators=(",", ":")).encode("utf-8")
    temporary = _temporary(path)
    try:
        with open(temporary, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def _temporary(journal: Path) -> Path:
    return journal.with_name(f".{journal.name}.tmp")


def _remove_leftovers(journal: Path) -> None:
    """Temporary journal files of a run that was killed (this run holds the lock)."""
    with contextlib.suppress(OSError):
        for leftover in journal.parent.glob(f".{journal.name}.*tmp"):
            leftover.unlink(missing_ok=True)


@contextlib.contextmanager
def _store_lock(path: Path, store: Store) -> Iterator[None]:
    """Hold the store's lock file for the run; another holder is a `GcBusyError`.

    An advisory lock (``flock``) on ``<journal dir>/<store digest>.lock``: the kernel
    releases it when the process ends, however it ends, so a killed run never leaves a
    stale lock. The file names its holder (process id, host, start time).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise GcInputError(
            f"cannot create the garbage-collection lock {path}: {exc.strerror or exc}",
            hint="--journal names a file (created if missing) in a writable directory",
        ) from None
    try:
        if not _try_lock(fd):
            holder = os.pread(fd, 1024, 0).decode("utf-8", "replace").strip()
            raise GcBusyError(
                f"another garbage collection of {store.display} is running "
                f"({holder or 'holder unknown'})",
                hint=f"wait for it to finish, or stop it; its lock is {path}",
            )
        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {started}\n".encode(), 0)
        try:
            yield
        finally:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


# -- the engine --------------------------------------------------------------------------

OnProgress = Callable[[GcReport], None]
OnDelete = Callable[[Kind, Sequence[Entry]], None]
Lister = Callable[[ListRequest], Iterable[Entry]]
Recheck = Callable[[Sequence[Entry]], Sequence[Entry]]


def collect(
    host: PluginHost,
    store: Store,
    live: LiveSet | str | os.PathLike[str] | Iterable[str],
    options: GcOptions | None = None,
    *,
    now: dt.datetime | None = None,
    on_progress: OnProgress | None = None,
    on_delete: OnDelete | None = None,
    nested: Iterable[str] = (),
    shard: Shard = WHOLE,
    lister: Lister | None = None,
    recheck: Recheck | None = None,
    take_lock: bool = True,
) -> GcReport:
    """Delete from `store` every object that `live` does not name and that is older than
    the grace period; optionally purge old noncurrent versions and abort stale uploads.

    host: the plugin host; the store's provider plugin lists and deletes.
    live: a `LiveSet`, or anything `load_live_keys` reads (keys relative to the sub-path).
    now: the time the cutoff is measured from (default: the current time, UTC).
    on_progress: called with the report as listing and deletion advance.
    on_delete: called after each batch, once the journal records it, with the kind and
        the entries deleted (in a dry run: the entries that would be).
    nested: full-key prefixes (ending in '/') of other stores that lie inside this one's
        sub-path (`nested_prefixes`); nothing under them is touched, not even listed
        for deletion. `byob_core.Byob.gc` passes every configured store's.
    shard: the slice of the key space this run covers (default: all of it); a shard of
        several has its own journal file. `byob_core.gcscale` plans and runs shards.
    lister: lists instead of the provider (an inventory, say): called with a
        `ListRequest`, yields entries in ascending key order like ``byob_list``.
    recheck: called with each batch of objects just before it is deleted; returns the
        entries still safe to delete (an inventory's candidates are re-read first).
    take_lock: take the store's lock for the run (a sharded run's coordinator holds it
        for all its shards, and passes False).

    A live key that starts with the store's sub-path is read both as given and without
    the sub-path (both objects are kept). Before deleting anything, up to `LIVE_SAMPLE`
    live keys are looked up; when more than `LIVE_MISSING_LIMIT` of them name no object,
    the run stops with `GcLiveMismatchError` unless ``options.force``.

    Raises `GcInputError` for bad input (nothing is deleted), `GcBusyError` when another
    run holds the store's lock, and `GcError` when the run cannot go on safely; an
    exception from the provider propagates, and a re-run with the same journal resumes
    after the last batch that completed.
    """
    options = options or GcOptions()
    live_set = _with_readings(load_live_keys(live), store)
    if len(live_set) == 0 and not options.allow_empty_live:
        raise GcInputError(
            "the live set is empty: every object older than the grace period would be deleted",
            hint="check the live-key export; pass allow_empty_live (--allow-empty-live) if meant",
        )
    run = _Run(
        host,
        store,
        live_set,
        options,
        now=now,
        on_progress=on_progress,
        on_delete=on_delete,
        nested=nested,
        shard=shard,
        lister=lister,
        recheck=recheck,
    )
    if run.journal is None or options.dry_run or not take_lock:
        return run.execute()
    with _store_lock(lock_path(run.journal, store), store):
        _remove_leftovers(run.journal)
        return run.execute()


def nested_prefixes(store: Store, others: Iterable[Store]) -> tuple[str, ...]:
    """Full-key prefixes, in `store`'s bucket, of the `others` that lie inside its sub-path.

    Same bucket means the same provider family, endpoint (or account) and bucket; for
    file stores, a directory inside this store's directory counts too.

    >>> from byob_core.stores import Store
    >>> outer = Store(provider="aws", bucket="b", subpath="wandb")
    >>> nested_prefixes(outer, [Store(provider="aws", bucket="b", subpath="wandb/teams/o")])
    ('wandb/teams/o/',)
    """
    found: set[str] = set()
    family, where, bucket, subpath = store.identity
    root = _file_root(store) if store.provider == "file" else None
    for other in others:
        o_family, o_where, o_bucket, o_subpath = other.identity
        if o_family != family:
            continue
        if root is not None:
            other_root = _file_root(other)
            if other_root != root and not other_root.startswith(root + os.sep):
                continue
            inner = os.path.relpath(other_root, root).replace(os.sep, "/")
            full = o_subpath if inner == "." else f"{inner}/{o_subpath}".rstrip("/")
        elif (o_where, o_bucket) == (where, bucket):
            full = o_subpath
        else:
            continue
        if full and full != subpath and (not subpath or full.startswith(subpath + "/")):
            found.add(full + "/")
    return tuple(sorted(found))


def _file_root(store: Store) -> str:
    return os.path.realpath(os.path.expanduser(store.bucket))


def _with_readings(live: LiveSet, store: Store) -> LiveSet:
    """Add the reading without the sub-path of every live key that starts with it."""
    prefix = store.prefix
    if not prefix:
        return live
    extra = {key[len(prefix) :] for key in live.keys if key.startswith(prefix)}
    extra.discard("")
    extra -= live.keys
    if not extra:
        return live
    both = live.keys | extra
    return LiveSet(keys=both, digest=_digest(both), source=live.source)


def _smallest(live: Iterable[str], prefix: str) -> list[tuple[int, str]]:
    """Candidates for the live-key sample: the smallest CRC-32s of the canonical keys
    (with room for duplicates: two readings of one key share its canonical form)."""
    pairs = (
        (zlib.crc32(c.encode("utf-8", "surrogatepass")), c)
        for c in (_canonical(k, prefix) for k in live)
    )
    return heapq.nsmallest(4 * LIVE_SAMPLE, pairs)


def _canonical(key: str, prefix: str) -> str:
    """The key a live key stands for, whatever reading of it is meant."""
    key = key.strip()
    return key[len(prefix) :] if prefix and key.startswith(prefix) else key


class _RunState:
    """What the parts of one collection share: set by `_Run.__init__`, read by the parts
    (the journal, the live-set checks, the listing and its decisions, the deletion)."""

    host: PluginHost
    store: Store
    live: LiveSet
    options: GcOptions
    on_progress: OnProgress | None
    on_delete: OnDelete | None
    spec: ProviderSpec
    batch_size: int
    prefix: str
    nested: tuple[str, ...]
    shard: Shard
    lower: str | None
    upper: str | None
    lister: Lister | None
    recheck: Recheck | None
    members: Members
    trim: Callable[[str], None] | None
    journal: Path | None
    cutoff: dt.datetime
    report: GcReport
    phases: list[Kind]
    kind: Kind
    pending: list[Entry]
    last_complete: str | None
    handled: str | None
    journaled: str | None
    listed_since_write: int
    seen: int
    blocked: set[str]
    in_flight: Sequence[Entry]

    if TYPE_CHECKING:  # defined by the parts below; named here for the others

        def _checkpoint(self, *, force: bool = False, finished: bool = False) -> None: ...
        def _progress(self) -> None: ...
        def _young(self, entry: Entry) -> bool: ...
        def _flush(self) -> None: ...


class _RunJournal(_RunState):
    """Resuming from the journal and checkpointing into it (the store's lock is held
    around the whole run by `collect`)."""

    # -- resuming ---------------------------------------------------------------------------
    def _identity(self) -> dict[str, Any]:
        identity: dict[str, Any] = {
            "store": list(self.store.identity),
            "live": self.live.digest,
            "grace_seconds": self.options.grace.total_seconds(),
        }
        if not self.shard.whole:
            shard = self.shard
            identity["shard"] = [shard.index, shard.count, shard.after, shard.upto]
        return identity

    def _resume(self) -> tuple[Kind, str | None]:
        if self.journal is None:
            return Kind.OBJECTS, None
        data = _read_journal(self.journal)
        if data is None:
            return Kind.OBJECTS, None
        if any(data.get(name) != value for name, value in self._identity().items()):
            log.info("gc_journal_stale", journal=str(self.journal))
            return Kind.OBJECTS, None
        try:
            cutoff = dt.datetime.fromisoformat(data["cutoff"])
            phase = Kind(data["phase"])
            after = data["after"]
            counters = {name: int(data["counters"][name]) for name in _COUNTERS}
            errors = [(str(key), str(message)) for key, message in data.get("errors", [])]
        except (KeyError, TypeError, ValueError):
            log.warning("gc_journal_ignored", journal=str(self.journal), reason="malformed")
            return Kind.OBJECTS, None
        if after is not None and not isinstance(after, str):
            return Kind.OBJECTS, None
        if cutoff.tzinfo is None:
            return Kind.OBJECTS, None
        # The journal keeps the first run's cutoff so a resumed run converges; it may only
        # ever keep more. A cutoff after now - grace (a clock that jumped, a hand-edited or
        # foreign journal) would delete young objects: the grace from now wins.
        if cutoff > self.cutoff:
            log.warning("gc_journal_cutoff_ignored", journal=str(self.journal), cutoff=str(cutoff))
            cutoff = self.cutoff
        self.cutoff = self.report.cutoff = cutoff
        for name, value in counters.items():
            setattr(self.report, name, value)
        self.report.errors = errors[:MAX_ERRORS]
        self.report.resumed = True
        log.info("gc_resume", journal=str(self.journal), phase=str(phase), after=after)
        return phase, after

    def _checkpoint(self, *, force: bool = False, finished: bool = False) -> None:
        """Record progress in the journal (never in a dry run)."""
        if self.journal is None or self.options.dry_run:
            return
        if finished:
            if self.kind is self.phases[-1]:
                return  # the run is about to remove the journal
            phase, after = self.phases[self.phases.index(self.kind) + 1], None
        else:
            if not force and self.handled == self.journaled:
                return
            phase, after = self.kind, self.handled
        data = {
            "version": JOURNAL_VERSION,
            **self._identity(),
            "cutoff": self.cutoff.isoformat(),
            "phase": str(phase),
            "after": after,
            "counters": self.report.counters(),
            "errors": [list(pair) for pair in self.report.errors],
            "updated": dt.datetime.now(dt.UTC).isoformat(),
        }
        _write_journal(self.journal, data)
        self.journaled = after
        self.listed_since_write = 0

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.report)


class _RunLiveChecks(_RunState):
    """The live set against the store: the sample of live keys looked up before deleting."""

    # -- the live set against the store -----------------------------------------------------
    def _given(self) -> int:
        """How many keys the live set stands for (each reading of one key counted once)."""
        if not self.live.keys:
            return len(self.live)  # a streamed live set: as many keys as it holds
        return len({_canonical(key, self.prefix) for key in self.live.keys})

    def _exists(self, full_key: str) -> bool:
        request = ListRequest(kind=Kind.OBJECTS, prefix=full_key)
        for entry in self.host.list(self.store, request):
            return entry.key == full_key  # ascending order: the key itself comes first
        return False

    def _check_live(self) -> None:
        """Look up a sample of the live keys; stop before deleting when most are missing.

        The sample is every key for small live sets and otherwise the `LIVE_SAMPLE` keys
        with the smallest CRC-32, so a dry run and the real run look up the same keys.
        """
        prefix = self.prefix
        live: Iterable[str] = self.live.keys
        if not live:
            streamed = getattr(self.live, "sorted_keys", None)
            if streamed is None or len(self.live) == 0:
                return
            # A streamed live set (sorted files) is not held in memory: look up its first
            # keys. A wrong form (the sub-path in front) shows in any of them.
            live = list(itertools.islice(streamed(), LIVE_SAMPLE))
        chosen: set[str] = set()
        for _, canonical in _smallest(live, prefix):
            chosen.add(canonical)
            if len(chosen) >= LIVE_SAMPLE:
                break
        readings: dict[str, list[str]] = {c: [] for c in chosen}
        for key in live:
            group = readings.get(_canonical(key, prefix))
            if group is not None:
                group.append(key)

        def absent(canonical: str) -> bool:
            return not any(self._exists(prefix + key) for key in sorted(readings[canonical]))

        # One small listing per key, LIVE_LOOKUPS at a time (each is a round trip).
        from concurrent.futures import ThreadPoolExecutor

        ordered = sorted(readings)
        with ThreadPoolExecutor(max_workers=LIVE_LOOKUPS) as pool:
            flags = list(pool.map(absent, ordered))
        missing = [canonical for canonical, gone in zip(ordered, flags, strict=True) if gone]
        self.report.live_checked = len(readings)
        self.report.live_checked_missing = len(missing)
        if not missing or len(missing) <= LIVE_MISSING_LIMIT * len(readings):
            return
        example = missing[0]
        if self.options.force:
            log.warning(
                "gc_live_missing_forced",
                store=self.report.store,
                checked=len(readings),
                missing=len(missing),
            )
            return
        where = (
            f"relative to the store's sub-path {self.store.subpath!r}: the object "
            f"'{prefix}runs/a.bin' is the live key 'runs/a.bin'"
            if prefix
            else "the object keys themselves (this store has no sub-path), such as 'runs/a.bin'"
        )
        raise GcLiveMismatchError(
            f"{len(missing)} of {len(readings)} live keys looked up name no object in "
            f"{self.report.store} (such as {example!r}, looked for as {prefix + example!r}); "
            f"nothing was deleted. Live keys must be {where}",
            hint="fix the live-key export; pass --force (force=True) if those objects are "
            "really gone",
        )


class _RunListing(_RunState):
    """The ordered, bounded listing (shard bounds, an optional lister) and each entry's
    decision against the live set (the merge-join of `_objects`, the grouped phases)."""

    # -- listing ---------------------------------------------------------------------------
    def _listing(self, kind: Kind, after: str | None) -> Iterator[Entry]:
        if self.lower is not None and (after is None or after < self.lower):
            after = self.lower  # the shard starts after its lower bound
        upper = self.upper
        request = ListRequest(kind=kind, prefix=self.prefix, start_after=after)
        listed = (
            self.lister(request) if self.lister is not None else self.host.list(self.store, request)
        )
        previous: str | None = None
        for entry in listed:
            key = entry.key
            if after is not None and key <= after:
                continue  # at or before the checkpoint, done (the provider ignored start_after)
            if upper is not None and key > upper:
                break  # past the shard: the next shard's run lists it
            if previous is not None and (
                key < previous or (key == previous and kind is Kind.OBJECTS)
            ):
                raise GcError(
                    f"the {self.store.provider!r} plugin listed {key!r} after {previous!r}: "
                    "listings must be in ascending key order, each object once",
                    hint="nothing after this point was deleted; report this to the plugin",
                )
            previous = key
            yield entry

    def _young(self, entry: Entry) -> bool:
        modified = entry.modified
        if modified.tzinfo is None:  # a provider that forgot the zone means UTC
            modified = modified.replace(tzinfo=dt.UTC)
        return modified >= self.cutoff

    def _objects(self, after: str | None) -> None:
        # The hot loop: plain attribute reads and set lookups only. The full key guard
        # runs on what is about to be deleted (in `_flush`), just before the call.
        report = self.report
        prefix = self.prefix
        plen = len(prefix)
        live = self.members
        trim = self.trim
        pending = self.pending
        size = self.batch_size
        every = PROGRESS_EVERY
        reserved = keys.RESERVED
        nested = self.nested
        for entry in self._listing(Kind.OBJECTS, after):
            key = entry.key
            report.listed += 1
            if len(key) <= plen or not key.startswith(prefix):
                report._error(key, "listed outside the store's sub-path: not touched")
            else:
                relative = key[plen:]
                if relative.startswith(reserved) and keys.is_reserved(relative):
                    report.kept_reserved += 1
                elif nested and key.startswith(nested):
                    report.kept_nested += 1
                elif relative in live:
                    report.kept_live += 1
                elif self._young(entry):
                    report.kept_young += 1
                else:
                    pending.append(entry)
            self.last_complete = key
            if len(pending) >= size:
                self._flush()
                pending = self.pending
            elif not pending:
                self.handled = key
            self.listed_since_write += 1
            if report.listed % every == 0:
                if trim is not None:
                    trim((pending[0].key if pending else key)[plen:])
                if self.listed_since_write >= CHECKPOINT_EVERY:
                    self._checkpoint()
                self._progress()

    def _grouped(self, kind: Kind, after: str | None) -> None:
        """Versions and uploads: a key may have several entries, decided together."""
        group: list[Entry] = []
        for entry in self._listing(kind, after):
            if group and entry.key != group[0].key:
                self._decide(kind, group)
                group = []
            group.append(entry)
        if group:
            self._decide(kind, group)

    def _decide(self, kind: Kind, group: list[Entry]) -> None:
        # Counting follows the checkpoint: an entry queued for deletion is counted when
        # its batch is sent (`_flush`), the rest when the whole key is decided. A run that
        # stops between two batches of one key then resumes before that key without
        # having counted any of it twice.
        report = self.report
        key = group[0].key
        versions = kind is Kind.VERSIONS
        doomed: list[Entry] = []
        outside = len(key) <= len(self.prefix) or not key.startswith(self.prefix)
        if not outside and not (self.nested and key.startswith(self.nested)):
            relative = key[len(self.prefix) :]
            if not keys.is_reserved(relative) and relative not in self.members:
                if versions:
                    doomed = self._doomed_versions(group)
                else:
                    doomed = [entry for entry in group if not self._young(entry)]
        for entry in doomed[:-1]:
            self._queue(entry)
        kept = len(group) - len(doomed)
        if outside:
            for _ in group:
                report._error(key, f"{kind} entry listed outside the store's sub-path: not touched")
        if versions:
            report.versions_listed += kept
            report.versions_kept += kept
        else:
            report.uploads_listed += kept
            report.uploads_kept += kept
        self.last_complete = key  # decided in full once its last entry is queued
        if doomed:
            self._queue(doomed[-1])
        if not self.pending:
            self.handled = key
        before = self.seen
        self.seen += len(group)
        self.listed_since_write += len(group)
        if self.listed_since_write >= CHECKPOINT_EVERY:
            self._checkpoint()
        if before // PROGRESS_EVERY != self.seen // PROGRESS_EVERY:
            self._progress()

    def _queue(self, entry: Entry) -> None:
        self.pending.append(entry)
        if len(self.pending) >= self.batch_size:
            self._flush()

    def _doomed_versions(self, group: list[Entry]) -> list[Entry]:
        # Anything on this key at or after the cutoff (a version, or the delete marker of
        # a recent deletion) keeps the whole key, so recent deletions stay recoverable;
        # so does a current object (not live, it is this run's to delete, and its
        # deletion starts the undo window). Otherwise every version goes, then every
        # marker (`_purge` sends the markers only once the versions are gone). The
        # decision depends only on ages, so a run that stops part-way through a key and
        # re-lists it decides the rest the same way.
        if any(
            self._young(entry) or (entry.is_latest and not entry.is_delete_marker)
            for entry in group
        ):
            return []
        return [entry for entry in group if not entry.is_delete_marker] + [
            entry for entry in group if entry.is_delete_marker
        ]


class _RunDeletion(_RunState):
    """Deleting a batch: the key guard, the caller's recheck, the provider call, the
    report of what was done."""

    # -- deleting --------------------------------------------------------------------------
    def _guard(self, batch: list[Entry]) -> list[Entry]:
        """Check every key once more, just before the call that would delete it."""
        safe: list[Entry] = []
        subpath = self.store.subpath
        live = self.members
        relative_of = keys.relative
        for entry in batch:
            try:
                relative = relative_of(subpath, entry.key)
            except UnsafeKeyError as exc:
                self.report._error(entry.key, f"refused by the key guard, not deleted: {exc}")
                continue
            if (
                relative in live
                or keys.is_reserved(relative)
                or self._young(entry)
                or (self.nested and entry.key.startswith(self.nested))
                or (entry.is_latest and not entry.is_delete_marker)  # a current object
            ):
                # Cannot happen (the listing loop filtered these); if it ever does, keep it.
                self.report._error(entry.key, "refused by the safety check, not deleted")
                self.blocked.add(entry.key)
                continue
            safe.append(entry)
        return safe

    def _flush(self) -> None:
        batch = self.pending
        self.pending = []
        self.handled = self.last_complete
        if batch:
            if self.kind is Kind.VERSIONS:
                self.report.versions_listed += len(batch)
            elif self.kind is Kind.UPLOADS:
                self.report.uploads_listed += len(batch)
            entries = self._guard(batch)
            if self.trim is not None and self.last_complete is not None:
                self.trim(self.last_complete[len(self.prefix) :])
            if entries and self.recheck is not None and self.kind is Kind.OBJECTS:
                still = list(self.recheck(entries))
                self.report.kept_changed += len(entries) - len(still)
                entries = still
            done: Sequence[Entry] = ()
            self.in_flight = entries
            if self.kind is Kind.VERSIONS:
                done = self._purge(entries)
            elif entries:
                done = self._dry(entries) if self.options.dry_run else self._delete(entries)
                self.report.batches += 1
            self.in_flight = ()
            self._checkpoint(force=True)
            if self.on_delete is not None and done:
                self.on_delete(self.kind, done)
            self._progress()

    def _purge(self, entries: list[Entry]) -> Sequence[Entry]:
        """Versions first; then the markers of the keys none of whose versions failed.

        A key's markers are queued after all its versions, so by the time a marker is
        sent every version of its key has been sent, in this call or an earlier one.
        """
        send = self._dry if self.options.dry_run else self._delete
        versions = [entry for entry in entries if not entry.is_delete_marker]
        done: list[Entry] = []
        if versions:
            done += send(versions)
            self.report.batches += 1
            gone = {(entry.key, entry.version_id) for entry in done}
            self.blocked.update(e.key for e in versions if (e.key, e.version_id) not in gone)
        markers = [entry for entry in entries if entry.is_delete_marker]
        safe = [entry for entry in markers if entry.key not in self.blocked]
        self.report.versions_kept += len(markers) - len(safe)
        if safe:
            done += send(safe)
            self.report.batches += 1
        return done

    def _dry(self, entries: list[Entry]) -> Sequence[Entry]:
        report = self.report
        for entry in entries:
            if self.kind is Kind.OBJECTS:
                report.deleted += 1
                report.would_delete.append(entry.key)
            elif self.kind is Kind.VERSIONS:
                report.versions_deleted += 1
                report.would_purge.append((entry.key, entry.version_id))
            else:
                report.uploads_aborted += 1
                report.would_abort.append((entry.key, entry.upload_id))
            report.bytes_freed += entry.size
        return entries

    def _delete(self, entries: list[Entry]) -> Sequence[Entry]:
        result = self.host.garbage_collect(self.store, DeleteBatch(kind=self.kind, entries=entries))
        if not isinstance(result, DeleteResult):
            raise GcError(
                f"the {self.store.provider!r} plugin's byob_garbage_collect returned "
                f"{type(result).__name__}, not a DeleteResult"
            )
        report = self.report
        deleted = list(result.deleted)
        count = len(deleted)
        if self.kind is Kind.OBJECTS:
            report.deleted += count
        elif self.kind is Kind.VERSIONS:
            report.versions_deleted += count
        else:
            report.uploads_aborted += count
        report.bytes_freed += sum(entry.size for entry in deleted)
        for key, message in result.errors:
            report._error(key, message)
        if count + len(result.errors) < len(entries):
            named = {entry.key for entry in deleted} | {key for key, _ in result.errors}
            for entry in entries:
                if entry.key not in named:
                    report._error(entry.key, "the provider reported neither success nor error")
        return deleted


class _Run(_RunJournal, _RunLiveChecks, _RunListing, _RunDeletion):
    """One collection: its fixed cutoff, its pending batch, its checkpoint."""

    def __init__(
        self,
        host: PluginHost,
        store: Store,
        live: LiveSet,
        options: GcOptions,
        *,
        now: dt.datetime | None,
        on_progress: OnProgress | None,
        on_delete: OnDelete | None,
        nested: Iterable[str] = (),
        shard: Shard = WHOLE,
        lister: Lister | None = None,
        recheck: Recheck | None = None,
    ) -> None:
        self.host = host
        self.store = store
        self.live = live
        self.options = options
        self.on_progress = on_progress
        self.on_delete = on_delete
        self.spec = host.spec(store.provider)
        limit = self.spec.gc_batch_size
        self.batch_size = max(1, min(options.batch_size or limit, limit))
        self.prefix = store.prefix
        self.nested = tuple(
            sorted({p if p.endswith("/") else p + "/" for p in nested if p.startswith(self.prefix)})
        )
        self.shard = shard
        self.lower = None if shard.after is None else self.prefix + shard.after
        self.upper = None if shard.upto is None else self.prefix + shard.upto
        self.lister = lister
        self.recheck = recheck
        self.members = live.membership(shard.after, shard.upto)
        self.trim = getattr(self.members, "trim", None)
        journal = options.journal_for(store)
        self.journal = None if journal is None else shard.journal(journal)
        start = now if now is not None else dt.datetime.now(dt.UTC)
        if start.tzinfo is None:
            raise GcInputError("`now` must be an aware datetime (UTC)")
        try:
            self.cutoff = start - options.grace
        except OverflowError:
            raise GcInputError(
                f"the grace period {options.grace} reaches before the year 1",
                hint="give a grace period of at most a few years, such as 24h or 30d",
            ) from None
        self.report = GcReport(
            store=store.display,
            prefix=self.prefix,
            cutoff=self.cutoff,
            dry_run=options.dry_run,
            shards=shard.count,
        )
        self.phases = [Kind.OBJECTS]
        if options.purge_versions and self.spec.versions:
            self.phases.append(Kind.VERSIONS)
        if options.abort_uploads and self.spec.multipart:
            self.phases.append(Kind.UPLOADS)
        self.report.phases = [str(kind) for kind in self.phases]
        # Checkpoint state of the phase under way.
        self.kind = Kind.OBJECTS
        self.pending: list[Entry] = []
        self.last_complete: str | None = None  # last key whose entries are all decided
        self.handled: str | None = None  # last key whose entries are all done (journaled)
        self.journaled: str | None = None
        self.listed_since_write = 0
        self.seen = 0  # entries listed in the phase under way (versions, uploads)
        # Keys one of whose versions was not deleted: their delete markers must stay.
        self.blocked: set[str] = set()
        self.in_flight: Sequence[Entry] = ()  # the batch whose delete call is under way

    # -- top level ------------------------------------------------------------------------
    def execute(self) -> GcReport:
        start_phase, start_after = self._resume()
        self._check_live()
        log.info(
            "gc_start",
            store=self.report.store,
            cutoff=self.cutoff.isoformat(),
            live=len(self.live),
            dry_run=self.options.dry_run,
            resumed=self.report.resumed,
            batch_size=self.batch_size,
        )
        try:
            for kind in self.phases:
                if _PHASES.index(kind) < _PHASES.index(start_phase):
                    continue
                after = start_after if kind is start_phase else None
                self._begin_phase(kind, after)
                if kind is Kind.OBJECTS:
                    self._objects(after)
                else:
                    self._grouped(kind, after)
                self._flush()
                self._checkpoint(force=True, finished=True)
        except Exception as exc:
            if not _store_down(exc):
                raise
            return self._give_up(exc)
        self.report.phase = None
        if not self.report.resumed and Kind.OBJECTS in self.phases and self.shard.whole:
            self.report.live_missing = max(0, self._given() - self.report.kept_live)
        if self.journal is not None and not self.options.dry_run:
            self.journal.unlink(missing_ok=True)
        self.report.per_shard = [
            {**self.shard.to_dict(), "state": "done", **self.report.counters()}
        ]
        self._progress()
        log.info("gc_done", store=self.report.store, **self.report.counters())
        return self.report

    def _give_up(self, exc: BaseException) -> GcReport:
        """End a run the store cut short: say what was deleted and what was not.

        The journal is left at its last checkpoint, written after the last batch that
        completed, so the next run resumes there and finishes the job.
        """
        report = self.report
        report.gave_up = f"{type(exc).__name__}: {exc}"
        report.not_deleted = [entry.key for entry in (*self.in_flight, *self.pending)][:MAX_ERRORS]
        report.resume_after = self.journaled
        log.warning(
            "gc_gave_up",
            store=report.store,
            phase=report.phase,
            error=report.gave_up,
            deleted=report.deleted,
            not_deleted=len(report.not_deleted),
            resume_after=report.resume_after,
        )
        return report

    def _begin_phase(self, kind: Kind, after: str | None) -> None:
        self.kind = kind
        self.report.phase = str(kind)
        self.pending = []
        self.seen = 0
        self.last_complete = self.handled = self.journaled = after

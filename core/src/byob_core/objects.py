"""What providers list and delete for garbage collection: entries, listings, batches."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence

import attrs


class Kind(enum.StrEnum):
    """What a listing or a delete batch is about."""

    OBJECTS = "objects"  # current objects
    VERSIONS = "versions"  # a key's whole history: versions and delete markers
    UPLOADS = "uploads"  # incomplete multipart uploads


@attrs.frozen(kw_only=True)
class Entry:
    """One listed thing: an object, a noncurrent version, or a multipart upload.

    `key` is the full object key. `version_id` is set for versions, `upload_id` for
    uploads; `modified` is the last-modified (or upload initiation) time in UTC.

    In a versions listing, `is_latest` marks the key's current version (an object, or
    the delete marker of a deleted key) and `is_delete_marker` a delete marker; for a
    provider without markers (GCS, Azure) `modified` of a noncurrent version is when it
    stopped being current. A provider that lists noncurrent versions only leaves
    `is_latest` false everywhere.
    """

    key: str
    size: int = 0
    modified: dt.datetime
    etag: str | None = None
    version_id: str | None = None
    upload_id: str | None = None
    is_delete_marker: bool = False
    is_latest: bool = False


@attrs.frozen(kw_only=True)
class ListRequest:
    """A listing under `prefix`: a full key prefix, usually ending in '/' ('' for the bucket).
    Garbage collection also lists with a whole object key as the prefix, to look a live
    key up, and reads only the first entry.

    Providers yield entries in ascending key order, starting strictly after
    `start_after` when it is given, and page through the provider's API lazily.
    """

    kind: Kind = attrs.field(default=Kind.OBJECTS, converter=Kind)
    prefix: str
    start_after: str | None = None


@attrs.frozen(kw_only=True)
class DeleteBatch:
    """Entries to delete (or, for uploads, abort) in one provider call; never more than the
    provider's batch size, every key already checked against the store's sub-path."""

    kind: Kind = attrs.field(default=Kind.OBJECTS, converter=Kind)
    entries: Sequence[Entry]


@attrs.frozen(kw_only=True)
class DeleteResult:
    """What a batch achieved: the keys deleted, and per-key errors as (key, message)."""

    deleted: Sequence[Entry] = ()
    errors: Sequence[tuple[str, str]] = ()

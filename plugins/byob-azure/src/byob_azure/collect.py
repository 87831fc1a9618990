"""Listing and deleting for garbage collection: List Blobs pages and Blob Batch deletes.

Listing: List Blobs returns names in ascending order, a page at a time; we fetch each
page only when the previous one is consumed. Its continuation marker is opaque (a
client cannot build one from a key), so a listing that resumes after `start_after`
asks for ``startFrom`` (service version 2026-02-06; option ``list_start_from``, default
on) and also skips what sorts before, for endpoints that ignore it (Azurite).

Versions: with blob versioning on, each overwrite or delete leaves a noncurrent version
(``is_current_version`` false). ``Kind.VERSIONS`` lists each blob's whole history, the
current version marked ``is_latest``, every version timed by when it stopped being
current (see `history`), so that garbage collection keeps the undo window (docs/gc.md).
Soft-deleted blobs are not entries: Azure removes them itself when their retention ends,
and removing them early would defeat the recovery window.
Uncommitted blocks are not listable uploads (see `byob_azure.multipart`), so
``Kind.UPLOADS`` lists nothing and aborting is a no-op.

Deleting: one Blob Batch request of up to 256 deletes; when the endpoint refuses batch
requests (some emulators and proxies), concurrent single deletes. A blob already gone
counts as deleted, so a re-run after a crash reaches the same end state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from byob_core.errors import StoreAccessError
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.stores import Store

from byob_azure import clients

PAGE_SIZE = 5000
#: Concurrent single deletes when batches are unavailable.
WORKERS = 16


def _utc(value: dt.datetime | None) -> dt.datetime:
    if value is None:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def list_entries(store: Store, request: ListRequest) -> Iterator[Entry]:
    """Yield objects, or each blob's whole version history, under the prefix, by key."""
    if request.kind is Kind.UPLOADS:
        return
    container = clients.container(store)
    versions = request.kind is Kind.VERSIONS
    include = ["versions", "deleted"] if versions else None
    kwargs: dict[str, Any] = {}
    after = request.start_after
    if after is not None and after >= request.prefix and _flag(store, "list_start_from"):
        # startFrom (service version 2026-02-06) is inclusive; the skip below drops it.
        kwargs["start_from"] = after
    pages = container.list_blobs(
        name_starts_with=request.prefix or None,
        include=include,
        results_per_page=max(
            1, int(clients.option_number(store, "list_page_size", PAGE_SIZE, whole=True))
        ),
        **kwargs,
    ).by_page()
    try:
        if not versions:
            for page in pages:
                for blob in page:
                    if request.start_after is not None and blob.name <= request.start_after:
                        continue
                    yield Entry(
                        key=blob.name,
                        size=blob.size or 0,
                        modified=_utc(blob.last_modified),
                        etag=blob.etag,
                    )
            return
        unknown = dt.datetime.now(dt.UTC) - soft_delete_retention(store)
        group: list[Any] = []
        for page in pages:
            for blob in page:
                if request.start_after is not None and blob.name <= request.start_after:
                    continue
                if group and group[0].name != blob.name:
                    yield from history(group, unknown)
                    group = []
                group.append(blob)
        if group:
            yield from history(group, unknown)
    except Exception as exc:
        raise clients.translate(exc, f"list blobs under {request.prefix!r}") from exc


def history(blobs: Sequence[Any], unknown: dt.datetime) -> Iterator[Entry]:
    """One blob's versions as entries, each timed by when it stopped being current.

    Azure has no delete markers and records no time for the deletion of a versioned
    blob: a previous version was replaced when the next one was written (its
    ``last_modified``), but the newest previous version of a deleted blob could have
    been deleted a moment ago. That one is timed `unknown`: the listing time less the
    account's blob soft-delete retention, because a version purged now stays
    recoverable (soft-deleted) that long. Without soft delete, `unknown` is now, so the
    deleted blob keeps its versions (the lifecycle policy expires them). Soft-deleted
    blobs and versions are not entries: nothing can purge them, Azure does when their
    retention ends; a soft-deleted base blob's ``deleted_time`` is its deletion time.
    """
    live = [blob for blob in blobs if not getattr(blob, "deleted", False)]
    deleted_at = [
        _utc(blob.deleted_time)
        for blob in blobs
        if getattr(blob, "deleted", False) and not blob.version_id and blob.deleted_time
    ]
    live.sort(key=lambda blob: blob.version_id or "")  # version ids are timestamps
    for n, blob in enumerate(live):
        current = bool(blob.is_current_version) or not blob.version_id
        if current:
            modified = _utc(blob.last_modified)
        elif n + 1 < len(live):
            modified = _utc(live[n + 1].last_modified)
        else:
            modified = max([unknown, *deleted_at])
        yield Entry(
            key=blob.name,
            size=blob.size or 0,
            modified=modified,
            etag=blob.etag,
            version_id=blob.version_id,
            is_latest=current,
        )


def soft_delete_retention(store: Store) -> dt.timedelta:
    """The account's blob soft-delete retention, or zero when it is off or unreadable."""
    try:
        policy = clients.service(store).get_service_properties().get("delete_retention_policy")
    except Exception:
        return dt.timedelta(0)  # unknown: assume none, which keeps more
    if policy is None or not getattr(policy, "enabled", False) or not policy.days:
        return dt.timedelta(0)
    return dt.timedelta(days=int(policy.days))


def _flag(store: Store, name: str, default: bool = True) -> bool:
    value = store.options.get(name, default)
    return value if isinstance(value, bool) else str(value).lower() in ("true", "yes", "1")


def _batch_mode(store: Store) -> str:
    value = store.options.get("batch_delete", "auto")
    if value is True or str(value).lower() in ("true", "yes", "1", "always"):
        return "always"
    if value is False or str(value).lower() in ("false", "no", "0", "never"):
        return "never"
    return "auto"


def delete(store: Store, batch: DeleteBatch) -> DeleteResult:
    """Delete exactly the named blobs (or versions); per-key errors, never a prefix."""
    if batch.kind is Kind.UPLOADS:
        return DeleteResult(deleted=list(batch.entries))
    entries = list(batch.entries)
    if not entries:
        return DeleteResult()
    refused: list[tuple[str, str]] = []
    if batch.kind is Kind.VERSIONS:
        entries, refused = _only_noncurrent(store, entries)
        if not entries:
            return DeleteResult(errors=refused)
    mode = _batch_mode(store)
    result: DeleteResult | None = None
    if mode != "never":
        try:
            result = _delete_batch(store, batch.kind, entries)
        except BatchUnsupportedError:
            if mode == "always":
                raise
    if result is None:
        result = _delete_each(store, batch.kind, entries)
    if refused:
        result = DeleteResult(deleted=result.deleted, errors=[*result.errors, *refused])
    return result


def _only_noncurrent(
    store: Store, entries: Sequence[Entry]
) -> tuple[list[Entry], list[tuple[str, str]]]:
    """Keep the version entries that are not the blob's current version.

    An endpoint without blob versioning may ignore ``versionid`` and delete the current
    blob (Azurite does): so before purging versions, look at each blob's current version
    (one HEAD each, concurrently) and refuse the entry when the blob reports none or the
    same one. A blob that is gone (404) has no current version to lose.
    """
    container = clients.container(store)

    def check(entry: Entry) -> tuple[Entry, str | None]:
        if not entry.version_id:
            return entry, "a version entry without a version id"
        try:
            props = container.get_blob_client(entry.key).get_blob_properties()
        except Exception as exc:
            if clients.status_of(exc) == 404:
                return entry, None
            return entry, str(clients.translate(exc, "read the current version"))
        current = getattr(props, "version_id", None)
        if not current:
            return entry, "the endpoint reports no blob versions; refusing to delete by version"
        if current == entry.version_id:
            return entry, "this is the current version, not a noncurrent one"
        return entry, None

    keep: list[Entry] = []
    refused: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(entries))) as pool:
        for entry, problem in pool.map(check, entries):
            if problem is None:
                keep.append(entry)
            else:
                refused.append((entry.key, problem))
    return keep, refused


class BatchUnsupportedError(StoreAccessError):
    """The endpoint refused the Blob Batch request as a whole."""


def _delete_batch(store: Store, kind: Kind, entries: Sequence[Entry]) -> DeleteResult:
    container = clients.container(store)
    if kind is Kind.VERSIONS:
        items: list[Any] = [{"name": e.key, "version_id": e.version_id} for e in entries]
        kwargs: dict[str, Any] = {}
    else:
        items = [e.key for e in entries]
        kwargs = {"delete_snapshots": "include"}
    try:
        responses = list(container.delete_blobs(*items, raise_on_any_failure=False, **kwargs))
    except Exception as exc:
        status = clients.status_of(exc)
        if status in (400, 404, 405, 501) or status is None:
            raise BatchUnsupportedError(
                f"blob batch refused ({clients.translate(exc, 'delete')})"
            ) from exc
        raise clients.translate(exc, "delete a batch of blobs") from exc
    if len(responses) != len(entries):
        raise BatchUnsupportedError("the blob batch answered a different number of deletes")
    deleted: list[Entry] = []
    errors: list[tuple[str, str]] = []
    for entry, response in zip(entries, responses, strict=True):
        status = getattr(response, "status_code", None)
        if status in (200, 202, 404):  # 404: already gone, the end state holds
            deleted.append(entry)
        else:
            errors.append((entry.key, f"HTTP {status} {getattr(response, 'reason', '')}".strip()))
    return DeleteResult(deleted=deleted, errors=errors)


def _delete_each(store: Store, kind: Kind, entries: Sequence[Entry]) -> DeleteResult:
    container = clients.container(store)

    def one(entry: Entry) -> tuple[Entry, str | None]:
        blob = container.get_blob_client(entry.key)
        try:
            if kind is Kind.VERSIONS:
                blob.delete_blob(version_id=entry.version_id)
            else:
                blob.delete_blob(delete_snapshots="include")
        except Exception as exc:
            if clients.status_of(exc) == 404:
                return entry, None
            return entry, str(clients.translate(exc, "delete"))
        return entry, None

    deleted: list[Entry] = []
    errors: list[tuple[str, str]] = []
    with ThreadPoolExecutor(max_workers=min(WORKERS, len(entries))) as pool:
        for entry, problem in pool.map(one, entries):
            if problem is None:
                deleted.append(entry)
            else:
                errors.append((entry.key, problem))
    return DeleteResult(deleted=deleted, errors=errors)

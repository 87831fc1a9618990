"""Listing and batched deletion for garbage collection (`byob_list`, `byob_garbage_collect`).

Objects, and for versions every generation (the live one marked ``is_latest``, a
noncurrent one timed by its ``timeDeleted``), are listed through the JSON API, page by
page, in key order, resuming with ``startOffset``; incomplete multipart uploads through the XML
API (`byob_gcp.multipart`). Deletes go in JSON API batch requests of at most 100 calls,
each naming one object (and generation): never a prefix.
"""

from __future__ import annotations

import datetime as dt
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from byob_core import retries
from byob_core.errors import StoreAccessError
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.stores import Store

from byob_gcp.filesystem import HttpStatusError, JsonApi, make_filesystem

#: Most calls one JSON API batch request may carry (https://cloud.google.com/storage/docs/batch).
BATCH_LIMIT = 100
PAGE_SIZE = 1000
_FIELDS_OBJECTS = "items(name,size,updated,etag,md5Hash,generation,timeDeleted),nextPageToken"


def parse_time(value: str | None) -> dt.datetime:
    """An RFC 3339 time of the JSON API as an aware UTC datetime (the epoch when missing)."""
    if not value:
        return dt.datetime.fromtimestamp(0, dt.UTC)
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)


def api_for(store: Store) -> JsonApi:
    return JsonApi(make_filesystem(store))


def _pages(api: JsonApi, store: Store, **params: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page_params = dict(params, maxResults=PAGE_SIZE, fields=_FIELDS_OBJECTS)
        if token:
            page_params["pageToken"] = token
        try:
            page = api.list_objects(store.bucket, **page_params)
        except HttpStatusError as exc:
            raise StoreAccessError(
                f"cannot list gs://{store.bucket}: HTTP {exc.status}",
                hint="the service account needs roles/storage.admin on the bucket",
            ) from exc
        yield from page.get("items", ())
        token = page.get("nextPageToken")
        if not token:
            return


def list_entries(store: Store, request: ListRequest) -> Iterator[Entry]:
    """Entries under ``request.prefix`` in key order, strictly after ``request.start_after``."""
    if request.kind is Kind.UPLOADS:
        from byob_gcp.multipart import list_uploads

        yield from list_uploads(store, request)
        return
    api = api_for(store)
    params: dict[str, Any] = {"prefix": request.prefix}
    if request.start_after is not None:
        # startOffset is inclusive; the request's bound is exclusive (skipped below).
        params["startOffset"] = max(request.start_after, request.prefix)
    versions = request.kind is Kind.VERSIONS
    if versions:
        params["versions"] = "true"
    after = request.start_after
    for item in _pages(api, store, **params):
        name = item["name"]
        if after is not None and name <= after:
            continue
        if not name.startswith(request.prefix):
            continue
        noncurrent = bool(item.get("timeDeleted"))
        if noncurrent and not versions:
            continue  # an objects listing shows live objects only
        # A versions listing shows every generation, the live one marked: the collector
        # keeps a key that still has a live object. A noncurrent generation's age is
        # counted from when it stopped being current (GCS has no delete markers to carry
        # that time), so that what was deleted within the grace period stays recoverable.
        yield Entry(
            key=name,
            size=int(item.get("size", 0)),
            modified=parse_time(item["timeDeleted"] if noncurrent else item.get("updated")),
            etag=item.get("etag") or item.get("md5Hash"),
            version_id=str(item["generation"]) if versions else None,
            is_latest=versions and not noncurrent,
        )


# -- deletes ---------------------------------------------------------------------------------


def _batch_body(store: Store, entries: Sequence[Entry], boundary: str, host: str) -> str:
    # Each call is a full HTTP/1.1 request; Go servers (fake-gcs-server) insist on Host.
    parts = []
    for index, entry in enumerate(entries):
        query = f"?generation={quote(entry.version_id, safe='')}" if entry.version_id else ""
        parts.append(
            f"--{boundary}\r\n"
            "Content-Type: application/http\r\n"
            "Content-Transfer-Encoding: binary\r\n"
            f"Content-ID: <byob+{index}>\r\n\r\n"
            f"DELETE /storage/v1/b/{quote(store.bucket, safe='')}/o/{quote(entry.key, safe='')}"
            f"{query} HTTP/1.1\r\n"
            f"Host: {host}\r\n"
            # The CRLF before a boundary belongs to the delimiter: end headers plus one.
            "Content-Length: 0\r\n\r\n\r\n"
        )
    return "".join(parts) + f"--{boundary}--\r\n"


_PART_ID = re.compile(r"Content-ID:\s*<response-byob\+(\d+)>", re.IGNORECASE)
_STATUS = re.compile(r"HTTP/[0-9.]+\s+(\d{3})")


def _parse_batch(content: str, count: int) -> list[int | None]:
    """The HTTP status of each call of a batch response, by the Content-ID we gave it."""
    statuses: list[int | None] = [None] * count
    delimiter = re.search(r"^--(\S+)", content, re.MULTILINE)
    if not delimiter:
        return statuses
    for position, chunk in enumerate(content.split("--" + delimiter.group(1))[1:]):
        status = _STATUS.search(chunk)
        if not status:
            continue
        ident = _PART_ID.search(chunk)
        index = int(ident.group(1)) if ident else position
        if 0 <= index < count:
            statuses[index] = int(status.group(1))
    return statuses


def delete_batch(store: Store, batch: DeleteBatch) -> DeleteResult:
    """Delete (or abort) exactly the batch's entries, in one batch request where possible."""
    if batch.kind is Kind.UPLOADS:
        from byob_gcp.multipart import abort_entries

        return abort_entries(store, batch.entries)
    deleted: list[Entry] = []
    errors: list[tuple[str, str]] = []
    fs = make_filesystem(store)
    entries = list(batch.entries)
    policy = retries.policy_of(store)
    tries: dict[int, int] = {}  # id(entry) -> attempts so far, for entries sent again
    start = 0
    while start < len(entries):
        chunk = entries[start : start + BATCH_LIMIT]
        start += len(chunk)
        attempt = max((tries.get(id(e), 0) for e in chunk), default=0)
        boundary = f"byob-{uuid.uuid4().hex}"
        body = _batch_body(store, chunk, boundary, urlsplit(fs.batch_url_base).netloc)
        try:
            _, content = fs.call(
                "POST",
                fs.batch_url_base,
                headers={"Content-Type": f"multipart/mixed; boundary={boundary}"},
                data=body.encode("utf-8"),
            )
        except (OSError, ValueError) as exc:
            message = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
            errors.extend((e.key, f"batch request failed: {message}") for e in chunk)
            continue
        statuses = _parse_batch(content.decode("utf-8", "replace"), len(chunk))
        again: list[Entry] = []
        for entry, status in zip(chunk, statuses, strict=True):
            if status in (200, 204, 404):
                deleted.append(entry)  # 404: already gone, the end state holds
            elif status in retries.RETRY_STATUSES and attempt < policy.retries:
                again.append(entry)  # throttled or failed inside the batch: once more
            else:
                errors.append((entry.key, f"delete answered HTTP {status}"))
        if again:
            time.sleep(policy.delay(attempt + 1))
            retries.RETRIED.add("gcs batch delete")
            entries.extend(again)
            tries.update({id(e): attempt + 1 for e in again})
    return DeleteResult(deleted=deleted, errors=errors)

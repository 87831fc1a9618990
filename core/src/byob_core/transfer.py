"""Uploads and downloads of local files through pre-signed requests, as a platform's client does.

`upload_file` plans the upload (one PUT, or parts of ``max(ceil(size/10000), min part
size)``), signs each request, sends it over plain HTTP with the headers the signature
demands, collects each part's ETag and completes the upload; a failure aborts it.
Stores that cannot sign (the ``file`` provider) are written through their filesystem.
`progress(done, total)` is called with the bytes sent so far.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import math
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from byob_core import keys
from byob_core.errors import ByobError, StoreAccessError
from byob_core.signing import CompletedPart, Part, SignedRequest, plan_multipart

if TYPE_CHECKING:
    from byob_core.api import Byob

#: ``progress(bytes_done, bytes_total)``.
Progress = Callable[[int, int], None]
_CHUNK = 1024 * 1024
#: The smallest part S3 and GCS accept (every part but the last).
SMALLEST_PART = 5 * 1024 * 1024


@attrs.frozen(kw_only=True)
class Transfer:
    """What an upload or a download moved: the key (relative to the store), bytes, parts."""

    key: str
    size: int
    parts: int = 1
    etag: str | None = None


def _send(
    request: SignedRequest, body: bytes | None = None, timeout: float = 60.0
) -> dict[str, str]:
    headers = dict(request.headers)
    if body is not None:
        # urllib would send application/x-www-form-urlencoded, which some servers store as is.
        headers.setdefault("Content-Type", "application/octet-stream")
    http = urllib.request.Request(request.url, data=body, method=request.method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:  # noqa: S310
            response.read()
            return {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip().replace("\n", " ")
        what = "refused" if exc.code in (401, 403) else "failed"
        cls = StoreAccessError if exc.code in (401, 403) else ByobError
        raise cls(
            f"{request.method} of {request.key or 'a signed request'} {what}: HTTP {exc.code} {detail[:200]}",
            hint="check the store's credentials, CORS and clock",
        ) from None
    except OSError as exc:
        raise StoreAccessError(
            f"{request.method} of {request.key or 'a signed request'} failed: {exc}",
            hint="check the store's endpoint and the network",
        ) from None


def upload_file(
    byob: Byob,
    path: str | os.PathLike[str],
    key: str,
    *,
    team: str | None = None,
    content_type: str | None = None,
    part_size: int | None = None,
    progress: Progress | None = None,
    user: str | None = None,
) -> Transfer:
    source = Path(path)
    try:
        size = source.stat().st_size
    except OSError as exc:
        raise ByobError(
            f"cannot read {source}: {exc.strerror}", hint="give an existing file"
        ) from None
    where, full = byob.locate(team, key)
    store = where.store
    spec = byob.host.spec(store.provider)
    report = progress or (lambda _done, _total: None)
    if not spec.can_sign:
        fs = byob.filesystem(store)
        fs.pipe_file(store.fs_path(full), source.read_bytes())
        report(size, size)
        return Transfer(key=key, size=size)
    if part_size is not None and part_size < SMALLEST_PART:
        raise ByobError(
            f"part size {part_size} is below the smallest part S3 and GCS accept ({SMALLEST_PART} bytes)",
            hint=f"use at least {SMALLEST_PART} bytes (5 MiB)",
        )
    if part_size is None:
        plan = plan_multipart(size, min_part_size=spec.min_part_size, max_parts=spec.max_parts)
        parts = list(plan.parts) if plan.multipart else []
    else:
        # An explicit part size splits any object larger than it (within the part limit).
        step = max(part_size, math.ceil(size / spec.max_parts))
        parts = [
            Part(number=i + 1, offset=offset, size=min(step, size - offset))
            for i, offset in enumerate(range(0, size, step))
        ]
        if len(parts) < 2:
            parts = []
    extra: dict[str, Any] = {"content_type": content_type} if content_type else {}
    if not parts:
        body = source.read_bytes()
        [signed] = byob.sign([key], team=team, method="PUT", user=user, **extra)
        headers = _send(signed, body)
        report(size, size)
        return Transfer(key=key, size=size, etag=headers.get("etag", "").strip('"') or None)

    upload = byob.create_upload(key, team=team, content_type=content_type)
    done = 0
    completed: list[CompletedPart] = []
    try:
        with source.open("rb") as handle:
            for part in parts:
                handle.seek(part.offset)
                body = handle.read(part.size)
                md5 = base64.b64encode(hashlib.md5(body, usedforsecurity=False).digest()).decode()
                [signed] = byob.sign_parts(upload, [(part.number, md5)], team=team, user=user)
                headers = _send(signed, body)
                completed.append(CompletedPart(number=part.number, etag=headers.get("etag", "")))
                done += part.size
                report(done, size)
        byob.complete_upload(upload, completed, team=team)
    except BaseException:
        with contextlib.suppress(Exception):  # the first error is the one to report
            byob.abort_upload(upload, team=team)
        raise
    return Transfer(key=key, size=size, parts=len(parts))


def download_file(
    byob: Byob,
    key: str,
    path: str | os.PathLike[str],
    *,
    team: str | None = None,
    progress: Progress | None = None,
    user: str | None = None,
) -> Transfer:
    where, full = byob.locate(team, key)
    store = where.store
    target = Path(path)
    report = progress or (lambda _done, _total: None)
    if not byob.host.spec(store.provider).can_sign:
        data = byob.filesystem(store).cat_file(store.fs_path(full))
        target.write_bytes(data)
        report(len(data), len(data))
        return Transfer(key=key, size=len(data))
    [signed] = byob.sign([key], team=team, method="GET", user=user)
    http = urllib.request.Request(signed.url, method="GET", headers=dict(signed.headers))  # noqa: S310
    done = 0
    tmp = target.with_name(target.name + ".byob-part")
    try:
        with urllib.request.urlopen(http, timeout=60) as response, tmp.open("wb") as out:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                done += len(chunk)
                report(done, total or done)
    except urllib.error.HTTPError as exc:
        tmp.unlink(missing_ok=True)
        if exc.code == 404:
            raise FileNotFoundError(f"no object {key!r} in {store.display}") from None
        raise StoreAccessError(
            f"GET of {keys.check(key)} failed: HTTP {exc.code}",
            hint="check the store's credentials",
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    os.replace(tmp, target)
    return Transfer(key=key, size=done)

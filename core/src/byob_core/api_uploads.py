"""Multipart uploads and whole-file transfers for `byob_core.api.Byob` (`UploadsMixin`)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from byob_core import keys
from byob_core.errors import ByobError
from byob_core.signing import (
    CompletedPart,
    MultipartPlan,
    MultipartUpload,
    SignedRequest,
    parse_size,
    plan_multipart,
    resolve_lifetime,
    utcnow,
)

if TYPE_CHECKING:
    from byob_core.config import Resolution
    from byob_core.plugins import PluginHost
    from byob_core.stores import Store
    from byob_core.transfer import Progress, Transfer


class UploadsMixin:
    """`Byob`'s multipart verbs and `upload_file`/`download_file`."""

    if TYPE_CHECKING:
        host: PluginHost

        def resolve(self, team: str | None = None, *, reader: str | None = None) -> Resolution: ...

        def locate(
            self, team: str | None, key: str, *, reader: str | None = None
        ) -> tuple[Resolution, str]: ...

    # -- multipart ------------------------------------------------------------------------
    def upload_plan(self, size: int | str, *, team: str | None = None) -> MultipartPlan:
        """How an object of `size` (bytes, or a size such as ``"3GiB"``) is uploaded to
        `team`'s store: one PUT below 2 GiB, parts from 2 GiB on, for every provider."""
        spec = self.host.spec(self.resolve(team).store.provider)
        return plan_multipart(
            parse_size(size), min_part_size=spec.min_part_size, max_parts=spec.max_parts
        )

    def create_upload(
        self, key: str, *, team: str | None = None, content_type: str | None = None
    ) -> MultipartUpload:
        where, full = self.locate(team, key)
        return self.host.multipart(where.store).create(full, content_type=content_type)

    def sign_parts(
        self,
        upload: MultipartUpload,
        parts: Sequence[tuple[int, str | None]],
        *,
        team: str | None = None,
        expires: dt.timedelta | int | None = None,
        at: dt.datetime | None = None,
        user: str | None = None,
    ) -> list[SignedRequest]:
        store = self._upload_store(upload, team)
        spec = self.host.spec(store.provider)
        for number, _ in parts:
            if not 1 <= number <= spec.max_parts:
                raise ByobError(f"part number {number} is outside 1..{spec.max_parts}")
        lifetime = resolve_lifetime("PUT", expires, spec.max_expiry)
        return self.host.multipart(store).sign_parts(
            upload, parts, expires=lifetime, at=at or utcnow(), user=user
        )

    def complete_upload(
        self, upload: MultipartUpload, parts: Sequence[CompletedPart], *, team: str | None = None
    ) -> None:
        store = self._upload_store(upload, team)
        self.host.multipart(store).complete(upload, sorted(parts, key=lambda p: p.number))

    def abort_upload(self, upload: MultipartUpload, *, team: str | None = None) -> None:
        self.host.multipart(self._upload_store(upload, team)).abort(upload)

    def _upload_store(self, upload: MultipartUpload, team: str | None) -> Store:
        store = self.resolve(team).store
        keys.relative(store.subpath, upload.key) if store.subpath else keys.check(upload.key)
        return store

    # -- whole files through signed requests ---------------------------------------------
    def upload_file(
        self,
        path: str | os.PathLike[str],
        key: str,
        *,
        team: str | None = None,
        content_type: str | None = None,
        part_size: int | None = None,
        progress: Progress | None = None,
        user: str | None = None,
    ) -> Transfer:
        """Upload a local file to `key` as a client would: signed PUTs, in parts when large.

        Parts follow `upload_plan`, or `part_size` bytes each (at least the provider's
        minimum part size, 5 MiB on S3); `progress(done, total)` is called after each part.
        A failed part aborts the multipart upload.
        """
        from byob_core import transfer

        return transfer.upload_file(
            self,  # type: ignore[arg-type]  # a Byob
            path,
            key,
            team=team,
            content_type=content_type,
            part_size=part_size,
            progress=progress,
            user=user,
        )

    def download_file(
        self,
        key: str,
        path: str | os.PathLike[str],
        *,
        team: str | None = None,
        progress: Progress | None = None,
        user: str | None = None,
    ) -> Transfer:
        """Download `key` to a local file through a signed GET (written atomically)."""
        from byob_core import transfer

        return transfer.download_file(self, key, path, team=team, progress=progress, user=user)  # type: ignore[arg-type]

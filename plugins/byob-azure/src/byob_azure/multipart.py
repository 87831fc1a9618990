"""Multipart uploads as Put Block and Put Block List.

An upload is a fresh block-id space: its id is 16 random hex digits, and part N is the
block ``base64("<upload id>-<N:05d>")``. Every id of an upload has the same length, as
Azure requires, and two concurrent uploads of one key never share a block id.

* `sign_parts`: one signed ``PUT ?comp=block&blockid=...`` per part (the same ``w`` SAS on
  the blob; the block id rides as a plain query parameter, which a blob SAS does not sign).
* `sign_commit`: a signed ``PUT ?comp=blocklist`` and the XML body (`block_list_xml`), for
  clients that commit themselves; `complete` commits server-side with the store's own
  credentials instead (the Multipart contract's way).
* `abort`: nothing to do. Azure has no call that deletes uncommitted blocks: it discards
  them when the blob is next committed, or 7 days after the last Put Block. Deleting the
  blob would destroy a committed earlier object of the same key, so abort must not.
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from collections.abc import Sequence
from xml.sax.saxutils import escape

from byob_core.errors import SigningError
from byob_core.signing import (
    CompletedPart,
    MultipartUpload,
    SignedRequest,
    SignRequest,
    resolve_lifetime,
)
from byob_core.stores import Store

from byob_azure import clients
from byob_azure.sas import MAX_EXPIRY

MAX_BLOCKS = 50_000


def raw_block_id(upload: MultipartUpload, number: int) -> str:
    """The block id before base64 (what the SDK's ``BlobBlock`` takes)."""
    if not 1 <= number <= MAX_BLOCKS:
        raise SigningError(f"part number {number} is outside 1..{MAX_BLOCKS}")
    return f"{upload.upload_id}-{number:05d}"


def block_id(upload: MultipartUpload, number: int) -> str:
    """The block id on the wire: base64 of `raw_block_id`."""
    return base64.b64encode(raw_block_id(upload, number).encode()).decode()


def block_list_xml(upload: MultipartUpload, numbers: Sequence[int]) -> bytes:
    """The Put Block List body committing the given parts, in part-number order."""
    latest = "".join(f"<Latest>{escape(block_id(upload, n))}</Latest>" for n in sorted(numbers))
    return f'<?xml version="1.0" encoding="utf-8"?><BlockList>{latest}</BlockList>'.encode()


class AzureMultipart:
    """The `byob_core.provider.Multipart` steps for one Azure store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create(self, key: str, *, content_type: str | None = None) -> MultipartUpload:
        # Nothing exists server-side until the first block arrives.
        return MultipartUpload(key=key, upload_id=secrets.token_hex(8))

    def _sign(self, requests: list[SignRequest]) -> list[SignedRequest]:
        until = max(r.expires_at for r in requests) if requests else None
        return clients.signer(self.store, until=until).sign(requests)

    def sign_parts(
        self,
        upload: MultipartUpload,
        parts: Sequence[tuple[int, str | None]],
        *,
        expires: dt.timedelta,
        at: dt.datetime,
        user: str | None = None,
    ) -> list[SignedRequest]:
        lifetime = resolve_lifetime("PUT", expires, MAX_EXPIRY)
        requests = [
            SignRequest(
                key=upload.key,
                method="PUT",
                expires=lifetime,
                at=at,
                user=user,
                content_md5=md5,
                params={"comp": "block", "blockid": block_id(upload, number)},
            )
            for number, md5 in parts
        ]
        return self._sign(requests)

    def sign_commit(
        self,
        upload: MultipartUpload,
        *,
        expires: dt.timedelta,
        at: dt.datetime,
        user: str | None = None,
        content_type: str | None = None,
    ) -> SignedRequest:
        """A signed Put Block List; send it with the body of `block_list_xml`."""
        lifetime = resolve_lifetime("PUT", expires, MAX_EXPIRY)
        request = SignRequest(
            key=upload.key,
            method="PUT",
            expires=lifetime,
            at=at,
            user=user,
            params={"comp": "blocklist"},
        )
        signed = self._sign([request])[0]
        headers = dict(signed.headers)
        headers["Content-Type"] = "application/xml"
        if content_type:
            headers["x-ms-blob-content-type"] = content_type
        return SignedRequest(
            method=signed.method,
            url=signed.url,
            headers=headers,
            expires_at=signed.expires_at,
            key=signed.key,
        )

    def complete(self, upload: MultipartUpload, parts: Sequence[CompletedPart]) -> None:
        from azure.storage.blob import BlobBlock

        numbers = sorted(part.number for part in parts)
        if len(set(numbers)) != len(numbers):
            raise SigningError("a part number appears twice in the completion")
        for part in parts:
            # Accept the block id (wire or raw) or an ETag the client saw; a block id
            # that belongs to another part or upload is a client error.
            wanted = {block_id(upload, part.number), raw_block_id(upload, part.number)}
            if _looks_like_block_id(part.etag) and part.etag not in wanted:
                raise SigningError(
                    f"part {part.number} names block id {part.etag!r} of another upload or part"
                )
        blob = clients.container(self.store).get_blob_client(upload.key)
        try:
            # The SDK base64-encodes block ids itself: hand it the raw ids.
            blob.commit_block_list([BlobBlock(block_id=raw_block_id(upload, n)) for n in numbers])
        except Exception as exc:
            raise clients.translate(exc, f"commit the block list of {upload.key!r}") from exc

    def abort(self, upload: MultipartUpload) -> None:
        # Deliberately nothing: see the module docstring.
        return None


def _looks_like_block_id(text: str) -> bool:
    if not text or text.startswith(('"', "0x")):
        return False  # an ETag
    try:
        raw = base64.b64decode(text, validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return "-" in text and len(text) == 22  # maybe a raw id
    return len(raw) == 22 and raw[16] == "-"

"""Multipart uploads through the GCS XML API: initiate, signed part URLs, complete, abort.

The XML multipart API is S3's: ``POST /<bucket>/<key>?uploads`` answers an upload id;
each part is a ``PUT ?partNumber=N&uploadId=ID`` that answers an ETag; ``POST
?uploadId=ID`` with the part list assembles the object; ``DELETE ?uploadId=ID`` abandons
it; ``GET /<bucket>?uploads`` lists the uploads under way. Clients upload the parts
through URLs this module signs; byob itself sends the other calls, signed with the same
key, or, with ADC only, with the OAuth token of the store's gcsfs session.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from xml.etree import ElementTree

import attrs
from byob_core import retries
from byob_core.errors import StoreAccessError, UnsupportedError
from byob_core.objects import DeleteResult, Entry, ListRequest
from byob_core.signing import CompletedPart, MultipartUpload, SignedRequest, utcnow
from byob_core.stores import Store

from byob_gcp.credentials import anonymous, signer_for, signing_endpoint, signing_kind

#: How long the URLs byob signs for its own calls live.
_OWN_CALL_EXPIRES = 900


def _parse(content: bytes) -> ElementTree.Element:
    # The document comes from the store's own endpoint; expat refuses external entities
    # and (from 2.4.1) entity expansion bombs, which is all defusedxml would add here.
    return ElementTree.fromstring(content)  # noqa: S314


def _strip_ns(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(element: ElementTree.Element, name: str) -> str | None:
    for child in element.iter():
        if _strip_ns(child.tag) == name:
            return child.text or ""
    return None


class _Answer(Exception):
    """An answer whose status says "try again" (kept, in case it is the last one)."""

    def __init__(self, response: Any) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, _Answer) or retries.transient(exc)


class XmlMultipart:
    """The `Multipart` steps of one store (`byob_multipart` returns one)."""

    def __init__(self, store: Store, user_param: str = "X-User") -> None:
        self.store = store
        self.user_param = user_param
        self._session: Any = None
        self.failed_attempts = 0

    # -- transport -----------------------------------------------------------------------
    def _request(
        self,
        method: str,
        key: str,
        params: Mapping[str, str],
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        accept: tuple[int, ...] = (),
        retry: bool = True,
    ) -> Any:
        """Send one XML API call, signed with the store's key (or with its OAuth token).

        Retried after a 429, a 5xx, a reset or a timeout (`retry`: the step is safe to
        repeat); `failed_attempts` then tells how many attempts failed before this answer.
        """
        import requests

        if self._session is None:
            self._session = requests.Session()
        headers = dict(headers or {})
        if signing_kind(self.store):
            url = signer_for(self.store).sign_url(
                method,
                key,
                at=utcnow(),
                expires=_OWN_CALL_EXPIRES,
                params=params,
                headers={k: v for k, v in headers.items() if k.lower() == "content-type"},
            )
        else:
            from urllib.parse import quote, urlencode

            url = f"{signing_endpoint(self.store)}/{self.store.bucket}"
            if key:
                url += "/" + quote(key, safe="/~")
            if params:
                url += "?" + urlencode(params)
            if not anonymous(self.store):
                from byob_gcp.filesystem import make_filesystem

                make_filesystem(self.store).credentials.apply(headers)
        policy = retries.policy_of(self.store)
        if not retry:
            policy = attrs.evolve(policy, retries=0)
        failures: list[BaseException] = []

        def once() -> Any:
            try:
                answer = self._session.request(
                    method, url, headers=headers, data=body, timeout=policy.timeout
                )
            except requests.RequestException as exc:
                failures.append(exc)
                raise
            if answer.status_code in retries.RETRY_STATUSES:
                failures.append(_Answer(answer))
                raise failures[-1]
            return answer

        try:
            response = retries.call(
                once, policy=policy, what=f"gcs multipart {method}", retryable=_retryable
            )
        except _Answer as last:
            response = last.response
        except requests.RequestException as exc:
            raise StoreAccessError(
                f"cannot reach {self.store.display} for a multipart call: {type(exc).__name__}",
                hint="the store stayed unreachable through every retry; see docs/reliability.md",
            ) from exc
        self.failed_attempts = len(failures)
        if response.status_code >= 400 and response.status_code not in accept:
            message = f"{method} (multipart) answered HTTP {response.status_code}"
            if response.status_code in (400, 404, 405, 501):
                raise UnsupportedError(
                    message, hint="the endpoint may not implement the XML multipart API"
                )
            raise StoreAccessError(message, hint="the service account needs roles/storage.admin")
        return response

    # -- the steps -------------------------------------------------------------------------
    def create(self, key: str, *, content_type: str | None = None) -> MultipartUpload:
        headers = {"Content-Type": content_type} if content_type else {}
        response = self._request("POST", key, {"uploads": ""}, headers=headers)
        try:
            upload_id = _find(_parse(response.content), "UploadId")
        except ElementTree.ParseError:
            # fake-gcs-server answers ``?uploads`` with a JSON resumable-upload session.
            upload_id = None
        if not upload_id:
            raise UnsupportedError(
                "the endpoint answered the multipart initiation without an upload id",
                hint="it may not implement the XML multipart API",
            )
        return MultipartUpload(key=key, upload_id=upload_id)

    def sign_parts(
        self,
        upload: MultipartUpload,
        parts: Sequence[tuple[int, str | None]],
        *,
        expires: dt.timedelta,
        at: dt.datetime,
        user: str | None = None,
    ) -> list[SignedRequest]:
        signer = signer_for(self.store)
        seconds = int(expires.total_seconds())
        out = []
        for number, md5 in parts:
            params = {"partNumber": str(number), "uploadId": upload.upload_id}
            if user is not None:
                params[self.user_param] = user
            headers = {"Content-MD5": md5} if md5 else {}
            url = signer.sign_url(
                "PUT", upload.key, at=at, expires=seconds, params=params, headers=headers
            )
            out.append(
                SignedRequest(
                    method="PUT", url=url, headers=headers, expires_at=at + expires, key=upload.key
                )
            )
        return out

    def complete(self, upload: MultipartUpload, parts: Sequence[CompletedPart]) -> None:
        body = ["<CompleteMultipartUpload>"]
        for part in sorted(parts, key=lambda p: p.number):
            etag = part.etag if part.etag.startswith('"') else f'"{part.etag}"'
            etag = etag.replace("&", "&amp;").replace("<", "&lt;")
            body.append(f"<Part><PartNumber>{part.number}</PartNumber><ETag>{etag}</ETag></Part>")
        body.append("</CompleteMultipartUpload>")
        started = utcnow()
        response = self._request(
            "POST",
            upload.key,
            {"uploadId": upload.upload_id},
            headers={"Content-Type": "application/xml"},
            body="".join(body).encode("utf-8"),
            accept=(404,),
        )
        # A retried completion meets "no such upload" when an earlier attempt did
        # complete it (its answer was lost): done if the object appeared since.
        if response.status_code == 404 and not (
            self.failed_attempts and self._appeared_since(upload.key, started)
        ):
            raise UnsupportedError(
                f"completing the upload of {upload.key!r}: no such upload (HTTP 404)",
                hint="the upload was aborted, or its id is wrong",
            )

    def _appeared_since(self, key: str, since: dt.datetime) -> bool:
        from email.utils import parsedate_to_datetime

        response = self._request("HEAD", key, {}, accept=(404,))
        modified = response.headers.get("Last-Modified")
        if response.status_code != 200 or not modified:
            return False
        # Last-Modified has whole seconds; allow for that and a little clock skew.
        return parsedate_to_datetime(modified) >= since - dt.timedelta(seconds=5)

    def abort(self, upload: MultipartUpload) -> None:
        # 404: the upload is already gone (completed or aborted): the end state holds.
        self._request("DELETE", upload.key, {"uploadId": upload.upload_id}, accept=(404,))

    # -- listing, for garbage collection ------------------------------------------------
    def uploads(self, prefix: str, start_after: str | None = None) -> Iterator[Entry]:
        """Uploads under way under `prefix`, by key then as GCS orders them, paged lazily."""
        params: dict[str, str] = {"uploads": "", "prefix": prefix}
        if start_after:
            params["key-marker"] = start_after
        while True:
            response = self._request("GET", "", params)
            root = _parse(response.content)
            for element in root:
                if _strip_ns(element.tag) != "Upload":
                    continue
                key = _find(element, "Key") or ""
                if start_after is not None and key <= start_after:
                    continue
                initiated = _find(element, "Initiated")
                yield Entry(
                    key=key,
                    upload_id=_find(element, "UploadId"),
                    modified=(
                        dt.datetime.fromisoformat(initiated.replace("Z", "+00:00"))
                        if initiated
                        else dt.datetime.fromtimestamp(0, dt.UTC)
                    ),
                )
            if (_find(root, "IsTruncated") or "").lower() != "true":
                return
            params["key-marker"] = _find(root, "NextKeyMarker") or ""
            params["upload-id-marker"] = _find(root, "NextUploadIdMarker") or ""


def list_uploads(store: Store, request: ListRequest) -> Iterator[Entry]:
    return XmlMultipart(store).uploads(request.prefix, request.start_after)


def abort_entries(store: Store, entries: Sequence[Entry]) -> DeleteResult:
    """Abort each named upload; per-upload errors are reported, not raised."""
    multipart = XmlMultipart(store)
    done: list[Entry] = []
    errors: list[tuple[str, str]] = []
    for entry in entries:
        if not entry.upload_id:
            errors.append((entry.key, "no upload id"))
            continue
        try:
            multipart.abort(MultipartUpload(key=entry.key, upload_id=entry.upload_id))
        except (StoreAccessError, UnsupportedError) as exc:
            errors.append((entry.key, str(exc)))
        else:
            done.append(entry)
    return DeleteResult(deleted=done, errors=errors)

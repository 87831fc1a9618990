"""The S3 machinery of byob, parametrised by store: connection, signing, multipart, listing, deletes.

`byob_aws.provider.S3Provider` bundles it for one `ProviderSpec`; byob-aws uses it for ``aws``, and other
S3-family plugins (byob-minio) build their own with a different spec and override what
their servers do differently. Cloud SDKs (botocore, s3fs) are imported inside the
functions that use them, so importing this module stays cheap; signing never imports them
when the store carries its credentials.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs
from byob_core import retries
from byob_core.errors import ByobError, StoreAccessError
from byob_core.objects import DeleteBatch, DeleteResult, Entry, Kind, ListRequest
from byob_core.signing import (
    CompletedPart,
    MultipartUpload,
    SignedRequest,
    SignRequest,
)
from byob_core.stores import Store

# Re-exported: provisioning, validation and byob-minio read errors through this module too.
from byob_aws.errors import ACCESS_CODES as ACCESS_CODES
from byob_aws.errors import UNSUPPORTED_CODES as UNSUPPORTED_CODES
from byob_aws.errors import error_code as error_code
from byob_aws.errors import error_message as error_message
from byob_aws.sigv4 import (
    Presigner,
    S3Endpoint,
    ambient_region,
    is_aws_host,
)

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


#: S3's page size for listings and its most keys per DeleteObjects call.
PAGE_SIZE = 1000
DELETE_BATCH = 1000


def translate(exc: BaseException, what: str, store: Store) -> ByobError:
    """Turn an SDK exception into a byob error (raise the result ``from exc``)."""
    code = error_code(exc)
    message = f"{what} on {store.display} failed: {error_message(exc)}"
    if code in ACCESS_CODES or code == "NoSuchBucket":
        hint = (
            "check the store's credentials and the bucket policy"
            if code != "NoSuchBucket"
            else "create it with `python -m byob_core provision`"
        )
        return StoreAccessError(message, hint=hint)
    return StoreAccessError(message, hint="check the endpoint, region and network")


@attrs.frozen(kw_only=True)
class Connection:
    """How to reach a store's S3 endpoint: region, endpoint, addressing, credentials.

    Built from the store alone; credentials are the store's, or None for the standard AWS
    chain (environment, shared profile, instance or task role).
    """

    bucket: str
    region: str
    endpoint_url: str | None
    path_style: bool
    access_key: str | None = attrs.field(default=None, repr=False)
    secret_key: str | None = attrs.field(default=None, repr=False)
    session_token: str | None = attrs.field(default=None, repr=False)
    #: Where the identity comes from otherwise (see `byob_aws.credentials`).
    profile: str | None = None
    role_arn: str | None = None
    external_id: str | None = attrs.field(default=None, repr=False)
    role_session_name: str | None = None
    role_duration: str | None = None
    web_identity_token_file: str | None = None
    #: Retries and timeouts (the store's ``options``; see docs/reliability.md).
    policy: retries.RetryPolicy = attrs.field(factory=retries.RetryPolicy)

    @classmethod
    def of(cls, store: Store) -> Connection:
        creds = store.credentials
        return cls(
            policy=retries.policy_of(store),
            bucket=store.bucket,
            region=store.region or ambient_region(),
            endpoint_url=store.endpoint_url,
            path_style=store.path_style,
            access_key=creds.access_key,
            secret_key=creds.secret_key,
            session_token=creds.session_token,
            profile=creds.profile,
            role_arn=creds.role_arn,
            external_id=creds.external_id,
            role_session_name=creds.role_session_name,
            role_duration=creds.role_duration,
            web_identity_token_file=creds.web_identity_token_file,
        )

    @property
    def explicit_credentials(self) -> bool:
        """The store's own static keys are what every request is signed with."""
        return bool(self.access_key and self.secret_key) and not self.role_arn

    @property
    def managed_credentials(self) -> bool:
        """A profile or a role: credentials that `byob_aws.credentials` finds and refreshes."""
        return bool(self.role_arn or self.profile)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of ``botocore.session.Session.create_client``."""
        kwargs: dict[str, Any] = {"region_name": self.region}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        if self.explicit_credentials:
            kwargs["aws_access_key_id"] = self.access_key
            kwargs["aws_secret_access_key"] = self.secret_key
            if self.session_token:
                kwargs["aws_session_token"] = self.session_token
        return kwargs

    def botocore_config(self) -> Any:
        from botocore.config import Config

        return Config(**self.config_kwargs())

    def config_kwargs(self) -> dict[str, Any]:
        """botocore ``Config`` arguments: addressing, timeouts, and standard-mode retries.

        botocore's standard mode retries 5xx, throttling (SlowDown, 429), connection
        errors and read timeouts with exponential backoff and full jitter.
        """
        return {
            "signature_version": "s3v4",
            "s3": {"addressing_style": "path" if self.path_style else "virtual"},
            "connect_timeout": self.policy.timeout,
            "read_timeout": self.policy.timeout,
            "retries": {"total_max_attempts": self.policy.attempts, "mode": "standard"},
        }


def retry_handler(policy: retries.RetryPolicy) -> Any:
    """A botocore ``needs-retry`` handler for what standard mode leaves alone.

    Standard mode does not retry an HTTP 429 (S3 itself throttles with 503 SlowDown;
    S3-compatible gateways may send 429), nor an answer whose body came short of its
    Content-Length (botocore parses what arrived). This handler retries both, with the
    store's policy; botocore's own handler decides everything else.
    """

    def needs_retry(
        response: Any = None, attempts: int = 0, caught_exception: Any = None, **_: Any
    ) -> float | None:
        if attempts >= policy.attempts:
            return None
        if caught_exception is not None:
            if type(caught_exception).__name__ in ("ResponseParserError", "IncompleteReadError"):
                retries.RETRIED.add("s3 short answer")
                return policy.delay(attempts)
            return None
        if response is None:
            return None
        http = response[0]
        status = getattr(http, "status_code", 0)
        body = getattr(http, "_content", None)  # None: a stream nobody has read yet
        length = http.headers.get("content-length") if hasattr(http, "headers") else None
        short = (
            isinstance(body, bytes)
            and length is not None
            and length.isdigit()
            and int(length) != len(body)
            and status != 304
            and body != b""  # HEAD answers carry the object's length and no body
        )
        if status == 429 or short:
            retries.RETRIED.add("s3 429" if status == 429 else "s3 short answer")
            return policy.delay(attempts)
        return None

    return needs_retry


@functools.lru_cache(maxsize=64)
def _client(conn: Connection, service: str) -> Any:
    import botocore.session

    from byob_aws import credentials

    session = (
        credentials.session_for(conn) if conn.managed_credentials else botocore.session.Session()
    )
    session.register("needs-retry", retry_handler(conn.policy), unique_id="byob-retries")
    kwargs = conn.client_kwargs()
    if service == "s3":
        config = conn.botocore_config()
    else:
        from botocore.config import Config

        every = conn.config_kwargs()
        config = Config(**{k: every[k] for k in ("connect_timeout", "read_timeout", "retries")})
    if service != "s3" and conn.endpoint_url and is_aws_host(conn.endpoint_url):
        # A regional S3 endpoint names S3 alone: KMS and STS use their own AWS endpoints.
        del kwargs["endpoint_url"]
    made = session.create_client(service, config=config, **kwargs)
    return _RetryShortAnswers(made, conn.policy)


def client(store: Store, service: str = "s3") -> Any:
    """A botocore client for `store` (``s3``, ``kms`` or ``sts``), cached per connection.

    Its operations retry an answer cut short (which botocore parses, fails on, and does
    not retry); botocore's standard mode and `retry_handler` retry everything else.
    """
    return _client(Connection.of(store), service)


#: Exception class names of an answer that arrived incomplete.
_SHORT_ANSWER = frozenset({"ResponseParserError", "IncompleteReadError", "ProtocolError"})


def _short_answer(exc: BaseException) -> bool:
    return bool({cls.__name__ for cls in type(exc).__mro__} & _SHORT_ANSWER)


class _RetryShortAnswers:
    """A botocore client whose API calls are retried after an answer cut short."""

    def __init__(self, wrapped: Any, policy: retries.RetryPolicy) -> None:
        self._wrapped = wrapped
        self._policy = policy

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._wrapped, name)
        if name not in self._wrapped.meta.method_to_api_mapping:
            return found

        @functools.wraps(found)
        def call(*args: Any, **kwargs: Any) -> Any:
            return retries.call(
                lambda: found(*args, **kwargs),
                policy=self._policy,
                what=f"s3 {name}",
                retryable=_short_answer,
            )

        return call


def frozen_credentials(conn: Connection) -> tuple[str, str, str | None]:
    """(access key, secret key, token): the store's, else the current ones of the AWS chain."""
    if conn.explicit_credentials:
        assert conn.access_key is not None and conn.secret_key is not None
        return conn.access_key, conn.secret_key, conn.session_token
    if conn.managed_credentials:
        from byob_aws import credentials as managed

        return managed.frozen(conn)
    credentials = _chain_credentials()
    if credentials is None:
        _chain_credentials.cache_clear()  # look again next time: the environment may change
        raise StoreAccessError(
            "no AWS credentials: the store carries none and the AWS chain found none",
            hint="put access keys in the store, or set AWS_PROFILE / AWS_ACCESS_KEY_ID, "
            "or run with an instance or task role",
        )
    frozen = credentials.get_frozen_credentials()
    return frozen.access_key, frozen.secret_key, frozen.token


@functools.lru_cache(maxsize=1)
def _chain_credentials() -> Any:
    """The AWS chain's credentials object, found once; it refreshes temporary ones itself."""
    import botocore.session

    return botocore.session.Session().get_credentials()


@functools.lru_cache(maxsize=256)
def _presigner(
    conn: Connection, access_key: str, secret_key: str, token: str | None, user_param: str
) -> Presigner:
    return Presigner(
        access_key=access_key,
        secret_key=secret_key,
        session_token=token,
        region=conn.region,
        endpoint=S3Endpoint.for_bucket(
            conn.bucket, conn.region, endpoint_url=conn.endpoint_url, path_style=conn.path_style
        ),
        user_param=user_param,
    )


_PRESIGNERS: dict[tuple[Any, ...], Presigner] = {}


def presigner(store: Store, user_param: str = "X-User") -> Presigner:
    """The store's pre-signer, built once per store and credentials."""
    creds = store.credentials
    if creds.access_key and creds.secret_key and not creds.role_arn:
        # The fast path of byob_sign: one dict lookup when the store carries its keys.
        # (Store equality ignores credentials, so they are part of the cache key.)
        cache_key = (store, creds.access_key, creds.secret_key, creds.session_token, user_param)
        found = _PRESIGNERS.get(cache_key)
        if found is None:
            if len(_PRESIGNERS) > 256:
                _PRESIGNERS.clear()
            found = _PRESIGNERS[cache_key] = _build_presigner(store, user_param)
        return found
    return _build_presigner(store, user_param)


def _build_presigner(store: Store, user_param: str) -> Presigner:
    conn = Connection.of(store)
    access_key, secret_key, token = frozen_credentials(conn)
    return _presigner(conn, access_key, secret_key, token, user_param)


def filesystem(store: Store) -> AbstractFileSystem:
    """An s3fs filesystem for the store (paths are ``<bucket>/<full key>``)."""
    import s3fs

    conn = Connection.of(store)
    options: dict[str, Any] = {
        "endpoint_url": conn.endpoint_url,
        "client_kwargs": {"region_name": conn.region},
        "config_kwargs": conn.config_kwargs(),
    }
    if conn.explicit_credentials:
        options.update(key=conn.access_key, secret=conn.secret_key, token=conn.session_token)
    if conn.managed_credentials and not conn.explicit_credentials:
        from byob_aws import credentials

        session = credentials.aio_session_for(conn)
    else:
        from aiobotocore.session import AioSession

        session = AioSession()
    session.register("needs-retry", retry_handler(conn.policy), unique_id="byob-retries")
    fs = s3fs.S3FileSystem(session=session, **options)
    # botocore retries each call; s3fs would repeat botocore's whole series up to 5
    # times. Keep a few attempts of its own: they re-read a body cut short, which
    # botocore cannot see in a stream.
    fs.retries = FSSPEC_ATTEMPTS if conn.policy.retries else 1
    return fs


#: Attempts of s3fs's own retry loop around each botocore call.
FSSPEC_ATTEMPTS = 3


# -- multipart ----------------------------------------------------------------------------


class S3Multipart:
    """CreateMultipartUpload, pre-signed UploadPart URLs, CompleteMultipartUpload, Abort."""

    def __init__(self, store: Store, user_param: str = "X-User") -> None:
        self._store = store
        self._user_param = user_param

    def create(self, key: str, *, content_type: str | None = None) -> MultipartUpload:
        kwargs: dict[str, Any] = {"Bucket": self._store.bucket, "Key": key}
        if content_type:
            kwargs["ContentType"] = content_type
        try:
            response = client(self._store).create_multipart_upload(**kwargs)
        except Exception as exc:
            raise translate(exc, f"starting a multipart upload of {key!r}", self._store) from exc
        return MultipartUpload(key=key, upload_id=response["UploadId"])

    def sign_parts(
        self,
        upload: MultipartUpload,
        parts: Sequence[tuple[int, str | None]],
        *,
        expires: dt.timedelta,
        at: dt.datetime,
        user: str | None = None,
    ) -> list[SignedRequest]:
        requests = [
            SignRequest(
                key=upload.key,
                method="PUT",
                expires=expires,
                at=at,
                user=user,
                content_md5=md5,
                params={"partNumber": str(number), "uploadId": upload.upload_id},
            )
            for number, md5 in parts
        ]
        return presigner(self._store, self._user_param).sign_many(requests)

    def complete(self, upload: MultipartUpload, parts: Sequence[CompletedPart]) -> None:
        ordered = sorted(parts, key=lambda p: p.number)
        document = {"Parts": [{"PartNumber": p.number, "ETag": _quoted(p.etag)} for p in ordered]}
        try:
            client(self._store).complete_multipart_upload(
                Bucket=self._store.bucket,
                Key=upload.key,
                UploadId=upload.upload_id,
                MultipartUpload=document,
            )
        except Exception as exc:
            # botocore retries a completion that timed out or met a 5xx. When an earlier
            # attempt did complete the object, the retry meets NoSuchUpload: check that
            # the object there is the one these parts make before calling it done.
            if error_code(exc) == "NoSuchUpload" and self._completed(upload, ordered):
                return
            raise translate(exc, f"completing the upload of {upload.key!r}", self._store) from exc

    def _completed(self, upload: MultipartUpload, parts: Sequence[CompletedPart]) -> bool:
        """True when the key holds the object that completing `parts` makes (by its ETag)."""
        try:
            head = client(self._store).head_object(Bucket=self._store.bucket, Key=upload.key)
        except Exception:
            return False
        try:
            expected = multipart_etag([p.etag for p in parts])
        except ValueError:  # a part ETag that is no MD5 (some encryption modes): cannot tell
            return False
        return _unquoted(head.get("ETag")) == expected

    def abort(self, upload: MultipartUpload) -> None:
        try:
            client(self._store).abort_multipart_upload(
                Bucket=self._store.bucket, Key=upload.key, UploadId=upload.upload_id
            )
        except Exception as exc:
            if error_code(exc) == "NoSuchUpload":
                return  # already gone: the end state holds
            raise translate(exc, f"aborting the upload of {upload.key!r}", self._store) from exc


def multipart_etag(part_etags: Sequence[str]) -> str:
    """The ETag S3 gives the object completed from parts with these ETags: md5 of the md5s, ``-N``."""
    import hashlib

    digests = b"".join(bytes.fromhex(_unquoted(etag) or "") for etag in part_etags)
    return f"{hashlib.md5(digests, usedforsecurity=False).hexdigest()}-{len(part_etags)}"


def _quoted(etag: str) -> str:
    return etag if etag.startswith('"') else f'"{etag}"'


def _unquoted(etag: str | None) -> str | None:
    return etag.strip('"') if etag else etag


# -- listing ------------------------------------------------------------------------------


def list_objects(
    store: Store, request: ListRequest, *, page_size: int = PAGE_SIZE
) -> Iterator[Entry]:
    """Current objects under the prefix, in key order, one ListObjectsV2 page at a time."""
    s3 = client(store)
    kwargs: dict[str, Any] = {
        "Bucket": store.bucket,
        "Prefix": request.prefix,
        "MaxKeys": page_size,
    }
    if request.start_after:
        kwargs["StartAfter"] = request.start_after
    while True:
        try:
            page = s3.list_objects_v2(**kwargs)
        except Exception as exc:
            raise translate(exc, "listing objects", store) from exc
        for item in page.get("Contents", ()):
            yield Entry(
                key=item["Key"],
                size=int(item.get("Size", 0)),
                modified=item["LastModified"],
                etag=_unquoted(item.get("ETag")),
            )
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return
        kwargs["ContinuationToken"] = token


def list_versions(
    store: Store, request: ListRequest, *, page_size: int = PAGE_SIZE
) -> Iterator[Entry]:
    """Each key's whole history, by key, newest first within a key: every version and
    every delete marker, the current one marked ``is_latest``.

    The collector needs all of it, with its times: a key deleted a minute ago shows as
    old versions behind a young delete marker, and that marker is what keeps them.
    """
    s3 = client(store)
    kwargs: dict[str, Any] = {
        "Bucket": store.bucket,
        "Prefix": request.prefix,
        "MaxKeys": page_size,
    }
    after = request.start_after
    if after:
        kwargs["KeyMarker"] = after
    while True:
        try:
            page = s3.list_object_versions(**kwargs)
        except Exception as exc:
            raise translate(exc, "listing object versions", store) from exc
        items = [(v, False) for v in page.get("Versions", ())]
        items += [(m, True) for m in page.get("DeleteMarkers", ())]
        # The two lists each run in key order; merge them, the current entry first and
        # then newest first within a key (a marker and the version it covers can share
        # a timestamp).
        items.sort(
            key=lambda pair: (
                pair[0]["Key"],
                not pair[0].get("IsLatest"),
                -pair[0]["LastModified"].timestamp(),
            )
        )
        for item, marker in items:
            if after is not None and item["Key"] <= after:
                continue  # KeyMarker is exclusive on AWS, inclusive on some servers (moto)
            yield Entry(
                key=item["Key"],
                size=int(item.get("Size", 0)),
                modified=item["LastModified"],
                etag=_unquoted(item.get("ETag")),
                version_id=item.get("VersionId"),
                is_delete_marker=marker,
                is_latest=bool(item.get("IsLatest")),
            )
        if not page.get("IsTruncated"):
            return
        kwargs["KeyMarker"] = page.get("NextKeyMarker")
        if page.get("NextVersionIdMarker"):
            kwargs["VersionIdMarker"] = page["NextVersionIdMarker"]
        else:
            kwargs.pop("VersionIdMarker", None)


def list_uploads(
    store: Store, request: ListRequest, *, page_size: int = PAGE_SIZE
) -> Iterator[Entry]:
    """Incomplete multipart uploads under the prefix, by key, one page at a time."""
    s3 = client(store)
    kwargs: dict[str, Any] = {
        "Bucket": store.bucket,
        "Prefix": request.prefix,
        "MaxUploads": page_size,
    }
    after = request.start_after
    if after:
        kwargs["KeyMarker"] = after
    while True:
        try:
            page = s3.list_multipart_uploads(**kwargs)
        except Exception as exc:
            raise translate(exc, "listing multipart uploads", store) from exc
        for item in page.get("Uploads", ()):
            if after and item["Key"] <= after:
                continue  # as for versions: some servers treat KeyMarker as inclusive
            yield Entry(key=item["Key"], modified=item["Initiated"], upload_id=item["UploadId"])
        if not page.get("IsTruncated"):
            return
        kwargs["KeyMarker"] = page.get("NextKeyMarker")
        kwargs["UploadIdMarker"] = page.get("NextUploadIdMarker")


def list_entries(store: Store, request: ListRequest) -> Iterator[Entry]:
    """Route a listing by kind."""
    if request.kind is Kind.VERSIONS:
        return list_versions(store, request)
    if request.kind is Kind.UPLOADS:
        return list_uploads(store, request)
    return list_objects(store, request)


# -- deletes ------------------------------------------------------------------------------


def delete_entries(store: Store, batch: DeleteBatch) -> DeleteResult:
    """Delete a batch: DeleteObjects (quiet, at most 1,000 keys a call), or abort uploads.

    Per-key errors come back in the result; a failure of the whole call (access denied,
    no such bucket) raises `StoreAccessError`.
    """
    if batch.kind is Kind.UPLOADS:
        return _abort_uploads(store, batch.entries)
    deleted: list[Entry] = []
    errors: list[tuple[str, str]] = []
    s3 = client(store)
    entries = list(batch.entries)
    for start in range(0, len(entries), DELETE_BATCH):
        chunk = entries[start : start + DELETE_BATCH]
        objects = []
        for entry in chunk:
            item = {"Key": entry.key}
            if batch.kind is Kind.VERSIONS and entry.version_id:
                item["VersionId"] = entry.version_id
            objects.append(item)
        try:
            response = s3.delete_objects(
                Bucket=store.bucket, Delete={"Objects": objects, "Quiet": True}
            )
        except Exception as exc:
            raise translate(exc, f"deleting {len(objects)} objects", store) from exc
        failed: dict[tuple[str, str | None], str] = {}
        for err in response.get("Errors", ()):
            version = err.get("VersionId") if batch.kind is Kind.VERSIONS else None
            failed[(err.get("Key", ""), version or None)] = (
                f"{err.get('Code', 'Error')}: {err.get('Message', '')}".rstrip(": ")
            )
        for entry in chunk:
            version = entry.version_id if batch.kind is Kind.VERSIONS else None
            message = failed.get((entry.key, version))
            if message is None:
                deleted.append(entry)
            else:
                errors.append((entry.key, message))
    return DeleteResult(deleted=deleted, errors=errors)


def _abort_uploads(store: Store, entries: Sequence[Entry]) -> DeleteResult:
    s3 = client(store)
    deleted: list[Entry] = []
    errors: list[tuple[str, str]] = []
    for entry in entries:
        if not entry.upload_id:
            errors.append((entry.key, "no upload id"))
            continue
        try:
            s3.abort_multipart_upload(Bucket=store.bucket, Key=entry.key, UploadId=entry.upload_id)
        except Exception as exc:
            if error_code(exc) != "NoSuchUpload":
                if error_code(exc) in ACCESS_CODES:
                    raise translate(exc, "aborting multipart uploads", store) from exc
                errors.append((entry.key, error_message(exc)))
                continue
        deleted.append(entry)
    return DeleteResult(deleted=deleted, errors=errors)
